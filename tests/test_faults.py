"""Polling against a fake Mastodon that fails in every way real servers do."""

from __future__ import annotations

import gc
import itertools
import tempfile
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch.config import Config, Settings
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.poll import PollHooks, PollResult, poll_all, run_poll
from mentionwatch.store import MentionFilter, Store
from tests.conftest import FakeClock, run
from tests.fakes import FAULTS, FakeMastodon, serve

NOW = datetime(2026, 11, 25, tzinfo=UTC)


_tokens = itertools.count()


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeMastodon, str]]:
    app = FakeMastodon(page_size=5)
    with serve(app) as url:
        yield app, url


def account(url: str, token: str, max_pages: int = 3) -> Account:
    return Account(
        name="brand",
        platform="mastodon",
        server=url,
        handle="brand",
        secrets={"token": token},
        secret_sources={"token": "env TOKEN"},
        max_pages=max_pages,
        backfill=NOW - datetime(2026, 1, 1, tzinfo=UTC),
    )


def poll_once(store: Store, acct: Account, **options: Any) -> PollResult:
    config = Config(Path("test.toml"), Settings(), (acct,))
    clock = FakeClock()
    settings: dict[str, Any] = {"timeout": 0.5, "retries": 1, "max_body": 64_000}
    settings.update(options)
    client = Http(sleep=clock.sleep, clock=clock.time, **settings)
    [result] = run(poll_all(config, store, (), PollHooks(), client, lambda: NOW))
    return result


def armed(app: FakeMastodon, mentions: int, *faults: str, notifications: str = "") -> str:
    """A new account's token, with `mentions` waiting and the server's next answers `faults`
    (and the mention notifications' next answer `notifications`)."""
    token = f"tok-{next(_tokens)}"
    app.add_mentions(app.add_account(token, "brand"), mentions)
    app.faults.clear()
    app.faults.extend(faults)
    app.path_faults.clear()
    if notifications:
        app.path_faults["/api/v1/notifications"] = deque([notifications])
    return token


def stored(store: Store) -> list[str]:
    return [m.remote_id for m in store.mentions(MentionFilter(states=()), NOW)]


@settings(max_examples=40, deadline=None)
@given(
    initial=st.integers(0, 40),
    arrivals=st.lists(st.integers(0, 12), max_size=3),
    faults=st.lists(st.sampled_from([f for f in FAULTS if f != "hang"]), max_size=8),
    max_pages=st.integers(1, 4),
)
def test_after_faults_the_store_holds_exactly_the_servers_mentions(
    fake: tuple[FakeMastodon, str],
    initial: int,
    arrivals: list[int],
    faults: list[str],
    max_pages: int,
) -> None:
    app, url = fake
    token = f"tok-{next(_tokens)}"
    remote = app.add_account(token, "brand")
    expected = app.add_mentions(remote, initial)
    acct = account(url, token, max_pages)
    app.faults.clear()
    app.faults.extend(faults)
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "m.db") as store:
        for count in arrivals:
            poll_once(store, acct)
            expected += app.add_mentions(remote, count)
        quiet = 0
        for _ in range(80):
            result = poll_once(store, acct)
            # One quiet poll may just be a resumed sweep reaching its floor; two in a row are not.
            quiet = quiet + 1 if result.ok and result.new_mentions == 0 else 0
            if quiet == 2 and not app.faults:
                break
        ids = stored(store)
    assert len(ids) == len(set(ids))
    assert sorted(ids, key=int) == sorted(expected, key=int)


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("500", "HTTP 500"),
        ("429", "HTTP 429"),
        ("truncated", "invalid JSON"),
        ("html", "got an HTML page"),
        ("wrong_shape", "brand:"),
        ("empty", "an empty body"),
        ("oversized", "larger than 64000 bytes"),
    ],
)
def test_each_fault_fails_the_account_with_a_clear_message_and_keeps_nothing_half_done(
    fake: tuple[FakeMastodon, str], tmp_path: Path, fault: str, problem: str
) -> None:
    app, url = fake
    # The mentions fail, after a good first answer (verify_credentials) that spent the quota.
    token = armed(app, 7, "quota", notifications=fault)
    with Store.open(tmp_path / "m.db") as store:
        result = poll_once(store, account(url, token), retries=0)
        assert result.error is not None and problem in result.error
        assert result.error.startswith("brand: /api/")
        assert token not in result.error
        assert stored(store) == [] and store.cursors("brand") == {}
        assert poll_once(store, account(url, token)).ok
        assert len(stored(store)) == 7


def test_a_hanging_server_times_out_without_stalling_the_run(
    fake: tuple[FakeMastodon, str], tmp_path: Path
) -> None:
    app, url = fake
    token = armed(app, 3, "hang")
    app.hang_seconds = 1.0
    with Store.open(tmp_path / "m.db") as store:
        result = poll_once(store, account(url, token), retries=0, timeout=0.2)
        assert result.error is not None and "timed out" in result.error
        assert poll_once(store, account(url, token)).ok
        assert len(stored(store)) == 3


def test_the_cycle_collector_pauses_for_a_poll_and_resumes_even_after_a_failure(
    fake: tuple[FakeMastodon, str], tmp_path: Path
) -> None:
    app, url = fake
    token = armed(app, 2, "500")
    during: list[bool] = []
    config = Config(Path("test.toml"), Settings(), (account(url, token),))
    clock = FakeClock()
    client = Http(sleep=clock.sleep, clock=clock.time, retries=0, timeout=0.5)
    with Store.open(tmp_path / "m.db") as store:
        [result] = run_poll(
            config,
            store,
            hooks=PollHooks(started=lambda _: during.append(gc.isenabled())),
            http=client,
            clock=lambda: NOW,
        )
    assert result.error is not None and "HTTP 500" in result.error
    assert during == [False]
    assert gc.isenabled()
