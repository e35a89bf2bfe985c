"""Views for a team: who polls what (`pollers`), assignment, notes and history (`show`)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from rich.text import Text

from mentionwatch.models import StoredMention
from mentionwatch.store.leases import Lease
from mentionwatch.store.team import Change, Note
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration, format_time

if TYPE_CHECKING:
    from rich.table import Table


def leases_table(leases: list[Lease], now: datetime, zone: tzinfo | None) -> Table:
    """One row per account: who holds it since when until when, and who polled it last."""
    from rich.table import Table

    def ago(moment: datetime | None) -> str:
        if moment is None:
            return "-"
        return f"{format_time(moment, zone)} ({format_duration(now - moment)} ago)"

    table = Table(pad_edge=False)
    for column in ("Account", "Held by", "Since", "Expires", "Last polled", "By"):
        table.add_column(column, overflow="fold")
    for lease in leases:
        held = lease.holder is not None and lease.expires_at is not None
        expired = held and lease.expires_at is not None and lease.expires_at <= now
        expires = "-"
        if lease.expires_at is not None:
            left = format_duration(lease.expires_at - now)
            expires = f"expired {left} ago" if expired else f"in {left}"
        table.add_row(
            Text(one_line(lease.account)),
            Text(one_line(lease.holder or "-"), style="red" if expired else ""),
            Text(ago(lease.acquired_at) if held else "-"),
            Text(expires),
            Text(ago(lease.polled_at)),
            Text(one_line(lease.polled_by or "-")),
        )
    return table


def team_lines(
    mention: StoredMention,
    notes: list[Note],
    history: list[Change],
    now: datetime,
    zone: tzinfo | None,
) -> list[str]:
    """What `show` adds for a team: the assignee, the notes, who changed what and when."""

    def when(moment: datetime) -> str:
        return f"{format_time(moment, zone)} ({format_duration(now - moment)} ago)"

    lines = [f"Assigned to  {one_line(mention.assignee)}"] if mention.assignee else []
    if notes:
        lines += ["", "Notes"]
        lines += [f"  {when(n.at)}  {one_line(n.actor)}: {one_line(n.text)}" for n in notes]
    if history:
        lines += ["", "History"]
        for change in history:
            detail = f" (until {change.detail})" if change.detail else ""
            actor = one_line(change.actor) or "someone"
            lines.append(f"  {when(change.at)}  {actor}: {one_line(change.action)}{detail}")
    return lines


def assigned_lines(before: list[StoredMention], user: str | None, now: datetime) -> list[str]:
    """What `assign`/`unassign` say: what changed, and what already was so (and since when)."""
    changed = [m.id for m in before if m.assignee != user]
    lines = []
    if changed:
        ids = ", ".join(f"#{i}" for i in changed)
        lines.append(f"Assigned {ids} to {one_line(user)}." if user else f"Unassigned {ids}.")
    for m in before:
        if m.id not in changed:
            lines.append(
                f"#{m.id} was already assigned to {one_line(user)}." if user
                else f"#{m.id} was not assigned to anyone."
            )  # fmt: skip
    return lines
