"""RSS and Atom feeds (Google Alerts, Talkwalker Alerts, any blog or search feed).

Every entry is a mention of kind `feed`. Feeds carry no reply signal, so `replies` is always
empty and these mentions are closed by hand (`done`, `dismiss`). The feed is fetched with a
conditional GET (ETag / Last-Modified kept in the cursor) and parsed by feedparser, which
copes with the broken XML real alert services emit.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser  # type: ignore[import-untyped]

from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch, Mention, Reply, raw_json
from mentionwatch.models import Account, Kind
from mentionwatch.post_html import html_to_text
from mentionwatch.sources.base import Fetcher, split_cursor
from mentionwatch.text import public_location
from mentionwatch.timeutil import utcnow

ACCEPT = (
    "application/atom+xml, application/rss+xml;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, */*;q=0.5"
)
# Entries this much older than the newest one seen are not offered again, so that `prune`
# does not see old entries come back as new while a feed still carries them.
REDELIVERY_WINDOW = timedelta(days=30)


class FeedSource:
    platform: ClassVar[str] = "feed"

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.location = str(account.options.get("url", "")).strip()
        self.is_remote = self.location.lower().startswith(("http://", "https://"))
        self.endpoint = f"feed {public_location(self.location)}"
        # Private feeds carry their key in the query string (or user:password@ in the URL):
        # redact it from messages and debug logs too.
        parts = urlsplit(self.location) if self.is_remote else None
        for secret in (parts.query, parts.password) if parts else ():
            if secret:
                fetcher.add_secret(secret)

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        state = split_cursor(cursor)
        body, headers = await self._fetch(state)
        if body is None:  # 304 Not Modified: nothing new, validators unchanged
            return Batch([], json.dumps(state))
        parsed = self._parse(body, headers)
        newest = _newest(state)
        floor = horizon if newest is None else newest - REDELIVERY_WINDOW
        feed_title = _plain(parsed.feed.get("title", ""), parsed.feed.get("title_detail"))
        items = [self._mention(entry, feed_title) for entry in parsed.entries]
        items = [m for m in items if m.created_at >= floor]
        return Batch(items, json.dumps(_next_state(state, headers, items, newest)))

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        """Feeds have no answers to detect: mentions are closed by hand."""
        return Batch([], cursor)

    async def whoami(self) -> str:
        body, headers = await self._fetch({})
        parsed = self._parse(body or b"", headers)
        title = _plain(parsed.feed.get("title", ""), parsed.feed.get("title_detail"))
        return title or f"untitled feed ({public_location(self.location)})"

    async def _fetch(self, state: Mapping[str, str]) -> tuple[bytes | None, dict[str, str]]:
        """The feed's bytes and headers, or None for the body when the server said 304."""
        if not self.location:
            raise self._error("no feed url configured (option `url`)")
        if not self.is_remote:
            return await self._read_file(), {}
        headers = {"Accept": ACCEPT}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("modified"):
            headers["If-Modified-Since"] = state["modified"]
        response = await self.fetcher.get(
            self.location, headers=headers, endpoint=self.endpoint, ok_statuses=(200, 304)
        )
        if response.status == 304:
            return None, dict(response.headers)
        return response.body, dict(response.headers)

    async def _read_file(self) -> bytes:
        location = self.location
        if location.lower().startswith("file://"):
            location = unquote(urlsplit(location).path)
        path = Path(location).expanduser()
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise self._error(f"cannot read it: {exc.strerror or exc}") from None

    def _parse(self, body: bytes, headers: Mapping[str, str]) -> Any:
        # Only the content-type (feedparser flags a missing one); no content-location, since
        # feedparser would then rewrite relative guids into URLs and change the remote ids.
        hints = {k: headers[k] for k in ("content-type",) if k in headers}
        # Bytes, never a str: feedparser would treat a str as a URL or path and fetch it itself.
        parsed = feedparser.parse(body, response_headers=hints)
        if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
            reason = parsed.get("bozo_exception") or "no RSS or Atom document found"
            raise self._error(f"not a readable RSS/Atom feed ({reason})")
        problem = parsed.get("bozo_exception")
        # A truncated document still yields "entries", half-read or empty ones that became
        # phantom mentions: it is a failed poll, storing nothing. Sloppy markup inside an
        # otherwise whole feed (an unclosed <b> in a title) is read as well as it can be.
        if isinstance(problem, SAXParseException) and (
            problem.getMessage() in _TRUNCATED
            or any(not (e.get("id") or e.get("link") or e.get("title")) for e in parsed.entries)
        ):
            where = f"line {problem.getLineNumber()}, column {problem.getColumnNumber()}"
            raise self._error(f"not a readable RSS/Atom feed ({problem.getMessage()} at {where})")
        return parsed

    def _mention(self, entry: Any, feed_title: str) -> Mention:
        title = _plain(entry.get("title", ""), entry.get("title_detail"))
        published = _entry_time(entry)
        link = _unwrap_redirect(str(entry.get("link") or ""))
        if link and self.is_remote:
            link = urljoin(self.location, link)  # relative links are relative to the feed
        return Mention(
            remote_id=_entry_id(entry, link, title),
            url=link or self._fallback_url(entry),
            author=str(entry.get("author") or "").strip() or _site(link) or feed_title or "feed",
            text=html_to_text(_body_html(entry)),
            created_at=published or utcnow(),
            kind=Kind.FEED,
            title=title,
            raw=raw_json(_jsonable(entry)) if self.account.keep_raw else "",
        )

    def _fallback_url(self, entry: Any) -> str:
        """An entry without a link still needs somewhere to point: its id or the feed itself."""
        entry_id = str(entry.get("id") or "")
        if entry_id.lower().startswith(("http://", "https://")):
            return entry_id
        if self.is_remote:
            return self.location
        return Path(self.location).expanduser().resolve().as_uri()

    def _error(self, problem: str) -> SourceError:
        return SourceError(self.account.name, self.endpoint, problem)


