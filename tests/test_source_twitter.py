"""The X / Twitter v2 source against a local fake of the API (pytest-httpserver)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.errors import RateLimitedError, SourceError
from mentionwatch.fetched import Mention
from mentionwatch.http import Http
from mentionwatch.models import Account, Kind, State
from mentionwatch.sources.base import SweepState, split_cursor
from mentionwatch.sources.twitter import SOURCE, TwitterSource
from tests.conftest import FakeClock, run
from tests.fakes import check_online, poll_through_store, with_source

T = TypeVar("T")
TOKEN = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRf"
REPLY_TOKEN = "dXNlci1jb250ZXh0LXRva2VuLXR3ZWV0LndyaXRl"
BRAND_ID = "2244994945"
AUTHORS = {"1001": "alice", "1002": "bob", "1003": "brand_support", BRAND_ID: "Brand"}
NOW = datetime.now(UTC).replace(microsecond=0)
HORIZON = NOW - timedelta(days=3)  # what poll.py passes: its clock minus `backfill`
MENTIONS_PATH = f"/2/users/{BRAND_ID}/mentions"
TIMELINE_PATH = f"/2/users/{BRAND_ID}/tweets"
SEARCH_PATH = "/2/tweets/search/recent"
LOOKUP_PATH = "/2/users/by/username/Brand"


def snowflake(moment: datetime) -> int:
    """A real-looking post id: X ids carry their creation time in the top bits."""
    return (int(moment.timestamp() * 1000) - 1288834974657) << 22


def tweet(
    minutes_ago: float, text: str = "@Brand hello", author: str = "1001", **fields: Any
) -> dict[str, Any]:
    moment = NOW - timedelta(minutes=minutes_ago)
    tweet_id = str(snowflake(moment))
    return {
        "id": tweet_id,
        "text": text,
        "author_id": author,
        "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conversation_id": tweet_id,
        "edit_history_tweet_ids": [tweet_id],
        **fields,
    }


def as_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


class FakeX:
    """Newest-first listings that honour since_id, start_time, max_results and page tokens."""

    def __init__(self) -> None:
        self.mentions: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []
        self.searches: dict[str, list[dict[str, Any]]] = {}
        self.headers: dict[str, str] = {}
        self.canned: list[Response] = []  # served first, one per request
        self.requests: list[tuple[str, dict[str, str]]] = []
        # Posting (POST /2/tweets) takes a user-context token: this one.
        self.reply_token = REPLY_TOKEN
        self.posted: list[dict[str, Any]] = []
        self.post_failures: list[Response] = []
        self.hang_after_post = 0.0

    def handle(self, request: Request) -> Response:
        self.requests.append((request.path, dict(request.args)))
        if request.path in ("/2/tweets", "/2/users/me"):  # user context: the reply_token
            return self.as_user(request)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.canned:
            return self.canned.pop(0)
        path, args = request.path, request.args
        if found := re.fullmatch(r"/2/tweets/(\d+)", path):
            known = next((t for t in self.all_tweets() if t["id"] == found.group(1)), None)
            if known is None:
                return as_json({"errors": [{"title": "Not Found Error", "detail": "Not found"}]})
            user = {"id": known["author_id"], "username": AUTHORS.get(known["author_id"], "")}
            return as_json({"data": known, "includes": {"users": [user]}})
        if path.startswith("/2/users/by/username/"):
            return self.lookup(path.rsplit("/", 1)[1])
        if path == MENTIONS_PATH:
            return self.listing(self.mentions, args, "pagination_token")
        if path == TIMELINE_PATH:
            return self.listing(self.timeline, args, "pagination_token")
        if path == SEARCH_PATH:
            return self.listing(self.searches.get(args["query"], []), args, "next_token")
        return as_json({"title": "Not Found", "status": 404}, 404)

    def all_tweets(self) -> list[dict[str, Any]]:
        return [
            *self.mentions,
            *self.timeline,
            *(t for found in self.searches.values() for t in found),
        ]

    def as_user(self, request: Request) -> Response:
        """POST /2/tweets and GET /2/users/me, which take a user-context token only."""
        auth = request.headers.get("Authorization", "")
        if auth == f"Bearer {TOKEN}":
            detail = ("Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                      "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
                      "OAuth 2.0 User Context].")  # fmt: skip
            return as_json({"title": "Unsupported Authentication", "detail": detail,
                            "type": "https://api.twitter.com/2/problems/unsupported-authentication",
                            "status": 403}, 403)  # fmt: skip
        if auth != f"Bearer {self.reply_token}":
            return as_json({"title": "Unauthorized", "type": "about:blank", "status": 401,
                            "detail": "Unauthorized"}, 401)  # fmt: skip
        if request.path == "/2/users/me":
            return as_json({"data": {"id": BRAND_ID, "name": "Brand Inc", "username": "Brand"}})
        body = json.loads(request.get_data())
        self.posted.append(body)
        if self.post_failures:
            return self.post_failures.pop(0)
        parent = body.get("reply", {}).get("in_reply_to_tweet_id")
        if parent and not any(t["id"] == parent for t in self.all_tweets()):
            return as_json({"title": "Forbidden", "status": 403, "type": "about:blank",
                            "detail": "You attempted to reply to a Tweet that is deleted or not "
                            "visible to you."}, 403)  # fmt: skip
        made = tweet(0, body["text"], BRAND_ID)
        now = datetime.now(UTC)  # posted now, not at the module's NOW
        made["id"] = str(snowflake(now) + len(self.posted))
        made["created_at"] = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if parent:
            made["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
        self.timeline.insert(0, made)  # the account's posts: the next poll sees it
        if self.hang_after_post:
            wait, self.hang_after_post = self.hang_after_post, 0.0
            time.sleep(wait)
        return as_json({"data": {"id": made["id"], "text": made["text"],
                                 "edit_history_tweet_ids": [made["id"]]}}, 201)  # fmt: skip

    def lookup(self, username: str) -> Response:
        if username.lower() != "brand":
            detail = f"Could not find user with username: [{username}]."
            error = {
                "value": username,
                "detail": detail,
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "username",
                "resource_id": username,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            return as_json({"errors": [error]}, headers=self.headers)
        return as_json(
            {"data": {"id": BRAND_ID, "name": "Brand Inc", "username": "Brand"}},
            headers=self.headers,
        )

    def listing(self, tweets: list[dict[str, Any]], args: Any, token_param: str) -> Response:
        chosen = sorted(tweets, key=lambda t: int(t["id"]), reverse=True)
        if "since_id" in args:
            chosen = [t for t in chosen if int(t["id"]) > int(args["since_id"])]
        if "start_time" in args:
            start = datetime.fromisoformat(args["start_time"])
            chosen = [t for t in chosen if datetime.fromisoformat(t["created_at"]) >= start]
        if token := args.get(token_param):
            below = int(token.removeprefix("7140dibdnow9c7btw4"))
            chosen = [t for t in chosen if int(t["id"]) < below]
        size = int(args.get("max_results", 10))
        page, rest = chosen[:size], chosen[size:]
        if not page:
            return as_json({"meta": {"result_count": 0}}, headers=self.headers)
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if rest:
            meta["next_token"] = f"7140dibdnow9c7btw4{page[-1]['id']}"
        users = [
            {"id": i, "name": n.title(), "username": n}
            for i, n in AUTHORS.items()
            if any(t["author_id"] == i for t in page)
        ]
        return as_json(
            {"data": page, "includes": {"users": users}, "meta": meta}, headers=self.headers
        )

    def calls(self, path: str) -> list[dict[str, str]]:
        return [args for p, args in self.requests if p == path]


@pytest.fixture
def fake(httpserver: HTTPServer) -> Iterator[FakeX]:
    x = FakeX()
    httpserver.expect_request(re.compile(r"^/2/.*")).respond_with_handler(x.handle)
    yield x


@pytest.fixture
def account(httpserver: HTTPServer) -> Account:
    return make_account(httpserver)


def make_account(httpserver: HTTPServer, **changes: Any) -> Account:
    options: dict[str, Any] = {
        "name": "x-brand",
        "platform": "twitter",
        "server": httpserver.url_for("").rstrip("/"),
        "handle": "Brand",
        "secrets": {"token": TOKEN},
        "secret_sources": {"token": "env X_BEARER_TOKEN"},
    }
    options.update(changes)
    return Account(**options)


def poll_mentions(
    make_http: Callable[..., Http], account: Account, cursor: str | None
) -> tuple[list[Mention], str | None]:
    batch = with_source(make_http, account, lambda s: s.mentions(cursor, HORIZON))
    return list(batch.items), batch.cursor


# -- paging and cursors ---------------------------------------------------------------------


def test_mentions_page_through_next_tokens_until_the_last_page(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    fake.mentions = [tweet(i) for i in range(1, 151)]
    mentions, _ = poll_mentions(make_http, account, None)
    assert {m.remote_id for m in mentions} == {t["id"] for t in fake.mentions}
    first, second = fake.calls(MENTIONS_PATH)
    assert first["max_results"] == "100" and "pagination_token" not in first
    assert "created_at" in first["tweet.fields"] and first["expansions"] == "author_id"
    assert second["pagination_token"] == "7140dibdnow9c7btw4" + fake.mentions[99]["id"]


def test_next_poll_sends_since_id_and_spends_one_request_when_the_page_is_not_full(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    fake.mentions = [tweet(i) for i in range(10, 15)]
    _, cursor = poll_mentions(make_http, account, None)
    fake.requests.clear()
    fake.mentions += [tweet(2, "@Brand new one"), tweet(1, "@Brand newer")]
    mentions, cursor2 = poll_mentions(make_http, account, cursor)
    assert [m.text for m in mentions] == ["@Brand newer", "@Brand new one"]
    # The user id came from the cursor: no lookup, and no second page without a next_token.
    assert [path for path, _ in fake.requests] == [MENTIONS_PATH]
    assert fake.calls(MENTIONS_PATH)[0]["since_id"] == fake.mentions[0]["id"]
    assert SweepState.decode(split_cursor(cursor2)["mentions"]).floor == int(mentions[0].remote_id)


def test_page_cap_stops_early_and_later_runs_fill_the_gap_without_duplicates(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = make_account(httpserver, max_pages=1)
    fake.mentions = [tweet(300 + i) for i in range(5)]
    seen, cursor = poll_mentions(make_http, account, None)
    fake.mentions += [tweet(10 + i) for i in range(250)]
    for _ in range(3):  # 100 + 100 + 50, one request per run
        fake.requests.clear()
        batch, cursor = poll_mentions(make_http, account, cursor)
        seen += batch
        assert len(fake.requests) == 1
    fake.mentions += [tweet(1), tweet(2)]
    batch, cursor = poll_mentions(make_http, account, cursor)
    seen += batch
    ids = [m.remote_id for m in seen]
    assert len(ids) == len(set(ids)) == 257
    assert set(ids) == {t["id"] for t in fake.mentions}


def test_until_a_listing_has_a_since_id_it_asks_only_for_the_backfill_window(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    fake.mentions = [tweet(5 * 24 * 60, "@Brand last week")]
    mentions, cursor = poll_mentions(make_http, account, None)
    assert mentions == []
    # An empty first poll leaves no since_id; the next run must still not reach past backfill.
    mentions, _ = poll_mentions(make_http, account, cursor)
    assert mentions == []
    starts = [call["start_time"] for call in fake.calls(MENTIONS_PATH)]
    assert starts == [HORIZON.strftime("%Y-%m-%dT%H:%M:%SZ")] * 2


def test_a_changed_handle_looks_the_user_up_again(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    cursor = json.dumps({"user_id": "99", "handle": "OldName"})
    _, new_cursor = poll_mentions(make_http, account, cursor)
    assert fake.calls(LOOKUP_PATH) and fake.calls(MENTIONS_PATH)
    assert split_cursor(new_cursor)["user_id"] == BRAND_ID


# -- what becomes a mention -----------------------------------------------------------------


def test_keyword_hits_exclude_own_posts_dedupe_with_mentions_and_keep_their_own_cursor(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = make_account(httpserver, keywords=("ExampleCo", "example co"))
    both = tweet(3, "@Brand ExampleCo is great")
    only_keyword = tweet(4, "ExampleCo again", author="1002")
    fake.mentions = [both]
    fake.searches["ExampleCo -from:Brand -is:retweet"] = [both, only_keyword]
    fake.searches["(example co) -from:Brand -is:retweet"] = [
        tweet(6, "love example co", author="1002")
    ]
    mentions, cursor = poll_mentions(make_http, account, None)
    kinds = {m.text: m.kind for m in mentions}
    assert kinds == {
        "@Brand ExampleCo is great": Kind.MENTION,
        "ExampleCo again": Kind.KEYWORD,
        "love example co": Kind.KEYWORD,
    }
    assert len(mentions) == 3  # the post that is both is stored once
    fake.requests.clear()
    newer = tweet(1, "ExampleCo rocks", author="1002")
    fake.searches["ExampleCo -from:Brand -is:retweet"].append(newer)
    mentions, _ = poll_mentions(make_http, account, cursor)
    assert [m.remote_id for m in mentions] == [newer["id"]]
    since_ids = {c["query"]: c["since_id"] for c in fake.calls(SEARCH_PATH)}
    assert since_ids["ExampleCo -from:Brand -is:retweet"] == both["id"]
    assert (
        since_ids["(example co) -from:Brand -is:retweet"]
        == fake.searches["(example co) -from:Brand -is:retweet"][0]["id"]
    )


def test_a_keyword_added_later_looks_back_only_the_backfill(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = make_account(httpserver, keywords=("ExampleCo",))
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand", "mentions": "{}"})
    recent, old = tweet(60, "ExampleCo today"), tweet(5 * 24 * 60, "ExampleCo last week")
    fake.searches["ExampleCo -from:Brand -is:retweet"] = [recent, old]
    mentions, _ = poll_mentions(make_http, account, cursor)
    assert [m.remote_id for m in mentions] == [recent["id"]]


def test_search_drops_a_since_id_older_than_its_seven_day_window(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = make_account(httpserver, keywords=("ExampleCo",))
    old_floor = SweepState(floor=snowflake(NOW - timedelta(days=8))).encode()
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand", "keyword:ExampleCo": old_floor})
    fake.searches["ExampleCo -from:Brand -is:retweet"] = [tweet(60, "ExampleCo!", author="1002")]
    mentions, _ = poll_mentions(make_http, account, cursor)
    assert [m.text for m in mentions] == ["ExampleCo!"]
    assert "since_id" not in fake.calls(SEARCH_PATH)[0]


def test_own_posts_and_retweets_are_not_mentions(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    keep = tweet(1)
    retweet = tweet(
        2, "RT @alice: @Brand hello", referenced_tweets=[{"type": "retweeted", "id": keep["id"]}]
    )
    fake.mentions = [keep, retweet, tweet(3, "@Brand note to self", author=BRAND_ID)]
    mentions, _ = poll_mentions(make_http, account, None)
    assert [m.remote_id for m in mentions] == [keep["id"]]


def test_text_is_unescaped_with_links_expanded_and_the_url_points_at_the_post(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    link = {
        "start": 30,
        "end": 53,
        "url": "https://t.co/W5GxALkkZd",
        "expanded_url": "https://example.com/a?x=1&y=2",
        "display_url": "example.com/a?x=1&y=2",
    }
    fake.mentions = [
        tweet(1, "@Brand Q&amp;A &lt;3 &gt; all https://t.co/W5GxALkkZd", entities={"urls": [link]})
    ]
    (mention,) = poll_mentions(make_http, account, None)[0]
    assert mention.text == "@Brand Q&A <3 > all https://example.com/a?x=1&y=2"
    assert mention.url == f"https://x.com/alice/status/{mention.remote_id}"
    assert mention.author == "alice"
    assert mention.created_at == NOW - timedelta(minutes=1)


def test_answered_and_unanswered_mentions_link_through_the_replied_to_id(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    ours = tweet(60, "Launch day!", author=BRAND_ID)
    question = tweet(30, "@Brand does it work offline?")
    complaint = tweet(
        20,
        "@Brand it broke",
        author="1002",
        in_reply_to_user_id=BRAND_ID,
        referenced_tweets=[{"type": "replied_to", "id": ours["id"]}],
    )
    fake.mentions = [question, complaint]
    answer = tweet(
        10,
        "@alice yes it does",
        author=BRAND_ID,
        in_reply_to_user_id="1001",
        referenced_tweets=[{"type": "replied_to", "id": question["id"]}],
    )
    quote = tweet(
        5,
        "Look at this",
        author=BRAND_ID,
        referenced_tweets=[{"type": "quoted", "id": complaint["id"]}],
    )
    fake.timeline = [ours, answer, quote]

    async def both(source: TwitterSource) -> Any:
        return await source.mentions(None, HORIZON), await source.replies(None, HORIZON)

    mentions, replies = with_source(make_http, account, both)
    kinds = {m.remote_id: m.kind for m in mentions.items}
    assert kinds == {question["id"]: Kind.MENTION, complaint["id"]: Kind.REPLY}
    (reply,) = replies.items
    assert reply.parent_id == question["id"]  # answered
    assert complaint["id"] not in {r.parent_id for r in replies.items}  # still open
    assert reply.url == f"https://x.com/Brand/status/{answer['id']}"
    assert len(fake.calls(LOOKUP_PATH)) == 1  # replies() reused the id looked up for mentions()
    assert fake.calls(TIMELINE_PATH)[0]["exclude"] == "retweets"
    assert split_cursor(replies.cursor)["user_id"] == BRAND_ID


def test_a_responders_reply_answers_too_through_one_search(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = make_account(httpserver, responders=("brand_support", "@brand_help"))
    question = tweet(30, "@Brand is it down?")
    answer = tweet(
        10,
        "@alice back up now",
        author="1003",
        referenced_tweets=[{"type": "replied_to", "id": question["id"]}],
    )
    fake.searches["(from:brand_support OR from:brand_help) is:reply"] = [answer]
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand"})
    batch = with_source(make_http, account, lambda s: s.replies(cursor, HORIZON))
    (reply,) = batch.items
    assert (reply.author, reply.parent_id) == ("brand_support", question["id"])
    assert reply.url == f"https://x.com/brand_support/status/{answer['id']}"
    assert "responders" in split_cursor(batch.cursor)


def test_whoami_names_the_account_and_its_id(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    assert with_source(make_http, account, lambda s: s.whoami()) == f"@Brand ({BRAND_ID})"


# -- quotas ---------------------------------------------------------------------------------


def test_spent_quota_with_a_distant_reset_fails_fast_naming_the_reset_time(
    fake: FakeX, account: Account, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    fake.headers = {
        "x-rate-limit-limit": "3",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(clock.now) + 900),
    }
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand"})

    async def twice() -> None:
        async with make_http() as http:
            source = SOURCE(account, http.for_account(account))
            await source.mentions(cursor, HORIZON)  # spends the endpoint's last request
            await source.mentions(cursor, HORIZON)

    with pytest.raises(RateLimitedError) as caught:
        run(twice())
    reset = datetime.fromtimestamp(clock.now + 900, UTC).strftime("%H:%M UTC")
    assert f"rate limited until {reset}" in str(caught.value)
    assert len(fake.calls(MENTIONS_PATH)) == 1  # no request was spent knowing it would fail
    assert clock.sleeps == []


def test_quota_spent_mid_sweep_keeps_the_fetched_page_and_resumes_next_run(
    fake: FakeX, account: Account, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    cursor: str | None = json.dumps({"user_id": BRAND_ID, "handle": "Brand"})
    fake.mentions = [tweet(i) for i in range(1, 151)]
    fake.headers = {
        "x-rate-limit-limit": "10",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(clock.now) + 900),
    }
    first, cursor = poll_mentions(make_http, account, cursor)
    assert len(first) == 100 and len(fake.calls(MENTIONS_PATH)) == 1
    clock.now += 901
    fake.headers = {
        "x-rate-limit-limit": "10",
        "x-rate-limit-remaining": "9",
        "x-rate-limit-reset": str(int(clock.now) + 900),
    }
    rest, _ = poll_mentions(make_http, account, cursor)
    assert "pagination_token" in fake.calls(MENTIONS_PATH)[1]
    assert {m.remote_id for m in first + rest} == {t["id"] for t in fake.mentions}


def test_spent_quota_with_a_near_reset_waits_for_it(
    fake: FakeX, account: Account, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    fake.mentions = [tweet(i) for i in range(1, 151)]
    fake.headers = {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(clock.now) + 30),
    }
    mentions, _ = poll_mentions(
        make_http, account, json.dumps({"user_id": BRAND_ID, "handle": "Brand"})
    )
    assert len(mentions) == 150
    assert clock.sleeps and clock.sleeps[0] == pytest.approx(30.5)


def test_429_is_retried_once_the_reset_header_says_so(
    fake: FakeX, account: Account, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    fake.mentions = [tweet(1)]
    limited = {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(clock.now) + 20),
    }
    body = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    fake.canned = [as_json(body, 429, limited)]
    assert len(with_source(make_http, account, lambda s: s.whoami())) > 0
    assert clock.sleeps == [pytest.approx(20.5)]
    assert len(fake.calls(LOOKUP_PATH)) == 2


# -- errors ---------------------------------------------------------------------------------


def test_expired_token_is_a_source_error_that_never_shows_the_token(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    problem = {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    fake.canned = [as_json(problem, 401)]
    with pytest.raises(SourceError) as caught:
        poll_mentions(make_http, account, None)
    message = str(caught.value)
    assert "x-brand" in message and "refused" in message and "/2/users/by/username" in message
    assert "env X_BEARER_TOKEN" in message
    assert TOKEN not in message and TOKEN[:20] not in message


def test_a_tier_without_the_endpoint_says_so(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    forbidden = {
        "client_id": "27187711",
        "detail": (
            "When authenticating requests to the Twitter API v2 endpoints, you must use keys"
            " and tokens from a Twitter developer App that is attached to a Project."
        ),
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "title": "Client Forbidden",
        "required_enrollment": "Appropriate Level of API Access",
        "reason": "client-not-enrolled",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
    }
    fake.canned = [as_json(forbidden, 403)]
    with pytest.raises(SourceError, match="access tier does not include"):
        with_source(make_http, account, lambda s: s.whoami())


def test_an_invalid_keyword_query_reports_the_api_message(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    # Our parser accepts the expression (config load refuses one it cannot parse); X still may not.
    account = make_account(httpserver, keywords=("ExampleCo",))
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand", "mentions": "{}"})
    invalid = {
        "errors": [
            {
                "parameters": {"query": ["ExampleCo -from:Brand -is:retweet"]},
                "message": (
                    "There were errors processing your request:"
                    " Missing closing parenthesis (at position 1)"
                ),
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    fake.canned = [as_json({"meta": {"result_count": 0}}), as_json(invalid, 400)]
    with pytest.raises(
        SourceError,
        match=r"/2/tweets/search/recent: HTTP 400: Invalid Request: .*Missing closing parenthesis",
    ):
        poll_mentions(make_http, account, cursor)


def test_an_unknown_handle_reports_the_api_detail(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    account = make_account(httpserver, handle="nobody_here")
    with pytest.raises(
        SourceError, match=r"Not Found Error: Could not find user with username: \[nobody_here\]"
    ):
        poll_mentions(make_http, account, None)


def test_an_errors_only_listing_is_a_source_error_not_an_empty_page(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    error = {
        "value": BRAND_ID,
        "detail": f"User has been suspended: [{BRAND_ID}].",
        "title": "Forbidden",
        "resource_type": "user",
        "parameter": "id",
        "resource_id": BRAND_ID,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
    fake.canned = [as_json({"errors": [error]})]
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand"})
    with pytest.raises(
        SourceError, match=r"/2/users/:id/mentions: Forbidden: User has been suspended"
    ):
        poll_mentions(make_http, account, cursor)


def test_partial_errors_next_to_data_keep_the_posts(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    post = tweet(1, author="777")
    error = {
        "value": "777",
        "detail": "Could not find user with author_id: [777].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": "author_id",
        "resource_id": "777",
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
    fake.canned = [
        as_json(
            {
                "data": [post],
                "errors": [error],
                "meta": {"result_count": 1, "newest_id": post["id"], "oldest_id": post["id"]},
            }
        )
    ]
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand"})
    (mention,), _ = poll_mentions(make_http, account, cursor)
    assert mention.author == "777"
    assert mention.url == f"https://x.com/i/web/status/{post['id']}"


def test_a_post_without_created_at_is_a_source_error_naming_the_field(
    fake: FakeX, account: Account, make_http: Callable[..., Http]
) -> None:
    post = tweet(1)
    del post["created_at"]
    fake.canned = [as_json({"data": [post], "meta": {"result_count": 1}})]
    cursor = json.dumps({"user_id": BRAND_ID, "handle": "Brand"})
    with pytest.raises(SourceError, match=r"no field 'data\.0\.created_at'"):
        poll_mentions(make_http, account, cursor)


# -- end to end: source → store → state, requests per run, `config check --online` ----------


def test_a_run_spends_three_requests_then_two_and_stores_answered_and_open_mentions(
    fake: FakeX, account: Account, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    question, complaint = tweet(30, "@Brand does it work offline?"), tweet(20, "@Brand broken")
    fake.mentions = [question, complaint]
    answer = tweet(10, "@alice yes", author=BRAND_ID,
                   referenced_tweets=[{"type": "replied_to", "id": question["id"]}])  # fmt: skip
    fake.timeline = [answer]

    first, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert first.error is None
    assert states == {question["id"]: State.ANSWERED, complaint["id"]: State.OPEN}
    # The id lookup, one mentions page, one own-posts page: nothing more.
    assert [path for path, _ in fake.requests] == [LOOKUP_PATH, MENTIONS_PATH, TIMELINE_PATH]
    fake.requests.clear()
    replied = [{"type": "replied_to", "id": complaint["id"]}]
    fake.timeline.insert(0, tweet(1, "@bob fixed", author=BRAND_ID, referenced_tweets=replied))

    second, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert (second.new_mentions, second.newly_answered, second.still_open) == (0, 1, 0)
    assert set(states.values()) == {State.ANSWERED}
    # The stored user id spares the lookup; since_id makes each listing one request.
    assert [path for path, _ in fake.requests] == [MENTIONS_PATH, TIMELINE_PATH]
    assert all("since_id" in args for _, args in fake.requests)


def test_an_exhausted_quota_fails_the_run_saying_until_when_without_another_request(
    fake: FakeX, account: Account, make_http: Callable[..., Http], clock: FakeClock, tmp_path: Path
) -> None:
    fake.mentions = [tweet(5)]
    poll_through_store(account, make_http(), tmp_path / "mw.db")
    fake.requests.clear()
    reset = int(clock.now) + 600
    spent = {"x-rate-limit-limit": "10", "x-rate-limit-remaining": "0",
             "x-rate-limit-reset": str(reset)}  # fmt: skip
    fake.canned = [as_json({"title": "Too Many Requests", "status": 429}, 429, spent)]

    result, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    until = datetime.fromtimestamp(reset, UTC).strftime("%H:%M UTC")
    assert result.error == f"x-brand: /2/users/:id/mentions: rate limited until {until}"
    assert len(fake.requests) == 1 and clock.sleeps == []  # no request spent knowing it fails
    assert states == {fake.mentions[0]["id"]: State.OPEN}


def test_config_check_online_looks_the_handle_up_with_one_request(
    fake: FakeX, account: Account
) -> None:
    assert check_online(account) == (True, f"@Brand ({BRAND_ID})")
    assert [path for path, _ in fake.requests] == [LOOKUP_PATH]


def test_config_check_online_with_a_revoked_token_names_the_env_var(
    fake: FakeX, account: Account
) -> None:
    fake.canned = [as_json({"title": "Unauthorized", "status": 401, "type": "about:blank"}, 401)]
    ok, said = check_online(account)
    assert not ok and said.startswith("x-brand: /2/users/by/username/:username: ")
    assert "env X_BEARER_TOKEN" in said and TOKEN not in said


# -- keyword expressions --------------------------------------------------------------------


def test_keyword_expressions_are_sent_as_x_operators_and_hits_checked_against_all_of_them(
    fake: FakeX, httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    account = make_account(
        httpserver,
        keywords=('ExampleCo (refund OR cancel) -"not now"', "#launch lang:de -author:spammer"),
    )
    first = '(ExampleCo (refund OR cancel) -"not now") -from:Brand -is:retweet'
    second = "(#launch lang:de -from:spammer) -from:Brand -is:retweet"
    # The fake returns what it is given whatever the operators say: a looser search.
    fake.searches[first] = [
        tweet(3, "ExampleCo refund please", author="1002"),
        tweet(4, "ExampleCo: refund? Not now.", author="1002"),
        tweet(5, "ExampleCo refunds", author="1002"),
    ]
    fake.searches[second] = [
        tweet(6, "#launch heute", author="1002", lang="de"),
        tweet(7, "#launch today", author="1002", lang="en"),
        tweet(8, "launch heute", author="1002", lang="de"),
    ]
    kept = fetched_mentions(make_http, account)
    assert sorted(m.text for m in kept) == ["#launch heute", "ExampleCo refund please"]
    assert {c["query"] for c in fake.calls(SEARCH_PATH)} == {first, second}
    assert "lang" in fake.calls(SEARCH_PATH)[0]["tweet.fields"].split(",")
