"""The README's cron and systemd recipes, and what `mentionwatch schedule` prints, run as cron and
systemd run them: `env -i PATH=/usr/bin:/bin HOME=...`, no variables of the test's shell.

A real home folder is built for each: mentionwatch installed at ~/.local/bin (a link to this
environment's script), a config with a feed and a Mastodon account (a real HTTP server on
127.0.0.1), secrets in a 0600 env file, a real SMTP server for the digest.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.store import MentionFilter, Store
from mentionwatch.timeutil import utcnow
from tests.fakes import FakeMastodon, serve
from tests.mailserver import PASSWORD, USER, Server, smtp_server

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CRON_BLOCKS = re.findall(r"```cron\n(.*?)```", README, re.S)
SYSTEMD_BLOCK = re.search(r"```ini\n(# mentionwatch-digest.service.*?)```", README, re.S)
TOKEN = "mastodon-token-from-the-env-file"
SCRIPT = Path(sys.executable).parent / "mentionwatch"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@dataclass
class Home:
    path: Path
    mail: Server
    mastodon: FakeMastodon

    @property
    def db(self) -> Path:
        return self.path / ".local" / "share" / "mentionwatch" / "mentionwatch.db"

    def stored_accounts(self) -> set[str]:
        with Store.open(self.db, create=False) as store:
            return {m.account for m in store.mentions(MentionFilter(states=()), utcnow())}


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    if not SCRIPT.exists():
        pytest.skip("no installed mentionwatch script in this environment")
    path = tmp_path / "me"
    (path / ".local" / "bin").mkdir(parents=True)
    (path / ".local" / "bin" / "mentionwatch").symlink_to(SCRIPT)
    folder = path / ".config" / "mentionwatch"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "alerts.atom", folder / "alerts.atom")
    env = folder / "env"
    env.write_text(f"# for cron\nMASTODON_TOKEN={TOKEN}\nexport SMTP_PASSWORD='{PASSWORD}'\n")
    env.chmod(0o600)
    mastodon = FakeMastodon()
    mastodon.add_mentions(mastodon.add_account(TOKEN, "brand"), 3)
    with serve(mastodon) as url, smtp_server(tmp_path, auth=True) as mail:
        config = folder / "config.toml"
        config.write_text(
            f"""[[accounts]]
name = "alerts"
platform = "feed"
url = "alerts.atom"
backfill = "3650d"

[[accounts]]
name = "brand-mastodon"
platform = "mastodon"
server = "{url}"
handle = "brand"
token = "env:MASTODON_TOKEN"

[digest]
to = ["team@example.com"]
from = "mentionwatch <mw@example.com>"