def _newest(state: Mapping[str, str]) -> datetime | None:
    try:
        return datetime.fromisoformat(state["newest"])
    except (KeyError, ValueError):
        return None


def _next_state(
    state: Mapping[str, str],
    headers: Mapping[str, str],
    items: list[Mention],
    newest: datetime | None,
) -> dict[str, str]:
    """Validators from this response (or the last ones) and the newest entry time seen."""
    result: dict[str, str] = {}
    for key, header in (("etag", "etag"), ("modified", "last-modified")):
        value = headers.get(header) or state.get(key)
        if value:
            result[key] = value
    times = [m.created_at for m in items] + ([newest] if newest else [])
    if times:
        result["newest"] = max(times).isoformat()
    return result


def _plain(value: Any, detail: Any = None) -> str:
    """Feed text as plain text: HTML-typed titles (Google Alerts bolds the match) are stripped."""
    text = str(value or "")
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    if kind == "text/plain":
        return text.strip()
    return html_to_text(text)


def _body_html(entry: Any) -> str:
    contents = entry.get("content") or []
    for content in contents:
        if isinstance(content, Mapping) and content.get("value"):
            return str(content["value"])
    return str(entry.get("summary") or "")


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:  # feedparser normalises every date format to a UTC struct_time
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


# What expat says of a document that stops before its end.
_TRUNCATED = ("no element found", "unclosed token", "unclosed CDATA section")


def _site(link: str) -> str:
    """Who wrote an entry without an author: the site it links to (an alert's source)."""
    if not link.lower().startswith(("http://", "https://")):
        return ""
    host = urlsplit(link).hostname or ""
    return host.removeprefix("www.")


def _entry_id(entry: Any, link: str, title: str) -> str:
    """The entry's id/guid, else its link, else a hash: RSS items may carry neither."""
    entry_id = str(entry.get("id") or "").strip()
    if entry_id:
        return entry_id
    if link:
        return link
    basis = f"{title}\n{entry.get('published') or entry.get('updated') or ''}"
    return "sha256:" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _unwrap_redirect(link: str) -> str:
    """Google Alerts wraps every link in https://www.google.com/url?...&url=REAL; keep REAL."""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if parts.path == "/url" and (host == "google.com" or host.startswith("www.google.")):
        query = parse_qs(parts.query)
        for key in ("url", "q"):
            target = (query.get(key) or [""])[0]
            if target.lower().startswith(("http://", "https://")):
                return target
    return link.strip()


def _jsonable(value: Any) -> Any:
    """feedparser entries hold struct_time values; keep a JSON-safe copy as the raw payload."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items() if not k.endswith("_parsed")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


SOURCE = FeedSource
