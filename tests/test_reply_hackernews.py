"""Hacker News and feeds have no posting API: `reply` points at the reply page, changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.http import Http
from mentionwatch.models import State
from tests.fakes import ReplyBench
from tests.test_source_hackernews import FakeAlgolia, account_for, comment, story


@pytest.fixture
def bench(httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path) -> ReplyBench:
    """A story, a comment on it, and a mention answering that comment, polled into the store."""
    FakeAlgolia(httpserver).add(
        story(1000, 3600, "Show HN: ExampleCo", author="founder", text="<p>We built it</p>"),
        comment(1001, 1800, "<p>How does it scale?</p>", author="carol", parent=1000),
        comment(1002, 600, "<p>ExampleCo <i>is</i> great</p>", author="dave", parent=1001),
    )
    bench = ReplyBench(account_for(httpserver), make_http, tmp_path / "mw.db")
    result, states = bench.poll()
    assert result.ok, result.error
    assert states["1002"] is State.OPEN
    return bench


def test_reply_gives_the_hn_reply_page_and_changes_nothing(
    httpserver: HTTPServer, bench: ReplyBench
) -> None:
    before = len(httpserver.log)

    outcome = bench.reply("1002", "Thanks!")

    assert outcome.reply_page == "https://news.ycombinator.com/reply?id=1002"
    assert outcome.posted is None and outcome.request is None
    assert len(httpserver.log) == before  # no request at all
    assert bench.mention("1002").state is State.OPEN


def test_the_thread_climbs_the_parent_items_to_the_story(bench: ReplyBench) -> None:
    posts = bench.thread("1002")

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
    bench = ReplyBench(account, make_http, tmp_path / "mw.db")
    result, states = bench.poll()
    assert result.ok and states
    remote_id = sorted(states)[0]

    outcome = bench.reply(remote_id, "Thanks!")

    assert outcome.reply_page == bench.mention(remote_id).url
    assert bench.thread(remote_id) == []
    assert bench.mention(remote_id).state is State.OPEN
