"""Plain text from post HTML (Mastodon `content`, GitHub-rendered bodies, feed entries).

Kept apart from `text` (the escaping for every output) so that commands which never read
HTML, such as `list`, do not import HTMLParser and these patterns on every start.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_SCHEME = re.compile(r"^https?://")
# Tags after which the text goes on on a new line.
_BREAKS = frozenset({"br", "p", "div", "li", "blockquote", "tr", "h1", "h2", "h3", "pre"})
_RAW_TEXT_TAGS = frozenset({"script", "style"})


def html_to_text(markup: str) -> str:
    """Plain text from post HTML, link targets kept where the link text hides them."""
    parts = _simple_parts(markup)
    if parts is None:
        parser = _TextExtractor()
        parser.feed(markup)
        parser.close()
        parts = parser.parts
    # str.split() and re's \s agree on what whitespace is (both ask str.isspace).
    lines = "".join(parts).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()


def _link_suffix(shown_parts: list[str], href: str) -> str:
    """What follows a link's text: its target, when the text does not already show it."""
    shown = "".join(shown_parts).strip()
    # Not for @mentions or #tags, whose targets are profile and tag pages.
    if shown and not shown.startswith(("@", "#")) and _bare(shown) not in href:
        return f" ({href})"
    return ""


def _bare(text: str) -> str:
    return _SCHEME.sub("", text).rstrip("/…")


class _TextExtractor(HTMLParser):
    """The general reader, for whatever the fast path below does not take."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS and self.parts:
            self.parts.append("\n")
        if tag == "a":
            self._href = dict(attrs).get("href") or None
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.parts.append(_link_suffix(self._link_text, self._href))
            self._href = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._href is not None:
            self._link_text.append(data)


# Post HTML is nearly always plain tags, text and entities. Splitting that on one regex is
# several times faster than HTMLParser (which dominated a large poll); anything else (comments,
# script, a stray "<", odd attributes) goes to HTMLParser, and a property test checks that
# the two read every markup they both take alike (tests/test_html_text.py).
_SIMPLE_TAG = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*"""
    r"""(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'=<>`]+))?)*)\s*(/?)>"""
)
_SIMPLE_ATTR = re.compile(
    r"""\s+([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"<]*)"|'([^'<]*)'|([^\s"'=<>`]+)))?"""
)


def _simple_parts(markup: str) -> list[str] | None:
    """The text pieces of simple markup, exactly as _TextExtractor would collect them.

    None when the markup is not simple, so the caller hands all of it to HTMLParser.
    """
    # [text, closing, tag, attributes, self-closing, text, closing, ...]
    pieces = _SIMPLE_TAG.split(markup)
    # Each simple tag holds exactly one "<" (its values may not), so any other "<" is one that
    # starts no simple tag.
    if markup.count("<") != len(pieces) // 5:
        return None
    texts = pieces[::5]
    first = texts[0]
    parts: list[str] = [_unescape(first)] if first else []
    href: str | None = None
    link_text: list[str] = []
    tags = zip(pieces[1::5], pieces[2::5], pieces[3::5], pieces[4::5], texts[1:], strict=True)
    for closing, tag, attrs, self_closing, text in tags:
        name = tag.lower()
        if name in _RAW_TEXT_TAGS:
            return None
        if not closing:
            if name in _BREAKS and parts:
                parts.append("\n")
            if name == "a":
                href, link_text = _href(attrs), []
        if (closing or self_closing) and name == "a" and href is not None:
            parts.append(_link_suffix(link_text, href))
            href = None
        if text:
            # Text between two tags is unescaped as one piece, as HTMLParser does.
            text = _unescape(text)
            parts.append(text)
            if href is not None:
                link_text.append(text)
    return parts


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _href(attrs: str) -> str | None:
    """The last href among a tag's attributes, as HTMLParser's dict(attrs) would keep it."""
    found = ""
    for name, double, single, bare in _SIMPLE_ATTR.findall(attrs):
        if name.lower() == "href":
            # An empty or missing value gives "" here, as it gives None to the caller either way.
            found = _unescape(double or single or bare)
    return found or None
