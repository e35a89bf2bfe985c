"""The Hacker News source against a fake Algolia HN Search API on 127.0.0.1.

The fake implements the documented parts of `search_by_date` (query, tags with AND/OR
groups, numericFilters on created_at_i, hitsPerPage, page/nbPages) and `items/{id}` over an
in-memory list of items, so paging and cursor behaviour are exercised against real
filtering rather than canned pages.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.config import load
from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch
from mentionwatch.http import Http
from mentionwatch.models import Account, Kind, State
from mentionwatch.sources.base import Fetcher, split_cursor
from mentionwatch.sources.hackernews import OVERLAP, SOURCE, HackerNewsSource
from mentionwatch.sources.registry import PLATFORMS
from mentionwatch.store import MentionFilter, Store
from mentionwatch.timeutil import utcnow
from tests.conftest import FakeClock, run
from tests.fakes import check_online, poll_through_store, with_source

NOW = int(time.time())
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Inside the default 3-day backfill, so it is the horizon a first poll really uses.
HORIZON = datetime.fromtimestamp(NOW - 2 * 86400, UTC)


def comment(
    object_id: int,
    age: int,
    text: str,
    *,
    author: str = "someone",
    parent: int = 1000,
    story: int = 1000,
    story_title: str = "Show HN: ExampleCo",
) -> dict[str, Any]:
    created = NOW - age
    return {
        "created_at": datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "title": None,
        "url": None,
        "author": author,
        "points": None,
        "story_text": None,
        "comment_text": text,
        "num_comments": None,
        "story_id": story,
        "story_title": story_title,
        "story_url": "https://example.com/",
        "parent_id": parent,
        "created_at_i": created,
        "_tags": ["comment", f"author_{author}", f"story_{story}"],
        "objectID": str(object_id),
        "_highlightResult": {"author": {"value": author, "matchLevel": "none"}},
    }


def story(
    object_id: int,
    age: int,
    title: str,
    *,
    author: str = "someone",
    text: str | None = None,
    num_comments: int = 0,
) -> dict[str, Any]:
    created = NOW - age
    return {
        "created_at": datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "title": title,
        "url": None if text else "https://example.com/post",
        "author": author,
        "points": 3,
        "story_text": text,
        "comment_text": None,
        "num_comments": num_comments,
        "story_id": None,
        "story_title": None,
        "story_url": None,
        "parent_id": None,
        "created_at_i": created,
        "_tags": ["story", f"author_{author}", f"story_{object_id}"],
        "objectID": str(object_id),
    }


class FakeAlgolia:
    """Enough of hn.algolia.com/api/v1 to page, filter and read item trees."""

    def __init__(self, server: HTTPServer) -> None:
        self.items: list[dict[str, Any]] = []
        self.searches: list[dict[str, str]] = []
        server.expect_request("/api/v1/search_by_date").respond_with_handler(self.search)
        items = re.compile(r"^/api/v1/items/(\d+)$")
        server.expect_request(items).respond_with_handler(self.item)
        self.users = {"alice", "dana"}
        server.expect_request(re.compile(r"^/api/v1/users/")).respond_with_handler(self.user)

    def add(self, *items: dict[str, Any]) -> None:
        self.items.extend(items)

    def search(self, request: Request) -> Response:
        args = {k: v[0] for k, v in parse_qs(request.query_string.decode()).items()}
        self.searches.append(args)
        hits = [h for h in self.items if _matches(h, args)]
        hits.sort(key=lambda h: h["created_at_i"], reverse=True)
        per_page = int(args.get("hitsPerPage", "20"))
        page = int(args.get("page", "0"))
        body = {
            "hits": hits[page * per_page : (page + 1) * per_page],
            "nbHits": len(hits),
            "page": page,
            "nbPages": math.ceil(len(hits) / per_page),
            "hitsPerPage": per_page,
            "processingTimeMS": 1,
            "query": args.get("query", ""),
            "params": request.query_string.decode(),
        }
        return Response(json.dumps(body), content_type="application/json")

    def user(self, request: Request) -> Response:
        name = request.path.rsplit("/", 1)[1]
        if name not in self.users:
            return Response(json.dumps({"status": 404, "error": "Not Found"}), 404)
        body = {"id": 1, "username": name, "karma": 42, "objectID": name}
        return Response(json.dumps(body), content_type="application/json")

    def by_author(self, author: str) -> list[dict[str, str]]:
        """The comment searches for one author, in the order they were made."""
        return [a for a in self.searches if a.get("tags") == f"comment,author_{author}"]

    def item(self, request: Request) -> Response:
        item_id = int(request.path.rsplit("/", 1)[1])
        return Response(json.dumps(self._tree(item_id)), content_type="application/json")

    def _tree(self, item_id: int) -> dict[str, Any]:
        hit = next(h for h in self.items if h["objectID"] == str(item_id))
        children = [h for h in self.items if h["parent_id"] == item_id]
        return {
            "id": item_id,
            "created_at": hit["created_at"],
            "created_at_i": hit["created_at_i"],
            "type": hit["_tags"][0],
            "author": hit["author"],
            "title": hit["title"],
            "text": hit["comment_text"] or hit["story_text"],
            "parent_id": hit["parent_id"],
            "story_id": hit["story_id"],
            "children": [self._tree(int(c["objectID"])) for c in children],
        }


def _matches(hit: dict[str, Any], args: dict[str, str]) -> bool:
    query = args.get("query", "").lower()
    words = " ".join(str(hit[k] or "") for k in ("title", "story_text", "comment_text"))
    if query and query not in words.lower():
        return False
    # Tags: comma means AND, a parenthesised group means OR.
    for group in re.findall(r"\([^)]*\)|[^,()]+", args.get("tags", "")):
        if not set(group.strip("()").split(",")) & set(hit["_tags"]):
            return False
    for term in filter(None, args.get("numericFilters", "").split(",")):
        field, op, value = re.fullmatch(r"(\w+)(<=|>=|<|>|=)(-?\d+)", term).groups()  # type: ignore[union-attr]
        have, want = hit[field], int(value)
        ok = {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}
        if not ok.get(op, have == want):
            return False
    return True


@pytest.fixture
def algolia(httpserver: HTTPServer) -> FakeAlgolia:
    return FakeAlgolia(httpserver)


def account_for(server: HTTPServer, **kwargs: Any) -> Account:
    options: dict[str, Any] = {
        "name": "hn",
        "platform": "hackernews",
        "server": server.url_for("").rstrip("/"),
        "keywords": ("ExampleCo",),
    }
    options.update(kwargs)
    return Account(**options)


Call = Callable[[Account, str, str | None, datetime], Batch[Any]]


@pytest.fixture
def call(make_http: Callable[..., Http]) -> Call:
    def go(account: Account, method: str, cursor: str | None, since: datetime) -> Batch[Any]:
        result: Batch[Any] = with_source(
            make_http, account, lambda source: getattr(source, method)(cursor, since)
        )
        return result

    return go


def by_id(batch: Batch[Any]) -> dict[str, Any]:
    return {item.remote_id: item for item in batch.items}


def test_platform_registry_loads_this_source() -> None:
    assert PLATFORMS["hackernews"].load() is HackerNewsSource
    assert SOURCE.platform == "hackernews"


def test_keyword_hits_in_comments_and_stories_become_keyword_mentions(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(
        comment(11, 60, 'I&#x27;d try <i>ExampleCo</i>.<p>See <a href="https://ex.co/a">docs</a>'),
        story(12, 120, "ExampleCo raises a seed round"),
        story(13, 180, "Ask HN: ExampleCo &amp; you?", text="<p>Anyone using it?</p>"),
        comment(14, 200, "nothing relevant here"),
    )
    batch = call(account_for(httpserver), "mentions", None, HORIZON)
    found = by_id(batch)
    assert set(found) == {"11", "12", "13"}
    hit = found["11"]
    assert hit.kind is Kind.KEYWORD
    assert hit.text == "I'd try ExampleCo.\nSee docs (https://ex.co/a)"
    assert hit.url == "https://news.ycombinator.com/item?id=11"
    assert hit.author == "someone"
    assert hit.title == "Show HN: ExampleCo"
    assert hit.created_at == datetime.fromtimestamp(NOW - 60, UTC)
    assert "_highlightResult" not in hit.raw
    assert found["12"].text == "ExampleCo raises a seed round"
    assert found["13"].text == "Anyone using it?"
    assert found["13"].title == "Ask HN: ExampleCo & you?"
    search = algolia.searches[0]
    assert search["query"] == "ExampleCo"
    assert search["tags"] == "(story,comment)"
    assert search["numericFilters"] == f"created_at_i>{int(HORIZON.timestamp())}"


def test_handle_is_watched_as_a_mention_and_own_posts_are_skipped(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(
        comment(21, 60, "ping alice about ExampleCo", author="bob"),
        comment(22, 90, "alice here, ExampleCo founder", author="alice"),
        comment(23, 100, "thanks alice!", author="carol"),
    )
    batch = call(account_for(httpserver, handle="alice"), "mentions", None, HORIZON)
    found = by_id(batch)
    assert set(found) == {"21", "23"}
    # Found by both the handle and the keyword: stored once, as the more specific kind.
    assert found["21"].kind is Kind.MENTION
    assert found["23"].kind is Kind.MENTION
    assert set(split_cursor(batch.cursor)) == {"query:alice", "query:exampleco"}


def test_paging_slices_on_created_at_past_one_page(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(*(comment(1000 + n, 10 + n * 7, f"ExampleCo #{n}") for n in range(250)))
    batch = call(account_for(httpserver), "mentions", None, HORIZON)
    assert len(batch.items) == 250
    assert len(algolia.searches) == 3
    # Slicing by time, not by page number: page numbers shift while new items arrive.
    assert all("page" not in s for s in algolia.searches)
    oldest_first_page = NOW - (10 + 99 * 7)
    assert algolia.searches[1]["numericFilters"].endswith(f"created_at_i<={oldest_first_page}")


def test_items_sharing_the_page_boundary_second_are_not_lost(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(*(comment(2000 + n, 100 + n, f"ExampleCo {n}") for n in range(95)))
    # Ten items in one second straddle the first page's end.
    algolia.add(*(comment(3000 + n, 500, f"ExampleCo same second {n}") for n in range(10)))
    algolia.add(*(comment(4000 + n, 600 + n, f"ExampleCo older {n}") for n in range(20)))
    batch = call(account_for(httpserver), "mentions", None, HORIZON)
    assert len(batch.items) == 125
    assert len(by_id(batch)) == 125


def test_second_poll_fetches_only_items_newer_than_the_cursor(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    account = account_for(httpserver)
    algolia.add(comment(31, 3600, "ExampleCo first"), comment(32, 1800, "ExampleCo second"))
    first = call(account, "mentions", None, HORIZON)
    assert set(by_id(first)) == {"31", "32"}
    algolia.add(comment(33, 30, "ExampleCo third"))
    second = call(account, "mentions", first.cursor, EPOCH)
    # The floor second and a few minutes below it are read again (Algolia's index lag and
    # same-second items); the store drops what it already has. Nothing older is asked for.
    assert set(by_id(second)) == {"32", "33"}
    floor = NOW - 1800
    assert algolia.searches[-1]["numericFilters"] == f"created_at_i>{floor - OVERLAP}"
    third = call(account, "mentions", second.cursor, EPOCH)
    assert set(by_id(third)) == {"33"}
    assert json.loads(split_cursor(third.cursor)["query:exampleco"])["floor"] == NOW - 30


def test_page_cap_then_resume_fills_the_gap_without_losing_items(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    account = account_for(httpserver, max_pages=1)
    algolia.add(*(comment(5000 + n, 1000 + n * 60, f"ExampleCo {n}") for n in range(230)))
    seen: set[str] = set()
    first = call(account, "mentions", None, HORIZON)
    seen |= set(by_id(first))
    assert len(first.items) == 100
    # New items arrive while the backlog is still being read.
    algolia.add(*(comment(6000 + n, 10 + n, f"ExampleCo new {n}") for n in range(5)))
    cursor = first.cursor
    for _ in range(4):
        batch = call(account, "mentions", cursor, EPOCH)
        seen |= set(by_id(batch))
        cursor = batch.cursor
    assert seen == {h["objectID"] for h in algolia.items}
    assert json.loads(split_cursor(cursor)["query:exampleco"]) == {"floor": NOW - 10}


def test_first_poll_ignores_items_older_than_the_backfill_horizon(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(comment(41, 60, "ExampleCo new"), comment(42, 5 * 86400, "ExampleCo old"))
    batch = call(account_for(httpserver), "mentions", None, HORIZON)
    assert set(by_id(batch)) == {"41"}


def test_a_newly_added_keyword_backfills_only_the_backfill_window(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(comment(51, 60, "Widgetly is new"), comment(52, 30 * 86400, "Widgetly old"))
    old_cursor = json.dumps({"query:exampleco": json.dumps({"floor": NOW - 100})})
    account = account_for(httpserver, keywords=("ExampleCo", "Widgetly"))
    batch = call(account, "mentions", old_cursor, HORIZON)
    assert set(by_id(batch)) == {"51"}


def test_replies_to_own_story_and_comment_are_reply_mentions(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(
        story(100, 7200, "Show HN: my tool", author="alice", num_comments=3),
        comment(101, 7000, "Looks great, how does it scale?", author="bob", parent=100, story=100),
        comment(102, 6900, "It shards.", author="alice", parent=101, story=100),
        comment(103, 6800, "Which shard key?", author="bob", parent=102, story=100),
        {**comment(104, 6700, "", author="dan", parent=100, story=100), "author": None},
        story(200, 3600, "Quiet launch", author="alice", num_comments=0),
    )
    batch = call(account_for(httpserver, handle="alice", keywords=()), "mentions", None, HORIZON)
    found = by_id(batch)
    # 101 replies to the story, 103 to alice's comment; 102 is hers, 104 deleted.
    assert set(found) == {"101", "103"}
    assert found["101"].kind is Kind.REPLY
    assert found["101"].title == "Show HN: my tool"
    assert found["103"].text == "Which shard key?"
    assert found["103"].url == "https://news.ycombinator.com/item?id=103"
    own = next(s for s in algolia.searches if s["tags"].startswith("author_"))
    assert own["tags"] == "author_alice,(story,comment)"
    # A story without comments needs no item request.
    assert not any(r.path == "/api/v1/items/200" for r, _ in httpserver.log)


def test_own_comment_answers_the_mention_it_replies_to(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call, tmp_path: Path
) -> None:
    algolia.add(
        comment(61, 600, "Does ExampleCo support SSO?", author="bob", story=900),
        comment(62, 500, "Yes, since 2.0.", author="alice", parent=61, story=900),
        comment(63, 400, "ExampleCo pricing is unclear", author="carol", story=900),
    )
    account = account_for(httpserver, handle="alice")
    mentions = call(account, "mentions", None, HORIZON)
    replies = call(account, "replies", None, HORIZON)
    assert [(r.remote_id, r.parent_id) for r in replies.items] == [("62", "61")]
    assert replies.items[0].url == "https://news.ycombinator.com/item?id=62"
    with Store.open(tmp_path / "mw.db") as store:
        store.save_poll("hn", "hackernews", mentions.items, replies.items, {}, datetime.now(UTC))
        states = {
            m.remote_id: m.state
            for m in store.mentions(MentionFilter(states=()), datetime.now(UTC))
        }
    assert states == {"61": State.ANSWERED, "63": State.OPEN}


def test_replies_cursor_resumes_after_the_newest_own_comment(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    account = account_for(httpserver, handle="alice")
    algolia.add(comment(71, 900, "first answer", author="alice", parent=70))
    first = call(account, "replies", None, HORIZON)
    assert [r.remote_id for r in first.items] == ["71"]
    assert algolia.searches[-1]["tags"] == "comment,author_alice"
    algolia.add(comment(72, 20, "second answer", author="alice", parent=69))
    second = call(account, "replies", first.cursor, EPOCH)
    assert {r.parent_id for r in second.items} == {"69", "70"}  # 70: the re-read floor second
    floor = NOW - 900
    assert algolia.searches[-1]["numericFilters"] == f"created_at_i>{floor - OVERLAP}"
    third = call(account, "replies", second.cursor, EPOCH)
    assert [r.parent_id for r in third.items] == ["69"]


def test_without_a_handle_there_are_no_own_replies_to_fetch(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    batch = call(account_for(httpserver), "replies", None, HORIZON)
    assert list(batch.items) == [] and batch.cursor is None
    assert algolia.searches == []


def test_rate_limited_request_is_retried_after_the_wait(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call, clock: FakeClock
) -> None:
    httpserver.expect_oneshot_request("/api/v1/search_by_date").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "7"}
    )
    algolia.add(comment(81, 60, "ExampleCo after the wait"))
    batch = call(account_for(httpserver), "mentions", None, HORIZON)
    assert set(by_id(batch)) == {"81"}
    assert clock.sleeps == [7.5]


def test_refused_request_is_a_source_error_naming_account_and_endpoint(
    httpserver: HTTPServer, call: Call
) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data("blocked", status=403)
    with pytest.raises(SourceError) as caught:
        call(account_for(httpserver), "mentions", None, HORIZON)
    assert caught.value.account == "hn"
    assert "search_by_date" in caught.value.endpoint and "ExampleCo" in caught.value.endpoint


def test_hit_without_created_at_i_is_a_source_error_naming_the_field(
    httpserver: HTTPServer, call: Call
) -> None:
    hit = comment(91, 60, "ExampleCo")
    del hit["created_at_i"]
    httpserver.expect_request("/api/v1/search_by_date").respond_with_json(
        {"hits": [hit], "nbPages": 1, "page": 0, "hitsPerPage": 100}
    )
    with pytest.raises(SourceError, match=r"hits\.0\.created_at_i"):
        call(account_for(httpserver), "mentions", None, HORIZON)


def test_payload_without_hits_is_a_source_error(httpserver: HTTPServer, call: Call) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_json({"message": "?"})
    with pytest.raises(SourceError, match="'hits'"):
        call(account_for(httpserver), "mentions", None, HORIZON)


def test_html_error_page_is_a_source_error(httpserver: HTTPServer, call: Call) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        "<html>maintenance</html>", content_type="text/html"
    )
    with pytest.raises(SourceError, match="HTML page"):
        call(account_for(httpserver), "mentions", None, HORIZON)


def test_whoami_names_the_user_or_says_there_is_none(
    httpserver: HTTPServer, algolia: FakeAlgolia, make_http: Callable[..., Http]
) -> None:
    async def whoami(account: Account) -> str:
        async with make_http() as http:
            return await SOURCE(account, http.for_account(account)).whoami()

    assert run(whoami(account_for(httpserver, handle="alice"))) == (
        "alice (public profile; no credential needed)"
    )
    assert run(whoami(account_for(httpserver))) == "anonymous (no handle; no credential needed)"


def test_server_defaults_to_algolia(write_config: Callable[[str], Path]) -> None:
    path = write_config('[[accounts]]\nname = "hn"\nplatform = "hackernews"\nhandle = "pg"\n')
    [account] = load(path).accounts
    source = SOURCE(account, cast(Fetcher, None))
    assert source.server == "https://hn.algolia.com"


# Responders: other users whose comments answer the account's mentions


def test_a_comment_by_a_responder_answers_the_mention_with_its_time_and_url(
    httpserver: HTTPServer, algolia: FakeAlgolia, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    algolia.add(
        comment(61, 600, "Does ExampleCo support SSO?", author="bob", story=900),
        comment(62, 500, "Yes, since 2.0.", author="dana", parent=61, story=900),
        comment(63, 400, "ExampleCo pricing is unclear", author="carol", story=900),
        # Someone else answering does not answer for the account.
        comment(64, 300, "It's on the site.", author="mallory", parent=63, story=900),
    )
    account = account_for(httpserver, handle="alice", responders=("@dana",))

    result, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert result.error is None
    assert states == {"61": State.ANSWERED, "63": State.OPEN}
    with Store.open(tmp_path / "mw.db") as store:
        [answered] = store.mentions(MentionFilter(states=(State.ANSWERED,)), datetime.now(UTC))
    assert answered.answered_url == "https://news.ycombinator.com/item?id=62"
    assert answered.answered_at == datetime.fromtimestamp(NOW - 500, UTC)
    assert answered.answered_by == "dana"
    assert len(algolia.by_author("dana")) == 1
    assert [r.path for r, _ in httpserver.log if "/users/" in r.path] == ["/api/v1/users/dana"]


def test_each_responder_resumes_from_its_own_cursor_and_is_checked_only_once(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    account = account_for(httpserver, handle="alice", responders=("dana",))
    algolia.add(
        comment(71, 900, "first answer", author="alice", parent=70),
        comment(81, 1800, "an answer", author="dana", parent=80),
    )
    first = call(account, "replies", None, HORIZON)
    algolia.add(comment(82, 20, "another answer", author="dana", parent=79))

    second = call(account, "replies", first.cursor, EPOCH)

    assert sorted(r.remote_id for r in first.items) == ["71", "81"]
    # 71 and 81 come again from the few minutes each listing re-reads below its floor.
    assert sorted(r.remote_id for r in second.items) == ["71", "81", "82"]
    own, dana = algolia.by_author("alice")[-1], algolia.by_author("dana")[-1]
    assert own["numericFilters"] == f"created_at_i>{NOW - 900 - OVERLAP}"
    assert dana["numericFilters"] == f"created_at_i>{NOW - 1800 - OVERLAP}"
    assert [r.path for r, _ in httpserver.log if "/users/" in r.path] == ["/api/v1/users/dana"]


def test_a_responder_added_later_looks_back_only_the_backfill(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    first = call(account_for(httpserver, handle="alice"), "replies", None, HORIZON)
    algolia.add(
        comment(81, 5 * 86400, "old answer", author="dana", parent=80),
        comment(82, 60, "new answer", author="dana", parent=79),
    )
    account = account_for(httpserver, handle="alice", responders=("dana",))

    horizon = utcnow() - account.backfill  # what poll.py passes
    second = call(account, "replies", first.cursor, horizon)

    assert [r.remote_id for r in second.items] == ["82"]
    since = int(algolia.by_author("dana")[0]["numericFilters"].removeprefix("created_at_i>"))
    assert since == int(horizon.timestamp())


def test_responders_answer_even_without_a_handle(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(comment(82, 60, "an answer", author="dana", parent=79))

    batch = call(account_for(httpserver, responders=("dana",)), "replies", None, HORIZON)

    assert [(r.remote_id, r.parent_id, r.author) for r in batch.items] == [("82", "79", "dana")]
    assert algolia.by_author("") == []


def test_an_unknown_responder_is_a_warning_naming_it_and_own_comments_still_answer(
    httpserver: HTTPServer,
    algolia: FakeAlgolia,
    make_http: Callable[..., Http],
    tmp_path: Path,
    warnings_logged: Any,
) -> None:
    algolia.add(
        comment(61, 600, "Does ExampleCo support SSO?", author="bob", story=900),
        comment(62, 500, "Yes, since 2.0.", author="alice", parent=61, story=900),
    )
    account = account_for(httpserver, handle="alice", responders=("Dana_typo",))

    result, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert result.error is None
    assert states == {"61": State.ANSWERED}
    [warning] = warnings_logged()
    assert warning.startswith("hn: responder 'Dana_typo' is not a Hacker News user")
    assert "GET /api/v1/users/Dana_typo answered 404" in warning
    assert algolia.by_author("Dana_typo") == []  # no search for a user that does not exist
    poll_through_store(account, make_http(), tmp_path / "mw.db")
    assert len(warnings_logged()) == 2  # checked again, and said again, on the next run


# End to end: source → store → state, and `config check --online`


def test_a_poll_stores_an_answered_and_an_unanswered_mention_and_a_later_reply_answers_it(
    httpserver: HTTPServer, algolia: FakeAlgolia, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    algolia.add(
        comment(61, 600, "Does ExampleCo support SSO?", author="bob", story=900),
        comment(62, 500, "Yes, since 2.0.", author="alice", parent=61, story=900),
        comment(63, 400, "ExampleCo pricing is unclear", author="carol", story=900),
    )
    account = account_for(httpserver, handle="alice")

    first, states = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert first.error is None
    assert (first.new_mentions, first.newly_answered, first.still_open) == (2, 1, 1)
    assert states == {"61": State.ANSWERED, "63": State.OPEN}
    algolia.add(comment(64, 30, "We'll fix it.", author="alice", parent=63, story=900))
    second, states = poll_through_store(account, make_http(), tmp_path / "mw.db")
    assert (second.new_mentions, second.newly_answered, second.still_open) == (0, 1, 0)
    assert states == {"61": State.ANSWERED, "63": State.ANSWERED}


def test_config_check_online_checks_the_handle_exists_with_one_call(
    httpserver: HTTPServer, algolia: FakeAlgolia
) -> None:
    ok, said = check_online(account_for(httpserver, handle="alice"))
    assert (ok, said) == (True, "alice (public profile; no credential needed)")
    assert [r.path for r, _ in httpserver.log] == ["/api/v1/users/alice"]


def test_keyword_expressions_are_one_algolia_search_per_alternative_and_checked_locally(
    httpserver: HTTPServer, algolia: FakeAlgolia, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    algolia.add(
        story(21, 60, "ExampleCo launch day"),
        story(22, 90, "ExampleCo launch: not yet"),
        comment(23, 100, "ExampleCo launching soon"),  # the fake matches substrings
        story(24, 120, "ExampleCo release notes"),
    )
    account = account_for(httpserver, keywords=('ExampleCo (launch OR release) -"not yet"',))
    kept = fetched_mentions(make_http, account)
    assert sorted(m.remote_id for m in kept) == ["21", "24"]
    # The searches run concurrently, so they reach the server in any order.
    assert sorted(s["query"] for s in algolia.searches) == ["ExampleCo launch", "ExampleCo release"]


def test_an_author_in_a_keyword_is_sent_as_algolia_author_tag_and_still_checked_locally(
    httpserver: HTTPServer, algolia: FakeAlgolia, make_http: Callable[..., Http]
) -> None:
    from tests.searched import fetched_mentions

    algolia.add(
        story(31, 60, "ExampleCo launch day", author="pg"),
        story(32, 70, "ExampleCo launch: not yet", author="pg"),  # the server lets it through
        story(33, 80, "ExampleCo launch too", author="someone"),  # the author tag keeps it out
        comment(34, 90, "ExampleCo launching", author="pg", story_title="Ask HN: x"),  # substrings
        comment(35, 100, "Widgetly is out", author="someone"),
    )
    keywords = ('ExampleCo author:pg (launch OR "show hn") -"not yet"', "Widgetly")
    kept = fetched_mentions(make_http, account_for(httpserver, keywords=keywords))
    assert sorted(m.remote_id for m in kept) == ["31", "35"]
    sent = sorted((s["query"], s["tags"]) for s in algolia.searches)  # in any order
    assert sent == [
        ('ExampleCo "show hn"', "(story,comment),author_pg"),
        ("ExampleCo launch", "(story,comment),author_pg"),
        ("Widgetly", "(story,comment)"),
    ]


def test_the_same_words_with_and_without_an_author_keep_separate_cursors(
    httpserver: HTTPServer, algolia: FakeAlgolia, call: Call
) -> None:
    algolia.add(story(41, 60, "ExampleCo by pg", author="pg"), story(42, 70, "ExampleCo"))
    account = account_for(httpserver, keywords=("ExampleCo author:pg", "ExampleCo"))
    batch = call(account, "mentions", None, HORIZON)
    assert sorted(by_id(batch)) == ["41", "42"]
    assert sorted(split_cursor(batch.cursor)) == ["query:exampleco", "query:exampleco author:pg"]
