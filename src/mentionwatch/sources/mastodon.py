"""Mastodon (and servers speaking its API): mention notifications, keyword search, own replies.

API reference: https://docs.joinmastodon.org/methods/notifications/,
https://docs.joinmastodon.org/methods/search/, https://docs.joinmastodon.org/methods/accounts/.
A mention's remote id is its STATUS id, the same id space as `in_reply_to_id` on the account's
own statuses, so a reply's `parent_id` points straight at the mention it answers.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from mentionwatch.errors import SourceError
from mentionwatch.models import Account, Batch, Kind, Mention, Reply
from mentionwatch.sources.base import (
    Fetcher,
    Page,
    Response,
    SweepState,
    join_cursor,
    require,
    split_cursor,
    sweep_newest_first,
)
from mentionwatch.text import html_to_text
from mentionwatch.timeutil import parse_timestamp, utcnow

PAGE_SIZE = 40  # the documented default; notifications allow 80, search and statuses 40
NOTIFICATIONS = "/api/v1/notifications"
SEARCH = "/api/v2/search"
VERIFY = "/api/v1/accounts/verify_credentials"
STATUSES = "/api/v1/accounts/:id/statuses"
# Ids are numeric strings on Mastodon; larger than this they are not (ULIDs, flake ids).
_MAX_NUMERIC_ID = 2**64
_LINK = re.compile(r"<([^>]*)>([^<]*)")
_REL = re.compile(r'rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))')

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry(Generic[T]):
    """One listing item, parsed: its ordering key, its time, and what it becomes."""

    key: int
    at: datetime
    value: T


def id_key(value: str) -> int:
    """Order ids numerically ("10" after "9"); opaque sortable ids (ULIDs) by their bytes."""
    if value.isascii() and value.isdigit():
        return int(value)
    return int.from_bytes(value.encode(), "big")


def next_max_id(response: Response) -> str | None:
    """The `max_id` of the Link header's rel="next" page, or None on the last page."""
    for target, params in _LINK.findall(response.headers.get("link", "")):
        rel = _REL.search(params)
        if rel and "next" in (rel.group(1) or rel.group(2) or "").split():
            found = parse_qs(urlsplit(target).query).get("max_id")
            return found[0] if found else None
    return None


def _bounds(token: str | None, floor: Any) -> list[tuple[str, str]]:
    params = [("max_id", token)] if token else []
    # since_id only saves requests; it is never needed for correctness, so skip odd floors.
    if isinstance(floor, int) and floor < _MAX_NUMERIC_ID:
        params.append(("since_id", str(floor)))
    return params


