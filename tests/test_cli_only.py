"""Building only the command being run (cli/only.py) never changes what a command shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.cli.only import FLAG_OPTIONS, VALUE_OPTIONS, invoked, only
from mentionwatch.store import Store

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["list", "--limit", "5"], "list"),
        (["--db", "x.db", "list"], "list"),
        (["--db=x.db", "-v", "export", "-f", "csv"], "export"),
        (["-c", "c.toml", "--env-file", "env", "--verbose", "rules", "test"], "rules"),
        (["config", "check"], "config"),
        ([], None),
        (["--help"], None),
        (["--version"], None),
        (["--db"], None),  # the value is missing: Click says so, from the whole app
        (["-vc", "c.toml", "list"], None),  # combined short options: not read here
        (["--install-completion"], None),
        (["--", "list"], None),
    ],
)
def test_the_command_name_is_read_only_when_certain(args: list[str], name: str | None) -> None:
    assert invoked(args) == name


def test_the_top_level_options_known_here_are_exactly_the_apps() -> None:
    group = typer.main.get_command(app)
    values: set[str] = set()
    flags: set[str] = set()
    for param in group.params:
        names = {*param.opts, *param.secondary_opts}
        if param.is_eager or param.callback is not None:  # --version, completion: whole app
            assert not names & (VALUE_OPTIONS | FLAG_OPTIONS)
        elif getattr(param, "is_flag", False):
            flags |= names
        else:
            values |= names
    assert values == VALUE_OPTIONS
    assert flags == FLAG_OPTIONS


def test_only_keeps_just_the_named_command_or_sub_app() -> None:
    listing = only(app, ["--db", "x.db", "list", "--limit", "5"])
    assert [c.name for c in listing.registered_commands] == ["list"]
    assert listing.registered_groups == []
    rules = only(app, ["rules", "test", "x"])
    assert rules.registered_commands == []
    assert [g.name for g in rules.registered_groups] == ["rules"]
    watch = only(app, ["watch"])  # registered from its function's name
    assert [c.callback.__name__ for c in watch.registered_commands if c.callback] == ["watch"]
    assert len(app.registered_commands) > 20  # the app itself is left whole


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["lsit"], ["--bogus"]])
def test_help_version_and_mistakes_get_the_whole_app(args: list[str]) -> None:
    assert only(app, args) is app


def test_shell_completion_gets_the_whole_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "_MENTIONWATCH_COMPLETE", "complete_bash")
    assert only(app, ["list"]) is app


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--limit", "2"],
        ["list", "--json"],
        ["list", "--help"],
        ["list", "--bogus"],
        ["list", "--limit", "0"],
        ["export", "-f", "csv"],
        ["rules", "--help"],
        ["config", "--help"],
        ["db", "copy", "--help"],
        ["done", "--help"],
        ["watch", "--help"],
        ["stats", "--by", "nope"],
    ],
)
def test_a_trimmed_app_shows_exactly_what_the_whole_app_shows(
    tmp_path: Path, args: list[str]
) -> None:
    db = tmp_path / "m.db"
    Store.open(db).close()
    env = {"MENTIONWATCH_DB": str(db), "MENTIONWATCH_CONFIG": str(tmp_path / "none.toml")}
    trimmed = only(app, args)
    assert trimmed is not app
    whole = runner.invoke(app, args, env=env, prog_name="mentionwatch")
    part = runner.invoke(trimmed, args, env=env, prog_name="mentionwatch")
    assert (part.exit_code, part.output) == (whole.exit_code, whole.output)
    assert whole.output.strip()  # something was shown, so the comparison means something


def test_a_trimmed_app_runs_the_command(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    Store.open(db).close()
    result = runner.invoke(only(app, ["list"]), ["list"], env={"MENTIONWATCH_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert "Nothing waiting" in result.output


def test_a_typer_without_commands_is_untouched() -> None:
    empty = typer.Typer()
    assert only(empty, ["list"]) is empty
