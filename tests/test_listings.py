"""Mastodon's two listings (the mention notifications, the account's statuses) are read side by
side, against a real HTTP server; a failure of either still means what it meant when they were
read one after the other."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mentionwatch.config import Config, Settings
from mentionwatch.http import Http
from mentionwatch.models import Account, State
from mentionwatch.poll import PollHooks, PollResult, poll_all
from mentionwatch.store import MentionFilter, Store
from tests.conftest import FakeClock, run
from tests.fakes import FakeAccount, FakeMastodon, serve

NOW = datetime(2026, 11, 25, tzinfo=UTC)
NOTIFICATIONS = "/api/v1/notifications"
VERIFY = "/api/v1/accounts/verify_credentials"


@pytest.fixture
def fake() -> Iterator[tuple[FakeMastodon, str]]:
    # Each answer takes 0.2 s: two requests sent together are answered together.
    app = FakeMastodon(page_size=5, latency=0.2)
    with serve(app) as url:
        yield app, url


def poll_once(store: Store, url: str) -> PollResult:
    account = Account(
        name="brand",
        platform="mastodon",
        server=url,
        handle="brand",
        secrets={"token": "tok"},
        secret_sources={"token": "env TOKEN"},
        backfill=NOW - datetime(2026, 1, 1, tzinfo=UTC),
    )
    config = Config(Path("test.toml"), Settings(), (account,))
    clock = FakeClock()
    client = Http(sleep=clock.sleep, clock=clock.time, retries=0, timeout=5)
    [result] = run(poll_all(config, store, (), PollHooks(), client, lambda: NOW))
    return result


def three_mentions_one_answered(app: FakeMastodon) -> tuple[FakeAccount, str]:
    remote = app.add_account("tok", "brand")
    first = app.add_mentions(remote, 3)[0]
    app.add_reply(remote, first)
    return remote, first


def states(store: Store) -> dict[str, State]:
    return {m.remote_id: m.state for m in store.mentions(MentionFilter(states=()), NOW)}


def test_the_statuses_are_read_beside_the_notifications_after_one_verify(
    fake: tuple[FakeMastodon, str], tmp_path: Path
) -> None:
    app, url = fake
    remote = app.add_account("tok", "brand")
    first, *rest = app.add_mentions(remote, 7)
    app.add_reply(remote, first)
    with Store.open(tmp_path / "m.db") as store:
        result = poll_once(store, url)
        assert result.ok and result.new_mentions == 7 and result.newly_answered == 1
        # Both listings needed the account id: it was asked for once, before either.
        assert app.paths.count(VERIFY) == 1 and app.paths[0] == VERIFY
        assert app.most_in_flight == 2
        assert states(store) == {first: State.ANSWERED} | dict.fromkeys(rest, State.OPEN)
        # The next poll has the id in its cursors: both listings start at once.
        app.paths.clear()
        assert poll_once(store, url).ok
        assert VERIFY not in app.paths


def test_mentions_that_fail_fail_the_account_and_nothing_of_it_is_stored(
    fake: tuple[FakeMastodon, str], tmp_path: Path
) -> None:
    app, url = fake
    remote, first = three_mentions_one_answered(app)
    app.path_faults[NOTIFICATIONS] = deque(["500"])
    with Store.open(tmp_path / "m.db") as store:
        result = poll_once(store, url)
        assert result.error is not None and "HTTP 500" in result.error
        assert result.new_replies == 0 and states(store) == {}
        assert store.cursors("brand") == {}  # the replies read beside them are not kept
        assert poll_once(store, url).ok
        assert states(store)[first] is State.ANSWERED


def test_replies_that_fail_keep_the_mentions_and_leave_the_answers_to_the_next_poll(
    fake: tuple[FakeMastodon, str], tmp_path: Path
) -> None:
    app, url = fake
    remote, first = three_mentions_one_answered(app)
    app.path_faults[f"/api/v1/accounts/{remote.id}/statuses"] = deque(["502"])
    with Store.open(tmp_path / "m.db") as store:
        result = poll_once(store, url)
        assert result.error is not None and "HTTP 502" in result.error
        assert result.new_mentions == 3 and set(states(store).values()) == {State.OPEN}
        assert "replies" not in store.cursors("brand")
        result = poll_once(store, url)
        assert result.ok and result.newly_answered == 1
        assert states(store)[first] is State.ANSWERED
