"""One escaping function per output: terminal, CSV, HTML, Markdown. Mention text is hostile."""

from __future__ import annotations

import html
import re

# CSI/OSC/other escape sequences first, so their parameters do not survive as visible junk.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")


def strip_controls(text: str) -> str:
    """Remove escape sequences, C0/C1 controls and bidi overrides; keep newlines and tabs."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def one_line(text: str, width: int = 0) -> str:
    """Collapse to one clean line, cut to `width` characters with an ellipsis when given."""
    line = _SPACES.sub(" ", strip_controls(text)).strip()
    if width and len(line) > width:
        return line[: max(width - 1, 0)].rstrip() + "…"
    return line


def csv_cell(text: str) -> str:
    """Neutralise spreadsheet formulas (OWASP CSV injection) and strip control characters."""
    clean = strip_controls(text)
    # Some spreadsheets skip leading blanks and line breaks before reading a formula.
    if clean[:1] in ("\t", "\r") or clean.lstrip()[:1] in ("=", "+", "-", "@"):
        return "'" + clean
    return clean


def html_text(text: str) -> str:
    """Escape for HTML element content and attribute values."""
    return html.escape(strip_controls(text), quote=True)


# Inline syntax anywhere (emphasis, code, links, images, HTML, entities, table cells, math),
# and block syntax where a line starts (lists, headings, quotes, setext underlines).
_MARKDOWN_INLINE = re.compile(r"([\\`*_{}\[\]()<>&|~!#$])")
_MARKDOWN_START = re.compile(r"^([-+=>]|\d+[.)])")


def markdown_text(text: str) -> str:
    """One line of Markdown that renders as exactly `text`: no links, HTML, emphasis or cells.

    Backslash escapes work for every ASCII punctuation in CommonMark and GFM, link
    destinations included; only the characters that could mean something get one.
    """
    line = _MARKDOWN_INLINE.sub(r"\\\1", one_line(text))
    return _MARKDOWN_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], line)


def safe_url(url: str) -> str:
    """Only http(s) URLs are rendered as links; javascript:, data: and the rest are dropped."""
    clean = strip_controls(url).strip()
    return clean if clean.lower().startswith(("https://", "http://")) else ""