class MastodonSource:
    platform: ClassVar[str] = "mastodon"

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.base = account.server.rstrip("/")
        self._me: str | None = None

    async def whoami(self) -> str:
        me = await self._verify_credentials()
        acct = str(self._field(VERIFY, me, "acct"))
        host = urlsplit(self.base).hostname or self.base
        return f"@{acct}" if "@" in acct else f"@{acct}@{host}"

    async def mentions(self, cursor: str | None, since: datetime) -> Batch[Mention]:
        parts = split_cursor(cursor)
        me = await self._own_id(parts.get("me"))
        found = await self._notifications(parts.get("notifications"), since, me)
        cursors: dict[str, str | None] = {"me": me, "notifications": found.cursor}
        # A post both mentioning the account and matching a keyword is stored once, as a mention.
        by_id = {m.remote_id: m for m in found.items}
        for keyword in self.account.keywords:
            name = f"keyword:{keyword}"
            hits = await self._keyword(keyword, parts.get(name), since, me)
            cursors[name] = hits.cursor
            for mention in hits.items:
                by_id.setdefault(mention.remote_id, mention)
        return Batch(list(by_id.values()), join_cursor(cursors))

    async def replies(self, cursor: str | None, since: datetime) -> Batch[Reply]:
        state = SweepState.decode(cursor)
        me = await self._own_id(state.extra.get("me"))
        path = f"/api/v1/accounts/{quote(me, safe='')}/statuses"

        async def page(token: str | None, floor: Any) -> Page[_Entry[Reply | None]]:
            params = [("exclude_reblogs", "true"), ("limit", str(PAGE_SIZE))]
            response = await self._get(STATUSES, path, params + _bounds(token, floor))
            statuses = self._list(STATUSES, response.json())
            return Page([self._status_entry(s) for s in statuses], next_max_id(response))

        batch = await self._sweep(page, cursor, since)
        after = SweepState.decode(batch.cursor)
        after.extra["me"] = me  # later runs skip verify_credentials
        replies = [e.value for e in batch.items if e.value is not None]
        return Batch(replies, after.encode())

    # Listings

    async def _notifications(self, cursor: str | None, since: datetime, me: str) -> Batch[Mention]:
        async def page(token: str | None, floor: Any) -> Page[_Entry[Mention]]:
            params = [("types[]", "mention"), ("limit", str(PAGE_SIZE))]
            response = await self._get(NOTIFICATIONS, NOTIFICATIONS, params + _bounds(token, floor))
            items = self._list(NOTIFICATIONS, response.json())
            return Page([self._notification_entry(n, me) for n in items], next_max_id(response))

        batch = await self._sweep(page, cursor, since)
        return Batch([e.value for e in batch.items], batch.cursor)

    async def _keyword(
        self, keyword: str, cursor: str | None, since: datetime, me: str
    ) -> Batch[Mention]:
        # Search has no Link header and orders by id, newest first; it pages by offset. An
        # offset that shifts as new posts arrive only repeats items on resume, never skips any.
        async def page(token: str | None, floor: Any) -> Page[_Entry[Mention | None]]:
            offset = int(token) if token and token.isdigit() else 0
            params = [("q", keyword), ("type", "statuses"), ("limit", str(PAGE_SIZE))]
            params.append(("offset", str(offset)))
            response = await self._get(SEARCH, SEARCH, params)
            statuses = self._list(SEARCH, self._field(SEARCH, response.json(), "statuses"))
            entries = [self._keyword_entry(s, me) for s in statuses]
            # The server drops filtered posts after applying the limit, so a short page is not
            # the end; only an empty one is.
            return Page(entries, str(offset + PAGE_SIZE) if statuses else None)

        batch = await self._sweep(page, cursor, since)
        return Batch([e.value for e in batch.items if e.value is not None], batch.cursor)

    async def _sweep(
        self,
        fetch_page: Callable[[str | None, Any], Awaitable[Page[_Entry[T]]]],
        cursor: str | None,
        since: datetime,
    ) -> Batch[_Entry[T]]:
        # A listing seen for the first time (a keyword added later) backfills like a new
        # account instead of sweeping the whole history.
        if cursor is None:
            since = max(since, utcnow() - self.account.backfill)
        seen: list[int] = []

        async def tracked(token: str | None, floor: Any) -> Page[_Entry[T]]:
            page = await fetch_page(token, floor)
            seen.extend(entry.key for entry in page.items)
            return page

        batch = await sweep_newest_first(
            tracked,
            key=lambda entry: entry.key,
            time_of=lambda entry: entry.at,
            cursor=cursor,
            since=since,
            max_pages=self.account.max_pages,
        )
        state = SweepState.decode(batch.cursor)
        if state.floor is None and state.resume is None and seen:
            # Only posts older than the horizon came back. Without a floor, the next run (which
            # gets since=1970) would import the whole history, so the newest of them is the floor.
            state.floor = max(seen)
            return Batch(batch.items, state.encode())
        return batch

    # Parsing at the edge

    def _notification_entry(self, notification: Any, me: str) -> _Entry[Mention]:
        key = self._id(NOTIFICATIONS, notification, "id")
        at = self._time(NOTIFICATIONS, notification, "created_at")
        status = self._object(NOTIFICATIONS, notification, "status")
        replying_to = status.get("in_reply_to_account_id")
        kind = Kind.REPLY if replying_to is not None and str(replying_to) == me else Kind.MENTION
        return _Entry(key, at, self._mention(NOTIFICATIONS, notification, ("status",), kind))

    def _keyword_entry(self, status: Any, me: str) -> _Entry[Mention | None]:
        key = self._id(SEARCH, status, "id")
        at = self._time(SEARCH, status, "created_at")
        author_id = str(self._field(SEARCH, status, "account", "id"))
        # Own posts still advance the cursor, but are never mentions.
        value = None if author_id == me else self._mention(SEARCH, status, (), Kind.KEYWORD)
        return _Entry(key, at, value)

    def _status_entry(self, status: Any) -> _Entry[Reply | None]:
        key = self._id(STATUSES, status, "id")
        at = self._time(STATUSES, status, "created_at")
        parent = self._object(STATUSES, status).get("in_reply_to_id")
        if parent is None:
            return _Entry(key, at, None)
        reply = Reply(
            remote_id=str(status["id"]),
            url=self._url(STATUSES, status),
            author=str(self._field(STATUSES, status, "account", "acct")),
            created_at=at,
            parent_id=str(parent),
            raw=status,
        )
        return _Entry(key, at, reply)

    def _mention(self, endpoint: str, item: Any, prefix: tuple[str, ...], kind: Kind) -> Mention:
        """A Mention from the status at `prefix` inside `item`; `item` is kept as raw."""
        status = self._object(endpoint, item, *prefix)
        text = html_to_text(str(status.get("content") or ""))
        warning = str(status.get("spoiler_text") or "").strip()
        if warning:
            # The content warning is what readers see first; keep it in front of the post.
            text = f"CW: {warning}\n\n{text}".strip()
        return Mention(
            remote_id=str(self._field(endpoint, item, *prefix, "id")),
            url=self._url(endpoint, status, *prefix),
            author=str(self._field(endpoint, item, *prefix, "account", "acct")),
            text=text,
            created_at=self._time(endpoint, item, *prefix, "created_at"),
            kind=kind,
            raw=item,
        )

    def _url(self, endpoint: str, status: dict[str, Any], *prefix: str) -> str:
        """The post's web page; remote posts without one fall back to their ActivityPub uri."""
        url = status.get("url") or status.get("uri")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            where = ".".join((*prefix, "url"))
            raise self._error(endpoint, f"unexpected payload: no web address in field {where!r}")
        return url

    # Plumbing

    async def _own_id(self, cached: str | None) -> str:
        if cached:
            self._me = self._me or cached
        if self._me is None:
            me = await self._verify_credentials()
            self._me = str(self._field(VERIFY, me, "id"))
        return self._me

    async def _verify_credentials(self) -> Any:
        response = await self._get(VERIFY, VERIFY, [])
        return response.json()

    async def _get(self, endpoint: str, path: str, params: list[tuple[str, str]]) -> Response:
        token = self.account.secret("token")
        if not token:
            raise self._error(endpoint, "no token configured (key 'token')")
        return await self.fetcher.get(
            self.base + path,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            endpoint=endpoint,
        )

    def _list(self, endpoint: str, data: Any) -> list[Any]:
        if not isinstance(data, list):
            raise self._error(endpoint, f"unexpected payload: expected a list, got {_kind(data)}")
        return data

    def _field(self, endpoint: str, data: Any, *path: str) -> Any:
        value = require(self.account.name, endpoint, data, *path)
        if value is None:
            raise self._error(endpoint, f"unexpected payload: field {'.'.join(path)!r} is null")
        return value

    def _object(self, endpoint: str, data: Any, *path: str) -> dict[str, Any]:
        value = self._field(endpoint, data, *path) if path else data
        if not isinstance(value, dict):
            where = ".".join(path) or "item"
            raise self._error(endpoint, f"unexpected payload: {where!r} is {_kind(value)}")
        return value

    def _id(self, endpoint: str, data: Any, *path: str) -> int:
        value = self._field(endpoint, data, *path)
        if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
            raise self._error(endpoint, f"unexpected payload: field {'.'.join(path)!r} is no id")
        return id_key(str(value))

    def _time(self, endpoint: str, data: Any, *path: str) -> datetime:
        value = self._field(endpoint, data, *path)
        try:
            return parse_timestamp(value)
        except (TypeError, ValueError, OverflowError, AttributeError):
            raise self._error(
                endpoint, f"unexpected payload: field {'.'.join(path)!r} is not a time"
            ) from None

    def _error(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.account.name, endpoint, problem)


def _kind(data: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return names.get(type(data), type(data).__name__)


SOURCE = MastodonSource
