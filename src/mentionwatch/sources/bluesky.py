"""Bluesky (AT Protocol): notifications, keyword search, replies by the account and responders.

Sessions and XRPC calls live in `bluesky_api`. All reads go through the PDS, which proxies
`app.bsky.*` to the AppView, unless the account names an `appview`.
API: https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, TypeVar

from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch, Mention, Reply, kept, raw_json
from mentionwatch.models import Account, Kind
from mentionwatch.sources.base import (
    Entry,
    Fetcher,
    Page,
    SweepState,
    join_cursor,
    other_responders,
    require,
    split_cursor,
    sweep_entries,
)
from mentionwatch.sources.bluesky_api import Xrpc, XrpcError
from mentionwatch.sources.bluesky_reply import BlueskyReplies, post_context
from mentionwatch.sources.bluesky_text import dig, post_text, web_url
from mentionwatch.sources.search import keyword_conjuncts, plain_terms
from mentionwatch.text import one_line
from mentionwatch.timeutil import parse_timestamp

PAGE_SIZE = 100  # the maximum every listing below accepts
NOTIFICATION_KINDS = {"mention": Kind.MENTION, "reply": Kind.REPLY, "quote": Kind.QUOTE}
AUTHOR_FEED = "app.bsky.feed.getAuthorFeed"
log = logging.getLogger("mentionwatch.sources.bluesky")

T = TypeVar("T")


class BlueskySource(BlueskyReplies):
    platform: ClassVar[str] = "bluesky"

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.xrpc = Xrpc(account, fetcher)

    # -- the three calls poll.py and `config check` make ------------------------------------

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        parts = split_cursor(cursor)
        found: dict[str, Mention] = {}
        new_parts: dict[str, str | None] = {}
        # Notifications come first so a post that is also a keyword hit keeps its real kind.
        searches = _searches(self.account.keywords)
        for name in ["notifications", *searches]:
            fetch = self._notifications_page
            if name in searches:
                fetch = partial(self._search_page, searches[name], horizon)
            batch = await self._sweep(fetch, parts.get(name), horizon)
            new_parts[name] = batch.cursor
            for entry in batch.items:
                if entry.value is not None and entry.value.remote_id not in found:
                    found[entry.value.remote_id] = entry.value
        return Batch(list(found.values()), join_cursor(new_parts))

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        """Replies in the account's feed, then in each responder's, each with its own cursor.

        The account's own listing is the cursor's top level (as before responders existed);
        the responders' cursors ride in its `extra`, keyed by the name as configured.
        """
        session = await self.xrpc.ensure_session()
        own = await self._sweep(partial(self._author_page, session.did), cursor, horizon)
        found = [e.value for e in own.items if e.value is not None]
        saved = SweepState.decode(cursor).extra.get("responders")
        known: dict[str, Any] = saved if isinstance(saved, dict) else {}
        cursors: dict[str, str] = {}
        for actor in self._responders(session.did):
            old = known.get(actor.lower())
            old = old if isinstance(old, str) and old else None
            try:
                batch = await self._sweep(partial(self._author_page, actor), old, horizon)
            except XrpcError as exc:
                if exc.status != 400:
                    raise
                self._warn_unreadable(actor, exc)
                if old:
                    cursors[actor.lower()] = old  # keep its place for when it reads again
                continue
            found += [e.value for e in batch.items if e.value is not None]
            cursors[actor.lower()] = batch.cursor or ""
        after = SweepState.decode(own.cursor)
        after.extra = {"responders": cursors} if cursors else {}
        return Batch(found, after.encode())

    async def whoami(self) -> str:
        """The login itself names the account: one call, the same one every poll makes."""
        session = await self.xrpc.ensure_session()
        return f"@{session.handle} ({session.did})"

    # -- listings ---------------------------------------------------------------------------

    async def _sweep(
        self,
        fetch: Callable[[str | None, Any], Awaitable[Page[Entry[T | None]]]],
        cursor: str | None,
        horizon: datetime,
    ) -> Batch[Entry[T | None]]:
        return await sweep_entries(fetch, cursor, horizon, self.account.max_pages)

    async def _notifications_page(
        self, token: str | None, floor: Any
    ) -> Page[Entry[Mention | None]]:
        endpoint = "app.bsky.notification.listNotifications"
        params: list[tuple[str, Any]] = [("reasons", r) for r in NOTIFICATION_KINDS]
        params += [("limit", PAGE_SIZE), *_cursor_param(token)]
        data = await self.xrpc.query(endpoint, params)
        items = self._list(endpoint, data, "notifications")
        return Page([self._notification(endpoint, n) for n in items], _next(data))

    def _notification(self, endpoint: str, item: Any) -> Entry[Mention | None]:
        # The view's indexedAt is the notification's sort time: the listing is ordered by it.
        at = self._time(endpoint, item, "indexedAt")
        kind = NOTIFICATION_KINDS.get(str(self._field(endpoint, item, "reason")))
        if kind is None or self._is_own(endpoint, item):
            return Entry(_key(at), at, None)
        return Entry(_key(at), at, self._mention(endpoint, item, kind))

    async def _search_page(
        self, search: list[tuple[str, str]], horizon: datetime, token: str | None, floor: Any
    ) -> Page[Entry[Mention | None]]:
        endpoint = "app.bsky.feed.searchPosts"
        params: list[tuple[str, Any]] = [*search, ("sort", "latest"), ("limit", PAGE_SIZE)]
        # `since` is inclusive and compares sortAt, the same time our keys are made of.
        params.append(("since", floor if isinstance(floor, str) else _key(horizon)))
        data = await self.xrpc.query(endpoint, [*params, *_cursor_param(token)])
        entries = []
        for post in self._list(endpoint, data, "posts"):
            at = self._created_at(endpoint, post)
            own = self._is_own(endpoint, post)
            value = None if own else self._mention(endpoint, post, Kind.KEYWORD)
            entries.append(Entry(_key(at), at, value))
        return Page(entries, _next(data))

    async def _author_page(
        self, actor: str, token: str | None, floor: Any
    ) -> Page[Entry[Reply | None]]:
        """One page of an author feed (the account's, by DID, or a responder's, as configured)."""
        params: list[tuple[str, Any]] = [
            ("actor", actor),
            ("filter", "posts_with_replies"),
            ("limit", PAGE_SIZE),
            *_cursor_param(token),
        ]
        data = await self.xrpc.query(AUTHOR_FEED, params)
        feed = self._list(AUTHOR_FEED, data, "feed")
        return Page([self._feed_item(AUTHOR_FEED, item, actor) for item in feed], _next(data))

    def _feed_item(self, endpoint: str, item: Any, actor: str) -> Entry[Reply | None]:
        post = self._field(endpoint, item, "post")
        reason = item.get("reason")
        if isinstance(reason, Mapping) and "indexedAt" in reason:
            # A repost sorts by when it was reposted, and answers nothing.
            at = self._time(endpoint, reason, "indexedAt")
            return Entry(_key(at), at, None)
        at = self._created_at(endpoint, post)
        record = self._field(endpoint, post, "record")
        parent = dig(record, "reply", "parent", "uri")
        author = self._field(endpoint, post, "author", "did")
        handle = str(self._field(endpoint, post, "author", "handle"))
        if not isinstance(parent, str) or actor.lower() not in (
            str(author).lower(),
            handle.lower(),
        ):
            return Entry(_key(at), at, None)
        uri = self._post_uri(endpoint, post)
        reply = Reply(
            remote_id=uri,
            url=web_url(uri, handle, author),
            author=handle,
            created_at=self._created_at(endpoint, post),
            parent_id=parent,
            raw=kept(self.account, item),
        )
        return Entry(_key(at), at, reply)

    def _responders(self, own_did: str) -> list[str]:
        """Configured responders (handles or DIDs), without the account itself or repeats."""
        return other_responders(self.account, [own_did, self.account.handle])

    def _warn_unreadable(self, actor: str, exc: XrpcError) -> None:
        # A warning, not an error: failing the run would also drop the account's own replies
        # (poll.py stores no replies when replies() raises). Asked again on every run.
        log.warning(
            "%s: responder %r cannot be read (%s: %s), so their replies do not answer "
            "mentions; check `responders` (a handle like name.bsky.social, or a DID)",
            self.account.name, actor, exc.endpoint, one_line(exc.problem),
        )  # fmt: skip

    # -- parsing ----------------------------------------------------------------------------

    def _mention(self, endpoint: str, item: Any, kind: Kind) -> Mention:
        """A notification or a post view (both carry uri, author, record, indexedAt)."""
        uri = self._post_uri(endpoint, item)
        handle = str(self._field(endpoint, item, "author", "handle"))
        did = str(self._field(endpoint, item, "author", "did"))
        record = self._field(endpoint, item, "record")
        text = self._field(endpoint, item, "record", "text")
        return Mention(
            remote_id=uri,
            url=web_url(uri, handle, did),
            author=handle,
            text=post_text(str(text), dig(record, "facets")),
            created_at=self._created_at(endpoint, item),
            kind=kind,
            raw=kept(self.account, item),
            context=raw_json(post_context(item)),
            lang=_first_lang(record),
        )

    def _post_uri(self, endpoint: str, item: Any) -> str:
        uri = self._field(endpoint, item, "uri")
        if not isinstance(uri, str) or not uri.startswith("at://") or uri.count("/") != 4:
            raise self._fail(endpoint, f"unexpected payload: 'uri' is not a post URI: {uri!r:.80}")
        return uri

    def _created_at(self, endpoint: str, item: Any) -> datetime:
        """record.createdAt is what the author's client claims; never later than indexing.

        This is also the AppView's sortAt, the order of post listings and search's `since`.
        """
        indexed = self._time(endpoint, item, "indexedAt")
        created = _parse_time(dig(item, "record", "createdAt"))
        return indexed if created is None else min(created, indexed)

    def _time(self, endpoint: str, item: Any, field: str) -> datetime:
        value = self._field(endpoint, item, field)
        moment = _parse_time(value)
        if moment is None:
            raise self._fail(
                endpoint, f"unexpected payload: {field!r} is not a time: {value!r:.40}"
            )
        return moment

    def _field(self, endpoint: str, data: Any, *path: str) -> Any:
        return require(self.account.name, endpoint, data, *path)

    def _list(self, endpoint: str, data: Any, field: str) -> list[Any]:
        items = self._field(endpoint, data, field)
        if not isinstance(items, list):
            raise self._fail(endpoint, f"unexpected payload: field {field!r} is not a list")
        return items

    def _is_own(self, endpoint: str, item: Any) -> bool:
        did = self._field(endpoint, item, "author", "did")
        handle = str(self._field(endpoint, item, "author", "handle"))
        own_did = self.xrpc.session.did if self.xrpc.session else None
        return did == own_did or handle.lower() in self.account.own_names

    def _fail(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.account.name, endpoint, problem)


def _key(moment: datetime) -> str:
    """Fixed-width UTC text, so string order is time order whatever precision the server sent."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _cursor_param(token: str | None) -> list[tuple[str, Any]]:
    return [("cursor", token)] if token else []


