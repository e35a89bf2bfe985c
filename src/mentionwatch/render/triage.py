"""What `done`, `dismiss`, `snooze` and `reopen` say: what changed, and what was already so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from mentionwatch.models import State, StoredMention
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration, format_time

_DONE = {
    State.ANSWERED: "Marked {ids} as answered.",
    State.DISMISSED: "Dismissed {ids}.",
    State.OPEN: "Reopened {ids}.",
}
_ALREADY = {State.ANSWERED: "answered", State.DISMISSED: "dismissed", State.OPEN: "open"}


def ids_text(ids: Sequence[int]) -> str:
    """`#3`, `#3 and #5`, `#3, #5 and #8`: ids that cannot be read as a count."""
    shown = [f"#{i}" for i in ids]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def confirmation(
    before: Sequence[StoredMention],
    state: State,
    now: datetime,
    zone: tzinfo | None,
    until: datetime | None = None,
) -> list[str]:
    """One line for what changed, one per mention that already was in that state."""
    changed = [m.id for m in before if m.state is not state or state is State.SNOOZED]
    lines = []
    if changed:
        if state is State.SNOOZED:
            assert until is not None
            lines.append(
                f"Snoozed {ids_text(changed)} for {format_duration(until - now)} "
                f"(until {format_time(until, zone)})."
            )
        else:
            lines.append(_DONE[state].format(ids=ids_text(changed)))
    for m in before:
        if m.id not in changed:
            lines.append(f"#{m.id} was already {_ALREADY[state]}{_how(m, now)}.")
    return lines


def _how(m: StoredMention, now: datetime) -> str:
    if m.state is State.DISMISSED and m.state_changed_by and m.state_changed_at is not None:
        # A teammate's change: "#12 was already dismissed by bob 2m ago".
        ago = format_duration(now - m.state_changed_at)
        return f" by {one_line(m.state_changed_by)} {ago} ago"
    if m.state is not State.ANSWERED or m.answered_at is None:
        return ""
    by = "by hand" if m.answered_by in (None, "manual") else f"by {one_line(m.answered_by)}"
    return f" ({by}, {format_duration(now - m.answered_at)} ago)"
