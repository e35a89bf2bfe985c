"""Shareable reports: the `stats` summary and the selected mentions, as Markdown or HTML.

Rows stream straight from the query, so a report runs in constant memory like every export.
Every string that came from a platform or the config goes through the format's one escaping
function (text.markdown_text, text.html_text; links only through text.safe_url).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, TextIO

from mentionwatch.render.stats import (
    BUSINESS_NOTE,
    TIMES,
    VOLUME,
    calendars_note,
    group_title,
    heading,
    sparkline,
    times_rows,
    volume_rows,
)  # fmt: skip
from mentionwatch.sla import sla_label
from mentionwatch.stats import Stats
from mentionwatch.text import html_text, markdown_text, one_line, safe_url
from mentionwatch.timeutil import format_duration

TITLE = "mentionwatch report"
MENTION_COLUMNS = ("ID", "Age", "SLA", "Where", "Author", "Mention")
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
p, table.mentions td { overflow-wrap: anywhere; }
table.mentions { table-layout: fixed; width: 100%; }
col.id { width: 3.5em; } col.age { width: 5.5em; } col.sla { width: 8.5em; }
col.where { width: 10em; } col.author { width: 10em; }
td.breached { color: #b00020; } td.due-soon { color: #a06000; } td.ok { color: #1b7f3b; }
.note { color: #555; } .spark { font-family: monospace; letter-spacing: 1px; }
"""


def _cells(row: dict[str, Any]) -> list[str]:
    """The plain (unescaped) cells of one mention; the SLA cell says which clock counts."""
    status = row["sla_status"]
    if status:
        business = row["sla_clock"] == "business hours"
        sla = sla_label(status, timedelta(seconds=row["sla_left_seconds"]), business)
    else:
        sla = row["state"]
    text = f"{row['title']}: {row['text']}" if row["title"] else row["text"]
    return [
        str(row["id"]),
        format_duration(timedelta(seconds=row["age_seconds"])),
        sla,
        f"{row['platform']}/{row['account']}",
        row["author"],
        one_line(text, 280),
    ]


def _per_day(stats: Stats) -> str:
    if len(stats.daily) < 2:
        return ""
    received = sparkline([r for _, r, _ in stats.daily])
    answered = sparkline([a for _, _, a in stats.daily])
    first, last = stats.daily[0][0], stats.daily[-1][0]
    return f"Per day, {first} to {last} ({stats.zone}): received {received}, answered {answered}"


def write_markdown(stats: Stats, rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    out.write(f"# {TITLE}\n\n{markdown_text(heading(stats))}\n\n## Summary\n\n")
    _md_table(out, [group_title(stats), *VOLUME], volume_rows(stats))
    if stats.total.wall is not None:
        out.write("## First response\n\n")
        _md_table(out, [group_title(stats), *TIMES], times_rows(stats))
    for note in (_per_day(stats), calendars_note(stats)):
        if note:
            out.write(f"{markdown_text(note)}\n\n")
    out.write("## Mentions\n\n")
    _md_line(out, MENTION_COLUMNS)
    out.write("|---:|---|---|---|---|---|\n")
    count = 0
    for row in rows:
        cells = [markdown_text(c) for c in _cells(row)]
        url = safe_url(row["url"])
        if url:
            # A link destination ends at whitespace: encode it, or the link falls apart.
            url = re.sub(r"\s", lambda m: f"%{ord(m.group()):02X}", url)
            cells[-1] += f" [link]({markdown_text(url)})"
        out.write("| " + " | ".join(cells) + " |\n")
        count += 1
    note = f" {markdown_text(BUSINESS_NOTE)}." if stats.calendars else ""
    out.write(f"\n{count} mention{'s' if count != 1 else ''}.{note}\n")
    return count


def _md_table(out: TextIO, headers: Sequence[str], rows: list[list[str]]) -> None:
    _md_line(out, headers)
    out.write("|" + "---|" * len(headers) + "\n")
    for row in rows:
        _md_line(out, row)
    out.write("\n")


def _md_line(out: TextIO, cells: Sequence[str]) -> None:
    out.write("| " + " | ".join(markdown_text(c) for c in cells) + " |\n")


def write_html(stats: Stats, rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    out.write(
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        # Defence in depth: even a missed escape could run no script and load nothing.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{TITLE}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{TITLE}</h1>\n<p>{html_text(heading(stats))}</p>\n<h2>Summary</h2>\n"
    )
    _html_table(out, [group_title(stats), *VOLUME], volume_rows(stats))
    if stats.total.wall is not None:
        out.write("<h2>First response</h2>\n")
        _html_table(out, [group_title(stats), *TIMES], times_rows(stats))
    if _per_day(stats):
        out.write(f'<p class="spark">{html_text(_per_day(stats))}</p>\n')
    if calendars_note(stats):
        out.write(f'<p class="note">{html_text(calendars_note(stats))}</p>\n')
    # Fixed column widths: a long unbroken link in a mention wraps inside its cell instead of
    # widening the table past the page and pushing the Mention column out of sight.
    out.write('<h2>Mentions</h2>\n<table class="mentions">\n<colgroup>')
    out.write("".join(f'<col class="{c.lower()}">' for c in MENTION_COLUMNS) + "</colgroup>\n")
    out.write("<thead><tr>")
    out.write("".join(f"<th>{c}</th>" for c in MENTION_COLUMNS) + "</tr></thead>\n<tbody>\n")
    count = 0
    for row in rows:
        out.write(_html_row(row) + "\n")
        count += 1
    plural = "s" if count != 1 else ""
    note = f" {html_text(BUSINESS_NOTE)}." if stats.calendars else ""
    out.write(
        f'</tbody>\n</table>\n<p class="note">{count} mention{plural}.{note}</p>\n'
        "</body>\n</html>\n"
    )
    return count


def _html_row(row: dict[str, Any]) -> str:
    cells = [html_text(c) for c in _cells(row)]
    url = safe_url(row["url"])
    if url:
        cells[-1] += f' <a href="{html_text(url)}" rel="noopener noreferrer nofollow">link</a>'
    status = str(row["sla_status"]).replace(" ", "-")
    tds = [f'<td class="{status}">{c}</td>' if i == 2 and status else f"<td>{c}</td>"
           for i, c in enumerate(cells)]  # fmt: skip
    return "<tr>" + "".join(tds) + "</tr>"


def _html_table(out: TextIO, headers: Sequence[str], rows: list[list[str]]) -> None:
    out.write("<table>\n<thead><tr>")
    out.write("".join(f"<th>{html_text(h)}</th>" for h in headers) + "</tr></thead>\n<tbody>\n")
    for row in rows:
        out.write("<tr>" + "".join(f"<td>{html_text(c)}</td>" for c in row) + "</tr>\n")
    out.write("</tbody>\n</table>\n")


REPORT_WRITERS: dict[str, Callable[[Stats, Iterable[dict[str, Any]], TextIO], int]] = {
    "markdown": write_markdown,
    "html": write_html,
}
