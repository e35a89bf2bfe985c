"""The `show` view of one stored mention."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from mentionwatch.config import Config
from mentionwatch.errors import UsageError
from mentionwatch.models import State, StoredMention
from mentionwatch.sla import mention_sla, sla_label, sla_status
from mentionwatch.text import safe_url, strip_controls
from mentionwatch.timeutil import format_duration, format_time

if TYPE_CHECKING:
    from rich.console import Group, RenderableType
    from rich.table import Table

_LINKS = ("URL", "Answer")  # fields that hold a link: never wrapped
_PADDING = "  "


def mention_detail(m: StoredMention, config: Config, now: datetime, width: int = 100) -> Group:
    """The `show` view: every field, full text, cleaned of control sequences.

    A link never wraps: one too long for the value column gets a line of its own, whole
    (print it with crop=False), and on a terminal it is an OSC 8 hyperlink as well.
    """

    def when(moment: datetime) -> str:
        return format_time(moment, config.zone)

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
    return _fields(rows, width)


def _fields(rows: list[tuple[str, str]], width: int) -> Group:
    from rich.console import Group

    labels = max(cell_len(label) for label, _ in rows)
    parts: list[RenderableType] = []
    grid = _grid(labels)
    for label, value in rows:
        value = strip_controls(value)
        if label not in _LINKS:
            grid.add_row(Text(label), Text(value))
            continue
        link = safe_url(value)
        shown = Text(value, style=Style(link=link) if link else "", no_wrap=True, overflow="ignore")
        if labels + len(_PADDING) + cell_len(value) <= width:
            grid.add_row(Text(label), shown)
            continue
        if grid.row_count:
            parts.append(grid)
            grid = _grid(labels)
        parts += [Text(label, style="bold"), shown]
    if grid.row_count:
        parts.append(grid)
    return Group(*parts)


def _grid(labels: int) -> Table:
    from rich.table import Table

    # The same label width in every grid, so the values line up across a link's own line.
    grid = Table.grid(padding=(0, len(_PADDING)))
    grid.add_column(style="bold", min_width=labels)
    grid.add_column(overflow="fold")
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
