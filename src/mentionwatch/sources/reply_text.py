"""Reply text as platforms count and decorate it: links, @handles, graphemes, X's weights.

Grapheme clusters come from the `regex` module (`\\X`, Unicode's extended clusters), imported
only when a reply is counted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# A link as the platforms' own parsers find one: scheme, then anything up to a space,
# without the trailing punctuation that ends a sentence.
URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")
_HANDLE_END = r"(?![\w@.-]*[\w@-])"


def graphemes(text: str) -> int:
    """User-perceived characters: "👨‍👩‍👧" and "é" written as e + accent are one each."""
    import regex  # only replies count graphemes

    return len(regex.findall(r"\X", text))


def count_with_links(text: str, link_length: int, *, by_graphemes: bool = True) -> int:
    """Length with every link counted as `link_length`, as Mastodon and X count them."""
    links = URL.findall(text)
    rest = URL.sub("", text)
    size = graphemes(rest) if by_graphemes else len(rest)
    return size + link_length * len(links)


def has_handle(text: str, handle: str) -> bool:
    """Whether `@handle` is already written in `text` (case-insensitive, as a whole word)."""
    pattern = rf"(?<![\w@/])@{re.escape(handle.lstrip('@'))}{_HANDLE_END}"
    return re.search(pattern, text, re.I) is not None


def with_handles(text: str, handles: Iterable[str]) -> str:
    """`@a @b text`: each handle not written in the text yet, in order, once."""
    missing: list[str] = []
    for handle in handles:
        name = handle.lstrip("@")
        if name and not has_handle(text, name) and name.lower() not in map(str.lower, missing):
            missing.append(name)
    if not missing:
        return text
    return " ".join(f"@{name}" for name in missing) + " " + text.lstrip()


# X's character weights (twitter-text configuration v3): these ranges weigh 1, everything
# else 2; an emoji (a whole sequence) weighs 2; a link 23; counted on NFC text.
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_LINK_WEIGHT = 23


def x_weighted_length(text: str) -> int:
    """A post's length as X counts it (280 allowed)."""
    import regex

    normal = unicodedata.normalize("NFC", text)
    links = URL.findall(normal)
    total = X_LINK_WEIGHT * len(links)
    for cluster in regex.findall(r"\X", URL.sub("", normal)):
        if _is_emoji(cluster):
            total += 2
            continue
        for char in cluster:
            point = ord(char)
            total += 1 if any(lo <= point <= hi for lo, hi in _X_LIGHT) else 2
    return total


def _is_emoji(cluster: str) -> bool:
    return any(
        ord(c) >= 0x1F000 or (0x2600 <= ord(c) <= 0x27BF and "\ufe0f" in cluster) for c in cluster
    )


def utf8_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Character offsets as the UTF-8 byte offsets Bluesky's facets index."""
    return len(text[:start].encode("utf-8")), len(text[:end].encode("utf-8"))
