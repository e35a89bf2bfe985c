"""Opening the database: read-only folders and files, missing databases, filter typos.

Permissions only bind ordinary users, so these run the CLI in a child process as one: as
root, with the capabilities that bypass file permissions dropped (`setpriv`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mentionwatch.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

READERS = [["list"], ["show", "1"], ["export"], ["stats"], ["check"], ["digest"]]
WRITERS = [["poll"], ["done", "1"], ["dismiss", "1"], ["snooze", "1"], ["reopen", "1"],
           ["prune"], ["digest", "--stdout"]]  # fmt: skip


def ordinary(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run mentionwatch as a user whom file permissions bind."""
    command = [sys.executable, "-m", "mentionwatch", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot bind")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def polled(example: Path) -> Iterator[Path]:
    """The example polled once (its database is example.db beside the config)."""
    done = ordinary(["-c", str(example), "poll"], example.parent)
    assert done.returncode == 0, done.stderr
    yield example
    example.parent.chmod(0o755)
    for path in example.parent.glob("example.db*"):
        path.chmod(0o644)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("args", WRITERS, ids=" ".join)
def test_a_read_only_data_folder_is_one_line_and_exit_5_for_writers(
    polled: Path, args: list[str]
) -> None:
    folder = polled.parent
    (folder / "example.db.lock").unlink(missing_ok=True)  # the first poll on this folder
    folder.chmod(0o555)
    result = ordinary(["-c", str(polled), *args], folder)
    assert result.returncode == 5, result.stderr
    line = one_line_error(result)
    assert "read-only" in line or "Permission denied" in line


@pytest.mark.parametrize("args", WRITERS, ids=" ".join)
def test_a_read_only_database_file_is_refused_by_writers(polled: Path, args: list[str]) -> None:
    (polled.parent / "example.db").chmod(0o444)
    result = ordinary(["-c", str(polled), *args], polled.parent)
    assert result.returncode == 5, result.stderr
    assert "the database is read-only" in one_line_error(result)


@pytest.mark.parametrize("where", ["folder", "file"])
@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_readers_read_a_read_only_database_and_leave_no_file(
    polled: Path, args: list[str], where: str
) -> None:
    folder = polled.parent
    before = sorted(p.name for p in folder.iterdir())
    if where == "folder":
        folder.chmod(0o555)
    else:
        (folder / "example.db").chmod(0o444)
    result = ordinary(["-c", str(polled), *args], folder)
    assert result.returncode in (0, 1), result.stderr  # check: 1 means "something is overdue"
    assert "Traceback" not in result.stderr and "mentionwatch:" not in result.stderr
    assert result.stdout.strip() or args[0] == "check"
    assert sorted(p.name for p in folder.iterdir()) == before
    # Nothing left behind refuses the next write once the database is writable again.
    folder.chmod(0o755)
    (folder / "example.db").chmod(0o644)
    assert ordinary(["-c", str(polled), "dismiss", "1"], folder).returncode == 0


@pytest.mark.parametrize("args", [*READERS, ["done", "1"], ["prune"]], ids=" ".join)
def test_commands_that_do_not_poll_refuse_a_missing_database_and_create_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    db = tmp_path / "no" / "such" / "dir" / "x.db"
    result = runner.invoke(app, ["--db", str(db), *args])
    assert result.exit_code == 5, result.output
    assert f"{db}: no database yet; run `mentionwatch poll` first" in result.output
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", ["list", "export", "stats"])
def test_an_unknown_platform_is_a_usage_error(example: Path, command: str) -> None:
    assert runner.invoke(app, ["-c", str(example), "poll"]).exit_code == 0
    result = runner.invoke(app, ["-c", str(example), command, "--platform", "nope"])
    assert result.exit_code == 2, result.output
    assert "--platform: no platform named 'nope'" in result.output
    ok = runner.invoke(app, ["-c", str(example), command, "--platform", "mastodon"])
    assert ok.exit_code == 0, ok.output  # a real platform with nothing stored is no error