def _next(data: Any) -> str | None:
    cursor = data.get("cursor") if isinstance(data, Mapping) else None
    return cursor if isinstance(cursor, str) and cursor else None


SOURCE = BlueskySource


def _searches(keywords: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """searchPosts parameters by listing name: one search per OR alternative of each keyword,
    its words and "phrases" as `q`, author:, lang: and domain: as the matching parameters
    (sources/search.py); poll.py checks every hit against the whole expression."""
    found: dict[str, list[tuple[str, str]]] = {}
    for keyword in keywords:
        for conjunct in keyword_conjuncts(keyword):
            fields = [(k, v) for k, v in conjunct.fields if k != "author" or _is_actor(v)]
            params = [("q", plain_terms(conjunct)), *fields]
            name = "search:" + " ".join(v if k == "q" else f"{k}:{v}" for k, v in params)
            found[name] = params
    return found


def _is_actor(name: str) -> bool:
    """A handle (`dana.bsky.social`) or a DID, as searchPosts' `author` takes; anything else
    (`dana@example.social`, a Mastodon address) would be refused, so it is checked locally only."""
    return name.startswith("did:") or ("." in name and "@" not in name and " " not in name)


def _first_lang(record: Any) -> str:
    """The post's first declared language (record.langs), for `lang:` in rules."""
    langs = dig(record, "langs")
    return str(langs[0]) if isinstance(langs, list) and langs and isinstance(langs[0], str) else ""
