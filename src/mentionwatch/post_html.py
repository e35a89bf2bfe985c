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
    text = "".join(parts)
    if "\n" not in text:
        return " ".join(text.split())
    return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()


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


# Post HTML is nearly always plain tags, text and entities, read below in a few string
# operations per tag, several times faster than HTMLParser (which dominated a large poll).
# Anything else (comments, script, a stray "<", odd attributes) goes to HTMLParser, and a
# property test checks that the two read every markup they both take alike
# (tests/test_html_text.py).
#
# A simple tag: a name, then attributes whose values hold no "<". So each simple tag holds
# exactly one "<", and a markup is simple when every "<" in it starts one. Its first ">" ends it
# unless a quoted value holds one, and then what comes before that ">" is no simple tag: the
# markup goes to HTMLParser.
_SIMPLE_TAG = re.compile(
    r"""(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*"""
    r"""(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'=<>`]+))?)*)\s*(/?)"""
)
_SIMPLE_ATTR = re.compile(
    r"""\s+([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"<]*)"|'([^'<]*)'|([^\s"'=<>`]+)))?"""
)
# What a tag does to the text, by what stands between its "<" and ">".
_INERT, _BREAK, _OPEN, _CLOSE, _OPEN_CLOSE = range(5)
_Kind = tuple[int, str | None]  # and for a link, its target
# Posts repeat a few dozen tags (<p>, </span>, <span class="h-card">, the link to the watched
# account...): each is read once. Bounded, so that hostile markup costs time, never memory.
_KNOWN: dict[str, _Kind] = {}
_KNOWN_MAX = 4096


def _tag_kind(inside: str) -> _Kind | None:
    """What the tag `<inside>` does; None when it is no simple tag, or script or style."""
    known = _KNOWN.get(inside)
    if known is not None:
        return known
    tag = _SIMPLE_TAG.fullmatch(inside)
    if tag is None:
        return None
    closing, name, attrs, self_closing = tag.groups()
    name = name.lower()
    if name in _RAW_TEXT_TAGS:
        return None
    if name == "a":
        kind: _Kind = (
            (_CLOSE, None) if closing else (_OPEN_CLOSE if self_closing else _OPEN, _href(attrs))
        )
    else:
        kind = (_BREAK if name in _BREAKS and not closing else _INERT, None)
    if len(_KNOWN) < _KNOWN_MAX:
        _KNOWN[inside] = kind
    return kind


def _simple_parts(markup: str) -> list[str] | None:
    """The text pieces of simple markup, read as _TextExtractor would read them.

    None when the markup is not simple, so the caller hands all of it to HTMLParser.
    """
    chunks = markup.split("<")
    first = chunks[0]
    parts: list[str] = [_unescape(first)] if first else []
    href: str | None = None
    shown: list[str] = []  # the text of the link being read
    for chunk in chunks[1:]:
        inside, end, text = chunk.partition(">")
        known = _tag_kind(inside) if end else None
        if known is None:
            return None
        kind = known[0]
        if kind == _BREAK:
            if parts:  # as _TextExtractor: a post's opening <p> starts no line
                parts.append("\n")
        elif kind != _INERT:
            if kind != _CLOSE:
                href, shown = known[1], []
            if kind != _OPEN and href is not None:
                parts.append(_link_suffix(shown, href))
                href = None
        if text:
            # Text between two tags is unescaped as one piece, as HTMLParser does.
            if "&" in text:
                text = _unescape(text)
            parts.append(text)
            if href is not None:
                shown.append(text)
    return parts


def _unescape(text: str) -> str:
    """html.unescape, with a fast way for the references posts are full of.

    Exact: each of these references is read as itself by html.unescape too, and none of them
    can hold or make another; any other "&" takes html.unescape.
    """
    if "&" not in text:
        return text
    common = text.replace("&#39;", "'").replace("&quot;", '"').replace("&lt;", "<")
    common = common.replace("&gt;", ">")
    if "&" in common.replace("&amp;", ""):
        return html.unescape(text)
    return common.replace("&amp;", "&")


def _href(attrs: str) -> str | None:
    """The last href among a tag's attributes, as HTMLParser's dict(attrs) would keep it."""
    found = ""
    for name, double, single, bare in _SIMPLE_ATTR.findall(attrs):
        if name.lower() == "href":
            # An empty or missing value gives "" here, as it gives None to the caller either way.
            found = _unescape(double or single or bare)
    return found or None
