"""Alert targets that fail: refused, timed out, 500; one of two down; a poll killed mid-send.

Whatever happens, every pending alert arrives exactly once after the target recovers.
Every test runs on a SQLite file and on PostgreSQL (conftest's BOTH_BACKENDS)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.config import Config, load
from mentionwatch.notify.deliver import Outcome, backoff, deliver_pending, prepare
from mentionwatch.store import Store
from mentionwatch.timeutil import utcnow
from tests import history
from tests.receivers import Receiver, alert_config, feed_entry, receiver, write_feed

runner = CliRunner()


def poll(config: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), "poll"])
    return result.exit_code, result.output


def deliver(config: Config, db: Path | str, when: datetime) -> list[Outcome]:
    with Store.open(db) as store:
        return deliver_pending(store, config, when)


def queue_two(config_path: Path) -> None:
    """An empty first poll, then two new mentions; delivery of them fails (see the callers)."""
    assert poll(config_path)[0] == 0
    now = utcnow()
    write_feed(
        config_path.with_name("alerts.atom"),
        feed_entry(1, now - timedelta(minutes=2), "first waiting"),
        feed_entry(2, now - timedelta(minutes=1), "second waiting"),
    )


def hook_config(tmp_path: Path, hook: Receiver, query: str = "") -> Path:
    return alert_config(
        tmp_path, f'[[notify]]\nname = "hook"\nurl = "json://{hook.base}/{query}"\n'
    )


@pytest.mark.parametrize("fault", ["refuse", "500", "hang"])
def test_a_failing_target_keeps_its_alerts_and_sends_them_once_when_it_recovers(
    tmp_path: Path, fault: str
) -> None:
    with receiver() as hook:
        # A short read timeout, as a user may give any apprise URL (?rto=seconds).
        config_path = hook_config(tmp_path, hook, "?rto=1&cto=1")
        queue_two(config_path)
        if fault == "refuse":
            hook.down()
        else:
            hook.faults.extend([fault] * 3)
        code, output = poll(config_path)
        assert code == 12, output
        assert "alerts → hook: FAILED, 2 pending" in output
        assert "alerts not delivered to hook" in output
        config = prepare(load(config_path))
        db = history.database(tmp_path / "m.db")
        soon = utcnow() + timedelta(seconds=5)
        # Within the backoff nothing is tried: a down target is not hammered.
        tried = len(hook.requests)
        assert [o.status for o in deliver(config, db, soon)] == ["backoff"]
        assert len(hook.requests) == tried
        if fault == "refuse":
            hook.up()
        else:
            hook.faults.clear()
        later = utcnow() + backoff(1) + timedelta(seconds=1)
        assert [(o.status, o.sent) for o in deliver(config, db, later)] == [("sent", 2)]
        assert [(o.status, o.sent) for o in deliver(config, db, later)] == [("idle", 0)]
        assert len(hook.accepted) == 1
        body = hook.accepted[0].json()["message"]
        assert body.count("first waiting") == 1 and body.count("second waiting") == 1


@pytest.mark.one_backend
def test_the_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(50) == timedelta(minutes=30)


def test_two_targets_one_down_the_other_gets_its_messages(tmp_path: Path) -> None:
    with receiver() as up, receiver() as down:
        config_path = alert_config(
            tmp_path,
            f'[[notify]]\nname = "down"\nurl = "json://{down.base}/"\n\n'
            f'[[notify]]\nname = "up"\nurl = "json://{up.base}/"\n',
        )
        queue_two(config_path)
        down.down()
        code, output = poll(config_path)
        assert code == 12, output
        assert "alerts → up: sent 2 alerts in one message" in output
        assert "alerts → down: FAILED" in output
        assert len(up.accepted) == 1
        down.up()
        config = prepare(load(config_path))
        outcomes = deliver(
            config, history.database(tmp_path / "m.db"), utcnow() + timedelta(minutes=1)
        )
        assert [(o.target, o.status) for o in outcomes] == [("down", "sent"), ("up", "idle")]
        assert len(down.accepted) == 1 and len(up.accepted) == 1


def test_a_poll_killed_while_sending_leaves_the_alert_pending_for_the_next_run(
    tmp_path: Path,
) -> None:
    with receiver() as hook:
        hook.hang_seconds = 30
        config_path = hook_config(tmp_path, hook)
        queue_two(config_path)
        hook.faults.append("hang")
        command = [sys.executable, "-m", "mentionwatch", "--config", str(config_path), "poll"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not hook.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hook.requests, "the poll never tried to send"
        os.kill(process.pid, signal.SIGKILL)  # stored and committed, the message in flight
        process.wait()
        hook.release.set()
        with Store.open(history.database(tmp_path / "m.db")) as store, store.transaction() as db:
            stored = db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
            pending = db.execute("SELECT COUNT(*) FROM alerts WHERE status = 'pending'").fetchone()
        assert stored == 2 and pending[0] == 2
        assert not hook.accepted
        code, output = poll(config_path)
        assert code == 0, output
        assert len(hook.accepted) == 1
        assert "first waiting" in hook.accepted[0].json()["message"]
        assert poll(config_path)[0] == 0 and len(hook.accepted) == 1
