"""Hacker News through the Algolia search API (https://hn.algolia.com/api); no credential.

HN has no notifications, so mentions are (1) search hits for each keyword and for the
handle, and (2) direct replies to the user's own recent stories and comments. The user's
own comments, and those of each responder, carry `parent_id`, which is how a mention is
known to be answered.

Algolia returns at most 1,000 hits per query and its page numbers shift while new items
arrive, so listings are paged by slicing on `created_at_i` (newest first) instead of by
page number, with one cursor per listing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple
from urllib.parse import quote

from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch, Mention, Reply, kept, raw_json
from mentionwatch.models import Account, Kind
from mentionwatch.post_html import html_to_text
from mentionwatch.sources.base import (
    Fetcher,
    SweepState,
    join_cursor,
    other_responders,
    require,
    split_cursor,
)
from mentionwatch.sources.hackernews_thread import HackerNewsThreads, item_context
from mentionwatch.sources.search import keyword_conjuncts, plain_terms
from mentionwatch.timeutil import parse_timestamp, utcnow

ITEM_URL = "https://news.ycombinator.com/item?id={}"
HITS_PER_PAGE = 100
# Each sweep re-reads this many seconds below its floor: Algolia indexes items a little after
# they are posted, and several items can share one second. The store drops what it has.
OVERLAP = 300
# Replies are looked for under the user's newest own items only, to keep requests bounded.
OWN_ITEMS_WATCHED = 30
REPLY_WINDOW = timedelta(days=14)
# A reply is the most specific reason to be shown, a keyword hit the least.
_PRECEDENCE = {Kind.REPLY: 0, Kind.MENTION: 1, Kind.KEYWORD: 2}
log = logging.getLogger("mentionwatch.sources.hackernews")


class HackerNewsSource(HackerNewsThreads):
    platform: ClassVar[str] = "hackernews"

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.server = account.server.rstrip("/")
        self.handle = account.handle.strip().lstrip("@")
        # Algolia ANDs every word and has no OR: one search per OR alternative of a keyword
        # (sources/search.py), an `author:` in it as Algolia's author tag; poll.py checks
        # every hit against the whole expression.
        searches = [
            Search(plain_terms(c), (c.field("author") or "").strip())
            for k in account.keywords
            for c in keyword_conjuncts(k)
        ]
        self.searches = _unique([Search(self.handle), *searches])

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        old = split_cursor(cursor)
        keys = [s.key for s in self.searches]
        sweeps = [
            self._sweep({"query": s.query, "tags": s.tags}, old.get(key), horizon)
            for s, key in zip(self.searches, keys, strict=True)
        ]
        # Replies to own items have no cursor: only the first poll holds them to the horizon,
        # later ones take every reply in REPLY_WINDOW (the store drops those it has).
        first_poll = cursor is None
        replies, *results = await asyncio.gather(
            self._replies_to_own_items(horizon if first_poll else None), *sweeps
        )
        found: dict[str, Mention] = {}
        for mention in replies:
            _keep(found, mention)
        cursors: dict[str, str | None] = {}
        for search, key, (hits, next_cursor) in zip(self.searches, keys, results, strict=True):
            kind = Kind.MENTION if search == (self.handle, "") else Kind.KEYWORD
            for hit in hits:
                if not self._is_own(hit):
                    _keep(found, self._mention(hit, kind))
            cursors[key] = next_cursor  # a keyword dropped from the config drops its cursor
        return Batch(list(found.values()), join_cursor(cursors))

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        """The comments of the user and of each responder; each answers its `parent_id`.

        The user's listing is the cursor's top level (as before responders existed); each
        responder's cursor rides in its `extra`, keyed by the name as configured.
        """
        names = self._responders()
        if not self.handle and not names:
            return Batch([], cursor)
        saved = SweepState.decode(cursor).extra.get("responders")
        known: dict[str, Any] = saved if isinstance(saved, dict) else {}
        own_listing = self._comments(self.handle, cursor, horizon) if self.handle else _nothing()
        own, *others = await asyncio.gather(
            own_listing, *(self._responder_comments(n, known.get(n), horizon) for n in names)
        )
        found = list(own[0]) if own else []
        cursors: dict[str, str] = {}
        for name, result in zip(names, others, strict=True):
            if result is not None:  # an unknown responder gets no cursor: checked again
                found += result[0]
                cursors[name] = result[1]
        after = SweepState.decode(own[1] if own else None)
        after.extra = {"responders": cursors} if cursors else {}
        return Batch(found, after.encode())

    async def _comments(
        self, author: str, cursor: str | None, horizon: datetime
    ) -> tuple[list[Reply], str]:
        hits, next_cursor = await self._sweep({"tags": f"comment,author_{author}"}, cursor, horizon)
        return [self._reply(hit, author) for hit in hits], next_cursor

    async def _responder_comments(
        self, name: str, cursor: Any, horizon: datetime
    ) -> tuple[list[Reply], str] | None:
        """A responder's comments; a responder new to the cursor is checked to exist first."""
        if isinstance(cursor, str) and cursor:
            return await self._comments(name, cursor, horizon)
        # A misspelt name would just find nothing, forever: ask once whether it exists.
        endpoint = f"/api/v1/users/{quote(name, safe='')}"
        response = await self.fetcher.get(
            self.server + endpoint, endpoint=endpoint, ok_statuses=(200, 404)
        )
        if response.status == 404:
            # A warning, not an error: failing the run would also drop the user's own replies
            # (poll.py stores no replies when replies() raises). Asked again on every run.
            log.warning(
                "%s: responder %r is not a Hacker News user (GET %s answered 404), so their "
                "comments do not answer mentions; check `responders` (names are case-sensitive)",
                self.account.name, name, endpoint,
            )  # fmt: skip
            return None
        return await self._comments(name, None, horizon)  # new: looks back `backfill`

    def _responders(self) -> list[str]:
        # HN user names are case-sensitive: "Dana" and "dana" are two people.
        return other_responders(self.account, [self.handle], case_sensitive=True)

    async def whoami(self) -> str:
        """HN needs no credential: this checks that the handle exists (one call)."""
        if not self.handle:
            return "anonymous (no handle; no credential needed)"
        endpoint = f"/api/v1/users/{self.handle}"
        data = await self._get_json(endpoint, {}, endpoint)
        name = require(self.account.name, endpoint, data, "username")
        return f"{name} (public profile; no credential needed)"

    async def _sweep(
        self, params: Mapping[str, str], cursor: str | None, horizon: datetime
    ) -> tuple[list[dict[str, Any]], str]:
        """Page one search_by_date listing newest first, slicing on created_at_i.

        The cursor's floor is the newest second fully covered. When `max_pages` stops a
        sweep early, `top` and `resume` let the next run fill the gap before moving on.
        """
        state = SweepState.decode(cursor)
        if isinstance(state.floor, int):
            start, lower = state.floor, state.floor - OVERLAP
        else:
            # A listing seen for the first time (new account or newly added keyword).
            start = lower = int(horizon.timestamp())
        upper = int(state.resume) if state.resume and state.resume.isdigit() else None
        top: int | None = state.top if isinstance(state.top, int) else None
        endpoint = "search_by_date?" + "&".join(f"{k}={v}" for k, v in params.items())
        hits: dict[str, dict[str, Any]] = {}
        for _ in range(max(self.account.max_pages, 1)):
            filters = f"created_at_i>{lower}"
            if upper is not None:
                filters += f",created_at_i<={upper}"
            query = {**params, "numericFilters": filters, "hitsPerPage": str(HITS_PER_PAGE)}
            data = await self._get_json("/api/v1/search_by_date", query, endpoint)
            page = self._hits(data, endpoint)
            for hit in page:
                hits[hit["objectID"]] = hit
                top = max(top or 0, hit["created_at_i"])
            pages = data.get("nbPages")
            if len(page) < HITS_PER_PAGE or (isinstance(pages, int) and pages <= 1):
                return list(hits.values()), SweepState(floor=max(start, top or 0)).encode()
            oldest = min(hit["created_at_i"] for hit in page)
            # Re-read the oldest second (it may hold more items), unless a whole page shares
            # that second: then step below it so the sweep always moves.
            upper = oldest if upper is None or oldest < upper else oldest - 1
        capped = SweepState(floor=start, top=top, resume=str(upper))
        return list(hits.values()), capped.encode()

    async def _replies_to_own_items(self, horizon: datetime | None) -> list[Mention]:
        """Direct replies to the user's newest stories and comments (not older than `horizon`)."""
        if not self.handle:
            return []
        window = int((utcnow() - REPLY_WINDOW).timestamp())
        params = {
            "tags": f"author_{self.handle},(story,comment)",
            "numericFilters": f"created_at_i>{window}",
            "hitsPerPage": str(OWN_ITEMS_WATCHED),
        }
        endpoint = f"search_by_date?tags=author_{self.handle}"
        data = await self._get_json("/api/v1/search_by_date", params, endpoint)
        # A story nobody commented on has no replies to fetch.
        own = [h for h in self._hits(data, endpoint) if h.get("num_comments") != 0]
        trees = await asyncio.gather(*(self._item(hit["objectID"]) for hit in own))
        found: list[Mention] = []
        for hit, tree in zip(own, trees, strict=True):
            title = _title(hit)
            for child in _children(tree):
                reply = self._child_mention(child, title, hit["objectID"])
                if reply is not None and (horizon is None or reply.created_at >= horizon):
                    found.append(reply)
        return found

    async def _item(self, item_id: str) -> Any:
        endpoint = f"/api/v1/items/{item_id}"
        return await self._get_json(endpoint, {}, endpoint)

    async def _get_json(self, path: str, params: Mapping[str, str], endpoint: str) -> Any:
        response = await self.fetcher.get(
            self.server + path, params=dict(params), endpoint=endpoint
        )
        return response.json()

    def _hits(self, data: Any, endpoint: str) -> list[dict[str, Any]]:
        """Validate each search hit's fields used later, so parsing past here cannot fail."""
        hits = require(self.account.name, endpoint, data, "hits")
        if not isinstance(hits, list):
            raise self._error(endpoint, "unexpected payload: field 'hits' is not a list")
        checked = []
        for n, hit in enumerate(hits):
            object_id = require(self.account.name, endpoint, data, "hits", n, "objectID")
            created = require(self.account.name, endpoint, data, "hits", n, "created_at_i")
            if not isinstance(created, int):
                raise self._error(endpoint, f"unexpected payload: hits.{n}.created_at_i")
            # The highlight copy of every field only bloats the stored raw payload.
            kept = {k: v for k, v in hit.items() if k != "_highlightResult"}
            checked.append({**kept, "objectID": str(object_id), "created_at_i": created})
        return checked

    def _is_own(self, hit: Mapping[str, Any]) -> bool:
        author = str(hit.get("author") or "")
        return bool(self.handle) and author.lower() == self.handle.lower()

    def _mention(self, hit: dict[str, Any], kind: Kind) -> Mention:
        body = hit.get("comment_text") or hit.get("story_text") or ""
        return Mention(
            remote_id=hit["objectID"],
            url=ITEM_URL.format(hit["objectID"]),
            author=str(hit.get("author") or ""),
            text=html_to_text(body) or _title(hit),
            created_at=parse_timestamp(hit["created_at_i"]),
            kind=kind,
            title=_title(hit),
            raw=kept(self.account, hit),
            context=raw_json(item_context(hit.get("parent_id"))),
        )

    def _child_mention(self, child: Any, title: str, parent_id: str) -> Mention | None:
        """A reply in an /items tree; deleted and own replies are skipped."""
        if not isinstance(child, Mapping) or not child.get("author") or self._is_own(child):
            return None
        endpoint = f"/api/v1/items/{parent_id}"
        item_id = require(self.account.name, endpoint, child, "id")
        created = require(self.account.name, endpoint, child, "created_at_i")
        if not isinstance(created, int):
            raise self._error(endpoint, "unexpected payload: children.created_at_i")
        raw = {k: v for k, v in child.items() if k != "children"}
        return Mention(
            remote_id=str(item_id),
            url=ITEM_URL.format(item_id),
            author=str(child["author"]),
            text=html_to_text(str(child.get("text") or "")),
            created_at=parse_timestamp(created),
            kind=Kind.REPLY,
            title=title,
            raw=kept(self.account, raw),
            context=raw_json(item_context(parent_id)),
        )

    def _reply(self, hit: dict[str, Any], author: str) -> Reply:
        parent = hit.get("parent_id")
        return Reply(
            remote_id=hit["objectID"],
            url=ITEM_URL.format(hit["objectID"]),
            author=str(hit.get("author") or author),
            created_at=parse_timestamp(hit["created_at_i"]),
            parent_id=str(parent) if parent is not None else None,
            raw=kept(self.account, hit),
        )

    def _error(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.account.name, endpoint, problem)


