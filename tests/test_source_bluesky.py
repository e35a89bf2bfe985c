"""The Bluesky source against a fake PDS speaking XRPC: sessions, notifications, search, feeds."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.errors import RateLimitedError, SourceError
from mentionwatch.http import Http
from mentionwatch.models import Account, Kind, State
from mentionwatch.sources.bluesky import BlueskySource
from mentionwatch.sources.bluesky_text import post_text
from mentionwatch.store import MentionFilter, Store
from mentionwatch.timeutil import parse_timestamp, utcnow
from tests.conftest import FakeClock
from tests.fakes import check_online, poll_through_store, with_source

T = TypeVar("T")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HANDLE = "brand.bsky.social"
OWN_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
PASSWORD = "abcd-efgh-ijkl-mnop"
NOTIFICATIONS = "app.bsky.notification.listNotifications"
SEARCH = "app.bsky.feed.searchPosts"
AUTHOR_FEED = "app.bsky.feed.getAuthorFeed"


# -- payloads in the shapes the AppView returns -------------------------------------------------


def did_of(handle: str) -> str:
    return OWN_DID if handle == HANDLE else f"did:plc:{handle.split('.')[0]:x<24}"


def post_uri(handle: str, rkey: str) -> str:
    return f"at://{did_of(handle)}/app.bsky.feed.post/{rkey}"


def profile(handle: str) -> dict[str, Any]:
    did = did_of(handle)
    return {
        "did": did,
        "handle": handle,
        "displayName": handle.split(".")[0].title(),
        "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar@jpeg",
        "associated": {"chat": {"allowIncoming": "all"}},
        "viewer": {"muted": False, "blockedBy": False},
        "labels": [],
        "createdAt": "2023-08-03T05:59:12.927Z",
    }


def record(text: str, at: str, parent: str | None = None, facets: Any = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": at, "langs": ["en"]}
    rec["text"] = text
    if parent:
        ref = {"cid": "bafyreiparentcid", "uri": parent}
        rec["reply"] = {"parent": ref, "root": ref}
    if facets is not None:
        rec["facets"] = facets
    return rec


def notification(
    rkey: str, who: str, reason: str, at: str, text: str = "hi @brand.bsky.social"
) -> dict[str, Any]:
    own_post = post_uri(HANDLE, "3lownpost0000")
    subject = own_post if reason in ("reply", "quote", "like") else None
    item: dict[str, Any] = {
        "uri": post_uri(who, rkey),
        "cid": f"bafyrei{rkey}",
        "author": profile(who),
        "reason": reason,
        "record": record(text, at, parent=own_post if reason == "reply" else None),
        "isRead": False,
        "indexedAt": at,
        "labels": [],
    }
    if subject:
        item["reasonSubject"] = subject
    if reason == "like":
        item["uri"] = f"at://{did_of(who)}/app.bsky.feed.like/{rkey}"
        item["record"] = {"$type": "app.bsky.feed.like", "createdAt": at, "subject": {}}
    return item


def post_view(rkey: str, who: str, at: str, text: str = "", parent: str | None = None) -> Any:
    return {
        "uri": post_uri(who, rkey),
        "cid": f"bafyrei{rkey}",
        "author": profile(who),
        "record": record(text or f"post {rkey}", at, parent=parent),
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
        "indexedAt": at,
        "viewer": {"threadMuted": False, "embeddingDisabled": False},
        "labels": [],
    }


def minute(n: int) -> str:
    """Times on one afternoon; a bigger n is newer."""
    return (
        (datetime(2025, 5, 19, 17, 0, tzinfo=UTC) + timedelta(minutes=n))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


# -- the fake PDS ------------------------------------------------------------------------------


class FakePds:
    """Sessions, paging by opaque cursor and RateLimit-* headers, like bsky.social."""

    def __init__(self, server: HTTPServer, clock: FakeClock, appview: str = "") -> None:
        self.clock = clock
        self.notifications: list[dict[str, Any]] = []  # newest first
        self.search: dict[str, list[dict[str, Any]]] = {}
        self.feed: list[dict[str, Any]] = []  # the account's own
        self.feeds: dict[str, list[dict[str, Any]]] = {}  # other actors', by handle and DID
        self.page_size = 100
        self.honour_reasons = True
        self.issued = 0
        self.logins = 0
        self.refreshes = 0
        self.access: set[str] = set()
        self.expired: set[str] = set()
        self.refresh: set[str] = set()
        self.requests: list[tuple[str, Request]] = []
        self.canned: dict[str, list[Response]] = {}
        self.bodies: dict[str, Any] = {}  # replaces a listing's whole body
        pds = "/pds"
        app = appview or pds
        routes: dict[str, Callable[[Request], Response]] = {
            f"{pds}/xrpc/com.atproto.server.createSession": self.create_session,
            f"{pds}/xrpc/com.atproto.server.refreshSession": self.refresh_session,
            f"{pds}/xrpc/com.atproto.server.getSession": self.get_session,
            f"{app}/xrpc/{NOTIFICATIONS}": self.list_notifications,
            f"{app}/xrpc/{SEARCH}": self.search_posts,
            f"{app}/xrpc/{AUTHOR_FEED}": self.author_feed,
        }
        # Replying: createRecord on the PDS (the record is what the account posted), and what
        # replying reads: getPosts, getPostThread, resolveHandle, listRecords.
        self.created: list[dict[str, Any]] = []  # createRecord bodies, in order
        self.known_posts: dict[str, Any] = {}  # post views by uri, for getPosts
        self.threads: dict[str, Any] = {}  # getPostThread bodies by uri
        self.handles: dict[str, str] = {}  # handle -> DID, for resolveHandle
        self.hang_after_create = 0.0
        routes.update({
            f"{pds}/xrpc/com.atproto.repo.createRecord": self.create_record,
            f"{pds}/xrpc/com.atproto.repo.listRecords": self.list_records,
            f"{pds}/xrpc/com.atproto.identity.resolveHandle": self.resolve_handle,
            f"{app}/xrpc/app.bsky.feed.getPosts": self.get_posts,
            f"{app}/xrpc/app.bsky.feed.getPostThread": self.get_post_thread,
        })  # fmt: skip
        for path, handler in routes.items():
            server.expect_request(path).respond_with_handler(self.recorded(path, handler))

    def create_record(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        if failure:
            return failure
        body = request.get_json()
        if body.get("repo") != OWN_DID or body.get("collection") != "app.bsky.feed.post":
            return self.error(400, "InvalidRequest", "Invalid repo or collection")
        text = body["record"].get("text", "")
        if len(text) > 3000:
            return self.error(400, "InvalidRecord", "Record/text must not be longer than 3000")
        self.created.append(body)
        rkey = f"3lreply{len(self.created):06d}"
        uri = f"at://{OWN_DID}/app.bsky.feed.post/{rkey}"
        view = post_view(rkey, HANDLE, body["record"]["createdAt"])
        view["record"] = body["record"]
        self.feed.insert(0, {"post": view})  # the account's feed: the next poll sees it
        if self.hang_after_create:
            wait, self.hang_after_create = self.hang_after_create, 0.0
            time.sleep(wait)
        commit = {"cid": "bafyreicommit", "rev": "3lrev"}
        return self.reply({"uri": uri, "cid": view["cid"], "commit": commit,
                           "validationStatus": "valid"})  # fmt: skip

    def list_records(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        if failure:
            return failure
        records = [{"uri": item["post"]["uri"], "cid": item["post"]["cid"],
                    "value": item["post"]["record"]} for item in self.feed]  # fmt: skip
        return self.reply({"records": records[: int(request.args.get("limit", "50"))]})

    def resolve_handle(self, request: Request) -> Response:
        did = self.handles.get(request.args.get("handle", ""))
        if did is None:
            return self.error(400, "InvalidRequest", "Unable to resolve handle")
        return self.reply({"did": did})

    def get_posts(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        wanted = request.args.getlist("uris")
        return failure or self.reply({"posts": [self.known_posts[u] for u in wanted
                                                if u in self.known_posts]})  # fmt: skip

    def get_post_thread(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        if failure:
            return failure
        uri = request.args.get("uri", "")
        if uri not in self.threads:
            return self.error(400, "NotFound", f"Post not found: {uri}")
        return self.reply(self.threads[uri])

    def recorded(self, path: str, handler: Callable[[Request], Response]) -> Any:
        def handle(request: Request) -> Response:
            nsid = path.rsplit("/", 1)[-1]
            self.requests.append((nsid, request))
            if self.canned.get(nsid):
                return self.canned[nsid].pop(0)
            return handler(request)

        return handle

    def reply(self, body: Any, status: int = 200, remaining: int = 2963) -> Response:
        headers = {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(int(self.clock.now) + 300),
            "RateLimit-Policy": "3000;w=300",
        }
        return Response(json.dumps(body), status, headers, content_type="application/json")

    def error(self, status: int, error: str, message: str) -> Response:
        return self.reply({"error": error, "message": message}, status)

    def new_session(self) -> Response:
        self.issued += 1
        access = f"eyJhbGciOiJFUzI1NksifQ.access{self.issued}.c2lnbmF0dXJl"
        refresh = f"eyJhbGciOiJFUzI1NksifQ.refresh{self.issued}.c2lnbmF0dXJl"
        self.access.add(access)
        self.refresh.add(refresh)
        return self.reply(
            {"did": OWN_DID, "handle": HANDLE, "email": "team@example.com", "emailConfirmed": True,
             "accessJwt": access, "refreshJwt": refresh, "active": True}
        )  # fmt: skip

    def create_session(self, request: Request) -> Response:
        self.logins += 1
        body = request.get_json()
        if body != {"identifier": HANDLE, "password": PASSWORD}:
            return self.error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self.new_session()

    def refresh_session(self, request: Request) -> Response:
        self.refreshes += 1
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.refresh:
            return self.error(400, "ExpiredToken", "Token has been revoked")
        self.refresh.discard(token)  # refresh tokens rotate: the old one is spent
        return self.new_session()

    def auth_failure(self, request: Request) -> Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.access:
            return None
        if token in self.expired:
            return self.error(400, "ExpiredToken", "Token has expired")
        return self.error(401, "AuthenticationRequired", "Authentication Required")

    def expire_access_tokens(self) -> None:
        self.expired |= self.access
        self.access.clear()

    def get_session(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        return failure or self.reply({"handle": HANDLE, "did": OWN_DID, "active": True})

    def page(self, request: Request, name: str, items: list[Any]) -> Response:
        failure = self.auth_failure(request)
        if failure:
            return failure
        if name in self.bodies:
            return self.reply(self.bodies[name])
        # Cursors as bsky.social sends them: notifications and feeds page by the last item's
        # time ("2024-12-19T06:43:45.863Z"), search by a result offset ("25").
        by_offset = name == "posts"
        start = 0
        if cursor := request.args.get("cursor"):
            if by_offset:
                start = int(cursor)
            else:
                start = next((i for i, it in enumerate(items) if _sort_at(it) < cursor), len(items))
        size = min(int(request.args.get("limit", "50")), self.page_size)
        body: dict[str, Any] = {name: items[start : start + size]}
        if start + size < len(items):
            last = items[start + size - 1]
            body["cursor"] = str(start + size) if by_offset else _sort_at(last)
        return self.reply(body)

    def list_notifications(self, request: Request) -> Response:
        reasons = request.args.getlist("reasons")
        items = self.notifications
        if self.honour_reasons:
            items = [n for n in items if n["reason"] in reasons]
        return self.page(request, "notifications", items)

    def search_posts(self, request: Request) -> Response:
        posts = self.search.get(request.args["q"], [])
        if "since" in request.args:
            since = parse_timestamp(request.args["since"])
            posts = [p for p in posts if parse_timestamp(p["indexedAt"]) >= since]
        return self.page(request, "posts", posts)

    def author_feed(self, request: Request) -> Response:
        actor = request.args.get("actor", "")
        items = self.feed if actor in (OWN_DID, HANDLE) else self.feeds.get(actor.lower())
        if items is None:
            return self.auth_failure(request) or self.error(
                400, "InvalidRequest", "Profile not found"
            )
        return self.page(request, "feed", items)

    def author(self, handle: str) -> list[dict[str, Any]]:
        """Another account's feed (newest first), readable by its handle or its DID."""
        feed: list[dict[str, Any]] = []
        self.feeds[handle.lower()] = self.feeds[did_of(handle)] = feed
        return feed

    def calls(self, nsid: str) -> list[Request]:
        return [request for name, request in self.requests if name == nsid]


