"""One escaping function per output: terminal, CSV, HTML, Markdown. Mention text is hostile."""

from __future__ import annotations

import re
from urllib.parse import urlsplit  # already loaded by pathlib

# CSI/OSC/other escape sequences first, so their parameters do not survive as visible junk.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0 and C1 controls but tab and newline, zero-width marks and bidi controls: deleted by one
# str.translate, which (unlike a regex) costs nothing to set up at every start.
_CONTROLS = dict.fromkeys(
    [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), *range(0x200B, 0x2010),
     *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)  # fmt: skip
_SPACES = re.compile(r"\s+")
# What html.escape(text, quote=True) replaces; importing html costs ~1.6 ms a start for the
# entity table that only unescaping needs (a test checks the two agree).
_HTML_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;",
                 ord("'"): "&#x27;"}  # fmt: skip


def strip_controls(text: str) -> str:
    """Remove escape sequences, C0/C1 controls and bidi overrides; keep newlines and tabs."""
    # Every code point removed here (ESC too) is a control or format character, which
    # str.isprintable refuses: most text passes that test in a tenth of the two passes' time.
    if text.isprintable():
        return text
    return _ANSI.sub("", text).translate(_CONTROLS)


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
    return strip_controls(text).translate(_HTML_ESCAPES)


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


def public_location(location: str) -> str:
    """URLs can carry private tokens (a feed's key): output shows scheme, host and path."""
    parts = urlsplit(location)
    if parts.scheme in ("http", "https"):
        host = parts.netloc.rpartition("@")[2]  # never show user:password@
        return f"{parts.scheme}://{host}{parts.path}"
    return location
