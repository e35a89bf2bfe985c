"""Real `mentionwatch poll` processes sharing one PostgreSQL database through account leases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import psycopg
import pytest

from tests.fakes import FakeMastodon, Receive, Scope, Send, serve
from tests.history import mw_split

ACCOUNTS = 30


class CountingMastodon(FakeMastodon):
    """Counts each account's first notifications page: one per poll of that account."""

    def __init__(self, page_size: int, latency: float) -> None:
        super().__init__(page_size=page_size, latency=latency)
        self.first_pages: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/v1/notifications":
            query = parse_qs(scope["query_string"].decode())
            if "max_id" not in query:
                token = dict(scope["headers"]).get(b"authorization", b"").decode()
                self.first_pages[token.removeprefix("Bearer ")] += 1
        await super().__call__(scope, receive, send)


@dataclass
class Team:
    app: CountingMastodon
    config: Path
    url: str
    expected: list[str]


@pytest.fixture
def team(tmp_path: Path, pg_url: str) -> Iterator[Team]:
    """30 accounts on a slow fake instance; pollers take 4 accounts at a time, 2 s leases."""
    app = CountingMastodon(page_size=5, latency=0.03)
    expected: list[str] = []
    with serve(app) as server:
        lines = [
            f'[settings]\ndatabase = "{pg_url}"\nbackfill = "3650d"\nmax_pages = 10\n'
            'concurrency = 4\nlease = "2s"\n'
        ]
        for n in range(ACCOUNTS):
            remote = app.add_account(f"tok-{n}", f"brand{n}")
            expected += [f"brand{n}:{i}" for i in app.add_mentions(remote, 12)]
            lines.append(
                f'[[accounts]]\nname = "brand{n}"\nplatform = "mastodon"\nserver = "{server}"\n'
                f'handle = "brand{n}"\ntoken = "env:TOKEN_{n}"\n'
            )
        config = tmp_path / "config.toml"
        config.write_text("\n".join(lines), encoding="utf-8")
        yield Team(app, config, pg_url, expected)


def start_poll(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, **{f"TOKEN_{n}": f"tok-{n}" for n in range(ACCOUNTS)}}
    command = [sys.executable, "-m", "mentionwatch", "--config", str(config), "poll"]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stored(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT account, remote_id FROM mentions").fetchall()
    return [f"{account}:{remote_id}" for account, remote_id in rows]


def polled_by(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT account, polled_by FROM account_leases").fetchall()
    return {account: holder for account, holder in rows if holder}


def test_three_pollers_split_the_accounts_and_poll_each_exactly_once(team: Team) -> None:
    pollers = [start_poll(team.config) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in pollers]
    for process, (out, err) in zip(pollers, outputs, strict=True):
        assert process.returncode == 0, out + err
    # Each account's poll started once, by one of the three: no account twice, none missed.
    assert sorted(team.app.first_pages.values()) == [1] * ACCOUNTS
    ids = stored(team.url)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(team.expected)
    # Their summary lines add up to the 30 accounts, and more than one poller did some.
    lines = [line for out, _ in outputs for line in out.splitlines() if "(mastodon)" in line]
    assert len(lines) == ACCOUNTS
    holders = polled_by(team.url)
    assert len(holders) == ACCOUNTS and len(set(holders.values())) >= 2
    assert any("polled by other pollers" in err for _, err in outputs)


def test_a_killed_pollers_accounts_are_taken_over_once_its_leases_expire(team: Team) -> None:
    victim = start_poll(team.config)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # kill it mid-poll: while it holds leases
        with psycopg.connect(team.url) as conn:
            held = conn.execute(
                "SELECT count(*) FROM account_leases WHERE holder IS NOT NULL"
            ).fetchone()
        if held and held[0] > 0:
            break
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    with psycopg.connect(team.url) as conn:
        orphaned = {
            r[0]
            for r in conn.execute("SELECT account FROM account_leases WHERE holder IS NOT NULL")
        }
    assert orphaned  # the dead poller's leases outlive it...

    code, out, err = mw_split(team.config, "pollers")
    assert code == 0 and all(name in out for name in orphaned)

    time.sleep(2.5)  # ...until they expire
    follower = start_poll(team.config)
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 0, err
    ids = stored(team.url)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(team.expected)
    follower_name = next(iter(set(polled_by(team.url).values())))
    assert all(polled_by(team.url)[name] == follower_name for name in orphaned)
    with psycopg.connect(team.url) as conn:
        left = conn.execute("SELECT count(*) FROM account_leases WHERE holder IS NOT NULL")
        assert left.fetchone() == (0,)


def test_a_poller_holds_only_the_accounts_it_is_polling(team: Team) -> None:
    """concurrency = 4: it claims as room opens, so it never holds more than 4 at a time (an
    account it held unpolled would be one another poller could be polling meanwhile)."""
    poller = start_poll(team.config)
    most = 0
    with psycopg.connect(team.url, autocommit=True) as conn:
        while poller.poll() is None:
            row = conn.execute(
                "SELECT count(*) FROM account_leases WHERE holder IS NOT NULL"
            ).fetchone()
            most = max(most, row[0] if row else 0)
            time.sleep(0.01)
    out, err = poller.communicate()
    assert poller.returncode == 0, out + err
    assert most == 4
    assert sorted(stored(team.url)) == sorted(team.expected)
