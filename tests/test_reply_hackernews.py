"""Hacker News and feeds have no posting API: `reply` points at the reply page, changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from mentionwatch.http import Http
from mentionwatch.models import State
from tests.fakes import poll_through_store, reply_through_store, stored_mention, thread_of
from tests.test_source_hackernews import FakeAlgolia, account_for, comment, story


def polled(
    algolia: FakeAlgolia, server: HTTPServer, make_http: Callable[..., Http], db: Path
) -> None:
    algolia.add(
        story(1000, 3600, "Show HN: ExampleCo", author="founder", text="<p>We built it</p>"),
        comment(1001, 1800, "<p>How does it scale?</p>", author="carol", parent=1000),
        comment(1002, 600, "<p>ExampleCo <i>is</i> great</p>", author="dave", parent=1001),
    )
    result, states = poll_through_store(account_for(server), make_http(), db)
    assert result.ok, result.error
    assert states["1002"] is State.OPEN


def test_reply_gives_the_hn_reply_page_and_changes_nothing(
    httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    db = tmp_path / "mw.db"
    polled(FakeAlgolia(httpserver), httpserver, make_http, db)
    before = len(httpserver.log)

    outcome = reply_through_store(account_for(httpserver), make_http(), db, "1002", "Thanks!")

    assert outcome.reply_page == "https://news.ycombinator.com/reply?id=1002"
    assert outcome.posted is None and outcome.request is None
    assert len(httpserver.log) == before  # no request at all
    assert stored_mention(db, "1002").state is State.OPEN


def test_the_thread_climbs_the_parent_items_to_the_story(
    httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    db = tmp_path / "mw.db"
    polled(FakeAlgolia(httpserver), httpserver, make_http, db)

    posts = thread_of(account_for(httpserver), make_http(), db, "1002")

    assert [(p.remote_id, p.author, p.text) for p in posts] == [
        ("1000", "founder", "Show HN: ExampleCo\n\nWe built it"),
        ("1001", "carol", "How does it scale?"),
    ]
    assert posts[0].url == "https://news.ycombinator.com/item?id=1000"


def test_a_feed_entry_is_answered_on_its_own_page_and_has_no_thread(
    example: Path, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    from mentionwatch.config import load

    config = load(example)
    (account,) = [a for a in config.accounts if a.enabled]
    db = tmp_path / "mw.db"
    result, states = poll_through_store(account, make_http(), db)
    assert result.ok and states
    remote_id = sorted(states)[0]

    outcome = reply_through_store(account, make_http(), db, remote_id, "Thanks!")

    assert outcome.reply_page == stored_mention(db, remote_id).url
    assert thread_of(account, make_http(), db, remote_id) == []
    assert stored_mention(db, remote_id).state is State.OPEN
