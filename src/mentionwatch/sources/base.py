"""The Source interface and the paging helpers sources share (the registry is `registry`).

Nothing here imports httpx.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from mentionwatch.errors import ReplyRefusedError, ReplyRejectedError, SourceError
from mentionwatch.fetched import Batch, Mention, Post, Reply
from mentionwatch.models import Account, StoredMention


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    endpoint: str
    account: str

    def json(self) -> Any:
        """The body as JSON, or a SourceError that says what came back instead."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            kind = "an HTML page" if self.body.lstrip()[:1] == b"<" else "invalid JSON"
            if not self.body.strip():
                kind = "an empty body"
            raise SourceError(self.account, self.endpoint, f"expected JSON, got {kind}") from None


class Fetcher(Protocol):
    """HTTP for one account: retries, rate limits and secret redaction are done behind it."""

    account: str

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        ok_statuses: tuple[int, ...] = (200,),
    ) -> Response: ...

    async def post(
        self,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        auth: tuple[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (200,),
        resend: bool = True,
    ) -> Response:
        """`resend=False` (posting): never repeated once it may have reached the server; a
        timeout or dropped answer then raises OutcomeUnknownError. 429s are still waited out."""
        ...

    def add_secret(self, value: str) -> None:
        """Redact a token obtained at run time (OAuth, sessions) like a configured one."""
        ...

    def redact(self, text: str) -> str: ...


class Source(Protocol):
    """One platform's listings for one account.

    `horizon` is the backfill horizon, the poll's clock minus the account's `backfill`: a
    listing with no cursor yet (a new account, a keyword or responder added later) looks back
    to it; a listing with a cursor resumes from its cursor, however old that is.
    """

    platform: ClassVar[str]

    def __init__(self, account: Account, fetcher: Fetcher) -> None: ...

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]: ...

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]: ...

    async def whoami(self) -> str:
        """One cheap authenticated call; returns who the credential belongs to."""
        ...


@dataclass(frozen=True)
class LengthCheck:
    """A reply's length as its platform counts it, checked before anything is sent."""

    count: int
    limit: int
    unit: str = "characters"

    @property
    def ok(self) -> bool:
        return 0 < self.count <= self.limit

    def describe(self) -> str:
        return f"{self.count}/{self.limit} {self.unit}"


@dataclass(frozen=True)
class ReplyRequest:
    """What `post_reply` sends, shown by `reply --dry-run`: no credential in it."""

    method: str
    url: str
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    form: bool = False  # form fields rather than a JSON body


class Threaded(Protocol):
    async def thread(self, mention: StoredMention) -> list[Post]:
        """What the mention answers and what came before it, oldest first, without it."""
        ...


class Replier(Threaded, Protocol):
    """A source that can post; HN and feeds cannot (`reply_page` says where to reply)."""

    reply_limit: int  # in check_reply's unit; Mastodon's comes from the instance

    async def prepare_reply(self, mention: StoredMention, text: str = "") -> None:
        """Fetch what `check_reply` and `reply_request` need beyond the stored mention.

        Limits, visibility, and for Bluesky the DIDs of the @handles in `text`, so that a dry
        run prints the very facets the post would carry.
        """
        ...

    def reply_text(self, mention: StoredMention, text: str) -> str:
        """The text as it will be posted (Mastodon adds the @accts it answers)."""
        ...

    def check_reply(self, mention: StoredMention, text: str) -> LengthCheck: ...

    def reply_request(self, mention: StoredMention, text: str, key: str) -> ReplyRequest: ...

    async def post_reply(self, mention: StoredMention, text: str, key: str) -> Reply:
        """Post `text` as it is (see reply_text); returns what a poll would find of it."""
        ...

    async def find_reply(
        self, mention: StoredMention, text: str, key: str, since: datetime
    ) -> Reply | None:
        """After an unknown outcome: the reply if it was posted after all, else None."""
        ...

    async def reply_access(self) -> str:
        """Whether this credential may post (`config check --online`); raises if not."""
        ...


K = TypeVar("K", int, str)
T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a newest-first listing and the token for the next, older page."""

    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One listing item, parsed: its ordering key, its time, and what it becomes.

    `key` is whatever orders the listing (an id, a fixed-width time); `value` is None for an
    item that moves the cursor but is kept as nothing (an own post, a private message).
    """

    key: Any
    at: datetime
    value: T


@dataclass
class SweepState:
    """Cursor for a newest-first listing, kept as JSON in the database.

    `floor` is the newest key fully covered. When the page cap stops a sweep early, `top` is
    the newest key that sweep saw and `resume` the token to continue from, so the next run
    fills the gap down to `floor` before anything moves past it.
    """

    floor: Any = None
    top: Any = None
    resume: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def decode(cls, cursor: str | None) -> SweepState:
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
        except json.JSONDecodeError:
            return cls(floor=cursor)
        if not isinstance(data, dict):
            return cls(floor=data)
        return cls(data.get("floor"), data.get("top"), data.get("resume"), data.get("extra", {}))

    def encode(self) -> str:
        data = {"floor": self.floor, "top": self.top, "resume": self.resume, "extra": self.extra}
        return json.dumps({k: v for k, v in data.items() if v not in (None, {})})


