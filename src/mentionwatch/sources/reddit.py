"""Reddit: username mentions and replies from the inbox, keyword search, the account's comments.

API reference: https://www.reddit.com/dev/api (OAuth: https://github.com/reddit-archive/reddit/wiki/OAuth2).
Every id is a fullname (`t1_…` comment, `t3_…` post), so a mention's remote id and the
`parent_id` of the comment that answers it are in the same id space.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from mentionwatch import __version__
from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch, Mention, Reply, kept, raw_json
from mentionwatch.models import Account, Kind
from mentionwatch.sources.base import (
    Entry,
    Fetcher,
    Page,
    join_cursor,
    refused,
    require,
    split_cursor,
    sweep_entries,
)
from mentionwatch.sources.reddit_reply import WEB, RedditReplies, thing_context
from mentionwatch.sources.reddit_reply import clean as _clean
from mentionwatch.sources.search import REDDIT, keyword_query

DEFAULT_AUTH = "https://www.reddit.com"  # where tokens come from; `server` is the API
TOKEN_ENDPOINT = "/api/v1/access_token"
PAGE_SIZE = "100"
# Inbox items that are replies to the account's own posts and comments.
REPLY_TYPES = frozenset({"comment_reply", "post_reply"})

T = TypeVar("T")
Thing = Mapping[str, Any]
MentionParser = Callable[[str, Thing], Mention | None]


def _username(handle: str) -> str:
    """ "u/alice", "/u/alice", "@alice" and "alice" all name the same account."""
    name = handle.strip().lstrip("/@")
    return name[2:] if name.lower().startswith("u/") else name


class RedditSource(RedditReplies):
    platform: ClassVar[str] = "reddit"

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.api = account.server.rstrip("/")
        self.auth_url = str(account.options.get("auth_url") or DEFAULT_AUTH).rstrip("/")
        self.user = _username(account.handle)
        # Reddit throttles or blocks generic User-Agents; it asks for this exact shape.
        default_agent = f"python:mentionwatch:{__version__} (by /u/{self.user})"
        self.user_agent = str(account.options.get("user_agent") or default_agent)
        self._token: str | None = None

    # --- the Source interface -------------------------------------------------------------

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        parts = split_cursor(cursor)
        found: list[Mention] = []
        new_parts: dict[str, str | None] = {}
        listings: list[tuple[str, str, dict[str, str], MentionParser]] = [
            ("mentions", "/message/mentions", {}, self._parse_mention),
            ("inbox", "/message/inbox", {}, self._parse_inbox_reply),
        ]
        for keyword in self.account.keywords:
            # Reddit's search syntax (sources/search.py); poll.py checks the whole expression.
            query = keyword_query(keyword, REDDIT)
            params = {"q": query, "sort": "new", "type": "link", "t": "all"}
            listings.append((f"search:{keyword}", "/search", params, self._parse_post))
        for part, path, params, parse in listings:
            items, new_parts[part] = await self._sweep(
                path, params, parts.get(part), horizon, parse
            )
            found.extend(items)
        return Batch(self._unique(found), join_cursor(new_parts))

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        parts = split_cursor(cursor)
        found: list[Reply] = []
        new_parts: dict[str, str | None] = {}
        # Comments by responders answer mentions too, and every user's comments are public.
        for name in self._repliers():
            part = name.lower()
            items, new_parts[part] = await self._sweep(
                f"/user/{name}/comments",
                {"sort": "new"},
                parts.get(part),
                horizon,
                self._parse_reply,
            )
            found.extend(items)
        return Batch(found, join_cursor(new_parts))

    async def whoami(self) -> str:
        data = await self._get("/api/v1/me", {"raw_json": "1"})
        name = require(self.account.name, "/api/v1/me", data, "name")
        return f"u/{name}"

    # --- auth and requests ----------------------------------------------------------------

    def _grant(self) -> dict[str, str]:
        refresh_token = self.account.secret("refresh_token")
        if refresh_token:
            return {"grant_type": "refresh_token", "refresh_token": refresh_token}
        password = self.account.secret("password")
        if password:
            return {"grant_type": "password", "username": self.user, "password": password}
        raise SourceError(
            self.account.name, TOKEN_ENDPOINT, "set 'password' (script app) or 'refresh_token'"
        )

    async def _login(self) -> str:
        """Trade the app credentials for a bearer token (valid about a day, so one per run)."""
        client_id = str(self.account.options.get("client_id") or "")
        response = await self.fetcher.post(
            self.auth_url + TOKEN_ENDPOINT,
            data=self._grant(),
            headers={"User-Agent": self.user_agent},
            endpoint=TOKEN_ENDPOINT,
            auth=(client_id, self.account.secret("client_secret")),
        )
        data = response.json()
        # A wrong password or revoked refresh token is HTTP 200 with {"error": "invalid_grant"}.
        if isinstance(data, dict) and "error" in data:
            error = self.fetcher.redact(str(data["error"]))[:40]
            sources = self.account.secret_sources
            where = ", ".join(f"{k} from {v}" for k, v in sources.items()) or "their values"
            raise SourceError(
                self.account.name,
                TOKEN_ENDPOINT,
                f"Reddit refused the login for u/{self.user} ({error}): check the password "
                f"or refresh_token, client_id and client_secret ({where})",
            )
        token = require(self.account.name, TOKEN_ENDPOINT, data, "access_token")
        if not isinstance(token, str) or not token:
            raise SourceError(self.account.name, TOKEN_ENDPOINT, "empty 'access_token'")
        # Not part of the Fetcher protocol; the real AccountFetcher has it.
        self.fetcher.add_secret(token)
        self._token = token
        self._scope = str(data.get("scope") or "")  # what replying may do (reddit_reply)
        return token

    async def _get(self, path: str, params: Mapping[str, str]) -> Any:
        """GET with the bearer token; an expired token (401) is renewed once."""
        token = self._token or await self._login()
        for attempt in range(2):
            response = await self.fetcher.get(
                self.api + path,
                params=params,
                headers={"User-Agent": self.user_agent, "Authorization": f"bearer {token}"},
                endpoint=path,
                ok_statuses=(200, 401),
            )
            if response.status == 200:
                return response.json()
            if attempt == 0:
                token = await self._login()
        raise refused(self.account, path)

    # --- listings -------------------------------------------------------------------------

    async def _sweep(
        self,
        path: str,
        params: Mapping[str, str],
        cursor: str | None,
        horizon: datetime,
        parse: Callable[[str, Thing], T | None],
    ) -> tuple[list[T], str | None]:
        """Page a newest-first listing by `after` fullname down to its cursor or horizon."""

        async def fetch_page(token: str | None, floor: Any) -> Page[Entry[T | None]]:
            query = {**params, "limit": PAGE_SIZE, "raw_json": "1"}
            if token:
                query["after"] = token
            things, after = self._listing(path, await self._get(path, query))
            return Page([self._entry(path, thing, parse) for thing in things], after)

        fetch: Callable[[str | None, Any], Awaitable[Page[Entry[T | None]]]] = fetch_page
        batch = await sweep_entries(fetch, cursor, horizon, self.account.max_pages)
        return [e.value for e in batch.items if e.value is not None], batch.cursor

    def _listing(self, path: str, data: Any) -> tuple[list[Thing], str | None]:
        children = require(self.account.name, path, data, "data", "children")
        if not isinstance(children, list):
            raise self._bad(path, "'data.children' is not a list")
        things = [require(self.account.name, path, child, "data") for child in children]
        if not all(isinstance(thing, dict) for thing in things):
            raise self._bad(path, "'data.children[].data' is not an object")
        after = data["data"].get("after")
        return things, after if isinstance(after, str) and after else None

    def _entry(
        self, path: str, thing: Thing, parse: Callable[[str, Thing], T | None]
    ) -> Entry[T | None]:
        name = self._field(path, thing, "name")
        created = self._created(path, thing)
        try:
            serial = int(name.partition("_")[2], 36)
        except ValueError:
            raise self._bad(path, f"'name' {name[:30]!r} is not a fullname") from None
        # Time first, then the base-36 serial for items created in the same second;
        # zero-padded so that string order is the order the sweep needs.
        key = f"{int(created.timestamp()):012d}.{serial:016d}"
        return Entry(key, created, parse(path, thing))

    # --- payload -> model -----------------------------------------------------------------

    def _parse_mention(self, path: str, thing: Thing, kind: Kind = Kind.MENTION) -> Mention | None:
        author = str(thing.get("author") or "[deleted]")
        if author.lower() == self.user.lower():
            return None
        return Mention(
            remote_id=self._field(path, thing, "name"),
            url=WEB + self._field(path, thing, "context"),
            author=author,
            text=_clean(thing.get("body")),
            created_at=self._created(path, thing),
            kind=kind,
            title=_clean(thing.get("link_title")),
            raw=kept(self.account, thing),
            context=raw_json(thing_context(thing)),
        )

    def _parse_inbox_reply(self, path: str, thing: Thing) -> Mention | None:
        # The inbox also holds private messages and mentions (fetched on their own).
        if thing.get("type") not in REPLY_TYPES:
            return None
        return self._parse_mention(path, thing, Kind.REPLY)

    def _parse_post(self, path: str, thing: Thing) -> Mention | None:
        author = str(thing.get("author") or "[deleted]")
        if author.lower() == self.user.lower():
            return None
        title = _clean(thing.get("title"))
        return Mention(
            remote_id=self._field(path, thing, "name"),
            url=WEB + self._field(path, thing, "permalink"),
            author=author,
            text=_clean(thing.get("selftext")) or title,
            created_at=self._created(path, thing),
            kind=Kind.KEYWORD,
            title=title,
            raw=kept(self.account, thing),
        )

    def _parse_reply(self, path: str, thing: Thing) -> Reply:
        return Reply(
            remote_id=self._field(path, thing, "name"),
            url=WEB + self._field(path, thing, "permalink"),
            author=str(thing.get("author") or self.user),
            created_at=self._created(path, thing),
            parent_id=self._field(path, thing, "parent_id"),
            raw=kept(self.account, thing),
        )

    # --- helpers --------------------------------------------------------------------------

    def _field(self, path: str, thing: Thing, name: str) -> str:
        value = require(self.account.name, path, thing, name)
        if not isinstance(value, str) or not value:
            raise self._bad(path, f"field {name!r} is not a non-empty string")
        return value

    def _created(self, path: str, thing: Thing) -> datetime:
        value = require(self.account.name, path, thing, "created_utc")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(path, "field 'created_utc' is not a number")
        return datetime.fromtimestamp(value, UTC)

    def _bad(self, path: str, problem: str) -> SourceError:
        return SourceError(self.account.name, path, f"unexpected payload: {problem}")

    def _repliers(self) -> list[str]:
        names: dict[str, str] = {}
        for handle in (self.user, *self.account.responders):
            name = _username(handle)
            if name:
                names.setdefault(name.lower(), name)
        return list(names.values())

    @staticmethod
    def _unique(mentions: list[Mention]) -> list[Mention]:
        """A post found by several listings is stored once, as its most specific kind."""
        seen: dict[str, Mention] = {}
        for mention in mentions:
            seen.setdefault(mention.remote_id, mention)
        return list(seen.values())


SOURCE = RedditSource
