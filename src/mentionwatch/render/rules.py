"""What `rules apply` says it changed, one line a mention."""

from __future__ import annotations

from collections.abc import Sequence

from mentionwatch.models import PRIORITY_NAMES, State
from mentionwatch.store import Change
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration


def change_line(change: Change) -> str:
    m = change.mention
    parts: list[str] = []
    if change.state is not m.state:
        if change.state is State.DISMISSED:
            parts.append(f"dismissed by rule {change.dismissed_rule!r}")
        else:
            parts.append(f"reopened (rule {m.dismissed_rule!r} no longer dismisses it)")
    elif change.dismissed_rule != m.dismissed_rule:
        parts.append(f"now dismissed by rule {change.dismissed_rule!r}")
    if change.priority != m.priority:
        parts.append(
            f"priority {PRIORITY_NAMES.get(m.priority)} -> {PRIORITY_NAMES.get(change.priority)}"
        )
    added = [t for t in change.tags if t not in m.tags]
    removed = [t for t in m.tags if t not in change.tags]
    if added or removed:
        parts.append("tags " + " ".join([*(f"+{t}" for t in added), *(f"-{t}" for t in removed)]))
    if change.sla != m.sla_override:
        before = format_duration(m.sla_override) if m.sla_override else "the account's"
        after = format_duration(change.sla) if change.sla else "the account's"
        parts.append(f"SLA {before} -> {after}")
    where = f"{one_line(m.platform)}/{one_line(m.account)}"
    return f"#{m.id} ({where}, {one_line(m.author)}): " + ", ".join(parts)


def summary(checked: int, changes: Sequence[Change], rules: int) -> str:
    dismissed = sum(c.state is State.DISMISSED and c.mention.state is not State.DISMISSED
                    for c in changes)  # fmt: skip
    reopened = sum(c.mention.state is State.DISMISSED and c.state is not State.DISMISSED
                   for c in changes)  # fmt: skip
    noun = "mention" if checked == 1 else "mentions"
    text = f"{rules} rule{'s' if rules != 1 else ''} applied to {checked} {noun}: "
    if not changes:
        return text + "nothing changed."
    text += f"{len(changes)} changed"
    extra = [f"{dismissed} dismissed"] if dismissed else []
    extra += [f"{reopened} reopened"] if reopened else []
    return text + (f" ({', '.join(extra)})." if extra else ".")
