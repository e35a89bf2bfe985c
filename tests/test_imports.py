"""Commands that don't poll never pay for the HTTP stack (DESIGN.md: speed and scale)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mentionwatch.store import Store

HEAVY = (
    "httpx", "httpcore", "anyio", "feedparser", "pydantic", "psycopg", "apprise", "textual",
    "msgspec",
)  # fmt: skip


def imported_modules(importtime: str) -> set[str]:
    """The modules a `python -X importtime` run reports on stderr."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--limit", "5"],
        ["list", "--json"],
        ["export", "--format", "csv"],
        ["stats", "--json"],
        ["check"],
    ],
)
def test_commands_that_do_not_poll_never_import_the_http_stack(
    tmp_path: Path, args: list[str]
) -> None:
    with Store.open(tmp_path / "m.db"):
        pass  # an empty database, so that every command runs to its end
    env = {**os.environ, "MENTIONWATCH_DB": str(tmp_path / "m.db"), "HOME": str(tmp_path)}
    env.pop("MENTIONWATCH_CONFIG", None)
    command = [sys.executable, "-X", "importtime", "-m", "mentionwatch", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    imported = imported_modules(done.stderr)
    assert "mentionwatch.cli" in imported  # the measurement itself worked
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


def test_list_on_a_config_with_rules_parses_them_but_never_builds_a_matcher(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[[accounts]]\nname = "hn"\nplatform = "hackernews"\nkeywords = ["ExampleCo -spam"]\n'
        '[[rules]]\nname = "x"\nmatch = "refund OR /x+/i"\npriority = "high"\n',
        encoding="utf-8",
    )
    with Store.open(tmp_path / "m.db"):
        pass
    env = {**os.environ, "MENTIONWATCH_DB": str(tmp_path / "m.db"), "HOME": str(tmp_path)}
    command = [sys.executable, "-X", "importtime", "-m", "mentionwatch", "-c", str(config),
               "list", "--limit", "5"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    imported = imported_modules(done.stderr)
    assert done.returncode == 0, done.stderr[-500:]
    assert "mentionwatch.rules.parse" in imported  # parsed at load: a mistake stops list too
    assert "mentionwatch.rules.match" not in imported
    assert "mentionwatch.sources.search" not in imported
    assert "mentionwatch.business_hours" not in imported  # no calendar keys: no time zone data


# What `list` has no use for, and what each would cost its start-up: `secrets` loads OpenSSL
# through hashlib (~4 ms; only a poll's lease token needs it), the others are other commands'
# (alerts, rules, business hours, digests, the inbox), rich.table a layout list does by hand;
# platformdirs compiles patterns at import, and user_dirs.py answers without it on Linux;
# rich.console: into a pipe list writes Rich's lines itself (cli/consoles.py); email (and
# socket with it) only checks [users] and [digest] addresses.
NOT_AT_LIST_START = (
    "secrets", "hashlib", "zoneinfo", "tomllib", "platformdirs", "rich.table", "rich.console",
    "mentionwatch.notify", "mentionwatch.rules", "mentionwatch.business_hours",
    "mentionwatch.digest", "mentionwatch.inbox", "email", "socket", "mentionwatch.store.inserts",
    "tempfile",
)  # fmt: skip


def test_list_without_a_config_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    with Store.open(tmp_path / "m.db"):
        pass
    env = {**os.environ, "MENTIONWATCH_DB": str(tmp_path / "m.db"), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}  # fmt: skip
    for name in ("MENTIONWATCH_CONFIG", "FORCE_COLOR", "TTY_COMPATIBLE"):  # Rich would decide
        env.pop(name, None)
    command = [sys.executable, "-X", "importtime", "-m", "mentionwatch", "list", "--limit", "5"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    imported = imported_modules(done.stderr)
    assert done.returncode == 0, done.stderr[-500:]
    assert "mentionwatch.render.listing" not in imported  # nothing stored: nothing laid out
    assert "mentionwatch.store" in imported
    found = {m for m in imported for name in NOT_AT_LIST_START if m == name or
             m.startswith(name + ".")}  # fmt: skip
    assert not found


def test_the_http_stack_never_loads_httpx_s_command_line_client() -> None:
    """httpx imports its CLI (click, pygments) when they are installed; polls never run it."""
    code = (
        "import sys, mentionwatch.http, httpx; "
        "print(sorted({'click', 'pygments'} & set(sys.modules)), httpx.main.__module__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "httpx"]  # httpx's own stub stands in for the CLI