def _sort_at(item: dict[str, Any]) -> str:
    return str(item.get("indexedAt") or item["post"]["indexedAt"])


@pytest.fixture
def pds(httpserver: HTTPServer, clock: FakeClock) -> FakePds:
    return FakePds(httpserver, clock)


def account_for(httpserver: HTTPServer, **changes: Any) -> Account:
    options: dict[str, Any] = {
        "name": "brand-bsky",
        "platform": "bluesky",
        "server": httpserver.url_for("/pds"),
        "handle": HANDLE,
        "secrets": {"app_password": PASSWORD},
        "secret_sources": {"app_password": "env BSKY_APP_PASSWORD"},
    }
    options.update(changes)
    return Account(**options)


# -- mentions ----------------------------------------------------------------------------------


def test_mentions_come_from_notifications_across_pages(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    pds.page_size = 2
    pds.notifications = [
        notification("3lpk0005", "alice.bsky.social", "mention", minute(5)),
        notification("3lpk0004", "bob.bsky.social", "reply", minute(4), "thanks!"),
        notification("3lpk0003", "carol.bsky.social", "quote", minute(3), "look at this"),
        notification("3lpk0002", "dan.bsky.social", "mention", minute(2)),
    ]
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))

    assert [m.remote_id for m in batch.items] == [n["uri"] for n in pds.notifications]
    assert [m.kind for m in batch.items] == [Kind.MENTION, Kind.REPLY, Kind.QUOTE, Kind.MENTION]
    first = batch.items[0]
    assert first.author == "alice.bsky.social"
    assert first.url == "https://bsky.app/profile/alice.bsky.social/post/3lpk0005"
    assert first.created_at == datetime(2025, 5, 19, 17, 5, tzinfo=UTC)
    calls = pds.calls(NOTIFICATIONS)
    assert [c.args.get("cursor") for c in calls] == [None, minute(4)]
    assert calls[0].args.getlist("reasons") == ["mention", "reply", "quote"]
    assert calls[0].args["limit"] == "100"
    assert calls[0].headers["Authorization"] == "Bearer eyJhbGciOiJFUzI1NksifQ.access1.c2lnbmF0dXJl"


