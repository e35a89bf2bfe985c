"""The Mastodon source against a fake server speaking the documented JSON, headers and paging."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.errors import RateLimitedError, SourceError
from mentionwatch.fetched import Batch, Mention, Reply
from mentionwatch.http import Http
from mentionwatch.models import Account, Kind, State
from mentionwatch.sources.base import split_cursor
from mentionwatch.sources.mastodon import MastodonSource
from mentionwatch.sources.registry import PLATFORMS
from mentionwatch.store import MentionFilter, Store
from mentionwatch.timeutil import utcnow
from tests.conftest import FakeClock
from tests.fakes import check_online, poll_through_store, with_source

T = TypeVar("T")

TOKEN = "tok-3f9a7c1e-mastodon-secret"
ME = "109876543210000001"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW = datetime.now(UTC).replace(microsecond=0)
NOTIFICATIONS = "/api/v1/notifications"
SEARCH = "/api/v2/search"
VERIFY = "/api/v1/accounts/verify_credentials"
OWN_STATUSES = f"/api/v1/accounts/{ME}/statuses"
LOOKUP = "/api/v1/accounts/lookup"
POST_STATUS = "/api/v1/statuses"
INSTANCE = "/api/v2/instance"
APP = "/api/v1/apps/verify_credentials"
DANA = "3001"  # a responder on another server, known to ours: its local account id
DANA_STATUSES = f"/api/v1/accounts/{DANA}/statuses"
KNOWN_ME = json.dumps({"me": ME})  # a mentions cursor from a run that already resolved the account


def iso(moment: datetime) -> str:
    """Mastodon's timestamp format: milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def account_json(account_id: str, acct: str) -> dict[str, Any]:
    username, _, domain = acct.partition("@")
    host = domain or "mastodon.example"
    return {
        "id": account_id,
        "username": username,
        "acct": acct,
        "display_name": username.title(),
        "locked": False,
        "bot": False,
        "created_at": "2024-01-01T00:00:00.000Z",
        "note": "",
        "url": f"https://{host}/@{username}",
        "uri": f"https://{host}/users/{username}",
        "followers_count": 1,
        "following_count": 1,
        "statuses_count": 3,
    }


def status(
    status_id: int | str,
    *,
    minutes_ago: float = 10,
    acct: str = "alice@other.example",
    account_id: str = "2001",
    content: str = "<p>Hello there</p>",
    in_reply_to_id: str | None = None,
    in_reply_to_account_id: str | None = None,
    spoiler_text: str = "",
) -> dict[str, Any]:
    """A Status entity as the docs show it (the fields we read, and a few we don't)."""
    username, _, domain = acct.partition("@")
    host = domain or "mastodon.example"
    return {
        "id": str(status_id),
        "created_at": iso(NOW - timedelta(minutes=minutes_ago)),
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": in_reply_to_account_id,
        "sensitive": bool(spoiler_text),
        "spoiler_text": spoiler_text,
        "visibility": "public",
        "language": "en",
        "uri": f"https://{host}/users/{username}/statuses/{status_id}",
        "url": f"https://{host}/@{username}/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": content,
        "reblog": None,
        "account": account_json(account_id, acct),
        "media_attachments": [],
        "mentions": [
            {
                "id": ME,
                "username": "brand",
                "url": "https://mastodon.example/@brand",
                "acct": "brand",
            }
        ],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def notification(notification_id: int | str, post: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(notification_id),
        "type": "mention",
        "created_at": post["created_at"],
        "group_key": f"ungrouped-{notification_id}",
        "account": post["account"],
        "status": post,
    }


def own(status_id: int, in_reply_to_id: str | None, minutes_ago: float = 1) -> dict[str, Any]:
    return status(
        status_id,
        minutes_ago=minutes_ago,
        acct="brand",
        account_id=ME,
        in_reply_to_id=in_reply_to_id,
        in_reply_to_account_id="2001" if in_reply_to_id else None,
        content="<p>Thanks!</p>",
    )


def by_dana(status_id: int, in_reply_to_id: str | None, minutes_ago: float = 1) -> dict[str, Any]:
    """A status by the responder dana@other.example, as our server shows it."""
    return status(
        status_id,
        minutes_ago=minutes_ago,
        acct="dana@other.example",
        account_id=DANA,
        in_reply_to_id=in_reply_to_id,
        content="<p>On it!</p>",
    )


def rate_headers(remaining: int = 299) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": iso(NOW + timedelta(minutes=5)),
    }


