"""The `list` view: fixed columns laid out by hand, the mention and its link on two lines.

A rich Table took 40-80 ms to lay out 50 two-line rows, a fifth of `list`'s run time
(benchmarks/RESULTS.md); this view is one Text built from plain strings and their spans in
a single pass, and costs a few ms. Nothing is read as markup, so mention text stays text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.text import Span, Text

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.sla import BREACHED, DUE_SOON, OK, mention_sla, sla_label, sla_status
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration

HEADERS = ("ID", "Pri", "Age", "SLA", "Where", "Author", "Mention / link")
GAP = "  "
BUSINESS_NOTE = "(bh): age and SLA count business hours only"
_MIN_MENTION = 24
STYLES = {OK: "green", DUE_SOON: "yellow", BREACHED: "red"}


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]  # id, priority, age, sla, where, author, excerpt
    style: str  # of the age and SLA cells
    url: str
    business: bool


def mention_list(
    mentions: Sequence[StoredMention],
    config: Config,
    now: datetime,
    width: int = 100,
    *,
    styled: bool = True,
) -> Text:
    """The header, then each mention's row and its link folded under the excerpt.

    Unstyled (the console shows no styles: a pipe, a file, cron), the Text carries no spans.
    """
    rows = [_row(m, config, now) for m in mentions]
    widths = _widths(rows, width)
    out = _Builder(styled)
    _line(out, HEADERS, widths, ["bold"] * len(HEADERS))
    indent = " " * (sum(widths[:-1]) + len(GAP) * (len(widths) - 1))
    for row in rows:
        pri = {"high": "bold red", "low": "dim"}.get(row.cells[1], "")
        _line(out, row.cells, widths, ["dim", pri, row.style, row.style, "", "cyan", ""])
        for piece in chop_cells(row.url, widths[-1]) if row.url else ():
            out.add(indent)
            out.add(piece, "blue")
            out.add("\n")
    if any(row.business for row in rows):
        out.add(BUSINESS_NOTE, "dim")
        out.add("\n")
    text = out.text()
    text.rstrip()
    return text


class _Builder:
    """One Text built from plain pieces and their styles in a single pass."""

    def __init__(self, styled: bool) -> None:
        self.styled = styled
        self.pieces: list[str] = []
        self.spans: list[Span] = []
        self.length = 0

    def add(self, piece: str, style: str = "") -> None:
        if style and self.styled:
            self.spans.append(Span(self.length, self.length + len(piece), style))
        self.pieces.append(piece)
        self.length += len(piece)

    def text(self) -> Text:
        return Text("".join(self.pieces), spans=self.spans)


def _row(m: StoredMention, config: Config, now: datetime) -> Row:
    age = format_duration(now - m.created_at)
    style, sla_text, business = "", str(m.state), False
    if m.state in (State.OPEN, State.SNOOZED):
        sla = mention_sla(config, m)
        status, left = sla_status(m, sla, now)
        business = sla.calendar is not None
        if business:
            age = format_duration(sla.elapsed(m.created_at, now)) + " (bh)"
        style, sla_text = STYLES[status], sla_label(status, left)
    excerpt = one_line(f"{m.title}: {m.text}" if m.title else m.text, 200)
    if m.tags:
        excerpt = f"[{', '.join(m.tags)}] {excerpt}"
    if m.dismissed_reason:
        sla_text = f"dismissed: {one_line(m.dismissed_reason)}"
    where = f"{m.platform}/{one_line(m.account)}"
    priority = "" if m.priority_name == "normal" else m.priority_name
    cells = (str(m.id), priority, age, sla_text, where, one_line(m.author), excerpt)
    return Row(cells, style, one_line(m.url), business)


def _widths(rows: Sequence[Row], screen: int) -> list[int]:
    """Natural widths; the labels give way first, so the excerpt and the link stay readable."""
    natural = [cell_len(h) for h in HEADERS]
    for row in rows:
        natural = [max(n, cell_len(c)) for n, c in zip(natural, row.cells, strict=True)]
    label = max(8, min(28, (screen - 40) // 4))
    natural[4], natural[5] = min(natural[4], label), min(natural[5], label)
    fixed = sum(natural[:-1]) + len(GAP) * (len(natural) - 1)
    natural[-1] = max(_MIN_MENTION, min(natural[-1], screen - fixed))
    return natural


def _line(
    out: _Builder, cells: Sequence[str], widths: Sequence[int], styles: Sequence[str]
) -> None:
    last = len(widths) - 1
    for n, (cell, width, style) in enumerate(zip(cells, widths, styles, strict=True)):
        out.add(_fit(cell, width, right=n == 0, pad=n < last), style)
        out.add(GAP if n < last else "\n")


def _fit(cell: str, width: int, *, right: bool, pad: bool) -> str:
    """The cell cut to `width` cells with an ellipsis, or padded to it (as Text.truncate)."""
    length = cell_len(cell)
    if right and length < width:
        cell, length = " " * (width - length) + cell, width
    if length > width:
        return set_cell_size(cell, width - 1) + "…"
    return cell + " " * (width - length) if pad else cell
