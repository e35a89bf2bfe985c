"""Ages, SLA status and the terminal rendering of stored mentions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.table import Table
from rich.text import Text

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.text import one_line, strip_controls
from mentionwatch.timeutil import format_duration

OK, DUE_SOON, BREACHED = "ok", "due soon", "breached"
_STYLE = {OK: "green", DUE_SOON: "yellow", BREACHED: "red"}


@dataclass(frozen=True)
class Sla:
    target: timedelta
    warn_at: float


def sla_for(config: Config, account: str) -> Sla:
    """The account's target; mentions of accounts since removed from the config get the default."""
    for entry in config.accounts:
        if entry.name == account:
            return Sla(entry.sla, entry.warn_at)
    return Sla(config.settings.sla, config.settings.warn_at)


def sla_status(mention: StoredMention, sla: Sla, now: datetime) -> tuple[str, timedelta]:
    """Status and time left (negative when overdue) for an open mention."""
    age = now - mention.created_at
    left = sla.target - age
    if left <= timedelta(0):
        return BREACHED, left
    if age >= sla.target * sla.warn_at:
        return DUE_SOON, left
    return OK, left


def sla_label(status: str, left: timedelta) -> str:
    if status == BREACHED:
        return f"overdue {format_duration(-left)}"
    return f"{format_duration(left)} left"


def record(mention: StoredMention, sla: Sla, now: datetime) -> dict[str, Any]:
    """The flat form every machine-readable output shares (json, jsonl, csv)."""
    waiting = mention.state in (State.OPEN, State.SNOOZED)
    status, left = sla_status(mention, sla, now) if waiting else ("", timedelta(0))
    response = mention.response_time
    return {
        "id": mention.id,
        "account": mention.account,
        "platform": mention.platform,
        "kind": mention.kind,
        "state": str(mention.state),
        "author": strip_controls(mention.author),
        "title": strip_controls(mention.title),
        "text": strip_controls(mention.text),
        "url": strip_controls(mention.url),
        "created_at": mention.created_at.isoformat(),
        "age_seconds": int((now - mention.created_at).total_seconds()),
        "sla_seconds": int(sla.target.total_seconds()),
        "sla_status": status,
        "sla_left_seconds": int(left.total_seconds()) if waiting else None,
        "snoozed_until": mention.snoozed_until.isoformat() if mention.snoozed_until else None,
        "answered_at": mention.answered_at.isoformat() if mention.answered_at else None,
        "answered_url": mention.answered_url,
        "answered_by": mention.answered_by,
        "response_seconds": int(response.total_seconds()) if response is not None else None,
    }


def mention_table(
    mentions: Iterable[StoredMention], config: Config, now: datetime, width: int = 60
) -> Table:
    """The `list` table. Cells are Text objects, so mention text is never read as markup."""
    table = Table(show_lines=False, pad_edge=False, expand=False)
    for name, style in (
        ("ID", "dim"), ("Age", ""), ("SLA", ""), ("Platform", ""), ("Account", ""),
        ("Author", "cyan"), ("Mention", ""), ("URL", "dim"),
    ):  # fmt: skip
        table.add_column(name, style=style, overflow="fold" if name == "URL" else "ellipsis")
    for m in mentions:
        age = format_duration(now - m.created_at)
        if m.state in (State.OPEN, State.SNOOZED):
            status, left = sla_status(m, sla_for(config, m.account), now)
            age_cell = Text(age, style=_STYLE[status])
            sla_cell = Text(sla_label(status, left), style=_STYLE[status])
        else:
            age_cell, sla_cell = Text(age), Text(str(m.state))
        excerpt = one_line(f"{m.title}: {m.text}" if m.title else m.text, width)
        table.add_row(
            Text(str(m.id)),
            age_cell,
            sla_cell,
            Text(m.platform),
            Text(one_line(m.account)),
            Text(one_line(m.author, 30)),
            Text(excerpt),
            Text(one_line(m.url)),
        )
    return table


def mention_detail(m: StoredMention, config: Config, now: datetime) -> Table:
    """The `show` view: every field, full text, cleaned of control sequences."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    rows: list[tuple[str, str]] = [
        ("ID", str(m.id)),
        ("State", str(m.state)),
        ("Platform", m.platform),
        ("Account", m.account),
        ("Kind", m.kind),
        ("Author", m.author),
        (
            "Posted",
            f"{m.created_at:%Y-%m-%d %H:%M} UTC ({format_duration(now - m.created_at)} ago)",
        ),
        ("URL", m.url),
    ]
    if m.state in (State.OPEN, State.SNOOZED):
        status, left = sla_status(m, sla_for(config, m.account), now)
        rows.append(("SLA", f"{status}, {sla_label(status, left)}"))
    if m.snoozed_until:
        rows.append(("Snoozed until", f"{m.snoozed_until:%Y-%m-%d %H:%M} UTC"))
    if m.answered_at and m.response_time is not None:
        by = m.answered_by or "?"
        rows.append(("Answered", f"{m.answered_at:%Y-%m-%d %H:%M} UTC by {by}, "
                     f"after {format_duration(m.response_time)}"))  # fmt: skip
        if m.answered_url:
            rows.append(("Answer", m.answered_url))
    if m.title:
        rows.append(("Title", m.title))
    rows.append(("Text", m.text))
    for label, value in rows:
        grid.add_row(Text(label), Text(strip_controls(value)))
    return grid