[digest.smtp]
host = "127.0.0.1"
port = {mail.port}
security = "none"
username = "{USER}"
password = "env:SMTP_PASSWORD"
timeout = "10s"
""",
            encoding="utf-8",
        )
        config.chmod(0o600)
        yield Home(path, mail, mastodon)


def like_cron(home: Path, command: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """One crontab command, the way cron runs it: sh -c, in the home folder, bare environment."""
    variables = [f"{k}={v}" for k, v in extra.items()]
    bare = ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={home}", "SHELL=/bin/sh", *variables]
    return subprocess.run([*bare, "/bin/sh", "-c", command], cwd=home, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def crontab(text: str) -> tuple[dict[str, str], list[str]]:
    """A crontab's variable lines and its jobs' commands (the part after the five fields)."""
    variables: dict[str, str] = {}
    commands: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assignment = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
        if assignment:
            variables[assignment[1]] = assignment[2]
        else:
            commands.append(line.split(None, 5)[5].replace("\\%", "%"))
    return variables, commands


def run_crontab(home: Home, text: str) -> list[subprocess.CompletedProcess[str]]:
    variables, commands = crontab(text)
    assert commands, text
    # MAILTO is cron's business, not the command's; the others reach the command.
    extra = {k: v for k, v in variables.items() if k != "MAILTO"}
    results = [like_cron(home.path, command, **extra) for command in commands]
    for command, result in zip(commands, results, strict=True):
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
    return results


def run_units(home: Home, text: str) -> None:
    """ExecStart= lines with EnvironmentFile= loaded, as systemd runs a oneshot service."""
    from mentionwatch.config_secrets import load_env_file  # systemd's format, read the same way

    environment: dict[str, str] = {}
    ran = 0
    for line in text.replace("%h", str(home.path)).splitlines():
        if line.startswith("EnvironmentFile="):
            environment.update(load_env_file(Path(line.split("=", 1)[1].lstrip("-"))))
        elif line.startswith("ExecStart="):
            command = line.split("=", 1)[1]
            may_fail = command.startswith("-")
            result = like_cron(home.path, command.lstrip("-"), **environment)
            assert may_fail or result.returncode == 0, (command, result.stderr)
            assert "Traceback" not in result.stderr
            ran += 1
    assert ran


def test_the_readme_has_the_recipes_this_file_runs() -> None:
    assert len(CRON_BLOCKS) >= 4 and SYSTEMD_BLOCK is not None
    assert all("/home/me/.local/bin/mentionwatch" in block for block in CRON_BLOCKS)


@pytest.mark.parametrize("block", CRON_BLOCKS, ids=lambda b: b.splitlines()[-1][:60])
def test_each_readme_cron_recipe_works_under_crons_environment(
    home: Home, httpserver: HTTPServer, block: str
) -> None:
    httpserver.expect_request("/fail").respond_with_data("ok")
    text = block.replace("/home/me", str(home.path))
    text = text.replace("https://hc-ping.com/YOUR-UUID/fail", httpserver.url_for("/fail"))
    if "poll" not in text:  # `check` needs something polled to check
        env = home.path / ".config" / "mentionwatch" / "env"
        poll = f"{home.path}/.local/bin/mentionwatch --env-file {env} poll"
        assert like_cron(home.path, poll).returncode == 0
    results = run_crontab(home, text)
    if "poll" in text:
        # The Mastodon account polled: its token came from the env file.
        assert home.stored_accounts() == {"alerts", "brand-mastodon"}
    if "curl" in text:
        assert [r.path for r, _ in httpserver.log] == ["/fail"]  # the sample is past its SLA
    if "digest --stdout" in text:
        assert results[-1].stdout.startswith("mentionwatch digest, ")
    if "digest --email" in text:
        [sent] = home.mail.inbox.messages
        assert sent.rcpt_tos == ["team@example.com"]


def test_without_the_env_file_cron_lacks_the_secret(home: Home) -> None:
    """What the README's cron lines met before: `env:` secrets unset under cron (exit 3)."""
    mw = f"{home.path}/.local/bin/mentionwatch"
    result = like_cron(home.path, f"{mw} poll --lock-timeout 60")
    assert result.returncode == 3 and "environment variable MASTODON_TOKEN is not set" in (
        result.stderr
    )
    assert like_cron(home.path, "mentionwatch --version").returncode == 127  # not on cron's PATH


def test_the_readme_systemd_units_work_under_systemds_environment(home: Home) -> None:
    assert SYSTEMD_BLOCK is not None
    run_units(home, SYSTEMD_BLOCK.group(1))
    assert home.stored_accounts() == {"alerts", "brand-mastodon"}
    assert len(home.mail.inbox.messages) == 1


def test_schedule_prints_a_crontab_that_works_under_cron(home: Home) -> None:
    mw = home.path / ".local" / "bin" / "mentionwatch"
    config = home.path / ".config" / "mentionwatch" / "config.toml"
    printed = subprocess.run([str(mw), "--config", str(config), "schedule"], capture_output=True,
                             text=True, timeout=60, cwd=home.path)  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout
    assert f"{mw} --config {config} --env-file {config.parent / 'env'} poll --lock-timeout 60" in (
        text
    )
    assert "#   MASTODON_TOKEN=...   (account 'brand-mastodon', key 'token')" in text
    assert "#   SMTP_PASSWORD=...   ([digest.smtp] password)" in text
    assert "digest --email --if-any" in text
    run_crontab(home, text)
    assert home.stored_accounts() == {"alerts", "brand-mastodon"}
    assert len(home.mail.inbox.messages) == 1


def test_schedule_systemd_prints_units_that_work_under_systemd(home: Home) -> None:
    mw = home.path / ".local" / "bin" / "mentionwatch"
    config = home.path / ".config" / "mentionwatch" / "config.toml"
    printed = subprocess.run([str(mw), "--config", str(config), "schedule", "--systemd"],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    text = printed.stdout
    assert f"EnvironmentFile={config.parent / 'env'}" in text
    assert "OnCalendar=*:0/10" in text and "OnCalendar=Mon..Fri 08:00" in text
    assert "--env-file" not in text  # systemd loads the file itself
    run_units(home, text)
    assert home.stored_accounts() == {"alerts", "brand-mastodon"}
    assert len(home.mail.inbox.messages) == 1


def test_an_env_file_others_can_read_is_refused(home: Home) -> None:
    env = home.path / ".config" / "mentionwatch" / "env"
    env.chmod(0o644)
    mw = f"{home.path}/.local/bin/mentionwatch"
    result = like_cron(home.path, f"{mw} --env-file {env} poll")
    assert result.returncode == 3 and f"{env}: readable by group or others" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
