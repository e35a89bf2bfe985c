"""What the inbox rules decided, as the store records it: at arrival and on `rules apply`.

The store never imports the rules: it is handed `DecideAll` (RuleSet.outcomes) and `Decide`
(RuleSet.outcome, for `rules apply`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from mentionwatch.models import State, StoredMention
from mentionwatch.store.backend import Connection
from mentionwatch.store.rows import COLUMNS, stored, tags_column
from mentionwatch.timeutil import to_db

if TYPE_CHECKING:
    from mentionwatch.fetched import Mention


class Decision(Protocol):
    """What the inbox rules decided about a mention (rules.Outcome); the store records it."""

    @property
    def priority(self) -> int: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def sla(self) -> timedelta | None: ...
    @property
    def dismissed(self) -> str | None: ...
    @property
    def dismissed_by(self) -> str | None: ...


Decide = Callable[[str, str, str, str, str, str, str], Decision]
# One account's fetched mentions at once (platform, account): rules.RuleSet.outcomes.
DecideAll = Callable[["Sequence[Mention]", str, str], Sequence[Decision]]


class Change(NamedTuple):
    """What `reapply` changed about one stored mention."""

    mention: StoredMention  # as it was
    priority: int
    tags: tuple[str, ...]
    sla: timedelta | None
    state: State
    dismissed_rule: str | None


class TriageQueries:
    """Mixed into Store, which provides the connection, the transaction and answer matching."""

    db: Connection

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _match_answers(self, db: Connection, account: str) -> int:
        raise NotImplementedError

    def reapply(self, decide: Decide, now: datetime) -> tuple[int, list[Change]]:
        """Decide again about every waiting mention and every one a rule dismissed (a rule
        that no longer dismisses it reopens it), in one transaction: how many it looked at
        and what changed."""
        stamp = to_db(now)
        changes: list[Change] = []
        with self.transaction() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM mentions WHERE state IN ('open', 'snoozed') "
                "OR (state = 'dismissed' AND dismissed_rule IS NOT NULL) ORDER BY id"
            ).fetchall()
            reopened: set[str] = set()
            for row in rows:
                m = stored(row, now)
                d = decide(m.text, m.title, m.author, m.platform, m.account, m.kind, m.lang)
                state = m.state
                if d.dismissed is not None:
                    state = State.DISMISSED
                elif m.state is State.DISMISSED:
                    state = State.OPEN
                if (d.priority, d.tags, d.sla, d.dismissed_by, state) == (
                    m.priority,
                    m.tags,
                    m.sla_override,
                    m.dismissed_rule,
                    m.state,
                ):
                    continue
                changes.append(Change(m, d.priority, d.tags, d.sla, state, d.dismissed_by))
                sla = int(d.sla.total_seconds()) if d.sla is not None else None
                db.execute(
                    "UPDATE mentions SET priority = ?, tags = ?, sla_seconds = ?, "
                    "dismissed_reason = ?, dismissed_rule = ? WHERE id = ?",
                    (d.priority, tags_column(d.tags), sla, d.dismissed, d.dismissed_by, m.id),
                )
                if state is not m.state:
                    db.execute(
                        "UPDATE mentions SET state = ?, state_changed_at = ?, snoozed_until = NULL"
                        " WHERE id = ?",
                        (str(state), stamp, m.id),
                    )
                    if state is State.OPEN:
                        reopened.add(m.account)
            for account in sorted(reopened):
                # A reply stored while it was dismissed still answers it.
                self._match_answers(db, account)
        return len(rows), changes


_UNDECIDED = (1, "", None, "open", None, None, None)


def decisions(
    mentions: Sequence[Mention], account: str, platform: str, seen: str, decide: DecideAll | None
) -> Iterator[tuple[Any, ...]]:
    """priority, tags, sla_seconds, state, state_changed_at, dismissed_reason, dismissed_rule."""
    if decide is None:
        for _ in mentions:
            yield _UNDECIDED
        return
    for d in decide(mentions, platform, account):
        if d.priority == 1 and not d.tags and d.sla is None and d.dismissed is None:
            yield _UNDECIDED
            continue
        sla = int(d.sla.total_seconds()) if d.sla is not None else None
        if d.dismissed is not None:
            yield (
                d.priority,
                tags_column(d.tags),
                sla,
                "dismissed",
                seen,
                d.dismissed,
                d.dismissed_by,
            )
        else:
            yield d.priority, tags_column(d.tags), sla, "open", None, None, None
