"""A poll of many accounts fetches in worker processes; the parent alone stores what they send."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch import poll as poll_module
from mentionwatch import workers
from mentionwatch.config import Config, load
from mentionwatch.fetch import Fetched, fetch_account, prepare
from mentionwatch.http import Http, tls_context
from mentionwatch.models import Account
from mentionwatch.poll import PollHooks, PollResult, run_poll
from mentionwatch.store import Store
from tests.history import mw_split
from tests.test_source_feed import ATOM, alert_entry, alerts_feed

ACCOUNTS = 20


def _feed(n: int) -> str:
    entries = [alert_entry(n * 10 + k, 20, f"Post {k} for feed {n}", f"https://e.example/{n}/{k}",
                           "ExampleCo") for k in (1, 2)]  # fmt: skip
    return alerts_feed(*entries)


@pytest.fixture
def many_feeds(httpserver: HTTPServer, tmp_path: Path) -> Config:
    blocks = ['[settings]\nworkers = 2\nbackfill = "3650d"\n']
    for n in range(ACCOUNTS):
        httpserver.expect_request(f"/feed/{n}").respond_with_data(_feed(n), content_type=ATOM)
        blocks.append(f'[[accounts]]\nname = "feed-{n}"\nplatform = "feed"\n'
                      f'url = "{httpserver.url_for(f"/feed/{n}")}"\n')  # fmt: skip
    path = tmp_path / "config.toml"
    path.write_text("\n".join(blocks), encoding="utf-8")
    return load(path)


Fetch = Callable[[Account, Mapping[str, str], Http, Callable[[], datetime]], Awaitable[Fetched]]


def _recording_pid(real: Fetch) -> Fetch:
    """fetch_account, also saying which process ran it (as a cursor the store keeps)."""

    async def fetch(
        account: Account, cursors: Mapping[str, str], http: Http, clock: Callable[[], datetime]
    ) -> Fetched:
        fetched = await real(account, cursors, http, clock)
        return dataclasses.replace(fetched, cursors={**fetched.cursors, "pid": str(os.getpid())})

    return fetch


def test_many_accounts_are_fetched_in_two_processes_and_stored_once_by_the_parent(
    many_feeds: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "fetch_account", _recording_pid(fetch_account))
    with Store.open(tmp_path / "m.db") as store:
        results = run_poll(many_feeds, store)
        assert [r.account for r in results] == [f"feed-{n}" for n in range(ACCOUNTS)]
        assert all(r.ok and r.new_mentions == 2 for r in results)
        pids = {store.cursors(f"feed-{n}")["pid"] for n in range(ACCOUNTS)}
        assert len(pids) == 2 and str(os.getpid()) not in pids
        again = run_poll(many_feeds, store)  # nothing is stored twice
        assert sum(r.new_mentions for r in again) == 0
        assert store.db.execute("SELECT count(*) FROM mentions").fetchone()[0] == 2 * ACCOUNTS


@pytest.mark.parametrize(("flag", "in_workers"), [("1", False), ("2", True)])
def test_the_workers_option_overrides_the_config(
    many_feeds: Config,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str,
    in_workers: bool,
) -> None:
    """`poll --workers 1` polls in this process although [settings] asks for 2 workers."""
    monkeypatch.setattr(workers, "fetch_account", _recording_pid(fetch_account))
    monkeypatch.setattr(poll_module, "fetch_account", _recording_pid(fetch_account))
    code, out, err = mw_split(many_feeds.path, "--db", str(tmp_path / "m.db"), "poll",
                              "--workers", flag)  # fmt: skip
    assert code == 0, out + err
    with Store.open(tmp_path / "m.db") as store:
        pids = {store.cursors(f"feed-{n}")["pid"] for n in range(ACCOUNTS)}
    assert (pids != {str(os.getpid())}) is in_workers


def test_the_cli_hears_of_each_account_only_once_it_is_committed(
    many_feeds: Config, tmp_path: Path
) -> None:
    """Accounts are committed in groups; an account reported done must be in the database
    for everyone else already (another connection reads it)."""
    db = tmp_path / "m.db"
    seen_by_others: dict[str, int] = {}
    with Store.open(db) as store, Store.open(db) as other:

        def finished(result: PollResult) -> None:
            row = other.db.execute(
                "SELECT count(*) FROM mentions WHERE account = ?", (result.account,)
            ).fetchone()
            assert result.account not in seen_by_others, "reported twice"
            seen_by_others[result.account] = row[0]

        run_poll(many_feeds, store, hooks=PollHooks(finished=finished))
    assert seen_by_others == {f"feed-{n}": 2 for n in range(ACCOUNTS)}


def test_a_worker_that_dies_fails_only_the_accounts_it_had_not_sent(
    many_feeds: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fetch_account

    async def dies_on_feed_7(
        account: Account, cursors: Mapping[str, str], http: Http, clock: Callable[[], datetime]
    ) -> Fetched:
        if account.name == "feed-7":
            os._exit(9)  # the whole worker process goes, as on a crash or an OOM kill
        return await real(account, cursors, http, clock)

    monkeypatch.setattr(workers, "fetch_account", dies_on_feed_7)
    with Store.open(tmp_path / "m.db") as store:
        results = {r.account: r for r in run_poll(many_feeds, store)}
    assert "worker process fetching it died" in (results["feed-7"].error or "")
    survivors = [r for r in results.values() if r.ok]
    # The other worker's share (half the accounts) is complete and stored.
    assert len(survivors) >= ACCOUNTS // 2
    assert all(r.new_mentions == 2 for r in survivors)


def test_one_failing_account_in_a_worker_does_not_stop_the_others(
    many_feeds: Config, httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.clear()
    for n in range(ACCOUNTS):
        if n == 3:
            httpserver.expect_request("/feed/3").respond_with_data("boom", status=404)
        else:
            httpserver.expect_request(f"/feed/{n}").respond_with_data(_feed(n), content_type=ATOM)
    with Store.open(tmp_path / "m.db") as store:
        results = run_poll(many_feeds, store)
    failed = [r.account for r in results if not r.ok]
    assert failed == ["feed-3"]
    assert "404" in (results[3].error or "")


def test_a_few_accounts_or_one_worker_poll_in_this_process() -> None:
    assert workers.worker_count(None, 15) == 0  # too few to be worth a fork
    assert workers.worker_count(1, 500) == 0
    assert workers.worker_count(4, 200) == 4
    assert workers.worker_count(4, 24) == 3  # at least 8 accounts a worker
    cores = min(os.cpu_count() or 1, workers.MAX_WORKERS)
    assert workers.worker_count(None, 10_000) == (cores if cores >= 2 else 0)


def test_every_account_of_a_host_goes_to_the_same_worker() -> None:
    accounts = [
        Account(name=f"a{n}", platform="mastodon", server=f"https://host{n % 5}.example")
        for n in range(23)
    ]
    split = workers.shares(accounts, 2)
    assert sorted(a.name for share in split for a in share) == sorted(a.name for a in accounts)
    hosts = [{a.server for a in share} for share in split]
    assert not hosts[0] & hosts[1]
    assert abs(len(split[0]) - len(split[1])) <= 5  # the largest host is 5 accounts


def test_the_tls_context_is_loaded_once_and_shared_by_every_client(
    many_feeds: Config,
) -> None:
    # The parent loads it (fetch.prepare, with the platforms' modules) before the workers
    # fork, so that each inherits it instead of loading the CA bundle again.
    prepare(many_feeds.accounts)
    shared = tls_context()
    assert tls_context() is shared  # loaded once per process: ~50 ms of CPU each time
    assert Http()._verify is shared and Http()._verify is shared
