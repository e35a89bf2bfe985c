"""Replying and threads from the inbox, through the real replying core, against the fake
Mastodon server (tests/test_source_mastodon.py) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from textual.pilot import Pilot
from textual.widgets import TextArea
from werkzeug import Response

from mentionwatch.config import Config
from mentionwatch.fetched import Mention
from mentionwatch.http import Http
from mentionwatch.inbox.app import InboxApp
from mentionwatch.inbox.screens import ReplyEditor
from mentionwatch.models import Account, State
from mentionwatch.store import Store
from mentionwatch.timeutil import utcnow
from tests.fakes import poll_through_store, stored_mention, stored_replies
from tests.test_inbox import detail, drawn, drive, status, until
from tests.test_source_mastodon import POST_STATUS, FakeMastodon, make_account
from tests.test_source_mastodon import status as post


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeMastodon:
    return FakeMastodon(httpserver)


@pytest.fixture
def polled(fake: FakeMastodon, make_http: Callable[..., Http], tmp_path: Path) -> Path:
    """A mention by alice, polled into the store the way `mentionwatch poll` does."""
    fake.mention(1, 1001, acct="alice@other.example", content="<p>is the export fixed?</p>")
    db = tmp_path / "mw.db"
    result, _ = poll_through_store(make_account(fake.server), make_http(), db)
    assert result.ok, result.error
    return db


def config_for(fake: FakeMastodon) -> Config:
    return Config(Path("config.toml"), accounts=(make_account(fake.server),))


def count_line(app: InboxApp) -> str:
    return drawn(app.screen.query_one("#count"))


def test_r_writes_a_reply_with_a_live_count_and_ctrl_s_posts_it(
    fake: FakeMastodon, polled: Path
) -> None:
    fake.max_characters = 480  # the instance's own limit, which the editor asks for

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("r")
        assert isinstance(app.screen, ReplyEditor)
        await until(pilot, lambda: "/480" in count_line(app))
        await pilot.press(*"Fixed!")
        # the author's handle is put first, and counted as Mastodon does ("@alice ", no domain)
        assert "13/480 characters" in count_line(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Replied to" in status(app))
        assert not isinstance(app.screen, ReplyEditor)
        assert app.view.rows == []  # answered: it left the waiting list

    drive(polled, scenario, config_for(fake))
    (request,) = fake.requests(POST_STATUS)
    body = json.loads(request.get_data())
    assert body["status"] == "@alice@other.example Fixed!"
    assert body["in_reply_to_id"] == "1001"
    mention = stored_mention(polled, "1001")
    assert mention.state is State.ANSWERED and mention.answered_url == fake.posted[0]["url"]
    assert stored_replies(polled) == [(fake.posted[0]["id"], "1001", None)]


def test_ctrl_enter_sends_too_and_esc_cancels(fake: FakeMastodon, polled: Path) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("r", *"no", "escape")
        assert not isinstance(app.screen, ReplyEditor)
        assert "nothing was sent" in status(app)
        await pilot.press("r")
        assert app.screen.query_one(TextArea).text == ""  # a cancelled draft is gone
        await pilot.press(*"yes", "ctrl+enter")
        await until(pilot, lambda: "Replied to" in status(app))

    drive(polled, scenario, config_for(fake))
    assert [json.loads(r.get_data())["status"] for r in fake.requests(POST_STATUS)] == [
        "@alice@other.example yes"
    ]


def test_a_reply_over_the_limit_is_never_sent(fake: FakeMastodon, polled: Path) -> None:
    fake.max_characters = 25

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("r")
        await until(pilot, lambda: "/25" in count_line(app))
        await pilot.press("ctrl+s")  # an empty reply is not sent either
        assert isinstance(app.screen, ReplyEditor)
        await pilot.press(*"toolongtoolong")
        assert "21/25 characters" in count_line(app)
        await pilot.press(*"toolong")
        assert "28/25 characters" in count_line(app)
        assert app.screen.query_one("#count").has_class("over")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ReplyEditor)  # still there, text and all

    drive(polled, scenario, config_for(fake))
    assert fake.requests(POST_STATUS) == []
    assert stored_mention(polled, "1001").state is State.OPEN


def test_a_refused_reply_changes_nothing_and_keeps_the_draft(
    fake: FakeMastodon, polled: Path
) -> None:
    gone = json.dumps({"error": "Validation failed: Text character limit of 500 exceeded"})
    fake.fail_next(POST_STATUS, Response(gone, status=422, content_type="application/json"))

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("r", *"hello", "ctrl+s")
        await until(pilot, lambda: "not sent" in status(app))
        assert [m.remote_id for m in app.view.rows] == ["1001"]
        await pilot.press("r")
        assert app.screen.query_one(TextArea).text == "hello"

    drive(polled, scenario, config_for(fake))
    assert stored_mention(polled, "1001").state is State.OPEN
    assert stored_replies(polled) == []


def test_t_fetches_the_thread_into_the_detail(fake: FakeMastodon, polled: Path) -> None:
    earlier = post(990, acct="bob@third.example", content="<p>[red]the export[/] is broken</p>")
    fake.contexts["1001"] = [earlier]

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("t")
        await until(pilot, lambda: "Thread, oldest first (1 before it)" in detail(app))
        assert "[red]the export[/] is broken" in detail(app)  # shown literally
        assert "bob@third.example" in detail(app)

    drive(polled, scenario, config_for(fake))


def test_r_on_a_platform_without_posting_opens_the_browser_and_changes_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mw.db"
    url = "https://alerts.example/entry/7"
    entry = Mention(remote_id="7", url=url, author="alerts", text="ExampleCo in the news",
                    created_at=utcnow())  # fmt: skip
    with Store.open(db) as store:
        store.save_poll("alerts", "feed", [entry], [], {}, utcnow())
    feed = Account(name="alerts", platform="feed", server="",
                   options={"url": "https://alerts.example/feed"})  # fmt: skip

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("r")
        await until(pilot, lambda: "no posting API" in status(app))
        assert not isinstance(app.screen, ReplyEditor)

    opened = drive(db, scenario, Config(Path("config.toml"), accounts=(feed,)))
    assert opened == [url]
    assert stored_mention(db, "7").state is State.OPEN
