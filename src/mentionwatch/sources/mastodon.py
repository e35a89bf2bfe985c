"""Mastodon (and servers speaking its API): mention notifications, keyword search, replies.

API reference: https://docs.joinmastodon.org/methods/notifications/,
https://docs.joinmastodon.org/methods/search/, https://docs.joinmastodon.org/methods/accounts/.
A mention's remote id is its STATUS id on the watched server, the same id space as
`in_reply_to_id` on every status read through that server (the account's own and its
responders', remote ones included), so a reply's `parent_id` points straight at the mention.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit

from mentionwatch.fetched import Batch, Mention, Reply, kept, raw_json
from mentionwatch.models import Account, Kind
from mentionwatch.post_html import html_to_text
from mentionwatch.sources import mastodon_typed as typed
from mentionwatch.sources.base import (
    Entry,
    Fetcher,
    Page,
    Response,
    SweepState,
    join_cursor,
    other_responders,
    split_cursor,
    sweep_entries,
)
from mentionwatch.sources.mastodon_api import Api, bounds, next_max_id
from mentionwatch.sources.mastodon_reply import MastodonReplies, status_context
from mentionwatch.sources.search import keyword_conjuncts, plain_terms

PAGE_SIZE = 40  # the most search and statuses return
# Notifications allow 80: half the requests for a big backlog (40 is only their default).
NOTIFICATIONS_PAGE_SIZE = 80
NOTIFICATIONS = "/api/v1/notifications"
SEARCH = "/api/v2/search"
VERIFY = "/api/v1/accounts/verify_credentials"
STATUSES = "/api/v1/accounts/:id/statuses"
LOOKUP = "/api/v1/accounts/lookup"
# What lookup answers for an account the server does not know (404) or has suspended (410).
_UNKNOWN_ACCOUNT = (404, 410)
T = TypeVar("T")
P = TypeVar("P")
log = logging.getLogger("mentionwatch.sources.mastodon")


class MastodonSource(MastodonReplies):
    platform: ClassVar[str] = "mastodon"
    # The two listings share only the account id (one verify_credentials, below): a poll may
    # read them side by side (fetch.py).
    concurrent_listings: ClassVar[bool] = True

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.api = Api(account, fetcher)
        self.base = self.api.base
        self._me: str | None = None
        self._asking_me = asyncio.Lock()  # both listings may need the id at once

    async def whoami(self) -> str:
        me = await self._verify_credentials()
        acct = str(self.api.field(VERIFY, me, "acct"))
        host = urlsplit(self.base).hostname or self.base
        return f"@{acct}" if "@" in acct else f"@{acct}@{host}"

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        parts = split_cursor(cursor)
        me = await self._own_id(parts.get("me"))
        found = await self._notifications(parts.get("notifications"), horizon, me)
        cursors: dict[str, str | None] = {"me": me, "notifications": found.cursor}
        # A post both mentioning the account and matching a keyword is stored once, as a mention.
        by_id = {m.remote_id: m for m in found.items}
        # Mastodon's search takes plain terms: one search per OR alternative of a keyword
        # (sources/search.py); poll.py checks every hit against the whole expression.
        queries = [plain_terms(c, quote=False) for k in self.account.keywords
                   for c in keyword_conjuncts(k)]  # fmt: skip
        for query in dict.fromkeys(queries):
            name = f"keyword:{query}"
            hits = await self._keyword(query, parts.get(name), horizon, me)
            cursors[name] = hits.cursor
            for mention in hits.items:
                by_id.setdefault(mention.remote_id, mention)
        return Batch(list(by_id.values()), join_cursor(cursors))

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        """The account's own replies, then each responder's, every listing with its own cursor.

        The own listing's cursor is the top level (as before responders existed); the account
        ids and the responders' cursors ride in its `extra`.
        """
        state = SweepState.decode(cursor)
        me = await self._own_id(state.extra.get("me"))
        own = await self._statuses(me, cursor, horizon)
        found = list(own.items)
        saved = state.extra.get("responders")
        known: dict[str, Any] = saved if isinstance(saved, dict) else {}
        responders: dict[str, dict[str, str]] = {}
        read = {me}  # accounts whose statuses this run has read
        for acct in self._responders():
            kept = await self._responder_replies(acct, known.get(acct.lower()), read, horizon)
            if kept is not None:
                found.extend(kept[0])
                responders[acct.lower()] = kept[1]
        after = SweepState.decode(own.cursor)
        after.extra = {"me": me}  # later runs skip verify_credentials
        if responders:  # a responder removed from the config drops its cursor
            after.extra["responders"] = responders
        return Batch(found, after.encode())

    async def _responder_replies(
        self, acct: str, saved: Any, read: set[str], horizon: datetime
    ) -> tuple[list[Reply], dict[str, str]] | None:
        """One responder's replies and what to remember of it; None if the server lacks it."""
        saved = saved if isinstance(saved, dict) else {}
        account_id = saved.get("id")
        if not isinstance(account_id, str) or not account_id:
            account_id = await self._lookup(acct)
            if account_id is None:
                return None  # looked up again next run; no cursor, so it backfills then
        if account_id in read:
            return [], {"id": account_id}  # the account itself, or another name for a responder
        read.add(account_id)
        old = saved.get("cursor")
        try:
            # A responder new to the cursor gets None, so it backfills like a new account.
            cursor = old if isinstance(old, str) and old else None
            batch = await self._statuses(account_id, cursor, horizon, responder=True)
        except _AccountGone as gone:
            # Deleted or suspended since it was looked up: forget the id, look it up next run.
            self._warn_unknown(acct, STATUSES, gone.status)
            return None
        return list(batch.items), {"id": account_id, "cursor": batch.cursor or ""}

    def _responders(self) -> list[str]:
        """Configured responders as `acct`s, without the account itself or repeats."""
        return other_responders(self.account, [self.account.handle])

    # Listings

    async def _statuses(
        self, account_id: str, cursor: str | None, horizon: datetime, *, responder: bool = False
    ) -> Batch[Reply]:
        """The replies among one account's statuses (reblogs left out by the server).

        For a responder, a server that no longer has the account raises _AccountGone.
        """
        ok = (200, *_UNKNOWN_ACCOUNT) if responder else (200,)
        path = f"/api/v1/accounts/{quote(account_id, safe='')}/statuses"

        async def page(token: str | None, floor: Any) -> Page[Entry[Reply | None]]:
            params = [("exclude_reblogs", "true"), ("limit", str(PAGE_SIZE))]
            params += bounds(token, floor)
            response = await self.api.get(STATUSES, path, params, ok=ok)
            if response.status != 200:
                raise _AccountGone(response.status)
            entries = self._typed(typed.statuses, typed.status_entry, response)
            if entries is None:
                statuses = self.api.list_of(STATUSES, self.api.json(response))
                entries = [self._status_entry(s) for s in statuses]
            return Page(entries, next_max_id(response))

        batch = await self._sweep(page, cursor, horizon)
        return Batch([e.value for e in batch.items if e.value is not None], batch.cursor)

    async def _notifications(
        self, cursor: str | None, horizon: datetime, me: str
    ) -> Batch[Mention]:
        async def page(token: str | None, floor: Any) -> Page[Entry[Mention]]:
            params = [("types[]", "mention"), ("limit", str(NOTIFICATIONS_PAGE_SIZE))]
            response = await self.api.get(
                NOTIFICATIONS, NOTIFICATIONS, params + bounds(token, floor)
            )
            entries = self._typed(
                typed.notifications, lambda n: typed.notification_entry(n, me), response
            )
            if entries is None:
                items = self.api.list_of(NOTIFICATIONS, self.api.json(response))
                entries = [self._notification_entry(n, me) for n in items]
            return Page(entries, next_max_id(response))

        batch = await self._sweep(page, cursor, horizon)
        return Batch([e.value for e in batch.items], batch.cursor)

    async def _keyword(
        self, keyword: str, cursor: str | None, horizon: datetime, me: str
    ) -> Batch[Mention]:
        # Search has no Link header and orders by id, newest first; it pages by offset. An
        # offset that shifts as new posts arrive only repeats items on resume, never skips any.
        async def page(token: str | None, floor: Any) -> Page[Entry[Mention | None]]:
            offset = int(token) if token and token.isdigit() else 0
            params = [("q", keyword), ("type", "statuses"), ("limit", str(PAGE_SIZE))]
            params.append(("offset", str(offset)))
            response = await self.api.get(SEARCH, SEARCH, params)
            entries = self._typed(typed.search, lambda s: typed.keyword_entry(s, me), response)
            if entries is None:
                statuses = self.api.list_of(
                    SEARCH, self.api.field(SEARCH, self.api.json(response), "statuses")
                )
                entries = [self._keyword_entry(s, me) for s in statuses]
            # The server drops filtered posts after applying the limit, so a short page is not
            # the end; only an empty one is.
            return Page(entries, str(offset + PAGE_SIZE) if entries else None)

        batch = await self._sweep(page, cursor, horizon)
        return Batch([e.value for e in batch.items if e.value is not None], batch.cursor)

    async def _sweep(
        self,
        fetch_page: Callable[[str | None, Any], Awaitable[Page[Entry[T]]]],
        cursor: str | None,
        horizon: datetime,
    ) -> Batch[Entry[T]]:
        return await sweep_entries(fetch_page, cursor, horizon, self.account.max_pages)

    # Parsing at the edge

    def _typed(
        self,
        decode: Callable[[bytes], list[P] | None],
        entry: Callable[[P], Entry[T]],
        response: Response,
    ) -> list[Entry[T]] | None:
        """A page's entries the fast way (mastodon_typed), or None to read it the checked way.

        The checked way below takes exactly the same pages and says what is wrong with the
        others; accounts that keep raw payloads always take it.
        """
        if self.account.keep_raw:
            return None
        items = decode(response.body)
        if items is None:
            return None
        try:
            return [entry(item) for item in items]
        except typed.Unchecked:
            return None

    def _notification_entry(self, notification: Any, me: str) -> Entry[Mention]:
        key = self.api.id_at(NOTIFICATIONS, notification, "id")
        at = self.api.time_at(NOTIFICATIONS, notification, "created_at")
        status = self.api.object_at(NOTIFICATIONS, notification, "status")
        replying_to = status.get("in_reply_to_account_id")
        kind = Kind.REPLY if replying_to is not None and str(replying_to) == me else Kind.MENTION
        return Entry(key, at, self._mention(NOTIFICATIONS, notification, ("status",), kind))

    def _keyword_entry(self, status: Any, me: str) -> Entry[Mention | None]:
        key = self.api.id_at(SEARCH, status, "id")
        at = self.api.time_at(SEARCH, status, "created_at")
        author_id = str(self.api.field(SEARCH, status, "account", "id"))
        # Own posts still advance the cursor, but are never mentions.
        value = None if author_id == me else self._mention(SEARCH, status, (), Kind.KEYWORD)
        return Entry(key, at, value)

    def _status_entry(self, status: Any) -> Entry[Reply | None]:
        key = self.api.id_at(STATUSES, status, "id")
        at = self.api.time_at(STATUSES, status, "created_at")
        parent = self.api.object_at(STATUSES, status).get("in_reply_to_id")
        if parent is None:
            return Entry(key, at, None)
        reply = Reply(
            remote_id=str(status["id"]),
            url=self._url(STATUSES, status),
            author=str(self.api.field(STATUSES, status, "account", "acct")),
            created_at=at,
            parent_id=str(parent),
            raw=kept(self.account, status),
        )
        return Entry(key, at, reply)

    def _mention(self, endpoint: str, item: Any, prefix: tuple[str, ...], kind: Kind) -> Mention:
        """A Mention from the status at `prefix` inside `item`; `item` is kept as raw."""
        status = self.api.object_at(endpoint, item, *prefix)
        text = html_to_text(str(status.get("content") or ""))
        warning = str(status.get("spoiler_text") or "").strip()
        if warning:
            # The content warning is what readers see first; keep it in front of the post.
            text = f"CW: {warning}\n\n{text}".strip()
        return Mention(
            remote_id=str(self.api.field(endpoint, item, *prefix, "id")),
            url=self._url(endpoint, status, *prefix),
            author=str(self.api.field(endpoint, item, *prefix, "account", "acct")),
            text=text,
            created_at=self.api.time_at(endpoint, item, *prefix, "created_at"),
            kind=kind,
            raw=kept(self.account, item),
            context=raw_json(status_context(status)),
            lang=str(status.get("language") or ""),
        )

    def _url(self, endpoint: str, status: dict[str, Any], *prefix: str) -> str:
        """The post's web page; remote posts without one fall back to their ActivityPub uri."""
        url = status.get("url") or status.get("uri")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            where = ".".join((*prefix, "url"))
            raise self.api.error(endpoint, f"unexpected payload: no web address in field {where!r}")
        return url

    # Plumbing

    async def _own_id(self, cached: str | None) -> str:
        if cached:
            self._me = self._me or cached
        async with self._asking_me:
            if self._me is None:
                me = await self._verify_credentials()
                self._me = str(self.api.field(VERIFY, me, "id"))
        return self._me

    async def _verify_credentials(self) -> Any:
        response = await self.api.get(VERIFY, VERIFY, [])
        return self.api.json(response)

    async def _lookup(self, acct: str) -> str | None:
        """A responder's account id on the watched server; None (and a warning) if unknown."""
        response = await self.api.get(LOOKUP, LOOKUP, [("acct", acct)], ok=(200, *_UNKNOWN_ACCOUNT))
        if response.status == 200:
            return str(self.api.field(LOOKUP, self.api.json(response), "id"))
        self._warn_unknown(acct, LOOKUP, response.status)
        return None

    def _warn_unknown(self, acct: str, endpoint: str, status: int) -> None:
        # A warning, not an error: failing the run would also drop the account's own replies
        # (poll.py stores no replies when replies() raises), and a remote responder the server
        # has not seen yet becomes known by itself later.
        log.warning(
            "%s: responder %r is unknown to %s (GET %s answered %d), so their replies do not "
            "answer mentions; check `responders` (a remote account is known to the server once "
            "someone there follows it)",
            self.account.name, acct, self.base, endpoint, status,
        )  # fmt: skip


class _AccountGone(Exception):
    """A responder's statuses answered 404/410: the account was deleted or suspended."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


SOURCE = MastodonSource
