"""What the inbox shows: the `/` filter (the same filters as `list`), the rows, the undo log.

No Textual here: these are plain values the app renders, so they are easy to reason about.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rich.text import Text

from mentionwatch.config import Config
from mentionwatch.models import PRIORITIES, State, StoredMention
from mentionwatch.render.listing import STYLES
from mentionwatch.selection import StateChoice, select
from mentionwatch.sla import BREACHED, DUE_SOON, sla_for, sla_status
from mentionwatch.sources.registry import PLATFORMS
from mentionwatch.store import Store
from mentionwatch.store.manual import ManualState
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration, parse_duration

# The inbox is for triage: a screenful is ~15 rows, and nobody triages more than this at once.
MAX_ROWS = 1000
FILTER_HELP = (
    "account:NAME platform:NAME state:STATE priority:high tag:NAME older:2h overdue, and "
    "words to find in the text, author or URL"
)
_SLA_SHORT = {BREACHED: "late", DUE_SOON: "soon"}
# Four letters, like the SLA states, for the mentions a filter shows that no longer wait.
_STATE_SHORT = {State.ANSWERED: "done", State.DISMISSED: "dism"}
_PRIORITY_SHORT = {"high": "hi", "low": "lo"}
_KEYS = ("account", "platform", "state", "priority", "tag", "older")
_ALIASES = {"a": "account", "p": "platform", "s": "state", "older-than": "older", "t": "tag"}


@dataclass(frozen=True)
class InboxFilter:
    """The `list` filters; `words` must all appear in the text, author or URL (any case)."""

    accounts: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    states: tuple[StateChoice, ...] = ()
    older_than: timedelta | None = None
    overdue: bool = False
    words: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def describe(self) -> str:
        """The filter as one would type it after `/`; empty when nothing is filtered."""
        parts = [f"account:{a}" for a in self.accounts]
        parts += [f"platform:{p}" for p in self.platforms]
        parts += [f"state:{s.value}" for s in self.states]
        parts += [f"priority:{p}" for p in self.priorities]
        parts += [f"tag:{t}" for t in self.tags]
        if self.older_than is not None:
            parts.append(f"older:{format_duration(self.older_than).replace(' ', '')}")
        if self.overdue:
            parts.append("overdue")
        parts += [shlex.quote(w) for w in self.words]
        return " ".join(shlex.quote(p) if " " in p else p for p in parts)


def parse_filter(text: str, config: Config, store: Store) -> InboxFilter:
    """Parse what was typed after `/`; a ValueError names the part that is wrong."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"filter: {exc}") from None
    found: dict[str, list[str]] = {key: [] for key in _KEYS}
    words: list[str] = []
    overdue = False
    for token in tokens:
        key, colon, value = token.partition(":")
        key = _ALIASES.get(key.lower(), key.lower())
        if colon and key in found:
            if not value:
                raise ValueError(f"{token!r}: give a value after the colon ({FILTER_HELP})")
            found[key].append(value)
        elif token.lower() == "overdue":
            overdue = True
        else:
            words.append(token)
    _check_names(found, config, store)
    states = []
    for value in found["state"]:
        try:
            states.append(StateChoice(value.lower()))
        except ValueError:
            choices = ", ".join(s.value for s in StateChoice)
            raise ValueError(f"state:{value}: not one of {choices}") from None
    older = None
    if found["older"]:
        try:
            older = parse_duration(found["older"][-1])
        except ValueError as exc:
            raise ValueError(f"older:{found['older'][-1]}: {exc}") from None
    priorities = tuple(p.lower() for p in found["priority"])
    return InboxFilter(
        tuple(found["account"]), tuple(found["platform"]), tuple(states), older, overdue,
        tuple(words), priorities, tuple(found["tag"]),
    )  # fmt: skip