async def sweep_newest_first(
    fetch_page: Callable[[str | None, Any], Awaitable[Page[T]]],
    *,
    key: Callable[[T], K],
    time_of: Callable[[T], datetime],
    cursor: str | None,
    horizon: datetime,
    max_pages: int,
) -> Batch[T]:
    """Page a newest-first listing down to the stored floor or the cap.

    A listing without a floor yet stops at the backfill `horizon` instead. `fetch_page(token,
    floor)` gets the page token (None for the newest page) and the floor key, which a platform
    may pass to the server (`since_id`) to save requests.
    """
    state = SweepState.decode(cursor)
    token = state.resume
    top = state.top
    items: list[T] = []
    for _ in range(max(max_pages, 1)):
        page = await fetch_page(token, state.floor)
        done = False
        for item in page.items:
            k = key(item)
            reached = k <= state.floor if state.floor is not None else time_of(item) < horizon
            if reached:
                done = True
                if top is None and state.floor is None:
                    # A quiet first poll still marks where it stopped, so the next run asks
                    # only for what is newer.
                    top = k
                break
            if top is None or k > top:
                top = k
            items.append(item)
        token = page.next_token
        if done or token is None or not page.items:
            newest = top if top is not None else state.floor
            return Batch(items, SweepState(floor=newest, extra=state.extra).encode())
    return Batch(items, SweepState(state.floor, top, token, state.extra).encode())


async def sweep_entries(
    fetch_page: Callable[[str | None, Any], Awaitable[Page[Entry[T]]]],
    cursor: str | None,
    horizon: datetime,
    max_pages: int,
) -> Batch[Entry[T]]:
    """`sweep_newest_first` over a listing parsed into `Entry` items."""
    return await sweep_newest_first(
        fetch_page,
        key=lambda entry: entry.key,
        time_of=lambda entry: entry.at,
        cursor=cursor,
        horizon=horizon,
        max_pages=max_pages,
    )


def other_responders(
    account: Account, own: Iterable[str] = (), *, case_sensitive: bool = False
) -> list[str]:
    """The configured responders without "@", blanks, repeats or the account itself (`own`)."""
    fold: Callable[[str], str] = (lambda name: name) if case_sensitive else str.lower
    seen = {fold(name.strip().lstrip("@")) for name in own}
    names: list[str] = []
    for raw in account.responders:
        name = raw.strip().lstrip("@")
        if name and fold(name) not in seen:
            seen.add(fold(name))
            names.append(name)
    return names


def split_cursor(cursor: str | None) -> dict[str, str]:
    """A source with several listings (mentions, each keyword) keeps one cursor per listing."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return {}
    return data


def join_cursor(parts: Mapping[str, str | None]) -> str:
    return json.dumps({k: v for k, v in sorted(parts.items()) if v is not None})


def refused(account: Account, endpoint: str, what: str = "token") -> SourceError:
    """A refused credential: names the account and where its secrets come from, never them."""
    where = ", ".join(f"{key} from {source}" for key, source in account.secret_sources.items())
    hint = f" ({where})" if where else ""
    problem = f"{what} for account {account.name} was refused{hint}"
    return SourceError(account.name, endpoint, problem)


def reply_refusal(
    account: Account, endpoint: str, status: int, message: str, needs: str
) -> SourceError:
    """A posting request the platform answered with an error, as the error `reply` exits with.

    `needs` names the credential or scope posting takes ("a token with write:statuses").
    """
    said = f": {message.strip()[:200]}" if message.strip() else ""
    if status in (401, 403):
        where = ", ".join(f"{key} from {source}" for key, source in account.secret_sources.items())
        hint = f" ({where})" if where else ""
        problem = f"HTTP {status}: not allowed to post{said}; replying needs {needs}{hint}"
        return ReplyRefusedError(account.name, endpoint, problem)
    if status in (404, 410):
        problem = f"HTTP {status}: the post to answer is gone (deleted, or not visible){said}"
        return ReplyRejectedError(account.name, endpoint, problem)
    return ReplyRejectedError(account.name, endpoint, f"HTTP {status}: the reply was refused{said}")


def require(account: str, endpoint: str, data: Any, *path: str | int) -> Any:
    """Walk `data` along `path`; a missing step is a SourceError naming the field."""
    here = data
    for step in path:
        try:
            here = here[step]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(p) for p in path)
            raise SourceError(
                account, endpoint, f"unexpected payload: no field {where!r}"
            ) from None
    return here
