"""Replying on Reddit: /api/comment on the mention's fullname, its json.errors, the parent chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import ReplyFailedError, ReplyRefusedError, ReplyRejectedError
from mentionwatch.http import Http
from mentionwatch.models import Account, State
from tests.conftest import FakeClock
from tests.fakes import (
    ReplyBench,
    check_online,
)
from tests.test_source_reddit import FakeReddit, comment, post

MENTION = "t1_m1"


@pytest.fixture
def reddit(threaded: HTTPServer) -> FakeReddit:
    fake = FakeReddit(threaded)
    parent = comment("p1", 30, author="carol", body="does it work on ARM?")
    mention = comment("m1", 10, author="dave", body="/u/brandco knows", parent_id="t1_p1")
    mention["data"]["permalink"] = "/r/example/comments/post1/a_title/m1/"
    fake.listings["/message/mentions"] = [mention]
    fake.user_comments("brandco", [])
    fake.things = {"t3_post1": post("post1", 60, selftext="Release 2.0"), "t1_p1": parent,
                   MENTION: mention}  # fmt: skip
    return fake


@pytest.fixture
def brand(threaded: HTTPServer) -> Account:
    base = threaded.url_for("").rstrip("/")
    return Account(
        name="brand-reddit", platform="reddit", server=base, handle="brandco",
        options={"client_id": "my-client-id", "auth_url": base},
        secrets={"client_secret": "client-secret-xyz", "password": "hunter2-very-secret"},
        secret_sources={"client_secret": "env REDDIT_CLIENT_SECRET",
                        "password": "env REDDIT_PASSWORD"},
    )  # fmt: skip


@pytest.fixture
def bench(brand: Account, make_http: Callable[..., Http], tmp_path: Path) -> ReplyBench:
    return ReplyBench(brand, make_http, tmp_path / "mw.db")


def polled(bench: ReplyBench) -> None:
    result, states = bench.poll()
    assert result.ok, result.error
    assert states == {MENTION: State.OPEN}


def test_a_reply_is_a_comment_on_the_mentions_fullname_and_answers_it(
    reddit: FakeReddit, bench: ReplyBench
) -> None:
    polled(bench)

    outcome = bench.reply(MENTION, "Yes, since 2.0 — ARM64 ✓")

    assert reddit.posted == [
        {"api_type": "json", "thing_id": MENTION, "text": "Yes, since 2.0 — ARM64 ✓"}
    ]
    (request,) = [r for r in reddit.requests if r.path == "/api/comment"]
    assert request.headers["User-Agent"].startswith("python:mentionwatch:")
    assert outcome.posted is not None and outcome.posted.parent_id == MENTION
    mention = bench.mention(MENTION)
    assert mention.state is State.ANSWERED
    assert mention.answered_url == "https://www.reddit.com/r/example/comments/post1/a_title/r00001/"
    assert bench.replies() == [("t1_r00001", MENTION, None)]


def test_a_reply_then_a_poll_stores_one_reply_and_keeps_the_response_time(
    reddit: FakeReddit, bench: ReplyBench
) -> None:
    polled(bench)
    bench.reply(MENTION, "Yes")
    before = bench.mention(MENTION)

    result, states = bench.poll()

    assert result.ok and result.new_replies == 0 and states == {MENTION: State.ANSWERED}
    assert len(bench.replies()) == 1
    assert bench.mention(MENTION).answered_at == before.answered_at


@pytest.mark.parametrize(
    ("error", "kind", "said"),
    [
        (["DELETED_COMMENT", "that comment has been deleted", "parent"], ReplyRejectedError,
         "gone"),
        (["TOO_LONG", "this is too long (max: 10000)", "text"], ReplyRejectedError, "TOO_LONG"),
        (["RATELIMIT", "Take a break for 5 minutes before trying again.", "ratelimit"],
         ReplyFailedError, "5 minutes"),
    ],
)  # fmt: skip
def test_reddits_json_errors_change_nothing_and_say_why(
    reddit: FakeReddit, error: list[str], kind: type[Exception], said: str, bench: ReplyBench
) -> None:
    polled(bench)
    reddit.comment_errors.append(error)

    with pytest.raises(kind, match=said):
        bench.reply(MENTION, "Yes")

    assert bench.mention(MENTION).state is State.OPEN and bench.replies() == []


def test_a_token_without_submit_is_refused_and_config_check_says_so(
    reddit: FakeReddit, bench: ReplyBench
) -> None:
    polled(bench)
    reddit.scope = "identity privatemessages history read"
    reddit.comment_failures.append(reddit.json({"message": "Forbidden", "error": 403}, 403))

    with pytest.raises(ReplyRefusedError, match="submit") as caught:
        bench.reply(MENTION, "Yes")
    ok, said = check_online(bench.account, replying=True)

    assert "hunter2" not in str(caught.value) and "env REDDIT_PASSWORD" in str(caught.value)
    assert ok and "cannot reply" in said and "submit" in said
    reddit.scope = "*"
    assert check_online(bench.account, replying=True)[1].endswith("can reply (submit)")


def test_a_timeout_after_sending_finds_the_comment_instead_of_posting_again(
    reddit: FakeReddit, bench: ReplyBench
) -> None:
    polled(bench)
    reddit.hang_after_post = 1.5

    outcome = bench.reply(MENTION, "Yes", http=bench.make_http(timeout=0.5))

    assert len(reddit.posted) == 1 and outcome.checked_after_timeout
    assert bench.mention(MENTION).state is State.ANSWERED


def test_a_429_is_waited_out_and_the_comment_posted_once(
    reddit: FakeReddit, clock: FakeClock, bench: ReplyBench
) -> None:
    polled(bench)
    limited = reddit.json({"message": "Too Many Requests", "error": 429}, 429)
    limited.headers["Retry-After"] = "2"
    reddit.comment_failures.append(limited)

    bench.reply(MENTION, "Yes")

    assert len(reddit.posted) == 2 and 2.5 in clock.sleeps
    assert len(reddit.listings["/user/brandco/comments"]) == 1


def test_the_thread_climbs_the_parent_chain_to_the_post(
    reddit: FakeReddit, bench: ReplyBench
) -> None:
    polled(bench)

    posts = bench.thread(MENTION)

    assert [(p.remote_id, p.author, p.text) for p in posts] == [
        ("t3_post1", "poster", "Post post1 about ExampleCo\n\nRelease 2.0"),
        ("t1_p1", "carol", "does it work on ARM?"),
    ]


def test_too_long_is_refused_before_sending(reddit: FakeReddit, bench: ReplyBench) -> None:
    polled(bench)

    with pytest.raises(ReplyRejectedError, match="10001/10000 characters"):
        bench.reply(MENTION, "x" * 10001)

    assert reddit.posted == []
