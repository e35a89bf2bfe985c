"""A PostgreSQL poller's store threads (store_pool): a connection each, so one account's round
trips never wait for another's; past the server's connection limit, one shared connection."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from mentionwatch.config import load
from mentionwatch.poll import run_poll
from mentionwatch.store import Store
from mentionwatch.store_pool import StorePool
from tests.fakes import FakeMastodon, serve

_roles = itertools.count()


def _backend_at(barrier: threading.Barrier) -> Callable[[Store], int]:
    def call(store: Store) -> int:
        pid = int(store.db.execute("SELECT pg_backend_pid()").fetchone()[0])
        barrier.wait()  # every call under way at once, or this times out
        return pid

    return call


async def _all_at_once(pool: StorePool, calls: list[Callable[[Store], int]]) -> list[int]:
    return list(await asyncio.gather(*(pool.submit(call) for call in calls)))


def test_calls_at_once_each_run_on_a_connection_of_their_own(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        own = int(store.db.execute("SELECT pg_backend_pid()").fetchone()[0])
        barrier = threading.Barrier(4, timeout=20)
        with StorePool(store, 4) as pool:
            pids = asyncio.run(_all_at_once(pool, [_backend_at(barrier)] * 4))
        assert len(set(pids)) == 4 and own in pids
        # The three it opened are closed with it; the poll's own stays open.
        others = set(pids) - {own}
        deadline = time.monotonic() + 20
        while _alive(store, others) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(store, others)
        assert store.db.execute("SELECT 1").fetchone()[0] == 1


def _alive(store: Store, pids: set[int]) -> set[int]:
    rows = store.db.execute("SELECT pid FROM pg_stat_activity").fetchall()
    return pids & {int(row[0]) for row in rows}


@pytest.fixture
def one_connection_url(pg_url: str) -> Iterator[str]:
    """The test database as a role the server lets open one connection only."""
    role = f"mw_one_{next(_roles)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    parts = urlsplit(pg_url)
    yield urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def _transaction(n: int) -> Callable[[Store], int]:
    def call(store: Store) -> int:
        with store.transaction() as db:
            db.execute("INSERT INTO poll_rounds (started_at) VALUES (?)", (f"2026-01-0{n}",))
            time.sleep(0.02)  # a transaction that takes a while: the others must wait for it
            return int(db.execute("SELECT count(*) FROM poll_rounds").fetchone()[0])

    return call


def test_past_the_servers_connection_limit_the_threads_share_the_polls_own_connection(
    one_connection_url: str, warnings_logged: Callable[[], list[str]]
) -> None:
    with Store.open(one_connection_url) as store:
        with StorePool(store, 4) as pool:
            counts = asyncio.run(_all_at_once(pool, [_transaction(n) for n in range(1, 7)]))
        # One transaction at a time on the one connection: each saw the ones before it.
        assert sorted(counts) == [1, 2, 3, 4, 5, 6]
        assert store.db.execute("SELECT count(*) FROM poll_rounds").fetchone()[0] == 6
    said = warnings_logged()
    assert any("share its one connection" in line for line in said), said
    assert any("too many connections" in line for line in said), said


def test_one_accounts_stuck_save_holds_up_none_of_the_others(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = FakeMastodon(page_size=5)
    accounts = 12
    with serve(app) as server:
        lines = [f'[settings]\ndatabase = "{pg_url}"\nbackfill = "3650d"\nconcurrency = 4\n']
        for n in range(accounts):
            app.add_mentions(app.add_account(f"tok-{n}", f"brand{n}"), 3)
            monkeypatch.setenv(f"TOKEN_{n}", f"tok-{n}")
            lines.append(
                f'[[accounts]]\nname = "brand{n}"\nplatform = "mastodon"\nserver = "{server}"\n'
                f'handle = "brand{n}"\ntoken = "env:TOKEN_{n}"\n'
            )
        config_path = tmp_path / "config.toml"
        config_path.write_text("\n".join(lines), encoding="utf-8")
        config = load(config_path).with_secrets()
        # brand0's cursor row, inserted and not committed: its save waits on it.
        blocker = psycopg.connect(pg_url)
        blocker.execute(
            "INSERT INTO cursors (account, listing, value, updated_at) "
            "VALUES ('brand0', 'mentions', 'x', '2026-01-01')"
        )
        failures: list[BaseException] = []

        def poll() -> None:
            try:
                with Store.open(pg_url) as store:
                    run_poll(config, store)
            except BaseException as exc:
                failures.append(exc)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            deadline = time.monotonic() + 60
            while _stored_accounts(pg_url) < accounts - 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            # The other eleven were stored while brand0's save was stuck.
            assert _stored_accounts(pg_url) == accounts - 1
        finally:
            blocker.rollback()
            blocker.close()
            poller.join(60)
        assert not failures
        assert _stored_accounts(pg_url) == accounts


def _stored_accounts(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(DISTINCT account) FROM mentions").fetchone()
    return int(row[0]) if row else 0