def _check_names(found: dict[str, list[str]], config: Config, store: Store) -> None:
    """A typo must not read as "nothing waiting": unknown names are refused, as `list` does."""
    for name in found["account"]:
        if name not in config.by_name and not store.has_account(name):
            known = ", ".join(a.name for a in config.accounts) or "none configured"
            raise ValueError(f"account:{name}: no account named {name!r} ({known})")
    for name in found["platform"]:
        if name not in PLATFORMS:
            known = ", ".join(PLATFORMS)
            raise ValueError(f"platform:{name}: no platform named {name!r} ({known})")
    for name in found["priority"]:
        if name.lower() not in PRIORITIES:
            raise ValueError(f"priority:{name}: not one of {', '.join(PRIORITIES)}")


def load_queue(
    store: Store, config: Config, now: datetime, where: InboxFilter
) -> list[StoredMention]:
    """What the filter selects, as `list` orders it: most urgent priority first, then oldest."""
    chosen = select(config, now, accounts=where.accounts, platforms=where.platforms,
                    older_than=where.older_than, overdue=where.overdue, states=where.states,
                    limit=MAX_ROWS, grep=where.words, priorities=where.priorities,
                    tags=where.tags)  # fmt: skip
    return list(chosen.mentions(store, config, now))


# -- rows ----------------------------------------------------------------------------------

COLUMNS = ("ID", "P", "Age", "SLA", "Where", "Author", "Mention")


@dataclass(frozen=True)
class Widths:
    id: int
    priority: int
    age: int
    sla: int
    where: int
    author: int
    mention: int


def column_widths(screen: int, id_width: int) -> Widths:
    """Fixed widths that fit the screen: the labels give way first, so the excerpt stays
    readable. (Auto widths let rows added later draw with the older, narrower widths.)"""
    where = max(14, min(24, (screen - 40) // 3))
    author = max(12, min(20, (screen - 40) // 4))
    # Each of the seven columns has one cell of padding either side, and the scrollbar two.
    fixed = id_width + 2 + 7 + 4 + where + author + 7 * 2 + 2
    return Widths(id_width, 2, 7, 4, where, author, max(12, screen - fixed))


def row_cells(
    m: StoredMention, config: Config, now: datetime, widths: Widths, *, styled: bool
) -> tuple[Text, ...]:
    """The cells of one row, as Text (never markup: mention text is hostile)."""
    style, sla_text = "", _STATE_SHORT.get(m.state, str(m.state))
    if m.state in (State.OPEN, State.SNOOZED):
        status, _left = sla_status(m, sla_for(config, m.account), now)
        style, sla_text = STYLES[status], _SLA_SHORT.get(status, "ok")
    if not styled:
        style = ""
    excerpt = one_line(f"{m.title}: {m.text}" if m.title else m.text, widths.mention)
    return (
        Text(str(m.id), style="dim" if styled else ""),
        Text(_PRIORITY_SHORT.get(m.priority_name, ""), style=_priority_style(m, styled)),
        Text(format_duration(_to_the_minute(now - m.created_at)), style=style),
        Text(sla_text, style=style),
        Text(one_line(f"{m.account}/{m.platform}", widths.where)),
        Text(one_line(m.author, widths.author), style="cyan" if styled else ""),
        Text(excerpt),
    )


# -- undo ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One inbox action on one mention: enough to put it back as it was."""

    mention_id: int
    label: str  # "done", "dismissed", "snoozed for 4h"
    before: ManualState
    after: ManualState


@dataclass
class UndoLog:
    """The inbox's actions, newest last; `u` takes them back one at a time."""

    changes: list[Change] = field(default_factory=list)
    limit: int = 100

    def push(self, change: Change) -> None:
        self.changes.append(change)
        del self.changes[: -self.limit]

    def pop(self) -> Change | None:
        return self.changes.pop() if self.changes else None


def _to_the_minute(age: timedelta) -> timedelta:
    """Ages past a minute in whole minutes: a refresh then redraws a row once a minute, not
    at every tick (redrawing every cell of 1,000 rows took ~0.2 s)."""
    if age < timedelta(minutes=1):
        return age
    return timedelta(minutes=int(age.total_seconds() // 60))


def _priority_style(m: StoredMention, styled: bool) -> str:
    if not styled:
        return ""
    return "bold red" if m.priority_name == "high" else "dim"
