"""Streaming writers: one row at a time, so exports run in constant memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, TextIO

from mentionwatch.config import Config
from mentionwatch.errors import UsageError
from mentionwatch.models import StoredMention
from mentionwatch.render.records import record
from mentionwatch.sla import mention_sla
from mentionwatch.text import csv_cell

if TYPE_CHECKING:
    from mentionwatch.stats import Stats

FIELDS = (
    "id", "account", "platform", "kind", "state", "author", "title", "text", "url",
    "created_at", "age_seconds", "sla_seconds", "sla_status", "sla_left_seconds",
    "snoozed_until", "answered_at", "answered_url", "answered_by", "response_seconds",
    "sla_clock", "sla_due_at", "priority", "tags", "dismissed_reason", "dismissed_rule", "lang",
    "assignee", "notes",
)  # fmt: skip


def _records(
    mentions: Iterable[StoredMention], config: Config, now: datetime
) -> Iterable[dict[str, Any]]:
    for mention in mentions:
        yield record(mention, mention_sla(config, mention), now)


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    count = 0
    for row in rows:
        # Tags are letters, digits, '-' and '_': joined by commas they stay one readable cell.
        values = (",".join(v) if isinstance(v, list) else v for v in map(row.get, FIELDS))
        writer.writerow(
            [csv_cell(v) if isinstance(v, str) else ("" if v is None else v) for v in values]
        )
        count += 1
    return count


WRITERS: dict[str, Callable[[Iterable[dict[str, Any]], TextIO], int]] = {
    "csv": write_csv,
    "json": write_json,
    "jsonl": write_jsonl,
}


# Shareable reports: the `stats` summary first, then the mentions (export_report.py).
REPORTS = ("markdown", "html")
FORMATS = (*WRITERS, *REPORTS)
ALIASES = {"md": "markdown", "htm": "html"}
# What `export -o FILE` writes when no --format says: the file's extension decides.
BY_EXTENSION = {
    ".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
}  # fmt: skip


def export_format(fmt: str | None, output: str | None) -> str:
    """The format --format names (`md` is markdown), else the output's extension, else csv.

    An extension that names no format is refused rather than filled with CSV.
    """
    if fmt is not None:
        fmt = ALIASES.get(fmt.lower(), fmt.lower())
        if fmt not in FORMATS:
            raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    suffix = PurePath(output).suffix.lower() if output is not None else ""
    if not suffix:
        return "csv"
    if suffix not in BY_EXTENSION:
        raise UsageError(
            f"--output: cannot tell the format of {output!r} from its extension "
            f"({', '.join(BY_EXTENSION)}); give --format"
        )
    return BY_EXTENSION[suffix]


def export(
    fmt: str,
    mentions: Iterable[StoredMention],
    config: Config,
    now: datetime,
    out: TextIO,
    summary: Stats | None = None,
) -> int:
    """Write the mentions in `fmt`; returns how many rows were written.

    The report formats (markdown, html) need `summary`, the figures `stats` computes.
    """
    if fmt in REPORTS:
        from mentionwatch.render.report import REPORT_WRITERS

        if summary is None:
            raise ValueError(f"the {fmt} report needs its summary")
        return REPORT_WRITERS[fmt](summary, _records(mentions, config, now), out)
    return WRITERS[fmt](_records(mentions, config, now), out)