def test_likes_and_follows_are_not_mentions_even_if_the_server_ignores_reasons(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    pds.honour_reasons = False
    pds.page_size = 1  # a page holding only a like must not end the sweep
    pds.notifications = [
        notification("3lpk0003", "alice.bsky.social", "like", minute(3)),
        notification("3lpk0002", "bob.bsky.social", "mention", minute(2)),
    ]
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    assert [m.author for m in batch.items] == ["bob.bsky.social"]


def test_second_poll_fetches_only_new_notifications(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = account_for(httpserver)
    pds.page_size = 2
    pds.notifications = [
        notification(f"3lpk000{n}", "alice.bsky.social", "mention", minute(n)) for n in (3, 2, 1)
    ]
    first = with_source(make_http, account, lambda s: s.mentions(None, EPOCH))
    newest = notification("3lpk0009", "bob.bsky.social", "reply", minute(9))
    pds.notifications.insert(0, newest)
    pds.requests.clear()

    second = with_source(make_http, account, lambda s: s.mentions(first.cursor, EPOCH))

    assert len(first.items) == 3
    assert [m.remote_id for m in second.items] == [newest["uri"]]
    assert len(pds.calls(NOTIFICATIONS)) == 1  # stopped on the first page, at the stored floor


def test_page_cap_resumes_where_it_stopped_without_gaps(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = account_for(httpserver, max_pages=1)
    pds.page_size = 2
    pds.notifications = [
        notification(f"3lpk000{n}", "alice.bsky.social", "mention", minute(n))
        for n in range(5, 0, -1)
    ]
    newer = notification("3lpk0009", "bob.bsky.social", "mention", minute(9))
    seen: list[str] = []
    cursor: list[str | None] = [None]
    for poll in range(4):
        if poll == 1:  # something new arrives while the backlog is still being fetched
            pds.notifications.insert(0, newer)
        batch = with_source(make_http, account, lambda s: s.mentions(cursor[-1], EPOCH))
        seen += [m.remote_id.rsplit("/", 1)[-1] for m in batch.items]
        cursor.append(batch.cursor)

    assert seen == ["3lpk0005", "3lpk0004", "3lpk0003", "3lpk0002", "3lpk0001", "3lpk0009"]


def test_first_poll_stops_at_the_backfill_horizon(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    pds.page_size = 1
    pds.notifications = [
        notification(f"3lpk000{n}", "alice.bsky.social", "mention", minute(n)) for n in (9, 8, 2, 1)
    ]
    since = parse_timestamp(minute(5))
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, since))
    assert [m.created_at for m in batch.items] == [parse_timestamp(minute(n)) for n in (9, 8)]
    assert len(pds.calls(NOTIFICATIONS)) == 3  # the third page showed the horizon; no fourth


def test_keyword_hits_are_searched_newest_first_without_own_posts_or_duplicates(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = account_for(httpserver, keywords=("ExampleCo",))
    mention = notification("3lpk0008", "alice.bsky.social", "mention", minute(8))
    pds.notifications = [mention]
    pds.search["ExampleCo"] = [
        post_view("3lpk0009", HANDLE, minute(9), "ExampleCo ships today"),
        {**post_view("3lpk0008", "alice.bsky.social", minute(8)), "record": mention["record"]},
        post_view("3lpk0007", "erin.bsky.social", minute(7), "anyone tried ExampleCo?"),
    ]
    since = parse_timestamp(minute(0))
    first = with_source(make_http, account, lambda s: s.mentions(None, since))
    pds.search["ExampleCo"].insert(0, post_view("3lpk0010", "finn.bsky.social", minute(10)))
    second = with_source(make_http, account, lambda s: s.mentions(first.cursor, EPOCH))

    assert [(m.author, m.kind) for m in first.items] == [
        ("alice.bsky.social", Kind.MENTION),
        ("erin.bsky.social", Kind.KEYWORD),
    ]
    assert [m.author for m in second.items] == ["finn.bsky.social"]
    searches = pds.calls(SEARCH)
    assert searches[0].args["sort"] == "latest" and searches[0].args["limit"] == "100"
    assert parse_timestamp(searches[0].args["since"]) == since
    # The next poll asks only for what is newer than the newest hit already seen.
    assert parse_timestamp(searches[1].args["since"]) == parse_timestamp(minute(9))
    assert set(json.loads(second.cursor or "{}")) == {"notifications", "search:ExampleCo"}


def test_keyword_added_later_backfills_only_the_configured_horizon(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    def ago(delta: timedelta) -> str:
        return (utcnow() - delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    before = with_source(
        make_http, account_for(httpserver), lambda s: s.mentions(None, utcnow() - timedelta(1))
    )
    pds.search["ExampleCo"] = [
        post_view("3lpk0002", "erin.bsky.social", ago(timedelta(hours=1))),
        post_view("3lpk0001", "finn.bsky.social", ago(timedelta(days=10))),
    ]
    account = account_for(httpserver, keywords=("ExampleCo",), backfill=timedelta(days=3))
    horizon = utcnow() - account.backfill  # what poll.py passes
    batch = with_source(make_http, account, lambda s: s.mentions(before.cursor, horizon))
    assert [m.author for m in batch.items] == ["erin.bsky.social"]
    assert "since" in pds.calls(SEARCH)[0].args


def test_appview_option_sends_app_bsky_reads_there(
    httpserver: HTTPServer, clock: FakeClock, make_http: Callable[..., Http]
) -> None:
    fake = FakePds(httpserver, clock, appview="/appview")
    fake.notifications = [notification("3lpk0001", "alice.bsky.social", "mention", minute(1))]
    account = account_for(httpserver, options={"appview": httpserver.url_for("/appview/")})
    batch = with_source(make_http, account, lambda s: s.mentions(None, EPOCH))
    assert len(batch.items) == 1
    assert fake.calls(NOTIFICATIONS)[0].path == "/appview/xrpc/" + NOTIFICATIONS
    assert fake.logins == 1  # the session still comes from the PDS


# -- text and links ----------------------------------------------------------------------------


def test_text_gets_full_links_back_and_loses_control_characters(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    text = "🎉 new \x1b[31mdocs\x1b[0m: example.com/docs/getting-st... and read this"
    raw = text.encode()
    short = "example.com/docs/getting-st..."
    link_at = raw.index(short.encode())
    read_at = raw.index(b"read this")
    facets = [
        {"features": [{"$type": "app.bsky.richtext.facet#link",
                       "uri": "https://example.com/docs/getting-started"}],
         "index": {"byteStart": link_at, "byteEnd": link_at + len(short)}},
        {"features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/a"}],
         "index": {"byteStart": read_at, "byteEnd": read_at + len("read this")}},
    ]  # fmt: skip
    item = notification("3lpk0001", "alice.bsky.social", "mention", minute(1), text)
    item["record"]["facets"] = facets
    pds.notifications = [item]
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    assert batch.items[0].text == (
        "🎉 new docs: https://example.com/docs/getting-started and read this (https://example.org/a)"
    )


def test_url_falls_back_to_the_did_when_the_handle_is_invalid(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    item = notification("3lpk0001", "alice.bsky.social", "mention", minute(1))
    item["author"]["handle"] = "handle.invalid"
    pds.notifications = [item]
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    assert (
        batch.items[0].url
        == f"https://bsky.app/profile/{did_of('alice.bsky.social')}/post/3lpk0001"
    )


def test_created_at_is_never_later_than_indexing(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    item = notification("3lpk0001", "alice.bsky.social", "mention", minute(1))
    item["record"]["createdAt"] = "2099-01-01T00:00:00Z"  # a client can claim anything
    pds.notifications = [item]
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    assert batch.items[0].created_at == parse_timestamp(minute(1))


# -- answered ----------------------------------------------------------------------------------


def test_own_reply_links_to_the_mention_it_answers(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    answered = notification("3lpk0002", "alice.bsky.social", "mention", minute(2))
    unanswered = notification("3lpk0001", "bob.bsky.social", "mention", minute(1))
    pds.notifications = [answered, unanswered]
    repost = {
        "post": post_view("3lpk0000", "carol.bsky.social", minute(0)),
        "reason": {"$type": "app.bsky.feed.defs#reasonRepost", "by": profile(HANDLE),
                   "indexedAt": minute(5)},
    }  # fmt: skip
    pds.feed = [
        {"post": post_view("3lpk0006", HANDLE, minute(6), "just news")},
        repost,
        {"post": post_view("3lpk0004", HANDLE, minute(4), "thanks!", parent=answered["uri"])},
    ]

    async def both(source: BlueskySource) -> Any:
        return await source.mentions(None, EPOCH), await source.replies(None, EPOCH)

    mentions, replies = with_source(make_http, account_for(httpserver), both)
    assert [r.parent_id for r in replies.items] == [mentions.items[0].remote_id]
    reply = replies.items[0]
    assert reply.remote_id == post_uri(HANDLE, "3lpk0004")
    assert reply.url == "https://bsky.app/profile/brand.bsky.social/post/3lpk0004"
    assert reply.author == HANDLE
    assert unanswered["uri"] not in {r.parent_id for r in replies.items}
    assert pds.calls(AUTHOR_FEED)[0].args["actor"] == OWN_DID
    assert pds.calls(AUTHOR_FEED)[0].args["filter"] == "posts_with_replies"
    assert pds.logins == 1  # one session serves the whole poll


def test_replies_resume_from_their_cursor(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = account_for(httpserver)
    parent = post_uri("alice.bsky.social", "3lpk0001")
    pds.feed = [{"post": post_view("3lpk0002", HANDLE, minute(2), "ok", parent=parent)}]
    first = with_source(make_http, account, lambda s: s.replies(None, EPOCH))
    pds.feed.insert(0, {"post": post_view("3lpk0003", HANDLE, minute(3), "ok", parent=parent)})
    second = with_source(make_http, account, lambda s: s.replies(first.cursor, EPOCH))
    assert [r.remote_id for r in second.items] == [post_uri(HANDLE, "3lpk0003")]


# -- sessions and errors -----------------------------------------------------------------------


def test_expired_access_token_is_refreshed_transparently(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    pds.notifications = [notification("3lpk0001", "alice.bsky.social", "mention", minute(1))]

    async def expire_between_calls(source: BlueskySource) -> Any:
        await source.whoami()
        pds.expire_access_tokens()
        return await source.mentions(None, EPOCH)

    batch = with_source(make_http, account_for(httpserver), expire_between_calls)
    assert len(batch.items) == 1
    assert (pds.logins, pds.refreshes) == (1, 1)
    refresh_call = next(r for n, r in pds.requests if n == "com.atproto.server.refreshSession")
    assert refresh_call.headers["Authorization"].endswith(".refresh1.c2lnbmF0dXJl")
    retried = pds.calls(NOTIFICATIONS)[-1]
    assert retried.headers["Authorization"].endswith(".access2.c2lnbmF0dXJl")


def test_revoked_refresh_token_falls_back_to_a_new_login(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    pds.notifications = [notification("3lpk0001", "alice.bsky.social", "mention", minute(1))]

    async def expire_everything(source: BlueskySource) -> Any:
        await source.whoami()
        pds.expire_access_tokens()
        pds.refresh.clear()
        return await source.mentions(None, EPOCH)

    assert len(with_source(make_http, account_for(httpserver), expire_everything).items) == 1
    assert (pds.logins, pds.refreshes) == (2, 1)


def test_failed_login_is_a_source_error_without_the_password(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = account_for(httpserver, secrets={"app_password": "wrong-pass-word-here"})
    with pytest.raises(SourceError) as caught:
        with_source(make_http, account, lambda s: s.mentions(None, EPOCH))
    message = str(caught.value)
    assert "wrong-pass-word-here" not in message
    assert message.startswith("brand-bsky: com.atproto.server.createSession:")
    assert "login as brand.bsky.social failed" in message
    assert pds.calls(NOTIFICATIONS) == []


def test_refused_session_is_a_source_error_that_shows_no_token(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    refused = [pds.error(401, "AuthenticationRequired", "Authentication Required") for _ in "ab"]
    pds.canned[NOTIFICATIONS] = refused
    with pytest.raises(SourceError) as caught:
        with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    message = str(caught.value)
    assert NOTIFICATIONS in message and "was refused" in message
    assert (
        message.startswith("brand-bsky: ") and "app_password from env BSKY_APP_PASSWORD" in message
    )
    assert "eyJ" not in message and PASSWORD not in message
    assert pds.refreshes == 1  # one renewal was tried before giving up


def test_other_xrpc_errors_name_the_error(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    pds.canned[NOTIFICATIONS] = [pds.error(400, "InvalidRequest", "malformed cursor")]
    with pytest.raises(SourceError, match="HTTP 400 InvalidRequest: malformed cursor"):
        with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    assert pds.refreshes == 0


def test_missing_app_password_is_reported_before_any_request(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = account_for(httpserver, secrets={})
    with pytest.raises(SourceError, match="no app_password"):
        with_source(make_http, account, lambda s: s.whoami())
    assert pds.requests == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cursor": "x"}, "'notifications'"),
        ({"notifications": {"uri": "x"}}, "'notifications' is not a list"),
        ({"notifications": [{"reason": "mention", "indexedAt": "2025-05-19T17:00:00Z"}]}, "author"),
        ({"notifications": [{"reason": "mention"}]}, "'indexedAt'"),
        ({"notifications": [{"reason": "mention", "indexedAt": "yesterday"}]}, "not a time"),
    ],
)
def test_wrong_shaped_payload_names_the_field(
    pds: FakePds,
    httpserver: HTTPServer,
    make_http: Callable[..., Http],
    body: Any,
    field: str,
) -> None:
    pds.bodies["notifications"] = body
    with pytest.raises(SourceError, match=field):
        with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))


def test_mention_without_a_post_uri_names_the_field(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    item = notification("3lpk0001", "alice.bsky.social", "mention", minute(1))
    del item["uri"]
    pds.notifications = [item]
    with pytest.raises(SourceError, match="no field 'uri'"):
        with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))


def test_whoami_names_handle_and_did(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    who = with_source(make_http, account_for(httpserver), lambda s: s.whoami())
    assert who == f"@{HANDLE} ({OWN_DID})"
    assert [name for name, _ in pds.requests] == ["com.atproto.server.createSession"]


# -- rate limits -------------------------------------------------------------------------------


def test_429_waits_for_ratelimit_reset_then_retries(
    pds: FakePds,
    httpserver: HTTPServer,
    make_http: Callable[..., Http],
    clock: FakeClock,
) -> None:
    limited = pds.error(429, "RateLimitExceeded", "Rate Limit Exceeded")
    limited.headers["RateLimit-Remaining"] = "0"
    limited.headers["RateLimit-Reset"] = str(int(clock.now) + 20)
    pds.canned[NOTIFICATIONS] = [limited]
    pds.notifications = [notification("3lpk0001", "alice.bsky.social", "mention", minute(1))]
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    assert len(batch.items) == 1
    assert clock.sleeps == [20.5]


def test_spent_quota_waits_for_the_reset_before_the_next_request(
    pds: FakePds,
    httpserver: HTTPServer,
    make_http: Callable[..., Http],
    clock: FakeClock,
) -> None:
    pds.page_size = 1
    pds.notifications = [
        notification(f"3lpk000{n}", "alice.bsky.social", "mention", minute(n)) for n in (2, 1)
    ]
    cursor = minute(2)
    last = pds.reply({"notifications": pds.notifications[:1], "cursor": cursor}, remaining=0)
    last.headers["RateLimit-Reset"] = str(int(clock.now) + 30)
    pds.canned[NOTIFICATIONS] = [last]
    batch = with_source(make_http, account_for(httpserver), lambda s: s.mentions(None, EPOCH))
    assert len(batch.items) == 2
    assert clock.sleeps == [30.5]


def test_429_with_a_distant_reset_gives_up_until_the_next_run(
    pds: FakePds,
    httpserver: HTTPServer,
    make_http: Callable[..., Http],
    clock: FakeClock,
) -> None:
    limited = pds.error(429, "RateLimitExceeded", "Rate Limit Exceeded")
    limited.headers["RateLimit-Reset"] = str(int(clock.now) + 3600)
    pds.canned["com.atproto.server.createSession"] = [limited]
    with pytest.raises(RateLimitedError, match="rate limited until"):
        with_source(make_http, account_for(httpserver), lambda s: s.whoami())
    assert clock.sleeps == []


def test_facets_that_split_a_character_leave_the_text_as_written() -> None:
    text = "café example.com/x..."
    broken = [
        {
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/xy"}
            ],
            "index": {"byteStart": 4, "byteEnd": 10},  # byte 4 is inside "é"
        }
    ]
    assert post_text(text, broken) == text
    assert post_text(text, "not a list") == text


def test_renewing_an_expired_session_never_logs_either_token(
    pds: FakePds,
    httpserver: HTTPServer,
    make_http: Callable[..., Http],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    pds.notifications = [notification("3lpk0001", "alice.bsky.social", "mention", minute(1))]

    async def expire_between_calls(source: BlueskySource) -> Any:
        await source.whoami()
        pds.expire_access_tokens()
        return await source.mentions(None, EPOCH)

    with_source(make_http, account_for(httpserver), expire_between_calls)

    assert pds.refreshes == 1
    logged = caplog.text
    assert "com.atproto.server.refreshSession" in logged  # the request log was on
    assert "eyJ" not in logged and ".refresh1." not in logged and ".access2." not in logged
    assert PASSWORD not in logged


# -- responders: other accounts whose replies answer the account's mentions ---------------------

CEO = "ceo.example.com"


def reply_by(who: str, rkey: str, n: int, parent: str | None) -> dict[str, Any]:
    return {"post": post_view(rkey, who, minute(n), "on it", parent=parent)}


def test_a_reply_by_a_responder_answers_the_mention_with_its_time_and_url(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    account = account_for(httpserver, backfill=timedelta(days=3650), responders=(f"@{CEO}",))
    answered = notification("3lpk0002", "alice.bsky.social", "mention", minute(2))
    waiting = notification("3lpk0001", "bob.bsky.social", "mention", minute(1))
    pds.notifications = [answered, waiting]
    pds.author(CEO).extend(
        [reply_by(CEO, "3lpk0005", 5, answered["uri"]), reply_by(CEO, "3lpk0004", 4, None)]
    )
    # A reply by someone who is not a responder does not answer.
    pds.author("mallory.bsky.social").append(
        reply_by("mallory.bsky.social", "3lpk0003", 3, waiting["uri"])
    )

    result, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert result.error is None
    assert states == {answered["uri"]: State.ANSWERED, waiting["uri"]: State.OPEN}
    with Store.open(tmp_path / "mw.db") as store:
        [mention] = store.mentions(MentionFilter(states=(State.ANSWERED,)), utcnow())
    assert mention.answered_url == f"https://bsky.app/profile/{CEO}/post/3lpk0005"
    assert mention.answered_at == parse_timestamp(minute(5))
    assert mention.answered_by == CEO
    assert [c.args["actor"] for c in pds.calls(AUTHOR_FEED)] == [OWN_DID, CEO]
    assert pds.calls(AUTHOR_FEED)[1].args["filter"] == "posts_with_replies"


def test_each_responders_feed_resumes_from_its_own_cursor_with_one_request(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    dana = did_of("dana.example.com")
    account = account_for(httpserver, backfill=timedelta(days=3650), responders=(CEO, dana))
    parent = post_uri("alice.bsky.social", "3lpk0001")
    pds.feed.append(reply_by(HANDLE, "3lpk0002", 2, parent))
    ceo = pds.author(CEO)
    ceo.append(reply_by(CEO, "3lpk0003", 3, parent))
    pds.author("dana.example.com").append(reply_by("dana.example.com", "3lpk0004", 4, parent))
    first = with_source(make_http, account, lambda s: s.replies(None, EPOCH))
    ceo.insert(0, reply_by(CEO, "3lpk0009", 9, parent))
    before = len(pds.calls(AUTHOR_FEED))

    second = with_source(make_http, account, lambda s: s.replies(first.cursor, EPOCH))

    assert len(first.items) == 3
    assert [r.remote_id for r in second.items] == [post_uri(CEO, "3lpk0009")]
    later = pds.calls(AUTHOR_FEED)[before:]
    assert [(c.args["actor"], c.args.get("cursor")) for c in later] == [
        (OWN_DID, None),
        (CEO, None),
        (dana, None),
    ]


def test_a_responder_added_later_looks_back_only_the_backfill(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    parent = post_uri("alice.bsky.social", "3lpk0001")
    pds.feed.append(reply_by(HANDLE, "3lpk0002", 2, parent))
    old_account = account_for(httpserver, backfill=timedelta(days=3650))
    first = with_source(make_http, old_account, lambda s: s.replies(None, EPOCH))
    recent = (utcnow() - timedelta(hours=1)).isoformat(timespec="milliseconds")
    pds.author(CEO).extend(
        [
            {"post": post_view("3lpk0009", CEO, recent.replace("+00:00", "Z"), "ok", parent)},
            reply_by(CEO, "3lpk0003", 3, parent),  # long before the backfill horizon
        ]
    )
    account = account_for(httpserver, backfill=timedelta(days=3), responders=(CEO,))

    horizon = utcnow() - account.backfill  # what poll.py passes
    second = with_source(make_http, account, lambda s: s.replies(first.cursor, horizon))

    assert [r.remote_id for r in second.items] == [post_uri(CEO, "3lpk0009")]


def test_an_unknown_responder_is_a_warning_naming_it_and_own_replies_still_answer(
    pds: FakePds,
    httpserver: HTTPServer,
    make_http: Callable[..., Http],
    tmp_path: Path,
    warnings_logged: Any,
) -> None:
    account = account_for(
        httpserver, backfill=timedelta(days=3650), responders=("ghost.example.com",)
    )
    mention = notification("3lpk0002", "alice.bsky.social", "mention", minute(2))
    pds.notifications = [mention]
    pds.feed = [reply_by(HANDLE, "3lpk0004", 4, mention["uri"])]

    result, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert result.error is None
    assert states == {mention["uri"]: State.ANSWERED}
    [warning] = warnings_logged()
    assert warning.startswith("brand-bsky: responder 'ghost.example.com' cannot be read")
    assert "app.bsky.feed.getAuthorFeed: HTTP 400 InvalidRequest: Profile not found" in warning
    poll_through_store(account, make_http(), tmp_path / "mw.db")
    asked = [c.args["actor"] for c in pds.calls(AUTHOR_FEED)]
    assert asked.count("ghost.example.com") == 2  # tried again on the next run


# -- end to end: source → store → state, and `config check --online` -----------------------


def test_a_poll_stores_an_answered_and_an_unanswered_mention_and_a_later_reply_answers_it(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    account = account_for(httpserver, backfill=timedelta(days=3650))
    answered = notification("3lpk0002", "alice.bsky.social", "mention", minute(2))
    waiting = notification("3lpk0001", "bob.bsky.social", "reply", minute(1))
    pds.notifications = [answered, waiting]
    pds.feed = [{"post": post_view("3lpk0004", HANDLE, minute(4), "thanks!", answered["uri"])}]

    first, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert first.error is None
    assert (first.new_mentions, first.newly_answered, first.still_open) == (2, 1, 1)
    assert states == {answered["uri"]: State.ANSWERED, waiting["uri"]: State.OPEN}
    later = {"post": post_view("3lpk0005", HANDLE, minute(5), "on it", waiting["uri"])}
    pds.feed.insert(0, later)
    second, states = poll_through_store(account, make_http(), tmp_path / "mw.db")
    assert (second.new_mentions, second.newly_answered, second.still_open) == (0, 1, 0)
    assert set(states.values()) == {State.ANSWERED}
    assert pds.logins == 2  # one session per run


def test_config_check_online_logs_in_once_and_names_the_handle_and_did(
    pds: FakePds, httpserver: HTTPServer
) -> None:
    assert check_online(account_for(httpserver)) == (True, f"@{HANDLE} ({OWN_DID})")
    assert [name for name, _ in pds.requests] == ["com.atproto.server.createSession"]


def test_config_check_online_with_a_wrong_app_password_names_the_env_var(
    pds: FakePds, httpserver: HTTPServer
) -> None:
    account = account_for(httpserver, secrets={"app_password": "wrong-pass-word-here"})
    ok, said = check_online(account)
    assert not ok and said.startswith("brand-bsky: com.atproto.server.createSession: ")
    assert "env BSKY_APP_PASSWORD" in said and "wrong-pass-word-here" not in said


def test_keyword_expressions_are_one_search_per_alternative_with_author_and_lang_parameters(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    keyword = "ExampleCo (refund OR cancel) -scam author:dana.bsky.social lang:en"
    account = account_for(httpserver, keywords=(keyword,))
    # The fake filters on nothing but q: a looser search than the expression.
    dana = {**post_view("3lpk0021", "dana.bsky.social", minute(21), "ExampleCo refund please")}
    dana["record"] = {**dana["record"], "langs": ["en"]}
    german = {**post_view("3lpk0022", "dana.bsky.social", minute(22), "ExampleCo refund bitte")}
    german["record"] = {**german["record"], "langs": ["de"]}
    pds.search["ExampleCo refund"] = [
        dana,
        german,
        post_view("3lpk0023", "erin.bsky.social", minute(23), "ExampleCo refund"),
    ]
    pds.search["ExampleCo cancel"] = [
        post_view("3lpk0024", "dana.bsky.social", minute(24), "ExampleCo cancel: scam?"),
    ]
    kept = fetched_mentions(make_http, account)
    assert [m.remote_id for m in kept] == [post_uri("dana.bsky.social", "3lpk0021")]
    sent = [(r.args["q"], r.args.get("author"), r.args.get("lang")) for r in pds.calls(SEARCH)]
    assert sent == [
        ("ExampleCo refund", "dana.bsky.social", "en"),
        ("ExampleCo cancel", "dana.bsky.social", "en"),
    ]


def test_an_author_that_is_no_bluesky_handle_is_not_sent_but_still_checked_locally(
    pds: FakePds, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    account = account_for(httpserver, keywords=("ExampleCo author:@dana@example.social",))
    pds.search["ExampleCo"] = [post_view("3lpk0031", "dana.bsky.social", minute(31), "ExampleCo")]
    assert fetched_mentions(make_http, account) == []  # not that author: removed locally
    sent = [(r.args["q"], r.args.get("author")) for r in pds.calls(SEARCH)]
    assert sent == [("ExampleCo", None)]
