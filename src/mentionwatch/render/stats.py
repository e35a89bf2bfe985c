"""How `stats` and `check` read: table cells shared by the terminal, Markdown and HTML views.

Cells are plain strings that may hold account names; each output escapes them its own way
(rich Text here, text.markdown_text and text.html_text in export.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mentionwatch.sla import BREACHED
from mentionwatch.stats import Breach, Figures, Stats, Times, Waiting
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration, format_time

SPARKS = "▁▂▃▄▅▆▇█"
BUSINESS_NOTE = "(bh): counted in business hours only"
VOLUME = ("Received", "Answered", "Dismissed", "Open", "Snoozed", "Response rate",
          "Within SLA", "Oldest waiting")  # fmt: skip
TIMES = ("Clock", "Answered", "Median", "P90", "Mean", "Quickest", "Slowest")
# What the tables say when the full headers do not fit the screen, and what they stand for.
SHORT_VOLUME = ("Recv.", "Ans.", "Dism.", "Open", "Snz.", "Rate", "In SLA", "Oldest waiting")
SHORT_TIMES = ("Clock", "N", "Median", "P90", "Mean", "Min", "Max")
ABBREVIATIONS = {"Recv.": "received", "Ans.": "answered", "Dism.": "dismissed",
                 "Snz.": "snoozed", "Rate": "response rate", "N": "answered",
                 "Min": "quickest", "Max": "slowest"}  # fmt: skip
# A last column too wide for a narrow screen: said below the table, a line a row.
SPILLED = {"Oldest waiting": "Oldest waiting"}


def heading(stats: Stats) -> str:
    window = format_duration(stats.now - stats.since)
    return (
        f"Mentions received in the last {window} "
        f"(since {format_time(stats.since, stats.tz)}, until {format_time(stats.now, stats.tz)})"
    )


def _rows(stats: Stats) -> list[Figures]:
    return [*stats.groups, stats.total] if stats.groups else [stats.total]


def group_title(stats: Stats) -> str:
    return (stats.by or "").capitalize()


def volume_rows(stats: Stats) -> list[list[str]]:
    """One row per group, the total last: counts, rates and the oldest waiting mention."""
    return [
        [f.group, str(f.received), str(f.answered), str(f.dismissed), str(f.open),
         str(f.snoozed), _percent(f.response_rate), _percent(f.within_sla),
         _waiting(f.oldest_waiting)]
        for f in _rows(stats)
    ]  # fmt: skip


def times_rows(stats: Stats) -> list[list[str]]:
    """First-response times per group: wall clock, and business hours where a calendar is set."""
    rows = []
    for f in _rows(stats):
        for clock, times in (("wall", f.wall), ("business", f.business)):
            if times is not None:
                rows.append([f.group, clock, *_times(times)])
    return rows


def calendars_note(stats: Stats) -> str:
    if not stats.calendars:
        return ""
    hours = "; ".join(f"{name}: {hours}" for name, hours in sorted(stats.calendars.items()))
    return f"Business hours ({hours}). Accounts without them count every hour."


def _times(t: Times) -> list[str]:
    return [str(t.count), *(format_duration(v) for v in (t.median, t.p90, t.mean, t.quickest,
                                                         t.slowest))]  # fmt: skip


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _waiting(w: Waiting | None) -> str:
    if w is None:
        return "-"
    age = format_duration(w.age)
    if w.business_age is not None:
        age += f", {format_duration(w.business_age)} (bh)"
    return f"#{w.mention.id} {w.mention.account}, {age}, {w.sla_status}"


def render(stats: Stats, width: int = 100) -> RenderableType:
    """The terminal view: two tables, a histogram of response times, per-day sparklines.

    Laid out for the width: a table that does not fit gets short headers, then loses a
    column to lines below it, then becomes a list of lines; no header or cell is split.
    """
    title = heading(stats)
    if cell_len(title) > width:  # the window's dates on a line of their own
        title = title.replace(" (since ", "\n(since ", 1)
    parts: list[RenderableType] = [Text(title, style="bold")]
    parts += _adapted(stats, [VOLUME, SHORT_VOLUME], volume_rows(stats), width)
    if stats.total.wall is not None:
        parts.append(Text("\nFirst response", style="bold"))
        parts += _adapted(stats, [TIMES, SHORT_TIMES], times_rows(stats), width)
        parts.append(Text("\nResponse times (on the SLA's clock)", style="bold"))
        parts.append(histogram(stats.histogram, max(10, min(50, width - 20))))
    if len(stats.daily) > 1:
        parts.append(Text(f"\nPer day ({stats.zone})", style="bold"))
        parts.append(sparklines(stats, width))
    note = calendars_note(stats)
    if note:
        parts.append(Text(f"\n{note} {BUSINESS_NOTE}.", style="dim"))
    return Group(*parts)


def _adapted(
    stats: Stats, header_sets: Sequence[Sequence[str]], rows: list[list[str]], width: int
) -> list[RenderableType]:
    """The widest form of a table that fits `width`, down to one line a row."""
    title = group_title(stats)
    for headers in header_sets:
        if _width([title, *headers], rows) <= width:
            return [_table([title, *headers], rows, stats), *_legend(headers)]
    headers = header_sets[-1]
    last = headers[-1]
    if last in SPILLED and _width([title, *headers[:-1]], [r[:-1] for r in rows]) <= width:
        # The widest cells move to a line each below the table.
        table = _table([title, *headers[:-1]], [r[:-1] for r in rows], stats)
        said = [Text(f"  {one_line(r[0])}: {one_line(r[-1])}") for r in rows if r[-1] != "-"]
        spilled = [Text(f"{SPILLED[last]}:", style="bold"), *said] if said else []
        return [table, *_legend(headers), *spilled]
    names = [h[0].lower() + h[1:] for h in header_sets[0]]  # "within SLA", not "within sla"
    return [
        Text.assemble((f"{one_line(r[0])}: ", "bold"),
                      ", ".join(f"{n} {one_line(c)}" for n, c in zip(names, r[1:], strict=True)))
        for r in rows
    ]  # fmt: skip


def _width(headers: Sequence[str], rows: list[list[str]]) -> int:
    """What the table takes: each column's widest cell and two spaces between columns."""
    widths = [cell_len(h) for h in headers]
    for row in rows:
        widths = [max(w, cell_len(one_line(c))) for w, c in zip(widths, row, strict=True)]
    return sum(widths) + 2 * (len(widths) - 1)


