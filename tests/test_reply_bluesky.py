"""Replying on Bluesky against the fake PDS: the record, its reply refs and byte-offset facets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import ReplyRejectedError
from mentionwatch.http import Http
from mentionwatch.models import Account, State
from tests.conftest import FakeClock
from tests.fakes import (
    ReplyBench,
    check_online,
)
from tests.test_source_bluesky import (
    OWN_DID,
    FakePds,
    account_for,
    minute,
    notification,
    post_uri,
    post_view,
)

ALICE = "alice.bsky.social"
CAROL = "did:plc:carolcarolcarolcarol0000"
OWN_POST = post_uri("brand.bsky.social", "3lownpost0000")


def acct(server: HTTPServer) -> Account:
    """The account, looking back far enough for the fixed times the fake posts carry."""
    return account_for(server, backfill=timedelta(days=3650))


@pytest.fixture
def pds(threaded: HTTPServer, clock: FakeClock) -> FakePds:
    return FakePds(threaded, clock)


@pytest.fixture
def bench(threaded: HTTPServer, make_http: Callable[..., Http], tmp_path: Path) -> ReplyBench:
    return ReplyBench(acct(threaded), make_http, tmp_path / "mw.db")


def polled(pds: FakePds, bench: ReplyBench) -> str:
    """Alice replies to one of the account's posts; polled into the store."""
    item = notification("3lalice000001", ALICE, "reply", minute(5), "when is 2.1 out?")
    pds.notifications.insert(0, item)
    pds.known_posts[item["uri"]] = {k: item[k] for k in ("uri", "cid", "author", "record")}
    result, _ = bench.poll()
    assert result.ok, result.error
    return str(item["uri"])


