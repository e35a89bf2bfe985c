"""The `show` view of one stored mention."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from mentionwatch.config import Config
from mentionwatch.errors import UsageError
from mentionwatch.models import State, StoredMention
from mentionwatch.sla import mention_sla, sla_label, sla_status
from mentionwatch.text import strip_controls
from mentionwatch.timeutil import format_duration, format_time

if TYPE_CHECKING:
    from rich.table import Table


def mention_detail(m: StoredMention, config: Config, now: datetime) -> Table:
    """The `show` view: every field, full text, cleaned of control sequences."""
    from rich.table import Table

    def when(moment: datetime) -> str:
        return format_time(moment, config.zone)

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
            f"{when(m.created_at)} ({format_duration(now - m.created_at)} ago)",
        ),
        ("URL", m.url),
        ("Priority", m.priority_name),
    ]
    if m.tags:
        rows.append(("Tags", ", ".join(m.tags)))
    if m.dismissed_rule:
        rows.append(("Dismissed", f"{m.dismissed_reason} (rule {m.dismissed_rule!r})"))
    sla = mention_sla(config, m)
    if m.state in (State.OPEN, State.SNOOZED):
        status, left = sla_status(m, sla, now)
        rows.append(("SLA", f"{status}, {sla_label(status, left, bool(sla.calendar))}, "
                     f"due {when(sla.due(m.created_at))}"))  # fmt: skip
    if sla.calendar:
        rows.append(("Business hours", sla.calendar.describe()))
    if m.snoozed_until:
        rows.append(("Snoozed until", when(m.snoozed_until)))
    if m.answered_at and m.response_time is not None:
        after = format_duration(m.response_time)
        if sla.calendar:
            business = format_duration(sla.elapsed(m.created_at, m.answered_at))
            after += f" ({business} in business hours)"
        if m.answered_by in (None, "manual"):  # `done`: no reply was seen
            rows.append(("Answered", f"marked answered by hand {when(m.answered_at)}, "
                         f"after {after}"))  # fmt: skip
        else:
            rows.append(("Answered", f"{when(m.answered_at)} by {m.answered_by}, after {after}"))
        if m.answered_url:
            rows.append(("Answer", m.answered_url))
    if m.title:
        rows.append(("Title", m.title))
    rows.append(("Text", m.text))
    for label, value in rows:
        grid.add_row(Text(label), Text(strip_controls(value)))
    return grid


def raw_payload(mention_id: int, payload: str | None) -> str:
    """A kept payload, indented; every non-ASCII character escaped, so no control one gets out."""
    import json  # not orjson: a stored payload may hold ints over 64 bits

    if payload is None:
        raise UsageError(
            f"mention {mention_id} has no stored payload: set keep_raw = true in [settings] "
            "or the account, and it is kept for mentions polled after that"
        )
    return json.dumps(json.loads(payload), indent=2, ensure_ascii=True)
