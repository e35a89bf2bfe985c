"""Which stored mentions `list`, `export` and `check --json` show: states, filters, SLA states."""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from mentionwatch.config import Config
from mentionwatch.models import PRIORITIES, State, StoredMention
from mentionwatch.store import MentionFilter, Store


class StateChoice(enum.StrEnum):
    """A stored state, or the SLA state of a waiting mention (on its account's clock)."""

    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"
    OK = "ok"
    DUE_SOON = "due-soon"
    BREACHED = "breached"


_SLA_CHOICES = {"ok": "ok", "due-soon": "due soon", "breached": "breached"}


class Selection(NamedTuple):
    """SQL does the states and cut-offs; SLA states, which need each account's clock, after."""

    where: MentionFilter
    sla: frozenset[str]
    keep: frozenset[State]  # states kept whatever their SLA state
    limit: int | None

    def mentions(self, store: Store, config: Config, now: datetime) -> Iterator[StoredMention]:
        from mentionwatch.sla import sla_filter

        found = store.mentions(self.where, now)
        if not self.sla:
            return found
        return itertools.islice(sla_filter(found, config, now, self.sla, self.keep), self.limit)


def rule_filters(
    priorities: Sequence[str], tags: Sequence[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """--priority and --tag as MentionFilter takes them: ranks, and tags as rules write them."""
    ranks = tuple(sorted({PRIORITIES[str(p)] for p in priorities}))
    return ranks, tuple(dict.fromkeys(t.lower().lstrip("#") for t in tags))


def select(
    config: Config,
    now: datetime,
    *,
    accounts: Sequence[str] = (),
    platforms: Sequence[str] = (),
    older_than: timedelta | None = None,
    overdue: bool = False,
    states: Sequence[StateChoice] = (),
    all_states: bool = False,
    limit: int | None = None,
    grep: Sequence[str] = (),
    priorities: Sequence[str] = (),
    tags: Sequence[str] = (),
    assignees: Sequence[str] = (),
    unassigned: bool = False,
) -> Selection:
    """The selection the list/export options describe; open mentions when nothing is said."""
    older = older_than
    plain = {State(s.value) for s in states if s.value not in _SLA_CHOICES}
    sla = frozenset(_SLA_CHOICES[s.value] for s in states if s.value in _SLA_CHOICES)
    if overdue:
        plain, sla = set(), frozenset({"breached"})
    elif all_states:
        plain = set(State)
    wanted = tuple(sorted(plain | {State.OPEN} if sla else plain or {State.OPEN}))
    due: dict[str, datetime] = {}
    if sla and not plain and "ok" not in sla:
        from mentionwatch.sla import sla_cutoffs

        soon = "due soon" in sla
        due, cut = sla_cutoffs(
            config, now, accounts, lambda t: t.target * (t.warn_at if soon else 1)
        )
        if cut is not None:
            older = max(older, cut) if older else cut
    ranks, wanted_tags = rule_filters(priorities, tags)
    where = MentionFilter(
        states=() if all_states and not overdue else wanted,
        accounts=tuple(accounts),
        platforms=tuple(platforms),
        older_than=older,
        due_before=due,
        limit=None if sla else limit,
        grep=tuple(word for word in grep if word),
        priorities=ranks,
        tags=wanted_tags,
        assignees=tuple(assignees),
        unassigned=unassigned,
    )
    return Selection(where, sla, frozenset(plain), limit)
