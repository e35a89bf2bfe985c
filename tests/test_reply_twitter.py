"""Replying on X: POST /2/tweets with the user-context reply_token, weighted lengths, faults."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import EXIT_REPLY_REFUSED, ReplyRefusedError, ReplyRejectedError
from mentionwatch.http import Http
from mentionwatch.models import Account, State
from mentionwatch.sources.reply_text import x_weighted_length
from tests.conftest import FakeClock
from tests.fakes import ReplyBench, check_online
from tests.test_source_twitter import REPLY_TOKEN, FakeX, as_json, make_account, tweet


@pytest.fixture
def x(threaded: HTTPServer) -> FakeX:
    fake = FakeX()
    threaded.expect_request(re.compile(r"^/2/.*")).respond_with_handler(fake.handle)
    return fake


def brand(server: HTTPServer, **changes: object) -> Account:
    return make_account(
        server,
        secrets={"token": "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUif"
                 "iRBkKG5E2XzMDjRf", "reply_token": REPLY_TOKEN},
        secret_sources={"token": "env X_BEARER_TOKEN", "reply_token": "env X_REPLY_TOKEN"},
        **changes,
    )  # fmt: skip


@pytest.fixture
def bench(threaded: HTTPServer, make_http: Callable[..., Http], tmp_path: Path) -> ReplyBench:
    return ReplyBench(brand(threaded), make_http, tmp_path / "mw.db")


def polled(x: FakeX, bench: ReplyBench) -> str:
    mention = tweet(20, "@Brand is the API down?")
    x.mentions.append(mention)
    result, _ = bench.poll()
    assert result.ok, result.error
    return str(mention["id"])


def test_a_reply_is_posted_with_the_reply_token_in_reply_to_the_mention(
    x: FakeX, bench: ReplyBench
) -> None:
    mention_id = polled(x, bench)

    outcome = bench.reply(mention_id, "Back up 🎉")

    assert x.posted == [{"text": "Back up 🎉", "reply": {"in_reply_to_tweet_id": mention_id}}]
    assert outcome.posted is not None and outcome.length is not None
    assert outcome.length.describe() == "10/280 weighted characters"  # the emoji weighs 2
    reply_id = outcome.posted.remote_id
    mention = bench.mention(mention_id)
    assert mention.state is State.ANSWERED
    assert mention.answered_url == f"https://x.com/Brand/status/{reply_id}"
    assert bench.replies() == [(reply_id, mention_id, None)]


def test_a_reply_then_a_poll_stores_one_reply_and_keeps_the_response_time(
    x: FakeX, bench: ReplyBench
) -> None:
    mention_id = polled(x, bench)
    bench.reply(mention_id, "Back up")
    before = bench.mention(mention_id)

    result, states = bench.poll()

    assert result.ok and result.new_replies == 0 and states == {mention_id: State.ANSWERED}
    assert len(bench.replies()) == 1
    assert bench.mention(mention_id).answered_at == before.answered_at


def test_without_a_reply_token_the_error_names_it_and_nothing_is_sent(
    x: FakeX, threaded: HTTPServer, bench: ReplyBench
) -> None:
    mention_id = polled(x, bench)
    read_only = make_account(threaded)

    with pytest.raises(ReplyRefusedError, match="reply_token") as caught:
        bench.reply(mention_id, "hi", account=read_only)
    ok, said = check_online(read_only, replying=True)

    assert caught.value.exit_code == EXIT_REPLY_REFUSED and "tweet.write" in str(caught.value)
    assert x.posted == [] and bench.mention(mention_id).state is State.OPEN
    assert ok and "cannot reply: no reply_token" in said


def test_an_app_only_token_as_reply_token_is_refused_with_the_reason(
    x: FakeX, bench: ReplyBench
) -> None:
    mention_id = polled(x, bench)
    x.reply_token = "a-different-user-token"  # ours is revoked

    with pytest.raises(ReplyRefusedError) as caught:
        bench.reply(mention_id, "hi")

    assert "env X_REPLY_TOKEN" in str(caught.value) and REPLY_TOKEN not in str(caught.value)
    assert bench.mention(mention_id).state is State.OPEN


def test_280_weighted_characters_with_links_as_23(x: FakeX, bench: ReplyBench) -> None:
    mention_id = polled(x, bench)
    link = "https://example.com/" + "a" * 200
    text = "é" * 257 + " " + link  # 257 + 1 + 23 = 281
    assert x_weighted_length("日本語") == 6 and x_weighted_length(text) == 281

    with pytest.raises(ReplyRejectedError, match="281/280 weighted characters"):
        bench.reply(mention_id, text)

    assert x.posted == []


def test_a_reply_to_a_deleted_post_is_rejected(x: FakeX, bench: ReplyBench) -> None:
    mention_id = polled(x, bench)
    x.mentions.clear()

    with pytest.raises(ReplyRejectedError, match="gone"):
        bench.reply(mention_id, "hi")

    assert bench.mention(mention_id).state is State.OPEN


def test_a_timeout_after_sending_finds_the_post_instead_of_posting_again(
    x: FakeX, bench: ReplyBench
) -> None:
    mention_id = polled(x, bench)
    x.hang_after_post = 1.5

    outcome = bench.reply(mention_id, "hi", http=bench.make_http(timeout=0.5))

    assert len(x.posted) == 1 and outcome.checked_after_timeout
    assert bench.mention(mention_id).state is State.ANSWERED


def test_a_429_is_waited_out_and_the_post_sent_once(
    x: FakeX, bench: ReplyBench, clock: FakeClock
) -> None:
    mention_id = polled(x, bench)
    limited = {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429}
    x.post_failures.append(as_json(limited, 429, {"Retry-After": "3"}))

    bench.reply(mention_id, "hi")

    assert len(x.posted) == 2 and len(x.timeline) == 1 and 3.5 in clock.sleeps


def test_the_thread_is_the_conversations_earlier_posts(x: FakeX, bench: ReplyBench) -> None:
    root = tweet(60, "Our API is changing", "2244994945")
    middle = tweet(40, "@Brand what changes?", "1002", conversation_id=root["id"])
    mention = tweet(20, "@Brand is the API down?", conversation_id=root["id"])
    later = tweet(5, "@Brand +1", "1002", conversation_id=root["id"])
    x.mentions.append(mention)
    x.timeline.append(root)
    x.searches[f"conversation_id:{root['id']}"] = [later, mention, middle]
    result, _ = bench.poll()
    assert result.ok

    posts = bench.thread(str(mention["id"]))

    assert [(p.author, p.text) for p in posts] == [
        ("Brand", "Our API is changing"),
        ("bob", "@Brand what changes?"),
    ]


def test_config_check_says_the_reply_token_works(x: FakeX, threaded: HTTPServer) -> None:
    ok, said = check_online(brand(threaded), replying=True)
    assert ok and said.endswith("can reply as @Brand (reply_token)")


def test_a_reply_token_from_the_environment_is_read_next_to_one_in_the_config_file(
    x: FakeX, threaded: HTTPServer, bench: ReplyBench, monkeypatch: pytest.MonkeyPatch
) -> None:
    mention_id = polled(x, bench)
    monkeypatch.setenv("X_REPLY_TOKEN", REPLY_TOKEN)
    mixed = make_account(
        threaded, secret_sources={"token": "config file", "reply_token": "env X_REPLY_TOKEN"}
    )  # as the config loader leaves it: only the file's secret is read yet

    bench.reply(mention_id, "hi", account=mixed)

    assert len(x.posted) == 1 and bench.mention(mention_id).state is State.ANSWERED
