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
