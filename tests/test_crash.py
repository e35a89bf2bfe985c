"""Real `mentionwatch poll` processes: killed mid-run, and started twice at once."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeMastodon, serve

ACCOUNTS = 3


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FakeMastodon, Path, list[str]]]:
    """A slow fake instance with three accounts, and a config that polls all of them."""
    app = FakeMastodon(page_size=5, latency=0.05)
    expected: list[str] = []
    with serve(app) as url:
        lines = ['[settings]\nbackfill = "3650d"\nmax_pages = 6\n']
        for n in range(ACCOUNTS):
            remote = app.add_account(f"tok-{n}", f"brand{n}")
            expected += [f"brand{n}:{i}" for i in app.add_mentions(remote, 60)]
            lines.append(
                f'[[accounts]]\nname = "brand{n}"\nplatform = "mastodon"\nserver = "{url}"\n'
                f'handle = "brand{n}"\ntoken = "env:TOKEN_{n}"\n'
            )
        config = tmp_path / "config.toml"
        config.write_text("\n".join(lines))
        yield app, config, expected


def start_poll(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **{f"TOKEN_{n}": f"tok-{n}" for n in range(ACCOUNTS)}}
    command = [sys.executable, "-m", "mentionwatch", "--config", str(config),
               "--db", str(config.with_name("m.db")), "poll", *extra]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stored(config: Path) -> list[str]:
    with sqlite3.connect(config.with_name("m.db")) as db:
        rows = db.execute("SELECT account, remote_id FROM mentions").fetchall()
    return [f"{account}:{remote_id}" for account, remote_id in rows]


def test_sigkill_at_any_moment_then_normal_polls_lose_and_duplicate_nothing(
    world: tuple[FakeMastodon, Path, list[str]],
) -> None:
    app, config, expected = world
    rng = random.Random(7)
    for _ in range(4):
        process = start_poll(config)
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
    for _ in range(30):
        process = start_poll(config)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()
        if out.decode().count(" 0 new,") == ACCOUNTS:
            break
    ids = stored(config)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected)


def test_overlapping_polls_one_runs_and_the_other_exits_with_code_6(
    world: tuple[FakeMastodon, Path, list[str]],
) -> None:
    app, config, _ = world
    # The first poll holds the lock once it asks the server anything; slow answers keep it
    # busy until the second has started (a loaded machine may take seconds to start Python).
    app.latency = 1.0
    first = start_poll(config)
    deadline = time.monotonic() + 60
    while not app.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    second = start_poll(config)
    _, err = second.communicate(timeout=60)
    app.latency = 0.0
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert second.returncode == 6
    assert b"another `mentionwatch poll` is running" in err


def test_a_waiting_poll_runs_after_the_first_and_stores_nothing_twice(
    world: tuple[FakeMastodon, Path, list[str]],
) -> None:
    _, config, _ = world
    first = start_poll(config)
    time.sleep(0.3)
    second = start_poll(config, "--lock-timeout", "60")
    assert second.wait(timeout=90) == 0 and first.wait(timeout=90) == 0
    ids = stored(config)
    assert ids and len(ids) == len(set(ids))
