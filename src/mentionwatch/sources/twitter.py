"""X / Twitter API v2: the mention timeline, recent search for keywords, the account's replies.

API reference: https://docs.x.com/x-api/posts/timelines/introduction (mentions, user posts),
https://docs.x.com/x-api/posts/search/introduction (recent search),
https://docs.x.com/x-api/users/lookup/introduction (user by username).

Quotas come in 15-minute windows and are tiny on the low tiers, so every listing asks only
for posts newer than its stored `since_id`, stops when a page has no `next_token`, and keeps
the account's numeric id in the cursor instead of looking it up on every run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from mentionwatch.errors import RateLimitedError, SourceError
from mentionwatch.fetched import Batch, Mention, Reply, kept, raw_json
from mentionwatch.models import Account, Kind
from mentionwatch.sources.base import (
    Fetcher,
    Page,
    SweepState,
    join_cursor,
    other_responders,
    require,
    split_cursor,
    sweep_newest_first,
)
from mentionwatch.sources.search import X, keyword_query
from mentionwatch.sources.twitter_reply import TwitterReplies, display_text, post_context, post_url
from mentionwatch.timeutil import parse_timestamp, utcnow

log = logging.getLogger("mentionwatch.sources.twitter")

PAGE_SIZE = "100"  # the maximum for the timelines and for recent search
TWEET_FIELDS = (
    "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities,lang"
)
USER_LOOKUP = "/2/users/by/username/:username"
MENTIONS = "/2/users/:id/mentions"
SEARCH = "/2/tweets/search/recent"
TIMELINE = "/2/users/:id/tweets"
_WITH_AUTHORS = {"tweet.fields": TWEET_FIELDS, "expansions": "author_id", "user.fields": "username"}
# Post ids are snowflakes: milliseconds since this epoch, shifted left by 22 bits.
SNOWFLAKE_EPOCH_MS = 1288834974657
# Recent search rejects a since_id older than its 7-day window; keep a margin for clock skew.
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=10)


@dataclass(frozen=True)
class _Listing:
    """One newest-first listing and the request parameters it always sends."""

    path: str
    endpoint: str
    params: Mapping[str, str]
    token_param: str = "pagination_token"
    keyword: bool = False

    @property
    def search(self) -> bool:
        return self.endpoint == SEARCH


@dataclass(frozen=True)
class _Post:
    """A post from a page, with its author resolved from `includes.users`."""

    id: int
    created_at: datetime
    author_id: str
    author: str  # the username, or "" when the payload did not include the author
    raw: dict[str, Any] = field(repr=False)

    def referenced(self, kind: str) -> str | None:
        for ref in self.raw.get("referenced_tweets") or ():
            if isinstance(ref, dict) and ref.get("type") == kind and ref.get("id"):
                return str(ref["id"])
        return None


class TwitterSource(TwitterReplies):
    platform: ClassVar[str] = "twitter"

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.base = account.server.rstrip("/")
        self.handle = account.handle.strip().lstrip("@")
        self._user: tuple[str, str] | None = None  # (id, username), looked up once per run
        self._pages = 0  # pages fetched by the current call; see _sweep

    async def whoami(self) -> str:
        user_id, username = await self._lookup_user()
        return f"@{username} ({user_id})"

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        parts = split_cursor(cursor)
        self._pages = 0
        user_id = await self._user_id(parts)
        path = f"/2/users/{quote(user_id)}/mentions"
        listings = {"mentions": _Listing(path, MENTIONS, _WITH_AUTHORS)}
        for keyword in self.account.keywords:
            # The expression in X's operators (sources/search.py); poll.py checks every hit
            # against all of it. Parentheses keep an OR from swallowing the exclusions.
            terms = keyword_query(keyword, X)
            terms = f"({terms})" if " " in terms else terms
            query = f"{terms} -from:{self.handle} -is:retweet"
            listings[f"keyword:{keyword}"] = _search_listing(query, keyword=True)
        found: dict[str, Mention] = {}
        for listing, post in await self._collect(listings, parts, horizon):
            mention = self._mention(post, user_id, listing.keyword)
            if mention is not None and mention.remote_id not in found:
                found[mention.remote_id] = mention
        return Batch(list(found.values()), _join(parts, listings))

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        parts = split_cursor(cursor)
        self._pages = 0
        user_id = await self._user_id(parts)
        params = {"tweet.fields": TWEET_FIELDS, "exclude": "retweets"}
        listings = {"tweets": _Listing(f"/2/users/{quote(user_id)}/tweets", TIMELINE, params)}
        responders = other_responders(self.account)
        if responders:
            # One search for all responders: one request a run, however many there are.
            who = " OR ".join(f"from:{name}" for name in responders)
            listings["responders"] = _search_listing(f"({who}) is:reply", keyword=False)
        replies = []
        for listing, post in await self._collect(listings, parts, horizon):
            default_author = self.handle if listing.endpoint == TIMELINE else post.author_id
            if (reply := self._reply(post, default_author)) is not None:
                replies.append(reply)
        return Batch(replies, _join(parts, listings))

    # -- listings -------------------------------------------------------------------------

    async def _collect(
        self, listings: Mapping[str, _Listing], parts: dict[str, str], horizon: datetime
    ) -> list[tuple[_Listing, _Post]]:
        """Sweep each listing in turn, updating its cursor in `parts`."""
        found: list[tuple[_Listing, _Post]] = []
        for name, listing in listings.items():
            posts, cursor, limited = await self._sweep(listing, parts.get(name), horizon)
            if cursor:
                parts[name] = cursor
            found += [(listing, post) for post in posts]
            if limited:  # the quota is spent: later listings keep their cursors for next run
                break
        return found

    async def _sweep(
        self, listing: _Listing, cursor: str | None, horizon: datetime
    ) -> tuple[list[_Post], str | None, bool]:
        """Page one listing down to its floor; returns posts, new cursor, rate-limited flag.

        The shared sweep runs one page at a time so that a quota spent mid-sweep keeps what
        was fetched and resumes next run: with 1-15 requests per window, a sweep that must
        finish in one run may never finish. Only a call that fetched nothing re-raises.
        """
        fetch = self._page_fetcher(listing, horizon)
        posts: list[_Post] = []
        for _ in range(max(self.account.max_pages, 1)):
            try:
                batch = await sweep_newest_first(
                    fetch, key=_key, time_of=_time, cursor=cursor, horizon=horizon, max_pages=1
                )
            except RateLimitedError as exc:
                if not self._pages:
                    raise
                log.warning("%s: %s; the rest waits for the next run", exc.account, exc.problem)
                return posts, cursor, True
            posts.extend(batch.items)
            cursor = batch.cursor
            if SweepState.decode(cursor).resume is None:
                break
        return posts, cursor, False

    def _page_fetcher(
        self, listing: _Listing, horizon: datetime
    ) -> Callable[[str | None, Any], Awaitable[Page[_Post]]]:
        async def fetch(token: str | None, floor: Any) -> Page[_Post]:
            params = {**listing.params, "max_results": PAGE_SIZE}
            if floor is not None and not (listing.search and _too_old_for_search(floor)):
                params["since_id"] = str(floor)
            elif floor is None and not listing.search:
                # Only until a listing has a floor: the server drops older posts, sparing the
                # post cap.
                params["start_time"] = horizon.strftime("%Y-%m-%dT%H:%M:%SZ")
            if token:
                params[listing.token_param] = token
            payload = await self._get(listing.path, params, listing.endpoint)
            self._pages += 1
            return self._page(payload, listing.endpoint)

        return fetch

    # -- HTTP and payloads ----------------------------------------------------------------

    async def _get(self, path: str, params: Mapping[str, str], endpoint: str) -> dict[str, Any]:
        token = self.account.secret("token")
        if not token:
            raise SourceError(self.account.name, endpoint, "no Bearer token configured (token)")
        response = await self.fetcher.get(
            self.base + path,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            endpoint=endpoint,
            ok_statuses=(200, 400, 403),  # their v2 problem bodies say more than the status
        )
        payload = response.json()
        if not isinstance(payload, dict):
            raise self._error(endpoint, "unexpected payload: expected a JSON object")
        if response.status != 200:
            raise self._problem(endpoint, payload, response.status)
        return payload

    def _page(self, payload: dict[str, Any], endpoint: str) -> Page[_Post]:
        if "data" not in payload:
            if payload.get("errors"):  # nothing but errors: a suspended or missing user
                raise self._problem(endpoint, payload, 200)
            return Page([], None)  # result_count 0 comes without a data key
        data = payload["data"]
        if not isinstance(data, list):
            raise self._error(endpoint, "unexpected payload: field 'data' is not a list")
        includes = payload.get("includes")
        listed = includes.get("users") if isinstance(includes, dict) else None
        users = {
            str(u["id"]): str(u["username"])
            for u in listed or ()
            if isinstance(u, dict) and "id" in u and "username" in u
        }
        posts = [self._post(payload, i, users, endpoint) for i in range(len(data))]
        meta = payload.get("meta") or {}
        token = meta.get("next_token") if isinstance(meta, dict) else None
        return Page(posts, str(token) if token else None)

    def _post(
        self, payload: dict[str, Any], index: int, users: Mapping[str, str], endpoint: str
    ) -> _Post:
        name = self.account.name
        tweet = require(name, endpoint, payload, "data", index)
        post_id = str(require(name, endpoint, payload, "data", index, "id"))
        created = require(name, endpoint, payload, "data", index, "created_at")
        author_id = str(require(name, endpoint, payload, "data", index, "author_id"))
        require(name, endpoint, payload, "data", index, "text")
        try:
            return _Post(
                int(post_id), parse_timestamp(created), author_id, users.get(author_id, ""), tweet
            )
        except (TypeError, ValueError):
            problem = f"unexpected payload: bad id or created_at in data.{index} ({post_id!r})"
            raise self._error(endpoint, problem) from None

    def _mention(self, post: _Post, user_id: str, keyword: bool) -> Mention | None:
        if post.author_id == user_id or post.referenced("retweeted"):
            return None  # our own posts and retweets never need an answer
        if post.raw.get("in_reply_to_user_id") == user_id:
            kind = Kind.REPLY
        else:
            kind = Kind.KEYWORD if keyword else Kind.MENTION
        return Mention(
            remote_id=str(post.id),
            url=post_url(post.author, post.id),
            author=post.author or post.author_id,
            text=display_text(post.raw),
            created_at=post.created_at,
            kind=kind,
            lang=str(post.raw.get("lang") or ""),
            raw=kept(self.account, post.raw),
            context=raw_json(post_context(post.raw)),
        )

    def _reply(self, post: _Post, default_author: str) -> Reply | None:
        parent = post.referenced("replied_to")
        if parent is None:
            return None  # an original post or a quote answers nothing
        author = post.author or default_author
        return Reply(
            remote_id=str(post.id),
            url=post_url(author, post.id),
            author=author,
            created_at=post.created_at,
            parent_id=parent,
            raw=kept(self.account, post.raw),
        )

    # -- the account's user id --------------------------------------------------------------

    async def _user_id(self, parts: dict[str, str]) -> str:
        """The id kept in the cursor, unless the configured handle changed since."""
        if parts.get("user_id") and parts.get("handle", "").lower() == self.handle.lower():
            return parts["user_id"]
        user_id, _ = await self._lookup_user()
        parts["user_id"], parts["handle"] = user_id, self.handle
        return user_id

    async def _lookup_user(self) -> tuple[str, str]:
        if self._user is None:
            if not self.handle:
                raise self._error(USER_LOOKUP, "no handle configured")
            path = f"/2/users/by/username/{quote(self.handle, safe='')}"
            payload = await self._get(path, {"user.fields": "username"}, USER_LOOKUP)
            if "data" not in payload and payload.get("errors"):
                raise self._problem(USER_LOOKUP, payload, 200)
            name = self.account.name
            user_id = str(require(name, USER_LOOKUP, payload, "data", "id"))
            username = str(require(name, USER_LOOKUP, payload, "data", "username"))
            self._user = (user_id, username)
        return self._user

    # -- errors ---------------------------------------------------------------------------

    def _error(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.account.name, endpoint, problem)

    def _problem(self, endpoint: str, payload: dict[str, Any], status: int) -> SourceError:
        """A v2 problem (`title`/`detail`/`reason`) or `errors[]` body as one readable line."""
        errors = [e for e in payload.get("errors") or () if isinstance(e, dict)]
        if payload.get("reason") == "client-not-enrolled":
            return self._error(
                endpoint, "the app's X API access tier does not include this endpoint (HTTP 403)"
            )
        first = errors[0] if errors else payload
        text = first.get("detail") or first.get("message") or first.get("title") or "no detail"
        title = first.get("title") or payload.get("title")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        prefix = f"HTTP {status}: " if status != 200 else ""
        label = f"{title}: " if title and title != text else ""
        # Redacted before it is cut: a server that echoes the token must not show part of it.
        text = self.fetcher.redact(str(text))[:300]
        return self._error(endpoint, self.fetcher.redact(f"{prefix}{label}{text}{more}"))


_META_KEYS = ("user_id", "handle")


def _search_listing(query: str, *, keyword: bool) -> _Listing:
    params = {"query": query, **_WITH_AUTHORS}
    return _Listing(SEARCH, SEARCH, params, token_param="next_token", keyword=keyword)


def _join(parts: Mapping[str, str], listings: Mapping[str, _Listing]) -> str:
    """The cursor to store: the ids, plus one cursor per listing still configured."""
    return join_cursor({k: v for k, v in parts.items() if k in listings or k in _META_KEYS})


def _key(post: _Post) -> int:
    return post.id


def _time(post: _Post) -> datetime:
    return post.created_at


def _too_old_for_search(floor: Any) -> bool:
    try:
        millis = (int(floor) >> 22) + SNOWFLAKE_EPOCH_MS
    except (TypeError, ValueError):
        return True
    return datetime.fromtimestamp(millis / 1000, UTC) < utcnow() - SEARCH_WINDOW


SOURCE = TwitterSource