class FakeMastodon:
    """Enough of a Mastodon server: max_id/since_id paging with Link headers, search offsets."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.page_size = 40
        self.honour_since_id = True
        self.notifications: list[dict[str, Any]] = []  # newest first, like the server
        self.own_statuses: list[dict[str, Any]] = []
        self.search: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[str, list[Response]] = {}
        self.known_accounts: dict[str, dict[str, Any]] = {}  # by acct, for lookup
        self.statuses_of: dict[str, list[dict[str, Any]]] = {}  # other accounts', by id
        routes: dict[str, Callable[[Request], Response]] = {
            NOTIFICATIONS: lambda r: self._paged(r, self.notifications, "types%5B%5D=mention"),
            OWN_STATUSES: lambda r: self._paged(
                r, self.own_statuses, "exclude_reblogs=true", next_only_when_full=True
            ),
            SEARCH: self._search,
            VERIFY: lambda r: self._json(account_json(ME, "brand")),
            LOOKUP: self._lookup,
        }
        for path, handler in routes.items():
            self._route(path, handler)
        # Posting (https://docs.joinmastodon.org/methods/statuses/#create) and what replying
        # reads: the instance's limits, a status, its context, the token's app and scopes.
        self.posted: list[dict[str, Any]] = []  # every status created, in order
        self.by_key: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> the status it made
        self.post_keys: list[str | None] = []  # the key of every POST, as it arrived
        self.hang_after_post = 0.0  # seconds to wait, once, after creating a status
        self.max_characters = 500
        self.scopes: list[str] | None = ["read", "write:statuses"]
        self.known_statuses: dict[str, dict[str, Any]] = {}
        self.contexts: dict[str, list[dict[str, Any]]] = {}
        self.server.expect_request(POST_STATUS, method="POST").respond_with_handler(
            self._guarded(POST_STATUS, self._post_status)
        )
        self._route(INSTANCE, lambda r: self._json(self._instance()))
        self._route(APP, self._app)
        self._route(
            re.compile(r"^/api/v1/statuses/[^/]+(/context)?$"),
            self._status_or_context,
        )

    def _instance(self) -> dict[str, Any]:
        statuses = {"max_characters": self.max_characters, "characters_reserved_per_url": 23}
        return {"domain": "mastodon.example", "configuration": {"statuses": statuses}}

    def _app(self, request: Request) -> Response:
        app: dict[str, Any] = {"name": "mentionwatch", "website": None}
        if self.scopes is not None:
            app["scopes"] = self.scopes
        return self._json(app)

    def _status_or_context(self, request: Request) -> Response:
        status_id = request.path.split("/")[4]
        if request.path.endswith("/context"):
            if status_id not in self.contexts:
                return self._json({"error": "Record not found"}, 404)
            return self._json({"ancestors": self.contexts[status_id], "descendants": []})
        found = self.known_statuses.get(status_id)
        return self._json(found) if found else self._json({"error": "Record not found"}, 404)

    def _post_status(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        self.post_keys.append(key)
        if key and key in self.by_key:
            return self._json(self.by_key[key])  # the first status, not a second one
        body = json.loads(request.get_data())
        parent = body.get("in_reply_to_id")
        if parent is not None and parent not in self.known_statuses:
            text = "The post you are trying to reply to does not appear to exist."
            return self._json({"error": text}, 404)
        # Counted as Mastodon counts: a remote mention "@user@domain" as "@user".
        if len(re.sub(r"(@\w+)@[\w.-]+\w", r"\1", body["status"])) > self.max_characters:
            limit = self.max_characters
            return self._json({"error": f"Validation failed: Text character limit of {limit} "
                               "exceeded"}, 422)  # fmt: skip
        created = own(900_000 + len(self.posted), parent, minutes_ago=0)
        created.update(visibility=body.get("visibility", "public"),
                       spoiler_text=body.get("spoiler_text", ""),
                       content=f"<p>{body['status']}</p>")  # fmt: skip
        self.posted.append(created)
        self.own_statuses.insert(0, created)  # the account's statuses: the next poll sees it
        if key:
            self.by_key[key] = created
        if self.hang_after_post:
            wait, self.hang_after_post = self.hang_after_post, 0.0
            time.sleep(wait)
        return self._json(created)

    def account(self, account_id: str, acct: str) -> list[dict[str, Any]]:
        """Another account the server knows; returns its statuses list (newest first)."""
        self.known_accounts[acct.lower()] = account_json(account_id, acct)
        statuses = self.statuses_of.setdefault(account_id, [])
        path = f"/api/v1/accounts/{account_id}/statuses"
        self._route(
            path,
            lambda r: self._paged(r, self.statuses_of[account_id], "", next_only_when_full=True),
        )
        return statuses

    def forget(self, account_id: str) -> None:
        """The account is deleted: lookup and its statuses answer 404."""
        self.known_accounts = {
            k: v for k, v in self.known_accounts.items() if v["id"] != account_id
        }
        path = f"/api/v1/accounts/{account_id}/statuses"
        self.fail_next(path, self._json({"error": "Record not found"}, 404))

    def _route(self, path: str | re.Pattern[str], handler: Callable[[Request], Response]) -> None:
        self.server.expect_request(path, method="GET").respond_with_handler(
            self._guarded(path, handler)
        )

    def _lookup(self, request: Request) -> Response:
        found = self.known_accounts.get(request.args.get("acct", "").lower())
        return self._json(found) if found else self._json({"error": "Record not found"}, 404)

    def mention(self, notification_id: int, status_id: int, **fields: Any) -> dict[str, Any]:
        """A new mention notification, inserted newest first."""
        item = notification(notification_id, status(status_id, **fields))
        self.notifications.insert(0, item)
        self.known_statuses[str(status_id)] = item["status"]
        return item

    def fail_next(self, path: str, response: Response) -> None:
        self.failures.setdefault(path, []).append(response)

    def requests(self, path: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path == path]

    def _guarded(
        self, path: str | re.Pattern[str], handler: Callable[[Request], Response]
    ) -> Callable[[Request], Response]:
        name = path if isinstance(path, str) else path.pattern

        def respond(request: Request) -> Response:
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                body = {"error": "The access token is invalid"}
                return self._json(body, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if self.failures.get(name):
                return self.failures[name].pop(0)
            return handler(request)

        return respond

    def _json(
        self, data: Any, status_code: int = 200, extra: dict[str, str] | None = None
    ) -> Response:
        headers = {**rate_headers(), **(extra or {})}
        return Response(
            json.dumps(data), status_code, headers, content_type="application/json; charset=utf-8"
        )

    def _paged(
        self,
        request: Request,
        items: list[dict[str, Any]],
        query: str,
        *,
        next_only_when_full: bool = False,
    ) -> Response:
        """One page; account statuses link a next page only after a full one (Mastodon's
        Accounts::StatusesController#records_continue?), notifications after any non-empty one.
        """
        max_id = request.args.get("max_id")
        since_id = request.args.get("since_id") if self.honour_since_id else None
        limit = min(int(request.args.get("limit", "20")), self.page_size)
        chosen = [
            item
            for item in items
            if (max_id is None or _order(item["id"]) < _order(max_id))
            and (since_id is None or _order(item["id"]) > _order(since_id))
        ][:limit]
        headers = {}
        if chosen:
            base = self.server.url_for(request.path)
            links = [f'<{base}?min_id={chosen[0]["id"]}&{query}>; rel="prev"']
            if len(chosen) == limit or not next_only_when_full:
                links.insert(0, f'<{base}?max_id={chosen[-1]["id"]}&{query}>; rel="next"')
            headers["Link"] = ", ".join(links)
        return self._json(chosen, extra=headers)

    def _search(self, request: Request) -> Response:
        found = self.search.get(request.args.get("q", ""), [])
        offset = int(request.args.get("offset", "0"))
        limit = min(int(request.args.get("limit", "20")), 40)  # search ignores page_size
        page = found[offset : offset + limit]
        return self._json({"accounts": [], "statuses": page, "hashtags": []})


def _order(item_id: str) -> tuple[int, str]:
    """Numeric ids by value, fixed-length text ids (GoToSocial ULIDs) by text."""
    return (len(item_id), item_id)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeMastodon:
    return FakeMastodon(httpserver)


def make_account(httpserver: HTTPServer, **overrides: Any) -> Account:
    options: dict[str, Any] = {
        "name": "brand-mastodon",
        "platform": "mastodon",
        "server": httpserver.url_for("").rstrip("/"),
        "handle": "brand",
        "secrets": {"token": TOKEN},
        "secret_sources": {"token": "env MASTODON_TOKEN"},
    }
    options.update(overrides)
    return Account(**options)


@pytest.fixture
def use(make_http: Callable[..., Http], httpserver: HTTPServer) -> Iterator[Any]:
    """Run `action(source)` against the fake server with a fresh Http (fake clock)."""

    def go(action: Callable[[MastodonSource], Awaitable[T]], account: Account | None = None) -> T:
        return with_source(make_http, account or make_account(httpserver), action)

    yield go


def mentions(use: Any, cursor: str | None = None, **kw: Any) -> Batch[Mention]:
    result: Batch[Mention] = use(
        lambda s: s.mentions(cursor, kw.get("horizon", EPOCH)), kw.get("account")
    )
    return result


def replies(use: Any, cursor: str | None = None, **kw: Any) -> Batch[Reply]:
    result: Batch[Reply] = use(
        lambda s: s.replies(cursor, kw.get("horizon", EPOCH)), kw.get("account")
    )
    return result


# Paging and cursors


def test_mentions_page_through_link_headers_and_carry_status_ids(
    fake: FakeMastodon, use: Any
) -> None:
    fake.page_size = 2
    for n in range(1, 6):
        fake.mention(n, 1000 + n, minutes_ago=60 - n)

    batch = mentions(use)

    assert [m.remote_id for m in batch.items] == ["1005", "1004", "1003", "1002", "1001"]
    pages = fake.requests(NOTIFICATIONS)
    assert [r.args.get("max_id") for r in pages] == [None, "4", "2", "1"]
    assert all(r.args.getlist("types[]") == ["mention"] for r in pages)
    assert pages[0].args["limit"] == "80"


def test_second_poll_asks_only_for_newer_notifications(fake: FakeMastodon, use: Any) -> None:
    fake.mention(1, 1001, minutes_ago=30)
    fake.mention(2, 1002, minutes_ago=20)
    first = mentions(use)
    fake.mention(3, 1003, minutes_ago=5)

    second = mentions(use, first.cursor)

    assert [m.remote_id for m in first.items] == ["1002", "1001"]
    assert [m.remote_id for m in second.items] == ["1003"]
    assert fake.requests(NOTIFICATIONS)[-1].args["since_id"] == "2"


def test_ids_compare_as_numbers_not_strings(fake: FakeMastodon, use: Any) -> None:
    # A server that ignores since_id still must not bring "9" back after "10" was seen.
    fake.honour_since_id = False
    fake.mention(9, 1009, minutes_ago=20)
    fake.mention(10, 1010, minutes_ago=10)
    first = mentions(use)
    fake.mention(11, 1011, minutes_ago=1)

    second = mentions(use, first.cursor)

    assert [m.remote_id for m in second.items] == ["1011"]


def test_servers_with_sortable_text_ids_resume_without_since_id(
    fake: FakeMastodon, use: Any
) -> None:
    ulid = "01J9Z8K4QW3E5R7T9Y2U4I6O8"
    fake.notifications = [notification(ulid + s, status(n)) for s, n in (("B", 1002), ("A", 1001))]
    first = mentions(use)
    fake.notifications.insert(0, notification(ulid + "C", status(1003)))

    second = mentions(use, first.cursor)

    assert [m.remote_id for m in first.items] == ["1002", "1001"]
    assert [m.remote_id for m in second.items] == ["1003"]
    assert all("since_id" not in r.args for r in fake.requests(NOTIFICATIONS))


def test_page_cap_then_later_polls_fill_the_gap_without_duplicates(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    fake.page_size = 2
    for n in range(1, 8):
        fake.mention(n, 1000 + n, minutes_ago=100 - n)
    capped = make_account(httpserver, max_pages=2)

    first = mentions(use, account=capped)
    fake.mention(8, 1008, minutes_ago=1)  # arrives while the gap is still open
    seen = [m.remote_id for m in first.items]
    cursor = first.cursor
    for _ in range(5):
        batch = mentions(use, cursor, account=capped)
        seen += [m.remote_id for m in batch.items]
        cursor = batch.cursor

    assert [m.remote_id for m in first.items] == ["1007", "1006", "1005", "1004"]
    assert sorted(seen) == [str(1000 + n) for n in range(1, 9)]
    assert seen.index("1008") > seen.index("1001")  # the gap is filled before moving on


def test_first_poll_stops_at_the_backfill_horizon(fake: FakeMastodon, use: Any) -> None:
    fake.page_size = 2
    fake.mention(1, 1001, minutes_ago=60 * 24 * 10)
    fake.mention(2, 1002, minutes_ago=60 * 24 * 8)
    fake.mention(3, 1003, minutes_ago=60)
    fake.mention(4, 1004, minutes_ago=30)

    batch = mentions(use, horizon=NOW - timedelta(days=3))

    assert [m.remote_id for m in batch.items] == ["1004", "1003"]
    assert len(fake.requests(NOTIFICATIONS)) == 2  # never pages past the horizon


def test_a_quiet_first_poll_does_not_import_old_history_later(fake: FakeMastodon, use: Any) -> None:
    fake.mention(1, 1001, minutes_ago=60 * 24 * 10)
    first = mentions(use, horizon=NOW - timedelta(days=3))
    second = mentions(use, first.cursor)  # with a cursor, the horizon no longer applies
    fake.mention(2, 1002, minutes_ago=1)

    third = mentions(use, second.cursor)

    assert (first.items, second.items) == ([], [])
    assert [m.remote_id for m in third.items] == ["1002"]


# Keywords


def test_keyword_hits_are_keyword_mentions_and_skip_own_posts(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    fake.search["ExampleCo"] = [
        status(2003, acct="brand", account_id=ME, content="<p>ExampleCo news</p>"),
        status(
            2002,
            acct="carol@elsewhere.example",
            account_id="3003",
            content="<p>ExampleCo rocks</p>",
        ),
    ]

    batch = mentions(use, account=make_account(httpserver, keywords=("ExampleCo",)))

    assert [(m.remote_id, m.kind, m.author) for m in batch.items] == [
        ("2002", Kind.KEYWORD, "carol@elsewhere.example")
    ]
    request = fake.requests(SEARCH)[0]
    assert (request.args["q"], request.args["type"], request.args["offset"]) == (
        "ExampleCo",
        "statuses",
        "0",
    )


def test_post_that_mentions_and_matches_a_keyword_is_reported_once_as_a_mention(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    item = fake.mention(5, 1005, content="<p>@brand ExampleCo is down</p>")
    fake.search["ExampleCo"] = [item["status"]]

    batch = mentions(use, account=make_account(httpserver, keywords=("ExampleCo",)))

    assert [(m.remote_id, m.kind) for m in batch.items] == [("1005", Kind.MENTION)]


def test_each_keyword_keeps_its_own_cursor_and_pages_by_offset(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    fake.search["ExampleCo"] = [status(2000 + n, minutes_ago=100 - n) for n in range(43, 0, -1)]
    fake.search["#examplecorp"] = [status(3001, minutes_ago=90)]
    account = make_account(httpserver, keywords=("ExampleCo", "#examplecorp"))
    first = mentions(use, account=account)
    fake.search["ExampleCo"].insert(0, status(2044, minutes_ago=1))
    before = len(fake.requests(SEARCH))

    second = mentions(use, first.cursor, account=account)

    assert len(first.items) == 44
    assert [m.remote_id for m in second.items] == ["2044"]
    offsets = [
        r.args["offset"] for r in fake.requests(SEARCH)[:before] if r.args["q"] == "ExampleCo"
    ]
    assert offsets == ["0", "40", "80"]
    assert len(fake.requests(SEARCH)) - before == 2  # one page per keyword once caught up
    parts = split_cursor(second.cursor)
    assert set(parts) == {"me", "notifications", "keyword:ExampleCo", "keyword:#examplecorp"}


def test_keyword_added_later_backfills_only_the_horizon(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    first = mentions(use)  # the account has polled before
    fake.search["ExampleCo"] = [
        status(2002, minutes_ago=60),
        status(2001, minutes_ago=60 * 24 * 30),
    ]
    account = make_account(httpserver, keywords=("ExampleCo",), backfill=timedelta(days=3))

    batch = mentions(use, first.cursor, account=account, horizon=NOW - account.backfill)

    assert [m.remote_id for m in batch.items] == ["2002"]


# Replies and "answered"


def test_own_replies_point_at_the_status_ids_of_the_mentions_they_answer(
    fake: FakeMastodon, use: Any
) -> None:
    fake.mention(1, 1001, minutes_ago=30, content="<p>@brand is it down?</p>")
    fake.mention(2, 1002, minutes_ago=20, content="<p>@brand hello?</p>")
    fake.own_statuses = [own(5002, None), own(5001, "1001")]

    found = mentions(use)
    answers = replies(use)

    assert [(r.remote_id, r.parent_id, r.author) for r in answers.items] == [
        ("5001", "1001", "brand")
    ]
    answered = {r.parent_id for r in answers.items}
    assert [m.remote_id for m in found.items if m.remote_id not in answered] == ["1002"]
    assert answers.items[0].url == "https://mastodon.example/@brand/5001"
    assert fake.requests(OWN_STATUSES)[0].args["exclude_reblogs"] == "true"


def test_statuses_stop_where_the_server_links_no_next_page(fake: FakeMastodon, use: Any) -> None:
    """A full statuses page links the next one, which is fetched; a short page links none, so
    no request is spent confirming the end."""
    fake.page_size = 3
    fake.own_statuses = [own(5000 + n, str(1000 + n), minutes_ago=n) for n in range(3, 0, -1)]

    assert [r.remote_id for r in replies(use).items] == ["5003", "5002", "5001"]
    assert len(fake.requests(OWN_STATUSES)) == 2  # the full page, then an empty one

    fake.own_statuses = [own(5004, "1004", minutes_ago=0.5)]
    assert [r.remote_id for r in replies(use).items] == ["5004"]
    assert len(fake.requests(OWN_STATUSES)) == 3  # the short page alone


def test_a_reply_to_the_accounts_own_post_is_kind_reply(fake: FakeMastodon, use: Any) -> None:
    fake.mention(1, 1001, in_reply_to_id="5000", in_reply_to_account_id=ME)
    fake.mention(2, 1002, in_reply_to_id="7000", in_reply_to_account_id="4242")

    batch = mentions(use)

    assert {m.remote_id: m.kind for m in batch.items} == {"1002": Kind.MENTION, "1001": Kind.REPLY}


def test_replies_resume_from_their_cursor_and_skip_verify_credentials(
    fake: FakeMastodon, use: Any
) -> None:
    fake.own_statuses = [own(5001, "1001", minutes_ago=10)]
    first = replies(use)
    fake.own_statuses.insert(0, own(5002, "1002"))

    second = replies(use, first.cursor)

    assert [r.remote_id for r in second.items] == ["5002"]
    assert len(fake.requests(VERIFY)) == 1
    assert fake.requests(OWN_STATUSES)[-1].args["since_id"] == "5001"


def test_one_run_resolves_the_own_account_once(fake: FakeMastodon, use: Any) -> None:
    fake.mention(1, 1001)

    async def both(source: MastodonSource) -> None:
        await source.mentions(None, EPOCH)
        await source.replies(None, EPOCH)

    use(both)

    assert len(fake.requests(VERIFY)) == 1


def test_whoami_names_the_account_with_its_server(fake: FakeMastodon, use: Any) -> None:
    who = use(lambda source: source.whoami())

    assert who == "@brand@localhost"


# Text and URLs


def test_html_content_and_content_warning_become_plain_text_with_links(
    fake: FakeMastodon, use: Any
) -> None:
    fake.mention(
        1,
        1001,
        spoiler_text="Outage & billing",
        content=(
            '<p>Hey <span class="h-card"><a href="https://mastodon.example/@brand" '
            'class="u-url mention">@<span>brand</span></a></span> R&amp;D &lt;3</p>'
            '<p>Docs: <a href="https://example.com/very/long/path" rel="nofollow noopener">'
            '<span class="invisible">https://</span><span class="ellipsis">example.com/very/lo'
            '</span><span class="invisible">ng/path</span></a><br>see '
            '<a href="https://example.com/x">here</a></p>'
        ),
    )

    [mention] = mentions(use).items

    assert mention.text == (
        "CW: Outage & billing\n\nHey @brand R&D <3\n"
        "Docs: https://example.com/very/long/path\nsee here (https://example.com/x)"
    )


def test_mention_url_is_the_web_page_and_falls_back_to_the_uri(
    fake: FakeMastodon, use: Any
) -> None:
    fake.mention(1, 1001)
    no_url = fake.mention(2, 1002)
    no_url["status"]["url"] = None

    batch = mentions(use)

    urls = {m.remote_id: m.url for m in batch.items}
    assert urls == {
        "1001": "https://other.example/@alice/1001",
        "1002": "https://other.example/users/alice/statuses/1002",
    }
    assert {m.author for m in batch.items} == {"alice@other.example"}
    assert all(m.created_at.tzinfo is not None for m in batch.items)


# Errors and rate limits


def test_refused_token_is_a_source_error_that_never_shows_the_token(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    wrong = make_account(httpserver, secrets={"token": TOKEN + "-revoked"})

    with pytest.raises(SourceError) as caught:
        mentions(use, account=wrong)

    message = str(caught.value)
    assert "brand-mastodon" in message and VERIFY in message
    assert "refused" in message and "env MASTODON_TOKEN" in message
    assert TOKEN not in message


def test_refused_token_on_notifications_names_that_endpoint(fake: FakeMastodon, use: Any) -> None:
    fake.fail_next(NOTIFICATIONS, Response('{"error":"The access token was revoked"}', 401))

    with pytest.raises(SourceError) as caught:
        mentions(use, KNOWN_ME)

    assert caught.value.endpoint == NOTIFICATIONS
    assert TOKEN not in str(caught.value)


def test_rate_limited_request_waits_for_the_iso_reset_then_retries(
    fake: FakeMastodon, use: Any, clock: FakeClock
) -> None:
    fake.mention(1, 1001)
    reset = datetime.fromtimestamp(clock.now + 30, UTC)
    fake.fail_next(
        NOTIFICATIONS,
        Response(
            '{"error":"Too many requests"}',
            429,
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": iso(reset),
            },
        ),
    )

    batch = mentions(use)

    assert [m.remote_id for m in batch.items] == ["1001"]
    assert clock.sleeps == [pytest.approx(30.5)]
    assert len(fake.requests(NOTIFICATIONS)) == 3  # the 429, the retry, the empty last page


def test_rate_limit_reset_beyond_max_wait_is_rate_limited_error(
    fake: FakeMastodon, use: Any, clock: FakeClock
) -> None:
    reset = datetime.fromtimestamp(clock.now + 3600, UTC)
    fake.fail_next(
        NOTIFICATIONS,
        Response("", 429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso(reset)}),
    )

    with pytest.raises(RateLimitedError) as caught:
        mentions(use, KNOWN_ME)

    assert caught.value.endpoint == NOTIFICATIONS
    assert clock.sleeps == []
    assert len(fake.requests(NOTIFICATIONS)) == 1


def test_mention_without_an_author_is_a_source_error_naming_the_field(
    fake: FakeMastodon, use: Any
) -> None:
    broken = fake.mention(1, 1001)
    del broken["status"]["account"]

    with pytest.raises(SourceError) as caught:
        mentions(use)

    assert "'status.account.acct'" in str(caught.value)
    assert caught.value.endpoint == NOTIFICATIONS


def test_an_object_where_a_list_belongs_is_a_source_error(fake: FakeMastodon, use: Any) -> None:
    fake.fail_next(NOTIFICATIONS, Response('{"error":"Record not found"}', 200))

    with pytest.raises(SourceError, match="expected a list, got an object"):
        mentions(use)


def test_search_result_without_statuses_is_a_source_error_naming_the_field(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    fake.fail_next(SEARCH, Response('{"accounts": [], "hashtags": []}', 200))

    with pytest.raises(SourceError, match="'statuses'") as caught:
        mentions(use, account=make_account(httpserver, keywords=("ExampleCo",)))

    assert caught.value.endpoint == SEARCH


def test_unparseable_timestamp_is_a_source_error_naming_the_field(
    fake: FakeMastodon, use: Any
) -> None:
    fake.mention(1, 1001)["created_at"] = "yesterday"

    with pytest.raises(SourceError, match="'created_at' is not a time"):
        mentions(use)


def test_missing_token_fails_before_any_request(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    with pytest.raises(SourceError, match="no token"):
        mentions(use, account=make_account(httpserver, secrets={}))

    assert httpserver.log == []


def test_registry_loads_this_source() -> None:
    assert PLATFORMS["mastodon"].load() is MastodonSource
    assert MastodonSource.platform == "mastodon"


# Responders: other accounts whose replies answer the account's mentions


def stored(db_path: Path) -> dict[str, Any]:
    with Store.open(db_path) as store:
        return {m.remote_id: m for m in store.mentions(MentionFilter(states=()), utcnow())}


def test_a_reply_by_a_responder_answers_the_mention_with_its_time_and_url(
    fake: FakeMastodon, httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    fake.mention(1, 1001, minutes_ago=30, content="<p>@brand is it down?</p>")
    fake.mention(2, 1002, minutes_ago=20, content="<p>@brand hello?</p>")
    fake.account(DANA, "dana@other.example").extend([by_dana(6002, None), by_dana(6001, "1001")])
    # Someone else replying to a mention does not answer it for the account.
    fake.account("4001", "mallory").append(
        status(7001, minutes_ago=5, acct="mallory", account_id="4001", in_reply_to_id="1002")
    )
    account = make_account(httpserver, responders=("@dana@other.example",))

    result, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert result.error is None
    assert states == {"1001": State.ANSWERED, "1002": State.OPEN}
    answered = stored(tmp_path / "mw.db")["1001"]
    assert answered.answered_url == "https://other.example/@dana/6001"
    assert answered.answered_by == "dana@other.example"
    assert answered.answered_at == datetime.fromisoformat(by_dana(6001, "1001")["created_at"])
    assert [r.args["acct"] for r in fake.requests(LOOKUP)] == ["dana@other.example"]
    assert fake.requests(DANA_STATUSES)[0].args["exclude_reblogs"] == "true"
    assert fake.requests("/api/v1/accounts/4001/statuses") == []


def test_responders_are_looked_up_once_and_each_listing_resumes_from_its_own_cursor(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    fake.own_statuses = [own(5001, "1001", minutes_ago=10)]
    dana = fake.account(DANA, "dana@other.example")
    dana.append(by_dana(6001, "1002", minutes_ago=9))
    account = make_account(httpserver, responders=("dana@other.example",))
    first = replies(use, account=account)
    fake.own_statuses.insert(0, own(5002, "1003"))
    dana.insert(0, by_dana(6002, "1004"))
    before = len(httpserver.log)

    second = replies(use, first.cursor, account=account)

    assert sorted(r.remote_id for r in first.items) == ["5001", "6001"]
    assert sorted(r.remote_id for r in second.items) == ["5002", "6002"]
    # No verify_credentials and no lookup again: each listing starts above its own floor.
    later = [r for r, _ in httpserver.log[before:] if "max_id" not in r.args]
    assert [(r.path, r.args["since_id"]) for r in later] == [
        (OWN_STATUSES, "5001"),
        (DANA_STATUSES, "6001"),
    ]
    assert {r.path for r, _ in httpserver.log[before:]} == {OWN_STATUSES, DANA_STATUSES}


def test_a_responder_added_later_looks_back_only_the_backfill(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    fake.own_statuses = [own(5001, "1001", minutes_ago=10)]
    first = replies(use)  # the account has polled before
    dana = fake.account(DANA, "dana@other.example")
    dana.extend([by_dana(6002, "1002", minutes_ago=60), by_dana(6001, "900", minutes_ago=1e5)])
    account = make_account(
        httpserver, responders=("dana@other.example",), backfill=timedelta(days=3)
    )

    second = replies(use, first.cursor, account=account, horizon=NOW - account.backfill)

    assert [r.remote_id for r in second.items] == ["6002"]
    assert fake.requests(OWN_STATUSES)[-1].args["since_id"] == "5001"
    assert "since_id" not in fake.requests(DANA_STATUSES)[0].args


def test_an_unknown_responder_is_a_warning_naming_it_and_the_others_replies_still_answer(
    fake: FakeMastodon,
    httpserver: HTTPServer,
    make_http: Callable[..., Http],
    tmp_path: Path,
    warnings_logged: Any,
) -> None:
    fake.mention(1, 1001, minutes_ago=30)
    fake.mention(2, 1002, minutes_ago=20)
    fake.own_statuses = [own(5001, "1001", minutes_ago=10)]
    fake.account(DANA, "dana@other.example").append(by_dana(6001, "1002"))
    account = make_account(httpserver, responders=("ghost@nowhere.example", "dana@other.example"))

    result, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert result.error is None
    assert states == {"1001": State.ANSWERED, "1002": State.ANSWERED}
    [warning] = warnings_logged()
    assert "brand-mastodon" in warning
    assert "'ghost@nowhere.example' is unknown to http://localhost" in warning
    assert "answered 404" in warning
    # Not remembered as known: the next run asks again, and backfills once it resolves.
    poll_through_store(account, make_http(), tmp_path / "mw.db")
    assert [r.args["acct"] for r in fake.requests(LOOKUP)] == [
        "ghost@nowhere.example",
        "dana@other.example",
        "ghost@nowhere.example",
    ]


def test_a_responder_deleted_after_its_lookup_is_a_warning_and_looked_up_again(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer, warnings_logged: Any
) -> None:
    fake.own_statuses = [own(5001, "1001", minutes_ago=10)]
    fake.account(DANA, "dana@other.example")
    account = make_account(httpserver, responders=("dana@other.example",))
    first = replies(use, account=account)
    fake.forget(DANA)
    fake.own_statuses.insert(0, own(5002, "1002"))

    second = replies(use, first.cursor, account=account)
    third = replies(use, second.cursor, account=account)

    assert [r.remote_id for r in second.items] == ["5002"]
    assert third.items == []
    assert len(warnings_logged()) == 2  # the listing's 404, then the new lookup's
    assert "/api/v1/accounts/:id/statuses answered 404" in warnings_logged()[0]
    assert len(fake.requests(LOOKUP)) == 2


def test_a_responder_naming_the_account_itself_costs_no_extra_listing(
    fake: FakeMastodon, use: Any, httpserver: HTTPServer
) -> None:
    fake.own_statuses = [own(5001, "1001")]
    fake.account(ME, "brand@localhost")
    account = make_account(httpserver, responders=("brand", "Brand@localhost"))

    first = replies(use, account=account)
    second = replies(use, first.cursor, account=account)

    assert [r.remote_id for r in first.items] == ["5001"]
    assert second.items == []
    # Each run reads the account's statuses from the top once, never a second time.
    assert len([r for r in fake.requests(OWN_STATUSES) if "max_id" not in r.args]) == 2
    assert [r.args["acct"] for r in fake.requests(LOOKUP)] == ["Brand@localhost"]


# End to end: source → store → state, and `config check --online`


def test_a_poll_stores_an_answered_and_an_unanswered_mention_and_a_later_reply_answers_it(
    fake: FakeMastodon, httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    fake.mention(1, 1001, minutes_ago=30, content="<p>@brand is it down?</p>")
    fake.mention(2, 1002, minutes_ago=20, content="<p>@brand hello?</p>")
    fake.own_statuses = [own(5001, "1001", minutes_ago=10)]
    account = make_account(httpserver)

    first, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert first.error is None
    assert (first.new_mentions, first.newly_answered, first.still_open) == (2, 1, 1)
    assert states == {"1001": State.ANSWERED, "1002": State.OPEN}
    fake.own_statuses.insert(0, own(5002, "1002"))
    second, states = poll_through_store(account, make_http(), tmp_path / "mw.db")
    assert (second.new_mentions, second.newly_answered, second.still_open) == (0, 1, 0)
    assert states == {"1001": State.ANSWERED, "1002": State.ANSWERED}
    assert len(fake.requests(VERIFY)) == 1  # the own account id is kept in the cursor


def test_config_check_online_names_the_account_with_one_call(
    fake: FakeMastodon, httpserver: HTTPServer
) -> None:
    assert check_online(make_account(httpserver)) == (True, "@brand@localhost")
    assert [r.path for r, _ in httpserver.log] == [VERIFY]


def test_keyword_expressions_are_one_plain_search_per_alternative_and_checked_locally(
    fake: FakeMastodon, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    account = make_account(httpserver, keywords=('(refund OR "cancel my") -"not now"',))
    fake.search["refund"] = [
        status(3001, content="<p>refund please</p>"),
        status(3002, content="<p>Refund? Not now.</p>"),
    ]
    fake.search["cancel my"] = [
        status(3003, content="<p>How do I cancel my plan?</p>"),
        status(3004, content="<p>my plan: cancel</p>"),  # the server ANDs the words
    ]
    kept = fetched_mentions(make_http, account)
    assert sorted(m.remote_id for m in kept) == ["3001", "3003"]
    # (each listing also asks once more past its last page: search has no Link header)
    assert list(dict.fromkeys(r.args["q"] for r in fake.requests(SEARCH))) == [
        "refund",
        "cancel my",
    ]
    assert {m.lang for m in kept} == {"en"}
