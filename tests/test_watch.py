"""`mentionwatch watch` as systemd runs it: cycles, one alert per new mention, a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from mentionwatch.models import Account
from mentionwatch.store.lock import poll_lock
from mentionwatch.timeutil import utcnow
from mentionwatch.watch import BACKOFF_CAP, Schedule
from tests.receivers import alert_config, feed_entry, receiver, write_feed


def test_three_cycles_one_alert_for_the_mention_added_between_them_then_sigterm_exits_0(
    tmp_path: Path,
) -> None:
    now = utcnow()
    with receiver() as hook:
        config = alert_config(tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/"\n')
        write_feed(tmp_path / "alerts.atom", feed_entry(1, now - timedelta(hours=2), "old news"))
        command = [sys.executable, "-m", "mentionwatch", "--config", str(config),
                   "watch", "--every", "1s"]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ
        )
        lines: list[str] = []
        assert process.stderr is not None
        stderr = process.stderr
        reader = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")))
        reader.start()

        def wait_for_cycle(number: int) -> None:
            deadline = time.monotonic() + 60
            while not any(f"cycle {number} " in line for line in lines):
                assert time.monotonic() < deadline and process.poll() is None, lines
                time.sleep(0.05)

        wait_for_cycle(1)
        write_feed(
            tmp_path / "alerts.atom",
            feed_entry(1, now - timedelta(hours=2), "old news"),
            feed_entry(2, utcnow(), "ExampleCo is down for me"),
        )
        wait_for_cycle(3)
        # Between cycles the poll lock is free: a cron `poll` (or `done`) gets its turn.
        with poll_lock(tmp_path / "m.db", timeout=5):
            pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        reader.join(timeout=5)

    cycles = [line for line in lines if line.startswith("watch: cycle ")]
    assert len(cycles) >= 3 and len(cycles) == len(lines), lines
    assert "1 polled · 1 new" in cycles[0]
    messages = [r.json()["message"] for r in hook.accepted]
    assert messages[0].startswith("First poll of alerts: 1 mention")
    assert sum("ExampleCo is down for me" in m for m in messages) == 1
    assert len(messages) == 2


def account(name: str, platform: str = "feed") -> Account:
    return Account(name=name, platform=platform, server="")


def test_a_failing_account_backs_off_doubling_and_capped_without_slowing_the_others() -> None:
    schedule = Schedule(every=60, rand=lambda: 0.0)
    good, bad = account("good"), account("bad")
    for n in range(1, 5):
        schedule.record(good, True, 0.0)
        schedule.record(bad, False, 0.0)
        assert schedule.due_at["good"] == 60
        assert schedule.due_at["bad"] == 60 * 2**n
    for _ in range(30):
        schedule.record(bad, False, 0.0)
    assert schedule.due_at["bad"] == BACKOFF_CAP
    schedule.record(bad, True, 0.0)
    assert schedule.due_at["bad"] == 60
    assert [a.name for a in schedule.due([good, bad], 60.0)] == ["good", "bad"]
    assert schedule.next_in([good, bad], 10.0) == 50


def test_a_platform_minimum_interval_and_jitter_apply() -> None:
    schedule = Schedule(every=5, rand=lambda: 1.0)
    schedule.record(account("gh", "github"), True, 0.0)
    schedule.record(account("feed"), True, 0.0)
    assert schedule.due_at["gh"] == 66  # GitHub's 60 s, plus 10% jitter at most
    assert schedule.due_at["feed"] == 5.5
