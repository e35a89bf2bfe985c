"""The `list` view: fixed columns laid out by hand for the screen's width, each link whole.

A rich Table took 40-80 ms to lay out 50 two-line rows, a fifth of `list`'s run time
(benchmarks/RESULTS.md); this view is one Text built from plain strings and their spans in
a single pass, and costs a few ms. Nothing is read as markup, so mention text stays text.

Laid out for the width: a Where or Author that is the same on every row is said once above
the table instead of on each row; when the excerpt would get under 50 columns, Age, SLA and
Where take compact forms; the labels never get more room than the excerpt. A link is never
cut: it goes under the excerpt when it fits there, else on a line of its own, whole. Styled
(a terminal), the link and the excerpt are also OSC 8 hyperlinks, so a click opens the
mention even where the terminal wraps a long link.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Span, Text

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.sla import BREACHED, DUE_SOON, OK, mention_sla, sla_label, sla_status
from mentionwatch.text import one_line, safe_url
from mentionwatch.timeutil import format_duration

MENTION = "Mention / link"
GAP = "  "
BUSINESS_NOTE = "(bh): age and SLA count business hours only"
_MIN_MENTION = 24
_COMPACT_BELOW = 50  # excerpt columns under which Age, SLA and Where take their short forms
_MIN_LABEL = 8
STYLES = {OK: "green", DUE_SOON: "yellow", BREACHED: "red"}
PRIORITY_STYLES = {"high": "bold red", "low": "dim"}


class Row(NamedTuple):
    id: str
    priority: str  # "" for normal
    age: tuple[str, str]  # full, compact
    sla: tuple[str, str]
    where: tuple[str, str]  # platform/account, account
    author: str
    excerpt: str
    style: str  # of the age and SLA cells
    url: str
    business: bool


class Layout(NamedTuple):
    headers: tuple[str, ...]
    widths: tuple[int, ...]
    compact: bool
    priority: bool  # a Pri column: some row is not of normal priority, and not all alike
    where: bool  # a Where column (else every row has the same, said once above)
    author: bool
    shared: tuple[str, ...]  # the lines above the header that say what every row shares

    def cells(self, row: Row) -> list[str]:
        n = int(self.compact)
        cells = [row.id, *([row.priority] if self.priority else []), row.age[n], row.sla[n]]
        cells += [row.where[n]] if self.where else []
        cells += [row.author] if self.author else []
        return [*cells, row.excerpt]

    def styles(self, row: Row, link: str) -> list[str | Style]:
        styles: list[str | Style] = ["dim"]
        styles += [PRIORITY_STYLES.get(row.priority, "")] if self.priority else []
        styles += [row.style, row.style]
        styles += [""] if self.where else []
        styles += ["cyan"] if self.author else []
        return [*styles, Style(link=link) if link else ""]


def _url_indent(rows: Sequence[Row], widths: Sequence[int], screen: int) -> int:
    """Links under the excerpt if every one fits there whole, else under Age: the same indent
    on every row reads as a column. One too long even for a line of its own starts at the
    margin and is left out of the choice."""
    under_excerpt = sum(widths[:-1]) + len(GAP) * (len(widths) - 1)
    under_age = widths[0] + len(GAP)
    lengths = [cell_len(r.url) for r in rows]
    if all(under_excerpt + n <= screen or under_age + n > screen for n in lengths):
        return under_excerpt
    return under_age


def mention_list(
    mentions: Sequence[StoredMention],
    config: Config,
    now: datetime,
    width: int = 100,
    *,
    styled: bool = True,
) -> Text:
    """What every row shares, the header, then each mention's row and its link.

    Unstyled (the console shows no styles: a pipe, a file, cron), the Text carries no spans.
    """
    rows = [list_row(m, config, now) for m in mentions]
    layout = lay_out(rows, width)
    out = _Builder(styled)
    for line in layout.shared:
        out.add(line, "dim")
        out.add("\n")
    widths = layout.widths
    _line(out, layout.headers, widths, ["bold"] * len(widths))
    indent = _url_indent(rows, widths, width)
    for row in rows:
        link = safe_url(row.url) if styled else ""  # a hyperlink only where styles show
        _line(out, layout.cells(row), widths, layout.styles(row, link))
        if row.url:
            out.add(" " * (indent if indent + cell_len(row.url) <= width else 0))
            out.add(row.url, Style(color="blue", link=link) if link else "blue")
            out.add("\n")
    if any(row.business for row in rows):
        out.add(BUSINESS_NOTE, "dim")
        out.add("\n")
    text = out.text()
    text.rstrip()
    return text


def lay_out(rows: Sequence[Row], screen: int) -> Layout:
    """Which columns, in which form, how wide; the excerpt is the widest column."""
    where = not _shared(rows, [r.where[0] for r in rows])
    author = not _shared(rows, [r.author for r in rows])
    same_priority = _shared(rows, [r.priority for r in rows])
    priority = any(r.priority for r in rows) and not same_priority
    said = [("Priority", rows[0].priority)] if same_priority and rows[0].priority else []
    said += [] if where else [("Where", rows[0].where[0])]
    said += [] if author else [("Author", rows[0].author)]
    shared = _shared_lines(said, screen)
    full = _widths(rows, screen, False, (priority, where, author), shared)
    excerpts = _natural(MENTION, [r.excerpt for r in rows])
    if full.widths[-1] >= min(_COMPACT_BELOW, excerpts):
        return full
    return _widths(rows, screen, True, (priority, where, author), shared)


def _shared(rows: Sequence[Row], values: list[str]) -> bool:
    return len(rows) > 1 and len(set(values)) == 1


def _shared_lines(said: list[tuple[str, str]], screen: int) -> tuple[str, ...]:
    parts = [f"{label}: {value}" for label, value in said]
    together = "   ".join(parts)
    if not parts:
        return ()
    return (together,) if cell_len(together) <= screen else tuple(parts)


def _widths(
    rows: Sequence[Row],
    screen: int,
    compact: bool,
    shown: tuple[bool, bool, bool],  # the Pri, Where and Author columns
    shared: tuple[str, ...],
) -> Layout:
    n = int(compact)
    priority, where, author = shown
    headers = ["ID", *(["Pri"] if priority else []), "Age", "SLA"]
    columns = [[r.id for r in rows], *([[r.priority for r in rows]] if priority else [])]
    columns += [[r.age[n] for r in rows], [r.sla[n] for r in rows]]
    fixed = len(columns)
    headers += [*(["Where"] if where else []), *(["Author"] if author else [])]
    columns += [[r.where[n] for r in rows]] if where else []
    columns += [[r.author for r in rows]] if author else []
    widths = [_natural(h, c) for h, c in zip(headers, columns, strict=True)]
    room = screen - sum(widths[:fixed]) - len(GAP) * len(widths)
    labels = widths[fixed:]
    if labels:
        # Each label gets at most a quarter of what is left, so the excerpt keeps at least half.
        cap = max(_MIN_LABEL, room // 4)
        labels = [min(w, cap) for w in labels]
    mention = max(_MIN_MENTION, min(_natural(MENTION, [r.excerpt for r in rows]),
                                    room - sum(labels)))  # fmt: skip
    return Layout(
        headers=(*headers, MENTION),
        widths=(*widths[:fixed], *labels, mention),
        compact=compact,
        priority=priority,
        where=where,
        author=author,
        shared=shared,
    )


def _natural(header: str, cells: Sequence[str]) -> int:
    return max([cell_len(header), *(cell_len(c) for c in cells)])


class _Builder:
    """One Text built from plain pieces and their styles in a single pass."""

    def __init__(self, styled: bool) -> None:
        self.styled = styled
        self.pieces: list[str] = []
        self.spans: list[Span] = []
        self.length = 0

    def add(self, piece: str, style: str | Style = "") -> None:
        if style and self.styled:
            self.spans.append(Span(self.length, self.length + len(piece), style))
        self.pieces.append(piece)
        self.length += len(piece)

    def text(self) -> Text:
        return Text("".join(self.pieces), spans=self.spans)


def list_row(m: StoredMention, config: Config, now: datetime) -> Row:
    age = format_duration(now - m.created_at)
    short_age = age.split(" ")[0]
    style, sla_text, short_sla, business = "", str(m.state), str(m.state), False
    if m.state in (State.OPEN, State.SNOOZED):
        sla = mention_sla(config, m)
        status, left = sla_status(m, sla, now)
        business = sla.calendar is not None
        if business:
            age = format_duration(sla.elapsed(m.created_at, now))
            short_age = age.split(" ")[0] + " (bh)"
            age += " (bh)"
        style, sla_text = STYLES[status], sla_label(status, left)
        late = status == BREACHED
        short_sla = f"{format_duration(left)} {'late' if late else 'left'}"
    excerpt = one_line(f"{m.title}: {m.text}" if m.title else m.text, 200)
    if m.tags:
        excerpt = f"[{', '.join(m.tags)}] {excerpt}"
    if m.dismissed_reason:
        sla_text = short_sla = f"dismissed: {one_line(m.dismissed_reason)}"
    account = one_line(m.account)
    return Row(
        id=str(m.id),
        priority="" if m.priority_name == "normal" else m.priority_name,
        age=(age, short_age),
        sla=(sla_text, short_sla),
        where=(f"{m.platform}/{account}", account),
        author=one_line(m.author),
        excerpt=excerpt,
        style=style,
        url=one_line(m.url),
        business=business,
    )


def _line(
    out: _Builder,
    cells: Sequence[str],
    widths: Sequence[int],
    styles: Sequence[str | Style],
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