async def _nothing() -> tuple[list[Reply], str] | None:
    return None


def _children(tree: Any) -> Sequence[Any]:
    children = tree.get("children") if isinstance(tree, Mapping) else None
    return children if isinstance(children, list) else []


def _title(hit: Mapping[str, Any]) -> str:
    """Story title for stories, the story's title for comments (Algolia titles are plain)."""
    return html_to_text(str(hit.get("title") or hit.get("story_title") or ""))


class Search(NamedTuple):
    """One Algolia search: words (ANDed) and, for an `author:` in the keyword, its author."""

    query: str
    author: str = ""

    @property
    def tags(self) -> str:
        # Comma is AND, parentheses OR: stories and comments, by this author if one is named.
        return f"(story,comment),author_{self.author}" if self.author else "(story,comment)"

    @property
    def key(self) -> str:
        """Its cursor's name (without an author, the name cursors had before authors)."""
        key = f"query:{self.query.lower()}"
        return f"{key} author:{self.author}" if self.author else key


def _unique(searches: Sequence[Search]) -> list[Search]:
    seen: set[str] = set()
    result = []
    for search in (Search(s.query.strip(), s.author) for s in searches):
        if search.query and search.key not in seen:
            seen.add(search.key)
            result.append(search)
    return result


def _keep(found: dict[str, Mention], mention: Mention) -> None:
    """One mention per item; when several listings found it, keep the most specific kind."""
    current = found.get(mention.remote_id)
    if current is None or _PRECEDENCE[mention.kind] < _PRECEDENCE[current.kind]:
        found[mention.remote_id] = mention


SOURCE = HackerNewsSource
