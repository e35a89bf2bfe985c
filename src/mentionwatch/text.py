"""One escaping function per output: terminal, CSV, HTML, Markdown. Mention text is hostile."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

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


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "blockquote", "tr", "h1", "h2", "h3", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS and self.parts:
            self.parts.append("\n")
        if tag == "a":
            self._href = dict(attrs).get("href") or None
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            shown = "".join(self._link_text).strip()
            # Keep the target when the text hides it ("click here"), but not for @mentions or #tags.
            if shown and not shown.startswith(("@", "#")) and _bare(shown) not in self._href:
                self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._href is not None:
            self._link_text.append(data)


def _bare(text: str) -> str:
    return re.sub(r"^https?://", "", text).rstrip("/…")


# Post HTML is nearly always plain tags, text and entities. Tokenising that with one regex is
# several times faster than HTMLParser (which dominated a large poll); anything else (comments,
# script, a stray "<", odd attributes) goes to HTMLParser, so the two never disagree.
_SIMPLE_TOKEN = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*"""
    r"""(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'=<>`]+))?)*)\s*(/?)>|([^<&]+|&)"""
)
_SIMPLE_ATTR = re.compile(
    r"""\s+([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"<]*)"|'([^'<]*)'|([^\s"'=<>`]+)))?"""
)
_RAW_TEXT_TAGS = frozenset({"script", "style"})


def _feed_simple(parser: _TextExtractor, markup: str) -> bool:
    """Feed simple markup to the extractor's handlers; False, having fed nothing, otherwise."""
    events: list[tuple[str, str, list[tuple[str, str | None]]]] = []
    text: list[str] = []
    position, end = 0, len(markup)
    while position < end:
        token = _SIMPLE_TOKEN.match(markup, position)
        if token is None:
            return False
        position = token.end()
        closing, tag, attrs, self_closing, data = token.groups()
        if data is not None:
            text.append(data)
            continue
        if text:
            events.append(("data", html.unescape("".join(text)), []))
            text = []
        name = tag.lower()
        if name in _RAW_TEXT_TAGS:
            return False
        if closing:
            events.append(("end", name, []))
            continue
        pairs: list[tuple[str, str | None]] = []
        for attr in _SIMPLE_ATTR.finditer(attrs):
            key, *quoted = attr.groups()
            value = next((v for v in quoted if v is not None), None)
            pairs.append((key.lower(), html.unescape(value) if value is not None else None))
        events.append(("start", name, pairs))
        if self_closing:
            events.append(("end", name, []))
    if text:
        events.append(("data", html.unescape("".join(text)), []))
    for kind, value, pairs in events:
        if kind == "data":
            parser.handle_data(value)
        elif kind == "start":
            parser.handle_starttag(value, pairs)
        else:
            parser.handle_endtag(value)
    return True


def html_to_text(markup: str) -> str:
    """Plain text from post HTML (Mastodon `content`, GitHub-rendered bodies), links kept."""
    parser = _TextExtractor()
    if not _feed_simple(parser, markup):
        parser.feed(markup)
        parser.close()
    lines = ("".join(parser.parts)).split("\n")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in lines).strip()