def test_a_reply_carries_root_and_parent_refs_and_facets_at_utf8_byte_offsets(
    pds: FakePds, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    pds.handles["carol.bsky.social"] = CAROL
    text = "Très bientôt ✨ @carol.bsky.social sait: https://example.com/änd?x=1 !"

    outcome = bench.reply(uri, text)

    (body,) = pds.created
    assert (body["repo"], body["collection"]) == (OWN_DID, "app.bsky.feed.post")
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == text
    assert record["reply"] == {
        "root": {"uri": OWN_POST, "cid": "bafyreiparentcid"},  # the thread's root, not Alice's
        "parent": {"uri": uri, "cid": "bafyrei3lalice000001"},
    }
    raw = text.encode("utf-8")
    mention_at = raw.index(b"@carol")
    link_at = raw.index(b"https://")
    assert record["facets"] == [
        {
            "index": {"byteStart": mention_at, "byteEnd": mention_at + len(b"@carol.bsky.social")},
            "features": [
                {"$type": "app.bsky.richtext.facet#mention", "did": CAROL}
            ],
        },
        {
            "index": {"byteStart": link_at, "byteEnd": link_at + len("https://example.com/änd?x=1".encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/änd?x=1"}],
        },
    ]  # fmt: skip
    assert mention_at != text.index("@carol")  # bytes, not characters
    mention = bench.mention(uri)
    assert mention.state is State.ANSWERED and outcome.posted is not None
    assert mention.answered_url == outcome.posted.url
    assert mention.answered_url.startswith(
        "https://bsky.app/profile/brand.bsky.social/post/3lreply"
    )
    assert bench.replies() == [(outcome.posted.remote_id, uri, None)]


def test_a_dry_run_prints_the_record_the_post_sends_with_resolved_mention_facets(
    pds: FakePds, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    pds.handles["carol.bsky.social"] = CAROL
    text = "ask @carol.bsky.social or @nobody.bsky.social: https://example.com/x"

    dry = bench.reply(uri, text, dry_run=True)
    assert pds.created == [] and bench.mention(uri).state is State.OPEN
    bench.reply(uri, text)

    assert dry.request is not None
    shown = dict(dry.request.body)
    (sent,) = pds.created
    # createdAt is the moment of sending, so only it may differ between the two.
    assert {**shown["record"], "createdAt": None} == {**sent["record"], "createdAt": None}
    assert {k: v for k, v in shown.items() if k != "record"} == {
        k: v for k, v in sent.items() if k != "record"
    }
    features = [f["features"][0] for f in shown["record"]["facets"]]
    assert features[0] == {"$type": "app.bsky.richtext.facet#mention", "did": CAROL}
    assert [f["$type"] for f in features] == [  # the unknown handle stays plain text
        "app.bsky.richtext.facet#mention",
        "app.bsky.richtext.facet#link",
    ]


def test_a_reply_then_a_poll_stores_one_reply_and_keeps_the_response_time(
    pds: FakePds, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    bench.reply(uri, "Soon!")
    before = bench.mention(uri)

    result, states = bench.poll()

    assert result.ok and result.new_replies == 0 and result.newly_answered == 0
    assert states[uri] is State.ANSWERED and len(bench.replies()) == 1
    assert bench.mention(uri).answered_at == before.answered_at


def test_300_graphemes_are_allowed_and_301_are_refused_before_sending(
    pds: FakePds, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    family = "👨‍👩‍👧"  # five code points, one grapheme

    ok = bench.reply(uri, family * 300, dry_run=True)
    with pytest.raises(ReplyRejectedError, match="301/300 graphemes"):
        bench.reply(uri, family * 301)

    assert ok.length is not None and ok.length.describe() == "300/300 graphemes"
    assert pds.created == [] and bench.mention(uri).state is State.OPEN


def test_a_reply_to_a_deleted_post_is_refused_before_anything_is_created(
    pds: FakePds, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    del pds.known_posts[uri]

    with pytest.raises(ReplyRejectedError, match="gone"):
        bench.reply(uri, "hi")

    assert pds.created == [] and bench.mention(uri).state is State.OPEN


def test_a_refused_write_changes_nothing(pds: FakePds, bench: ReplyBench) -> None:
    from mentionwatch.errors import ReplyRefusedError

    uri = polled(pds, bench)
    refused = pds.error(403, "AuthMissing", "Bad token scope")
    pds.canned["com.atproto.repo.createRecord"] = [refused]

    with pytest.raises(ReplyRefusedError, match="app password") as caught:
        bench.reply(uri, "hi")

    assert "abcd-efgh" not in str(caught.value) and "env BSKY_APP_PASSWORD" in str(caught.value)
    assert bench.mention(uri).state is State.OPEN and bench.replies() == []


def test_a_timeout_after_sending_finds_the_created_record_instead_of_posting_again(
    pds: FakePds, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    pds.hang_after_create = 1.5

    outcome = bench.reply(uri, "hi", http=bench.make_http(timeout=0.5))

    assert len(pds.created) == 1 and outcome.checked_after_timeout
    assert outcome.posted is not None and outcome.posted.remote_id.endswith("3lreply000001")
    assert bench.mention(uri).state is State.ANSWERED


def test_a_429_on_create_is_waited_out_and_sent_once(
    pds: FakePds, clock: FakeClock, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    limited = pds.error(429, "RateLimitExceeded", "Rate Limit Exceeded")
    limited.headers["Retry-After"] = "2"
    pds.canned["com.atproto.repo.createRecord"] = [limited]

    bench.reply(uri, "hi")

    assert len(pds.created) == 1 and 2.5 in clock.sleeps


def test_the_thread_walks_the_parents_oldest_first_skipping_deleted_ones(
    pds: FakePds, bench: ReplyBench
) -> None:
    uri = polled(pds, bench)
    root = post_view("3lownpost0000", "brand.bsky.social", minute(1), "2.0 is out")
    gone = {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://x", "notFound": True}
    middle: dict[str, Any] = {
        "$type": "app.bsky.feed.defs#threadViewPost",
        "post": post_view("3lbob", "bob.bsky.social", minute(3), "and 2.1?"),
        "parent": {"$type": "app.bsky.feed.defs#threadViewPost", "post": root, "parent": gone},
    }
    pds.threads[uri] = {"thread": {"$type": "app.bsky.feed.defs#threadViewPost",
                                   "post": pds.known_posts[uri], "parent": middle}}  # fmt: skip

    posts = bench.thread(uri)

    assert [(p.author, p.text) for p in posts] == [
        ("brand.bsky.social", "2.0 is out"),
        ("bob.bsky.social", "and 2.1?"),
    ]
    (call,) = pds.calls("app.bsky.feed.getPostThread")
    assert call.args["uri"] == uri and call.args["depth"] == "0"


def test_config_check_says_an_app_password_can_reply(pds: FakePds, threaded: HTTPServer) -> None:
    ok, said = check_online(acct(threaded), replying=True)
    assert ok and said.endswith("can reply (app password)")
