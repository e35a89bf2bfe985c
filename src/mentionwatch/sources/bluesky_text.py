"""Bluesky post text and links: what both the source and replying show of a post."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mentionwatch.text import strip_controls


def web_url(uri: str, handle: str, did: str) -> str:
    """bsky.app link for an at:// post URI; the DID stands in when the handle is broken."""
    rkey = uri.rsplit("/", 1)[-1]
    who = handle if handle and handle != "handle.invalid" else did
    return f"https://bsky.app/profile/{who}/post/{rkey}"


def post_text(text: str, facets: Any) -> str:
    """record.text for display: links the app shortened ("example.com/long-pa...") in full."""
    raw = text.encode("utf-8")
    links = sorted(_link_facets(facets, len(raw)))
    parts: list[str] = []
    pos = 0
    try:
        for start, end, uri in links:
            if start < pos:  # overlapping facets: keep the text as written
                continue
            parts.append(raw[pos:start].decode("utf-8"))
            parts.append(_link_text(raw[start:end].decode("utf-8"), uri))
            pos = end
        parts.append(raw[pos:].decode("utf-8"))
    except UnicodeDecodeError:  # byte offsets that split a character: the facets are broken
        return strip_controls(text).strip()
    return strip_controls("".join(parts)).strip()


def _link_facets(facets: Any, size: int) -> list[tuple[int, int, str]]:
    """(byteStart, byteEnd, uri) of each well-formed link facet; facets index UTF-8 bytes."""
    found = []
    for facet in facets if isinstance(facets, list) else []:
        start, end = dig(facet, "index", "byteStart"), dig(facet, "index", "byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
            continue
        features = dig(facet, "features")
        for feature in features if isinstance(features, list) else []:
            uri = dig(feature, "uri")
            if str(dig(feature, "$type")).endswith("#link") and isinstance(uri, str):
                found.append((start, end, uri))
                break
    return found


def _link_text(shown: str, uri: str) -> str:
    bare_shown = _bare(shown).rstrip(".…")
    if shown == uri:
        return uri
    if bare_shown and _bare(uri).startswith(bare_shown):
        return uri  # the app's shortened form of the same address
    return f"{shown} ({uri})"  # text that hides its target ("read this") keeps it visible


def _bare(url: str) -> str:
    for prefix in ("https://", "http://", "www."):
        url = url.removeprefix(prefix)
    return url


def dig(data: Any, *path: str) -> Any:
    """Walk optional fields: None as soon as a step is missing or not an object."""
    for step in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(step)
    return data
