"""A fault-injecting fake Mastodon, served for real on 127.0.0.1 (tests and benchmarks).

It speaks the documented shapes (https://docs.joinmastodon.org/methods/notifications/):
notifications newest first, `max_id`/`since_id`/`min_id` bounds, a `Link` header with
rel="next"/"prev", X-RateLimit-* headers with an ISO 8601 reset, and 401 for unknown tokens.
Faults are scripted per request, in order: see FAULTS.

Also here, for every platform's tests: `poll_through_store` runs one account the way
`mentionwatch poll` does (source → store → states), `check_online` the way
`mentionwatch config check --online` does, and `ReplyBench` the replying commands.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs

import uvicorn

from mentionwatch.http import Http
from mentionwatch.models import Account, State, StoredMention
from mentionwatch.poll import PollHooks, PollResult, poll_account
from mentionwatch.store import MentionFilter, Store
from mentionwatch.timeutil import utcnow

if TYPE_CHECKING:
    from mentionwatch.fetched import Post
    from mentionwatch.replying import ReplyOutcome

T = TypeVar("T")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAULTS = (
    "500",  # an internal error page
    "502",  # a proxy in front of the instance gave up
    "429",  # too many requests, with Retry-After: 1
    "quota",  # a good page whose X-RateLimit-Remaining says the quota is spent
    "hang",  # answers only after `hang_seconds`, past any sane client timeout
    "truncated",  # a JSON body cut in half
    "html",  # an HTML error page with status 200
    "wrong_shape",  # JSON, but an object where a list belongs
    "empty",  # status 200, no body
    "oversized",  # a body larger than the client's cap
)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _status(sid: int, author: str, text: str, in_reply_to: str | None = None) -> dict[str, Any]:
    created = (T0 + timedelta(minutes=sid)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "id": str(sid),
        "created_at": created,
        "in_reply_to_id": in_reply_to,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://fake.example/users/{author}/statuses/{sid}",
        "url": f"https://fake.example/@{author}/{sid}",
        "content": f"<p>{text}</p>",
        "account": {"id": str(abs(hash(author)) % 10**9), "username": author, "acct": author},
        "mentions": [],
        "media_attachments": [],
    }


@dataclass
class FakeAccount:
    token: str
    id: str
    acct: str
    notifications: list[dict[str, Any]] = field(default_factory=list)  # newest first
    statuses: list[dict[str, Any]] = field(default_factory=list)  # newest first


class FakeMastodon:
    """The ASGI app; its state may be changed between polls (new mentions, new faults)."""

    def __init__(self, page_size: int = 40, latency: float = 0.0) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        self.page_size = page_size
        self.latency = latency
        self.hang_seconds = 2.0
        self.oversized_bytes = 200_000
        self.faults: deque[str] = deque()
        # Faults for one path only (its next answers), before any of `faults`: a poll reads
        # two listings side by side, so which request comes second is not fixed.
        self.path_faults: dict[str, deque[str]] = {}
        self.requests = 0
        self.paths: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0  # requests being answered at once, at the most
        self._next_id = 100_000

    def add_account(self, token: str, acct: str) -> FakeAccount:
        account = FakeAccount(token, str(len(self.accounts) + 1), acct)
        self.accounts[token] = account
        return account

    def add_mentions(self, account: FakeAccount, count: int) -> list[str]:
        """New mentions arrive; returns their status ids."""
        ids = []
        for _ in range(count):
            self._next_id += 1
            status = _status(self._next_id, f"fan{self._next_id % 97}", f"@{account.acct} hi")
            notification = {
                "id": str(self._next_id),
                "type": "mention",
                "created_at": status["created_at"],
                "account": status["account"],
                "status": status,
            }
            account.notifications.insert(0, notification)
            ids.append(status["id"])
        return ids

    def add_reply(self, account: FakeAccount, to_status: str) -> None:
        self._next_id += 1
        account.statuses.insert(0, _status(self._next_id, account.acct, "thanks!", to_status))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.requests += 1
        self.paths.append(scope["path"])
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            status, headers, body = self._route(scope)
            queued = self.path_faults.get(scope["path"])
            fault = queued.popleft() if queued else self.faults.popleft() if self.faults else None
            if fault is not None:
                status, headers, body = await self._inject(fault, status, headers, body)
        finally:
            self.in_flight -= 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _route(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        account = self.accounts.get(auth.removeprefix("Bearer "))
        if account is None:
            return _json(401, {"error": "The access token is invalid"})
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        path: str = scope["path"]
        if path == "/api/v1/accounts/verify_credentials":
            return _json(200, {"id": account.id, "username": account.acct, "acct": account.acct})
        if path == "/api/v1/notifications":
            return self._page(scope, account.notifications, query)
        if path == f"/api/v1/accounts/{account.id}/statuses":
            return self._page(scope, account.statuses, query)
        if path == "/api/v2/search":
            return _json(200, {"accounts": [], "statuses": [], "hashtags": []})
        return _json(404, {"error": "Record not found"})

    def _page(
        self, scope: Scope, items: list[dict[str, Any]], query: dict[str, str]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        limit = min(int(query.get("limit", self.page_size)), self.page_size, 80)
        chosen = [
            i
            for i in items
            if ("max_id" not in query or int(i["id"]) < int(query["max_id"]))
            and ("since_id" not in query or int(i["id"]) > int(query["since_id"]))
            and ("min_id" not in query or int(i["id"]) > int(query["min_id"]))
        ]
        # min_id asks for the page just above it; since_id for the newest page above it.
        page = chosen[-limit:] if "min_id" in query else chosen[:limit]
        status, headers, body = _json(200, page)
        if page:
            base = f"http://{scope['server'][0]}:{scope['server'][1]}{scope['path']}"
            links = [f'<{base}?max_id={page[-1]["id"]}>; rel="next"']
            links.append(f'<{base}?min_id={page[0]["id"]}>; rel="prev"')
            headers.append((b"link", ", ".join(links).encode()))
        return status, headers, body

    async def _inject(
        self, fault: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        html = [(b"content-type", b"text/html")]
        if fault in ("500", "502"):
            return int(fault), html, b"<html><body><h1>We're sorry</h1></body></html>"
        if fault == "429":
            return _json(429, {"error": "Too many requests"}, [(b"retry-after", b"1")])
        if fault == "quota":
            reset = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z").encode()
            spent = [(b"x-ratelimit-remaining", b"0"), (b"x-ratelimit-reset", reset)]
            return status, [h for h in headers if b"ratelimit" not in h[0]] + spent, body
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
            return status, headers, body
        if fault == "truncated":
            return status, headers, body[: max(len(body) // 2, 1)]
        if fault == "html":
            return 200, html, b"<!DOCTYPE html><html><body>Maintenance</body></html>"
        if fault == "wrong_shape":
            return _json(200, {"data": json.loads(body or b"null")})
        if fault == "empty":
            return 200, [(b"content-type", b"application/json")], b""
        if fault == "oversized":
            return _json(200, [{"padding": "x" * self.oversized_bytes}])
        raise ValueError(f"unknown fault {fault!r}")


def _json(
    status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    reset = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"x-ratelimit-limit", b"300"),
        (b"x-ratelimit-remaining", b"299"),
        (b"x-ratelimit-reset", reset.encode()),
        *(extra or []),
    ]
    return status, headers, json.dumps(payload).encode()


@contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Run an ASGI app under uvicorn in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="error", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def with_source(
    make_http: Callable[..., Http],
    account: Account,
    action: Callable[[Any], Awaitable[T]],
    *,
    source_options: Mapping[str, Any] | None = None,
    **http_options: Any,
) -> T:
    """One poll run of `account`'s source against its test server, for every platform's tests:
    a fresh Http on the fake clock (as each `mentionwatch poll` has), the source its platform
    names in the registry (`source_options` for its constructor), and `action(source)`."""
    from mentionwatch.sources.registry import PLATFORMS

    async def go() -> T:
        async with make_http(**http_options) as http:
            make: Any = PLATFORMS[account.platform].load()
            source = make(account, http.for_account(account), **(source_options or {}))
            return await action(source)

    return asyncio.run(go())


def poll_through_store(
    account: Account, http: Http, db_path: Path | str
) -> tuple[PollResult, dict[str, State]]:
    """One `mentionwatch poll` of one account as poll.py runs it: source → store → states.

    Returns the run's result and every stored mention's state by remote id; call it again
    with a fresh Http for the next run (the cursors are in the database).
    """

    async def one_run() -> PollResult:
        async with http:
            return await poll_account(account, store, http, PollHooks(), utcnow)

    with Store.open(db_path) as store:
        result = asyncio.run(one_run())
        stored = store.mentions(MentionFilter(states=()), utcnow())
        return result, {m.remote_id: m.state for m in stored}


def check_online(account: Account, *, replying: bool = False) -> tuple[bool, str]:
    """What `mentionwatch config check --online` reports for one account: (ok, who or why);
    `replying` adds whether replying will work, as the command does."""
    from mentionwatch.config import Config
    from mentionwatch.poll import check_credentials

    config = Config(Path("config.toml"), accounts=(account,))
    return check_credentials(config, replying=replying)[account.name]


def stored_mention(db_path: Path | str, remote_id: str) -> StoredMention:
    """The stored mention with this remote id (with its reply context, as `reply` reads it)."""
    with Store.open(db_path) as store:
        for mention in store.mentions(MentionFilter(states=()), utcnow()):
            if mention.remote_id == remote_id:
                return store.get(mention.id, utcnow())
    raise AssertionError(f"no stored mention {remote_id}")


def stored_replies(db_path: Path | str) -> list[tuple[str, str | None, str | None]]:
    """Every stored reply as (remote_id, parent_id, thread_id)."""
    with Store.open(db_path) as store:
        rows = store.db.execute(
            "SELECT remote_id, parent_id, thread_id FROM replies ORDER BY id"
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


@dataclass(frozen=True)
class ReplyBench:
    """What every tests/test_reply_*.py drives: one account on its test server and one
    database, each command with a fresh Http on the fake clock as each `mentionwatch` run has.
    `account=` stands in another account (other secrets) for one command."""

    account: Account
    make_http: Callable[..., Http]
    db: Path | str

    def poll(self, account: Account | None = None) -> tuple[PollResult, dict[str, State]]:
        return poll_through_store(account or self.account, self.make_http(), self.db)

    def reply(
        self,
        remote_id: str,
        text: str,
        *,
        account: Account | None = None,
        http: Http | None = None,
        dry_run: bool = False,
    ) -> ReplyOutcome:
        """`mentionwatch reply` to the stored mention `remote_id`, as the command runs it;
        `http` for one with other settings (a short timeout...)."""
        from mentionwatch.config import Config
        from mentionwatch.replying import send_reply

        account = account or self.account
        config = Config(Path("config.toml"), accounts=(account,))
        mention_id = self.mention(remote_id).id
        with Store.open(self.db) as store:
            sent = send_reply(store, config, mention_id, text, dry_run=dry_run,
                              http=http or self.make_http())  # fmt: skip
            return asyncio.run(sent)

    def thread(self, remote_id: str) -> list[Post]:
        """`mentionwatch show ID --thread`'s posts for the stored mention `remote_id`."""
        from mentionwatch.config import Config
        from mentionwatch.replying import fetch_thread

        config = Config(Path("config.toml"), accounts=(self.account,))
        return asyncio.run(fetch_thread(config, self.mention(remote_id), http=self.make_http()))

    def mention(self, remote_id: str) -> StoredMention:
        return stored_mention(self.db, remote_id)

    def replies(self) -> list[tuple[str, str | None, str | None]]:
        return stored_replies(self.db)