def _legend(headers: Sequence[str]) -> list[RenderableType]:
    said = [f"{h} {ABBREVIATIONS[h]}" for h in headers if h in ABBREVIATIONS]
    return [Text(", ".join(said), style="dim")] if said else []


def _table(headers: Sequence[str], rows: list[list[str]], stats: Stats) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for index, name in enumerate(headers):
        numeric = index > 0 and name not in ("Clock", "Oldest waiting")
        # Never split a header or a cell: the layout above picked a form that fits.
        table.add_column(name, justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        style = "bold" if stats.groups and row[0] == "all" else ""
        table.add_row(*(Text(one_line(cell)) for cell in row), style=style)
    return table


def histogram(buckets: Sequence[tuple[str, int]], width: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", style="dim")
    grid.add_column()
    grid.add_column(justify="right")
    top = max((n for _, n in buckets), default=0) or 1
    for label, n in buckets:
        bar = "█" * round(n / top * width) if n else ""
        grid.add_row(Text(label), Text(bar, style="cyan"), Text(str(n)))
    return grid


def sparkline(values: Sequence[int]) -> str:
    """A block per value: ▁ is zero, ▂ to █ scale the rest up to the largest."""
    top = max(values, default=0)
    if not top:
        return SPARKS[0] * len(values)
    return "".join(
        SPARKS[0] if not v else SPARKS[1 + round((v / top) * (len(SPARKS) - 2))] for v in values
    )


def sparklines(stats: Stats, width: int) -> Table:
    days = stats.daily[-max(7, width - 30) :]
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim")
    grid.add_column(no_wrap=True)
    grid.add_column(style="dim")
    span = f"{days[0][0]:%b %d} - {days[-1][0]:%b %d}"
    received = [r for _, r, _ in days]
    answered = [a for _, _, a in days]
    grid.add_row(Text("received"), Text(sparkline(received), style="cyan"),
                 Text(f"{span}, peak {max(received)}"))  # fmt: skip
    grid.add_row(Text("answered"), Text(sparkline(answered), style="green"),
                 Text(f"peak {max(answered)}"))  # fmt: skip
    return grid


def check_summary(found: Sequence[Breach], max_age: timedelta | None, now: datetime) -> str:
    """The one line `check` prints when something waits too long."""
    late = [b for b in found if b.sla_status == BREACHED]
    old = [b for b in found if b.too_old]
    parts = []
    if late:
        parts.append(f"{len(late)} past their SLA")
    if old and max_age is not None:
        parts.append(f"{len(old)} older than {format_duration(max_age)}")
    if late:
        worst = min(late, key=lambda b: b.left)
        what = f"overdue by {format_duration(-worst.left)}"
        what += " in business hours" if worst.business else ""
    else:
        worst = min(old, key=lambda b: b.mention.created_at)
        what = f"waiting {format_duration(now - worst.mention.created_at)}"
    m = worst.mention
    noun = "mention" if len(found) == 1 else "mentions"
    return one_line(
        f"{len(found)} {noun} waiting too long ({', '.join(parts)}); "
        f"worst: #{m.id} on {m.platform}/{m.account}, {what}"
    )
