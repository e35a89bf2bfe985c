"""`[[notify]]` blocks: validated at load, URLs checked by apprise, secrets never shown; and
`notify test` / `notify pending` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.config import load
from mentionwatch.errors import ConfigError
from mentionwatch.notify.deliver import prepare
from mentionwatch.notify.settings import quiet_until
from mentionwatch.store import Store
from tests.receivers import alert_config, receiver

runner = CliRunner()
SECRET = "T0SECRET/B0SECRET/XXsecretXXtokenXX"


def mw(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args], env=env)
    return result.exit_code, result.output


def test_a_full_block_loads_with_its_choices(tmp_path: Path) -> None:
    config = load(
        alert_config(
            tmp_path,
            '[[notify]]\nname = "team"\nurl = "env:TEAM_URL"\nevents = ["new", "breached"]\n'
            'accounts = ["alerts"]\nplatforms = ["feed"]\nquiet_hours = "22:00-07:30"\n'
            "max_items = 5\n\n"
            '[[notify]]\nname = "phone"\nurl = "ntfy://127.0.0.1:9/brand"\n',
            settings='timezone = "Europe/Berlin"\n',
        )
    )
    team, phone = config.notify
    assert team.events == frozenset({"new", "breached"}) and team.max_items == 5
    assert team.accounts == ("alerts",) and team.platforms == ("feed",)
    assert team.quiet_hours == (22 * 60, 7 * 60 + 30) and team.url == ""
    assert team.shown_url() == "? (from env TEAM_URL)"
    assert phone.events == frozenset({"new", "due-soon", "breached"}) and phone.max_items == 10
    assert phone.shown_url() == "ntfy://… (from config file)"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ('url = "json://h/"', "notify[0]: key 'name' is required"),
        ('name = "t"', "[[notify]] 't': key 'url' is required"),
        ('name = "t"\nurl = "json://h/"\nevnts = ["new"]', "unknown key 'evnts'"),
        ('name = "t"\nurl = "json://h/"\nevents = ["late"]', "key 'events': unknown 'late'"),
        ('name = "t"\nurl = "json://h/"\naccounts = ["nope"]', "key 'accounts': unknown 'nope'"),
        ('name = "t"\nurl = "json://h/"\nplatforms = ["myspace"]', "unknown 'myspace'"),
        ('name = "t"\nurl = "json://h/"\nmax_items = 0', "'max_items' must be a whole number"),
        ('name = "t"\nurl = "json://h/"\nquiet_hours = "late"', 'must look like "22:00-07:00"'),
        ('name = "t"\nurl = "not a url"', "key 'url': not a URL"),
    ],
)
def test_a_bad_block_is_one_line_naming_it(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(alert_config(tmp_path, f"[[notify]]\n{block}\n"))
    assert message in str(caught.value)
    assert str(tmp_path / "config.toml") in str(caught.value)


def test_an_unknown_scheme_is_a_config_error_naming_the_block_and_nothing_is_polled(
    tmp_path: Path,
) -> None:
    config = alert_config(tmp_path, '[[notify]]\nname = "chat"\nurl = "env:CHAT_URL"\n')
    env = {"CHAT_URL": f"nosuchservice://{SECRET}"}
    for command in (["poll"], ["config", "check"], ["watch", "--once"], ["notify", "test"]):
        code, output = mw(config, *command, env=env)
        assert code == 3, output
        assert "[[notify]] 'chat': key 'url'" in output
        assert "unknown scheme nosuchservice://" in output
        assert "SECRET" not in output
    assert not (tmp_path / "m.db").exists() or not Store.open(tmp_path / "m.db").cursors("alerts")


def test_a_missing_env_variable_is_a_config_error(tmp_path: Path) -> None:
    config = alert_config(tmp_path, '[[notify]]\nname = "chat"\nurl = "env:CHAT_URL"\n')
    code, output = mw(config, "poll", env={"CHAT_URL": ""})
    assert code == 3 and "environment variable CHAT_URL is not set" in output


def test_config_check_shows_targets_without_any_secret_part(tmp_path: Path) -> None:
    url_file = tmp_path / "slack.url"
    url_file.write_text(f"slack://{SECRET}/#mentions\n")
    url_file.chmod(0o600)
    config = alert_config(
        tmp_path,
        f'[[notify]]\nname = "slack"\nurl_file = "{url_file}"\n\n'
        f'[[notify]]\nname = "hook"\nurl = "env:HOOK"\n',
    )
    code, output = mw(config, "config", "check", env={"HOOK": "json://user:PWSECRET@h/"})
    assert code == 0, output
    assert f"alerts: slack: slack://… (from file {url_file})" in output
    assert "alerts: hook: json://… (from env HOOK)" in output
    assert "SECRET" not in output and "secret" not in output


def test_a_url_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    url_file = tmp_path / "slack.url"
    url_file.write_text(f"slack://{SECRET}\n")
    url_file.chmod(0o644)
    config = alert_config(tmp_path, f'[[notify]]\nname = "slack"\nurl_file = "{url_file}"\n')
    with pytest.raises(ConfigError, match="readable by group or others"):
        prepare(load(config))


def test_notify_test_says_what_each_target_answered(tmp_path: Path) -> None:
    with receiver() as good, receiver() as bad:
        config = alert_config(
            tmp_path,
            f'[[notify]]\nname = "good"\nurl = "json://{good.base}/"\n\n'
            f'[[notify]]\nname = "bad"\nurl = "json://{bad.base}/{SECRET}"\n',
        )
        bad.faults.append("500")
        code, output = mw(config, "notify", "test")
        assert code == 12, output
        assert "good json://… (from config file): ✓ accepted" in output
        assert "bad json://… (from config file): ✗ FAILED:" in output and "500" in output
        assert "SECRET" not in output
        assert good.accepted[0].json()["title"] == "mentionwatch: test alert"
        code, output = mw(config, "notify", "test", "--name", "good")
        assert code == 0 and "bad" not in output and len(good.accepted) == 2
        code, output = mw(config, "notify", "test", "--name", "nope")
        assert code == 2 and "no [[notify]] block named 'nope'" in output


def test_quiet_hours_wrap_past_midnight_in_the_settings_timezone(tmp_path: Path) -> None:
    config = load(
        alert_config(
            tmp_path,
            '[[notify]]\nname = "t"\nurl = "json://h/"\nquiet_hours = "22:00-07:00"\n',
            settings='timezone = "Europe/Berlin"\n',
        )
    )
    target = config.notify[0]
    # Berlin is UTC+1 in December.
    assert quiet_until(target, datetime(2026, 12, 1, 20, 59, tzinfo=UTC)) is None
    assert quiet_until(target, datetime(2026, 12, 1, 21, 0, tzinfo=UTC)) == datetime(
        2026, 12, 2, 6, 0, tzinfo=UTC
    )
    assert quiet_until(target, datetime(2026, 12, 2, 5, 59, tzinfo=UTC)) == datetime(
        2026, 12, 2, 6, 0, tzinfo=UTC
    )
    assert quiet_until(target, datetime(2026, 12, 2, 6, 0, tzinfo=UTC)) is None


def test_list_with_alerts_configured_never_imports_apprise(tmp_path: Path) -> None:
    config = alert_config(tmp_path, '[[notify]]\nname = "t"\nurl = "json://127.0.0.1:9/"\n')
    with Store.open(tmp_path / "m.db"):
        pass
    env = {**os.environ, "HOME": str(tmp_path)}
    command = [sys.executable, "-X", "importtime", "-m", "mentionwatch", "--config",
               str(config), "list"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "mentionwatch.notify.settings" in imported  # the config was read
    assert not {m for m in imported if m.split(".")[0] in ("apprise", "httpx", "requests")}


def test_the_starter_notify_block_is_valid_once_uncommented(tmp_path: Path) -> None:
    import re

    from mentionwatch.starter import STARTER_CONFIG

    settings, *blocks = STARTER_CONFIG.split("\n# [[accounts]]\n")
    notify = settings[settings.index("# [[notify]]") :]
    settings = settings[: settings.index("# Alerts:")]
    path = tmp_path / "config.toml"
    uncommented = re.sub(r"(?m)^# ", "", notify + "\n# [[accounts]]\n" + blocks[0])
    path.write_text(settings + uncommented)
    path.chmod(0o600)
    config = load(path).notify
    assert [t.name for t in config] == ["team-slack"]
    assert config[0].accounts == ("brand-mastodon",)
