"""Replying on Mastodon against the fake server: the exact request, the stored reply, faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from mentionwatch.errors import (
    EXIT_REPLY_REFUSED,
    EXIT_REPLY_REJECTED,
    ReplyFailedError,
    ReplyRefusedError,
    ReplyRejectedError,
)
from mentionwatch.http import Http
from mentionwatch.models import State
from mentionwatch.replying import check_reply_text, reply_key
from tests.conftest import FakeClock
from tests.fakes import (
    ReplyBench,
    check_online,
)
from tests.test_source_mastodon import (
    POST_STATUS,
    FakeMastodon,
    make_account,
    status,
)


@pytest.fixture
def fake(threaded: HTTPServer) -> FakeMastodon:
    return FakeMastodon(threaded)


@pytest.fixture
def bench(fake: FakeMastodon, make_http: Callable[..., Http], tmp_path: Path) -> ReplyBench:
    return ReplyBench(make_account(fake.server), make_http, tmp_path / "mw.db")


def polled(fake: FakeMastodon, bench: ReplyBench, visibility: str = "unlisted") -> str:
    """A mention by alice (unlisted, also mentioning bob), polled into the store."""
    post = fake.mention(1, 1001, acct="alice@other.example")["status"]
    post["visibility"] = visibility
    post["mentions"].append({"id": "77", "username": "bob", "acct": "bob@third.example"})
    result, _ = bench.poll()
    assert result.ok, result.error
    return "1001"


def test_a_reply_is_posted_in_reply_never_wider_with_handles_and_an_idempotency_key(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench)

    outcome = bench.reply("1001", "Thanks — fixed in 2.1 ✨")

    (request,) = [r for r, _ in fake.server.log if r.path == POST_STATUS]
    body = json.loads(request.get_data())
    text = "@alice@other.example @bob@third.example Thanks — fixed in 2.1 ✨"
    assert body == {"status": text, "in_reply_to_id": "1001", "visibility": "unlisted"}
    assert request.headers["Idempotency-Key"] == reply_key(bench.mention("1001"), text)
    assert outcome.posted is not None and outcome.posted.parent_id == "1001"
    mention = bench.mention("1001")
    assert mention.state is State.ANSWERED
    assert mention.answered_url == fake.posted[0]["url"]
    assert mention.answered_at == outcome.posted.created_at
    assert bench.replies() == [(fake.posted[0]["id"], "1001", None)]


def test_a_reply_then_a_poll_stores_one_reply_and_keeps_the_response_time(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench)
    bench.reply("1001", "On it")
    before = bench.mention("1001")

    result, states = bench.poll()

    assert result.ok and result.newly_answered == 0 and result.new_replies == 0
    assert states == {"1001": State.ANSWERED}
    assert len(bench.replies()) == 1
    after = bench.mention("1001")
    assert (after.answered_at, after.response_time) == (before.answered_at, before.response_time)


def test_handles_already_written_are_not_repeated_and_a_direct_mention_gets_a_direct_reply(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench, visibility="direct")

    bench.reply("1001", "@Alice@other.example thanks")

    (request,) = [r for r, _ in fake.server.log if r.path == POST_STATUS]
    body = json.loads(request.get_data())
    assert body["status"] == "@bob@third.example @Alice@other.example thanks"
    assert body["visibility"] == "direct"


def test_too_long_is_refused_before_sending_with_the_count_links_as_23(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench)
    fake.max_characters = 60
    link = "https://example.com/" + "a" * 80  # counts 23, not 100
    ok = bench.reply("1001", f"see {link}", dry_run=True)
    assert ok.length is not None and ok.length.count == len("@alice @bob see ") + 23

    with pytest.raises(ReplyRejectedError) as caught:
        bench.reply("1001", "x" * 50)

    assert "too long: 62/60 characters" in str(caught.value)
    assert caught.value.exit_code == EXIT_REPLY_REJECTED
    assert fake.posted == [] and bench.mention("1001").state is State.OPEN


def test_the_offline_count_follows_the_same_rules(fake: FakeMastodon, bench: ReplyBench) -> None:
    from mentionwatch.config import Config

    polled(fake, bench)
    config = Config(Path("c.toml"), accounts=(bench.account,))

    check = check_reply_text(config, bench.mention("1001"), "hi 👋🏽", limit=12)

    assert check is not None and (check.count, check.limit, check.ok) == (16, 12, False)


def test_a_dry_run_shows_the_exact_request_without_the_token_and_sends_nothing(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench)

    outcome = bench.reply("1001", "hello", dry_run=True)

    assert outcome.request is not None and outcome.posted is None
    assert outcome.request.url.endswith(POST_STATUS)
    assert set(outcome.request.headers) == {"Idempotency-Key"}
    assert outcome.request.body["status"] == "@alice@other.example @bob@third.example hello"
    assert fake.posted == [] and bench.mention("1001").state is State.OPEN


@pytest.mark.parametrize(
    ("status_code", "error", "kind"),
    [
        (403, "This action is outside the authorized scopes", ReplyRefusedError),
        (422, "Validation failed: Text character limit of 500 exceeded", ReplyRejectedError),
    ],
)
def test_a_refused_reply_changes_nothing_and_says_why(
    fake: FakeMastodon, status_code: int, error: str, kind: type[Exception], bench: ReplyBench
) -> None:
    polled(fake, bench)
    fake.fail_next(POST_STATUS, fake._json({"error": error}, status_code))

    with pytest.raises(kind) as caught:
        bench.reply("1001", "hi")

    assert error in str(caught.value) and "tok-" not in str(caught.value)
    if status_code == 403:
        assert "write:statuses" in str(caught.value) and "env MASTODON_TOKEN" in str(caught.value)
        assert getattr(caught.value, "exit_code", None) == EXIT_REPLY_REFUSED
    assert bench.mention("1001").state is State.OPEN and bench.replies() == []


def test_a_reply_to_a_deleted_post_is_rejected(fake: FakeMastodon, bench: ReplyBench) -> None:
    polled(fake, bench)
    del fake.known_statuses["1001"]

    with pytest.raises(ReplyRejectedError, match="gone"):
        bench.reply("1001", "hi")

    assert bench.mention("1001").state is State.OPEN


def test_a_timeout_after_sending_is_resolved_by_the_idempotency_key_not_a_second_post(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench)
    fake.hang_after_post = 1.5

    outcome = bench.reply("1001", "hi", http=bench.make_http(timeout=0.5))

    keys = fake.post_keys
    assert len(keys) == 2 and len(fake.posted) == 1  # the retry got the first status back
    assert keys[0] == keys[1] is not None
    assert outcome.checked_after_timeout
    assert bench.mention("1001").answered_url == fake.posted[0]["url"]


def test_a_429_is_waited_out_and_sent_once(
    fake: FakeMastodon, clock: FakeClock, bench: ReplyBench
) -> None:
    polled(fake, bench)
    limited = Response(json.dumps({"error": "Too many requests"}), 429, {"Retry-After": "3"})
    fake.fail_next(POST_STATUS, limited)

    bench.reply("1001", "hi")

    assert len(fake.posted) == 1 and clock.sleeps == [3.5]
    assert bench.mention("1001").state is State.ANSWERED


def test_a_network_failure_before_sending_says_nothing_was_posted(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench)
    gone = make_account(fake.server, server="http://127.0.0.1:9")  # nothing listens there

    with pytest.raises(ReplyFailedError, match="not posted"):
        bench.reply("1001", "hi", account=gone, http=bench.make_http(retries=0))

    assert bench.mention("1001").state is State.OPEN


def test_the_thread_is_the_statuses_ancestors_oldest_first(
    fake: FakeMastodon, bench: ReplyBench
) -> None:
    polled(fake, bench)
    root = status(990, acct="brand", content="<p>We shipped 2.0 \x1b[31m</p>")
    middle = status(995, acct="carol@x.example", content="<p>It crashes</p>")
    fake.contexts["1001"] = [root, middle]

    posts = bench.thread("1001")

    assert [(p.remote_id, p.author, p.text) for p in posts] == [
        ("990", "brand", "We shipped 2.0 \x1b[31m"),  # escaped when shown, not when fetched
        ("995", "carol@x.example", "It crashes"),
    ]


def test_config_check_says_whether_the_token_may_reply(fake: FakeMastodon) -> None:
    account = make_account(fake.server)
    assert check_online(account, replying=True)[1].endswith("can reply (write:statuses)")

    fake.scopes = ["read"]
    ok, said = check_online(account, replying=True)

    assert ok  # reading still works: a read-only token is no failure
    assert "cannot reply" in said and "write:statuses" in said and "(read)" in said


def test_on_either_database_a_reply_then_a_poll_keeps_one_reply_and_one_answer(
    fake: FakeMastodon, make_http: Callable[..., Http], db_location: Path | str, bench: ReplyBench
) -> None:
    fake.mention(1, 1001, acct="alice@other.example")
    bench = ReplyBench(make_account(fake.server), make_http, db_location)
    result, _ = bench.poll()
    assert result.ok, result.error

    outcome = bench.reply("1001", "Thanks")
    again, states = bench.poll()

    assert outcome.posted is not None and again.ok and again.new_replies == 0
    assert states == {"1001": State.ANSWERED}
    assert bench.replies() == [(outcome.posted.remote_id, "1001", None)]
    mention = bench.mention("1001")
    assert mention.context["visibility"] == "public"  # the reply context, read back
    assert mention.answered_at == outcome.posted.created_at
