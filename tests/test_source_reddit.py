"""The Reddit source against a fake Reddit that speaks its OAuth, listing and rate-limit shapes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch import __version__
from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch, Mention, Reply
from mentionwatch.http import Http
from mentionwatch.models import Account, Kind, State
from mentionwatch.sources.reddit import RedditSource
from mentionwatch.sources.registry import PLATFORMS
from mentionwatch.store import MentionFilter, Store
from tests.conftest import FakeClock, run
from tests.fakes import check_online, poll_through_store, with_source

T = TypeVar("T")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW = float(int(time.time()))
PASSWORD = "hunter2-very-secret"
CLIENT_SECRET = "client-secret-xyz"


def comment(
    id36: str,
    minutes_ago: float,
    *,
    author: str = "someone",
    type: str = "username_mention",
    body: str = "hey /u/brandco",
    parent_id: str = "t3_post1",
) -> dict[str, Any]:
    """An inbox comment item as /message/mentions and /message/inbox return it."""
    return {
        "kind": "t1",
        "data": {
            "id": id36,
            "name": f"t1_{id36}",
            "author": author,
            "author_fullname": "t2_abc",
            "body": body,
            "body_html": '<!-- SC_OFF --><div class="md"><p>...</p></div><!-- SC_ON -->',
            "context": f"/r/example/comments/post1/a_title/{id36}/?context=3",
            "created": NOW - minutes_ago * 60,
            "created_utc": NOW - minutes_ago * 60,
            "dest": "brandco",
            "link_title": "A title",
            "new": True,
            "parent_id": parent_id,
            "subject": type.replace("_", " "),
            "subreddit": "example",
            "type": type,
            "was_comment": True,
        },
    }


def message(id36: str, minutes_ago: float) -> dict[str, Any]:
    """A private message in the inbox: not a public mention."""
    return {
        "kind": "t4",
        "data": {
            "id": id36,
            "name": f"t4_{id36}",
            "author": "someone",
            "body": "private hello",
            "created_utc": NOW - minutes_ago * 60,
            "dest": "brandco",
            "subject": "hi",
            "was_comment": False,
        },
    }


def post(
    id36: str, minutes_ago: float, *, author: str = "poster", selftext: str = ""
) -> dict[str, Any]:
    return {
        "kind": "t3",
        "data": {
            "id": id36,
            "name": f"t3_{id36}",
            "author": author,
            "title": f"Post {id36} about ExampleCo",
            "selftext": selftext,
            "permalink": f"/r/example/comments/{id36}/post_about_exampleco/",
            "url": f"https://www.reddit.com/r/example/comments/{id36}/post_about_exampleco/",
            "created_utc": NOW - minutes_ago * 60,
            "subreddit": "example",
        },
    }


def own_comment(
    id36: str, minutes_ago: float, parent_id: str, author: str = "brandco"
) -> dict[str, Any]:
    return {
        "kind": "t1",
        "data": {
            "id": id36,
            "name": f"t1_{id36}",
            "author": author,
            "body": "thanks!",
            "parent_id": parent_id,
            "link_id": "t3_post1",
            "permalink": f"/r/example/comments/post1/a_title/{id36}/",
            "created_utc": NOW - minutes_ago * 60,
            "subreddit": "example",
        },
    }


class FakeReddit:
    """Token endpoint, bearer checks, `after` paging and x-ratelimit-* headers, like Reddit."""

    def __init__(self, server: HTTPServer, page_size: int = 2) -> None:
        self.server = server
        self.page_size = page_size
        self.listings: dict[str, list[dict[str, Any]]] = {}
        self.searches: dict[str, list[dict[str, Any]]] = {}
        self.valid_tokens: set[str] = set()
        self.issued = 0
        self.grant_error: str | None = None
        self.accept_tokens = True
        self.token_requests: list[Request] = []
        self.requests: list[Request] = []
        self.ratelimit = {"remaining": "599.0", "reset": "420", "used": "1"}
        self.me: dict[str, Any] = {"name": "brandco", "id": "abc"}
        server.expect_request("/api/v1/access_token", method="POST").respond_with_handler(
            self.token
        )
        server.expect_request("/api/v1/me").respond_with_handler(self.guarded(self.whoami))
        server.expect_request("/search").respond_with_handler(self.guarded(self.search))
        for path in ("/message/mentions", "/message/inbox"):
            server.expect_request(path).respond_with_handler(self.guarded(self.listing))
        self.listings.setdefault("/message/mentions", [])
        self.listings.setdefault("/message/inbox", [])
        # Replying: POST /api/comment (form thing_id, text, api_type=json), /api/info by id.
        self.scope = "*"
        self.things: dict[str, dict[str, Any]] = {}  # by fullname, for /api/info and parents
        self.posted: list[dict[str, str]] = []  # the form of every /api/comment
        self.comment_errors: list[list[str]] = []  # json.errors for the next comment
        self.comment_failures: list[Response] = []
        self.hang_after_post = 0.0
        server.expect_request("/api/comment", method="POST").respond_with_handler(
            self.guarded(self.post_comment)
        )
        server.expect_request("/api/info").respond_with_handler(self.guarded(self.info))

    def info(self, request: Request) -> Response:
        found = [self.things[n] for n in request.args.get("id", "").split(",") if n in self.things]
        return self.json({"kind": "Listing", "data": {"after": None, "children": found}})

    def post_comment(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        self.posted.append(form)
        if self.comment_failures:
            return self.comment_failures.pop(0)
        if self.comment_errors:
            return self.json({"json": {"errors": [self.comment_errors.pop(0)]}})
        if form.get("thing_id") not in self.things:
            return self.json({"json": {"errors": [["DELETED_COMMENT", "that comment has been "
                                                   "deleted", "parent"]]}})  # fmt: skip
        made = own_comment(f"r{len(self.posted):05d}", 0, form["thing_id"])
        made["data"]["body"] = form["text"]
        made["data"]["created_utc"] = float(int(time.time()))  # now, not at the module's NOW
        self.listings.setdefault("/user/brandco/comments", []).insert(0, made)
        self.things[made["data"]["name"]] = made
        if self.hang_after_post:
            wait, self.hang_after_post = self.hang_after_post, 0.0
            time.sleep(wait)
        return self.json({"json": {"errors": [], "data": {"things": [made]}}})

    def user_comments(self, name: str, things: list[dict[str, Any]]) -> None:
        path = f"/user/{name}/comments"
        self.listings[path] = things
        self.server.expect_request(path).respond_with_handler(self.guarded(self.listing))

    def token(self, request: Request) -> Response:
        self.token_requests.append(request)
        if self.grant_error:
            return self.json({"error": self.grant_error})
        self.issued += 1
        token = f"access-token-{self.issued}"
        if self.accept_tokens:
            self.valid_tokens.add(token)
        return self.json(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 86400,
                "scope": self.scope,
            }  # fmt: skip
        )

    def guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def check(request: Request) -> Response:
            self.requests.append(request)
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("bearer ") or auth[7:] not in self.valid_tokens:
                return self.json({"message": "Unauthorized", "error": 401}, status=401)
            return handler(request)

        return check

    def whoami(self, request: Request) -> Response:
        return self.json(self.me)

    def listing(self, request: Request) -> Response:
        return self.page(self.listings[request.path], request)

    def search(self, request: Request) -> Response:
        return self.page(self.searches.get(request.args["q"], []), request)

    def page(self, things: list[dict[str, Any]], request: Request) -> Response:
        names = [t["data"]["name"] for t in things]
        after = request.args.get("after")
        start = names.index(after) + 1 if after else 0
        chunk = things[start : start + self.page_size]
        more = start + self.page_size < len(things)
        data = {
            "after": chunk[-1]["data"]["name"] if chunk and more else None,
            "before": None,
            "dist": len(chunk),
            "modhash": None,
            "geo_filter": "",
            "children": chunk,
        }
        return self.json({"kind": "Listing", "data": data})

    def json(self, payload: Any, status: int = 200) -> Response:
        headers = {f"x-ratelimit-{k}": v for k, v in self.ratelimit.items()}
        return Response(
            json.dumps(payload), status=status, headers=headers, content_type="application/json"
        )

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
def reddit(httpserver: HTTPServer) -> FakeReddit:
    return FakeReddit(httpserver)


@pytest.fixture
def account(httpserver: HTTPServer) -> Account:
    base = httpserver.url_for("").rstrip("/")
    return Account(
        name="brand-reddit",
        platform="reddit",
        server=base,
        handle="brandco",
        max_pages=10,
        options={"client_id": "my-client-id", "auth_url": base},
        secrets={"client_secret": CLIENT_SECRET, "password": PASSWORD},
        secret_sources={
            "client_secret": "env REDDIT_CLIENT_SECRET",
            "password": "env REDDIT_PASSWORD",
        },
    )


class Call(Protocol):
    """Runs one source method inside a fresh Http (fake clock) and returns what it returned."""

    def __call__(
        self, account: Account, use: Callable[[RedditSource], Coroutine[Any, Any, T]]
    ) -> T: ...


@pytest.fixture
def call(make_http: Callable[..., Http]) -> Call:
    def go(account: Account, use: Callable[[RedditSource], Coroutine[Any, Any, T]]) -> T:
        return with_source(make_http, account, use)

    return go


def poll_mentions(
    call: Call, account: Account, cursor: str | None = None, since: datetime = EPOCH
) -> Batch[Mention]:
    return call(account, lambda s: s.mentions(cursor, since))


def ids(items: Iterable[Mention | Reply]) -> list[str]:
    return [item.remote_id for item in items]


# --- mentions and paging -------------------------------------------------------------------


def test_source_is_registered_for_the_reddit_platform() -> None:
    assert PLATFORMS["reddit"].load() is RedditSource


def test_mentions_are_paged_through_by_after_fullname(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/mentions"] = [comment(f"m{i}", i) for i in range(5)]
    batch = poll_mentions(call, account)
    assert ids(batch.items) == [f"t1_m{i}" for i in range(5)]
    pages = [r for r in reddit.requests if r.path == "/message/mentions"]
    assert [r.args.get("after") for r in pages] == [None, "t1_m1", "t1_m3"]
    assert all(r.args["limit"] == "100" and r.args["raw_json"] == "1" for r in pages)


def test_second_poll_fetches_only_new_mentions(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/mentions"] = [comment(f"m{i}", 10 + i) for i in range(3)]
    first = poll_mentions(call, account)
    reddit.listings["/message/mentions"].insert(0, comment("new1", 1))
    reddit.requests.clear()
    second = poll_mentions(call, account, first.cursor)
    assert ids(second.items) == ["t1_new1"]
    assert reddit.paths().count("/message/mentions") == 1


def test_page_cap_stops_early_and_the_next_poll_fills_the_gap(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    capped = account._replace(max_pages=2)
    reddit.listings["/message/mentions"] = [comment(f"m{i}", 10 + i) for i in range(7)]
    first = poll_mentions(call, capped)
    assert ids(first.items) == [f"t1_m{i}" for i in range(4)]
    reddit.listings["/message/mentions"].insert(0, comment("late", 1))
    second = poll_mentions(call, capped, first.cursor)
    third = poll_mentions(call, capped, second.cursor)
    seen = ids(first.items) + ids(second.items) + ids(third.items)
    assert sorted(seen) == sorted(["t1_late"] + [f"t1_m{i}" for i in range(7)])
    assert len(seen) == len(set(seen))


def test_mentions_with_the_same_second_are_not_lost_across_polls(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/mentions"] = [comment("b0", 5)]
    first = poll_mentions(call, account)
    # Created in the same second as the last one seen, but later (higher base-36 serial).
    reddit.listings["/message/mentions"].insert(0, comment("b1", 5))
    second = poll_mentions(call, account, first.cursor)
    assert ids(second.items) == ["t1_b1"]


def test_first_poll_stops_at_the_backfill_horizon(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/mentions"] = [comment(f"m{i}", i * 60) for i in range(6)]
    since = datetime.fromtimestamp(NOW, UTC) - timedelta(minutes=90)
    batch = poll_mentions(call, account, since=since)
    assert ids(batch.items) == ["t1_m0", "t1_m1"]
    # The second page holds the first item past the horizon; the third is never asked for.
    assert reddit.paths().count("/message/mentions") == 2


def test_inbox_replies_are_reply_mentions_and_private_messages_are_skipped(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/inbox"] = [
        comment("r1", 1, type="comment_reply", parent_id="t1_mine"),
        message("pm1", 2),
        message("pm2", 3),
        comment("r2", 4, type="post_reply", parent_id="t3_mypost"),
    ]
    batch = poll_mentions(call, account)
    assert [(m.remote_id, m.kind) for m in batch.items] == [
        ("t1_r1", Kind.REPLY),
        ("t1_r2", Kind.REPLY),
    ]


def test_a_comment_in_both_listings_is_returned_once_as_a_mention(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/mentions"] = [comment("both", 1)]
    reddit.listings["/message/inbox"] = [comment("both", 1, type="comment_reply")]
    batch = poll_mentions(call, account)
    assert [(m.remote_id, m.kind) for m in batch.items] == [("t1_both", Kind.MENTION)]


def test_the_accounts_own_comments_are_not_mentions(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/mentions"] = [comment("self", 1, author="BrandCo"), comment("x", 2)]
    assert ids(poll_mentions(call, account).items) == ["t1_x"]


def test_mention_text_is_unescaped_and_its_url_is_the_context_permalink(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    item = comment("txt", 3, body="Tom &amp; Jerry &lt;3 /u/brandco")
    item["data"]["link_title"] = "Q&amp;A thread"
    reddit.listings["/message/mentions"] = [item]
    [mention] = poll_mentions(call, account).items
    assert mention.text == "Tom & Jerry <3 /u/brandco"
    assert mention.title == "Q&A thread"
    assert mention.url == "https://www.reddit.com/r/example/comments/post1/a_title/txt/?context=3"
    assert mention.author == "someone"
    assert mention.created_at == datetime.fromtimestamp(NOW - 180, UTC)
    assert mention.raw == ""  # payloads are kept only with keep_raw


# --- keyword search ------------------------------------------------------------------------


def test_keyword_hits_are_posts_from_site_search(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    with_keywords = account._replace(keywords=("ExampleCo", '"example co"'))  # a phrase
    reddit.searches["ExampleCo"] = [
        post("p1", 1, selftext="I love ExampleCo &amp; friends"),
        post("p2", 2, author="brandco"),
        post("p3", 3),
    ]
    reddit.searches['"example co"'] = [post("p4", 4)]
    batch = poll_mentions(call, with_keywords)
    hits = {m.remote_id: m for m in batch.items}
    assert list(hits) == ["t3_p1", "t3_p3", "t3_p4"]
    assert all(m.kind is Kind.KEYWORD for m in hits.values())
    assert hits["t3_p1"].text == "I love ExampleCo & friends"
    assert hits["t3_p3"].text == "Post p3 about ExampleCo"  # a link post: its title
    assert hits["t3_p1"].url == "https://www.reddit.com/r/example/comments/p1/post_about_exampleco/"
    searches = [r.args for r in reddit.requests if r.path == "/search"]
    assert {a["q"] for a in searches} == {"ExampleCo", '"example co"'}
    assert all(a["sort"] == "new" and a["type"] == "link" for a in searches)


def test_each_keyword_resumes_from_its_own_cursor(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    with_keywords = account._replace(keywords=("alpha", "beta"))
    reddit.searches["alpha"] = [post("a1", 10)]
    reddit.searches["beta"] = [post("b1", 20)]
    first = poll_mentions(call, with_keywords)
    reddit.searches["beta"].insert(0, post("b2", 1))
    second = poll_mentions(call, with_keywords, first.cursor)
    assert ids(first.items) == ["t3_a1", "t3_b1"]
    assert ids(second.items) == ["t3_b2"]


def test_a_keyword_added_later_backfills_only_the_horizon(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    first = poll_mentions(call, account)
    reddit.searches["gamma"] = [post("g1", 60), post("g2", 10 * 24 * 60)]
    later = account._replace(keywords=("gamma",), backfill=timedelta(days=3))
    horizon = datetime.fromtimestamp(NOW, UTC) - later.backfill  # what poll.py passes
    second = poll_mentions(call, later, first.cursor, since=horizon)
    assert ids(second.items) == ["t3_g1"]


# --- own replies and "answered" ------------------------------------------------------------


def test_own_comments_link_to_the_mention_they_answer(
    reddit: FakeReddit, account: Account, call: Call, tmp_path: Path
) -> None:
    reddit.listings["/message/mentions"] = [comment("asked", 30), comment("ignored", 40)]
    reddit.user_comments("brandco", [own_comment("ans", 5, parent_id="t1_asked")])
    mentions = poll_mentions(call, account)
    replies = call(account, lambda s: s.replies(None, EPOCH))
    [reply] = replies.items
    assert reply == Reply(
        remote_id="t1_ans",
        url="https://www.reddit.com/r/example/comments/post1/a_title/ans/",
        author="brandco",
        created_at=datetime.fromtimestamp(NOW - 300, UTC),
        parent_id="t1_asked",
        raw=reply.raw,
    )
    states = stored_states(tmp_path, account, mentions.items, replies.items)
    assert states == {"t1_asked": State.ANSWERED, "t1_ignored": State.OPEN}


def test_a_top_level_comment_answers_a_keyword_post(
    reddit: FakeReddit, account: Account, call: Call, tmp_path: Path
) -> None:
    with_keywords = account._replace(keywords=("ExampleCo",))
    reddit.searches["ExampleCo"] = [post("kw1", 30)]
    reddit.user_comments("brandco", [own_comment("top", 5, parent_id="t3_kw1")])
    mentions = poll_mentions(call, with_keywords)
    replies = call(with_keywords, lambda s: s.replies(None, EPOCH))
    states = stored_states(tmp_path, account, mentions.items, replies.items)
    assert states == {"t3_kw1": State.ANSWERED}


def test_own_replies_resume_from_their_cursor(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.user_comments("brandco", [own_comment(f"c{i}", 10 + i, "t1_x") for i in range(3)])
    first = call(account, lambda s: s.replies(None, EPOCH))
    reddit.listings["/user/brandco/comments"].insert(0, own_comment("c9", 1, "t1_y"))
    second = call(account, lambda s: s.replies(first.cursor, EPOCH))
    assert ids(first.items) == ["t1_c0", "t1_c1", "t1_c2"]
    assert ids(second.items) == ["t1_c9"]
    assert all(r.args["sort"] == "new" for r in reddit.requests if "comments" in r.path)


def test_responders_comments_count_as_replies(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    with_helper = account._replace(responders=("u/helper_bot",))
    reddit.user_comments("brandco", [])
    reddit.user_comments("helper_bot", [own_comment("h1", 2, "t1_q", author="helper_bot")])
    batch = call(with_helper, lambda s: s.replies(None, EPOCH))
    assert [(r.remote_id, r.author, r.parent_id) for r in batch.items] == [
        ("t1_h1", "helper_bot", "t1_q")
    ]
    assert batch.cursor is not None
    assert set(json.loads(batch.cursor)) == {"brandco", "helper_bot"}


def stored_states(
    tmp_path: Path, account: Account, mentions: Sequence[Mention], replies: Sequence[Reply]
) -> dict[str, State]:
    with Store.open(tmp_path / "m.db") as store:
        now = datetime.fromtimestamp(NOW, UTC)
        store.save_poll(account.name, "reddit", mentions, replies, {}, now)
        rows = store.mentions(MentionFilter(states=()), now)
        return {row.remote_id: row.state for row in rows}


# --- auth ------------------------------------------------------------------------------------


def test_login_uses_basic_auth_a_password_grant_and_reddits_user_agent(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    poll_mentions(call, account)
    [login] = reddit.token_requests
    expected = base64.b64encode(f"my-client-id:{CLIENT_SECRET}".encode()).decode()
    assert login.headers["Authorization"] == f"Basic {expected}"
    form = parse_qs(login.get_data(as_text=True))
    assert form == {"grant_type": ["password"], "username": ["brandco"], "password": [PASSWORD]}
    agent = f"python:mentionwatch:{__version__} (by /u/brandco)"
    assert login.headers["User-Agent"] == agent
    assert all(r.headers["Authorization"] == "bearer access-token-1" for r in reddit.requests)
    assert all(r.headers["User-Agent"] == agent for r in reddit.requests)


def test_refresh_token_and_custom_user_agent_are_used_when_configured(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    installed = account._replace(
        secrets={"client_secret": "", "refresh_token": "refresh-abc"},
        options={**account.options, "user_agent": "linux:com.example.watch:v2 (by /u/brandco)"},
    )
    assert call(installed, lambda s: s.whoami()) == "u/brandco"
    [login] = reddit.token_requests
    assert parse_qs(login.get_data(as_text=True)) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["refresh-abc"],
    }
    assert reddit.requests[0].headers["User-Agent"] == "linux:com.example.watch:v2 (by /u/brandco)"


def test_a_wrong_password_is_an_error_naming_the_account_not_the_password(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.grant_error = "invalid_grant"
    with pytest.raises(SourceError) as caught:
        poll_mentions(call, account)
    message = str(caught.value)
    assert "brand-reddit" in message and "invalid_grant" in message and "u/brandco" in message
    assert "password from env REDDIT_PASSWORD" in message
    assert caught.value.endpoint == "/api/v1/access_token"
    assert PASSWORD not in message and CLIENT_SECRET not in message
    assert reddit.requests == []


def test_missing_password_and_refresh_token_is_an_error(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    bare = account._replace(secrets={"client_secret": CLIENT_SECRET})
    with pytest.raises(SourceError, match="'password'.*'refresh_token'"):
        poll_mentions(call, bare)


def test_an_expired_token_is_renewed_once_mid_run(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.listings["/message/mentions"] = [comment(f"m{i}", i) for i in range(4)]
    original = reddit.page

    def expire_after_first_page(things: list[dict[str, Any]], request: Request) -> Response:
        reddit.valid_tokens.discard("access-token-1")
        return original(things, request)

    reddit.page = expire_after_first_page  # type: ignore[method-assign]
    batch = poll_mentions(call, account)
    assert ids(batch.items) == [f"t1_m{i}" for i in range(4)]
    assert len(reddit.token_requests) == 2
    assert reddit.requests[-1].headers["Authorization"] == "bearer access-token-2"


def test_the_access_token_is_redacted_from_errors_and_logs(
    reddit: FakeReddit, account: Account, make_http: Callable[..., Http]
) -> None:
    async def go() -> str:
        async with make_http() as http:
            fetcher = http.for_account(account)
            await RedditSource(account, fetcher).whoami()
            return fetcher.redact("Authorization: bearer access-token-1")

    assert run(go()) == "Authorization: bearer ***"


def test_a_token_refused_after_renewal_is_an_error_without_the_token(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.accept_tokens = False
    with pytest.raises(SourceError, match="token for account brand-reddit was refused") as caught:
        poll_mentions(call, account)
    message = str(caught.value)
    assert "env REDDIT_PASSWORD" in message and "env REDDIT_CLIENT_SECRET" in message
    assert "access-token-1" not in message and "access-token-2" not in message
    assert PASSWORD not in message
    assert reddit.paths() == ["/message/mentions", "/message/mentions"]
    assert len(reddit.token_requests) == 2


# --- rate limits ---------------------------------------------------------------------------


def test_a_spent_quota_waits_for_the_reset_before_the_next_request(
    reddit: FakeReddit, account: Account, call: Call, clock: FakeClock
) -> None:
    reddit.listings["/message/mentions"] = [comment(f"m{i}", i) for i in range(3)]
    reddit.ratelimit = {"remaining": "0.0", "reset": "30", "used": "600"}
    batch = poll_mentions(call, account)
    assert len(batch.items) == 3
    assert clock.sleeps and all(29.5 <= s <= 31 for s in clock.sleeps)


def test_a_429_is_retried_after_the_reset(
    reddit: FakeReddit, account: Account, call: Call, clock: FakeClock
) -> None:
    reddit.listings["/message/mentions"] = [comment("m0", 1)]
    reddit.server.expect_oneshot_request("/message/mentions").respond_with_response(
        Response(
            "Too Many Requests",
            status=429,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5"},
        )
    )
    batch = poll_mentions(call, account)
    assert ids(batch.items) == ["t1_m0"]
    assert clock.sleeps[0] == pytest.approx(5.5)


# --- bad payloads ----------------------------------------------------------------------------


def test_a_listing_without_children_names_the_field(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.server.expect_oneshot_request("/message/mentions").respond_with_json(
        {"kind": "Listing", "data": {"after": None}}
    )
    with pytest.raises(SourceError, match="data.children") as caught:
        poll_mentions(call, account)
    assert caught.value.endpoint == "/message/mentions"


def test_an_item_without_created_utc_names_the_field(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    broken = comment("m0", 1)
    del broken["data"]["created_utc"]
    reddit.listings["/message/mentions"] = [broken]
    with pytest.raises(SourceError, match="created_utc"):
        poll_mentions(call, account)


def test_an_html_page_instead_of_json_is_an_error(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.server.expect_oneshot_request("/message/mentions").respond_with_data(
        "<html>reddit is down</html>", content_type="text/html"
    )
    with pytest.raises(SourceError, match="expected JSON, got an HTML page"):
        poll_mentions(call, account)


def test_whoami_names_the_authenticated_user(
    reddit: FakeReddit, account: Account, call: Call
) -> None:
    reddit.me = {"name": "BrandCo", "id": "abc"}
    assert call(account, lambda s: s.whoami()) == "u/BrandCo"
    assert reddit.paths() == ["/api/v1/me"]


# --- end to end: source → store → state, and `config check --online` -------------------------


def test_a_poll_stores_an_answered_and_an_unanswered_mention_and_a_later_reply_answers_it(
    reddit: FakeReddit, account: Account, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    reddit.listings["/message/mentions"] = [comment("asked", 30), comment("waiting", 40)]
    reddit.user_comments("brandco", [own_comment("ans", 5, parent_id="t1_asked")])

    first, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert first.error is None
    assert (first.new_mentions, first.newly_answered, first.still_open) == (2, 1, 1)
    assert states == {"t1_asked": State.ANSWERED, "t1_waiting": State.OPEN}
    reddit.listings["/user/brandco/comments"].insert(0, own_comment("ans2", 1, "t1_waiting"))
    second, states = poll_through_store(account, make_http(), tmp_path / "mw.db")
    assert (second.new_mentions, second.newly_answered, second.still_open) == (0, 1, 0)
    assert states == {"t1_asked": State.ANSWERED, "t1_waiting": State.ANSWERED}


def test_config_check_online_says_who_the_credential_logs_in_as(
    reddit: FakeReddit, account: Account
) -> None:
    assert check_online(account) == (True, "u/brandco")
    assert len(reddit.token_requests) == 1 and reddit.paths() == ["/api/v1/me"]


def test_config_check_online_names_the_account_and_env_vars_for_a_wrong_password(
    reddit: FakeReddit, account: Account
) -> None:
    reddit.grant_error = "invalid_grant"
    ok, said = check_online(account)
    assert not ok and said.startswith("brand-reddit: /api/v1/access_token: ")
    assert "env REDDIT_PASSWORD" in said and PASSWORD not in said


def test_keyword_expressions_are_sent_in_reddit_syntax_and_hits_checked_against_all_of_them(
    reddit: FakeReddit, account: Account, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    expression = 'ExampleCo (refund OR cancel) -"not now" -author:spammer'
    query = 'ExampleCo (refund OR cancel) NOT "not now" NOT author:spammer'
    reddit.searches[query] = [
        post("p1", 1, selftext="ExampleCo refund please"),
        post("p2", 2, author="spammer", selftext="ExampleCo refund"),
        post("p3", 3, selftext="ExampleCo: cancel? not now"),
        post("p4", 4, selftext="ExampleCo cancellation"),
    ]
    # (the fake serves no comments listing, so the replies half fails; mentions are kept)
    kept = fetched_mentions(
        make_http, account._replace(keywords=(expression,)), replies_may_fail=True
    )
    assert [m.remote_id for m in kept] == ["t3_p1"]
    assert {r.args["q"] for r in reddit.requests if r.path == "/search"} == {query}
