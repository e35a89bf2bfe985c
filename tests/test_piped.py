"""Output to a pipe, a file or cron's mail is never hard-wrapped, whatever the width."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.history import mw_split

MISSING = "examples/a/very/long/path/that/does/not/exist/anywhere/on/this/machine/alerts.atom"
CONFIG = f"""\
[settings]
database = "{{db}}"

[[accounts]]
name = "brand-alerts-with-a-long-name"
platform = "feed"
url = "{MISSING}"
"""


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both consoles 80 columns wide, as Rich assumes for cron (no terminal anywhere)."""
    from mentionwatch.cli import common

    monkeypatch.setattr(common.out, "width", 80)
    monkeypatch.setattr(common.err, "width", 80)


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(db=tmp_path / "mw.db"), encoding="utf-8")
    config.chmod(0o600)
    return config


def test_a_failed_accounts_poll_line_is_one_line_when_piped(failing: Path, narrow: None) -> None:
    code, out, err = mw_split(failing, "poll")
    assert code == 4, err
    (line,) = out.splitlines()
    assert line.startswith("brand-alerts-with-a-long-name (feed): FAILED: feed ")
    assert line.endswith(f"{MISSING}: cannot read it: No such file or directory")


def test_config_check_online_gives_the_failure_reason_a_line_of_its_own(
    failing: Path, narrow: None
) -> None:
    code, out, err = mw_split(failing, "config", "check", "--online")
    assert code == 4, out + err
    reasons = [line for line in out.splitlines() if line.startswith("✗ ")]
    assert reasons == [
        f"✗ brand-alerts-with-a-long-name: feed {failing.parent / MISSING}: cannot read it: "
        "No such file or directory"
    ]
    assert "│ ✗ failed" in out


def test_on_a_terminal_poll_shows_a_live_line_per_account_then_the_summary(
    tmp_path: Path,
) -> None:
    """The live display is only loaded on a terminal (cron never pays for it): under a real
    pseudo-terminal it runs, and its lines give way to the summary."""
    import os
    import pty
    import subprocess
    import sys

    from tests.test_source_feed import alert_entry, alerts_feed

    feed = tmp_path / "alerts.atom"
    entry = alert_entry(1, 20, "ExampleCo is great", "https://e.example/1", "ExampleCo")
    feed.write_text(alerts_feed(entry), encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[settings]\ndatabase = "{tmp_path / "mw.db"}"\nbackfill = "3650d"\n\n'
        f'[[accounts]]\nname = "alerts"\nplatform = "feed"\nurl = "{feed}"\n',
        encoding="utf-8",
    )
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "mentionwatch", "-c", str(config), "poll"],
        stdin=follower, stdout=follower, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert child.wait(timeout=60) == 0
    text = shown.decode(errors="replace")
    assert "\x1b[?25l" in text  # the live display hid the cursor while it ran
    assert "alerts (feed): 1 new" in text
