"""The whole flow through the CLI, as a user would run it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.fetched import Mention
from mentionwatch.store import Store
from mentionwatch.store.lock import poll_lock
from mentionwatch.timeutil import utcnow

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def mw(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.output


def listed(config: Path, *args: str) -> list[dict[str, object]]:
    code, output = mw(config, "list", "--jsonl", *args)
    assert code == 0, output
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_example_poll_list_done_list(example: Path) -> None:
    code, output = mw(example, "poll")
    assert code == 0, output
    assert "exampleco-alerts (feed):" in output
    waiting = listed(example)
    assert len(waiting) >= 3
    assert waiting == sorted(waiting, key=lambda m: str(m["created_at"]))
    assert all(m["state"] == "open" and m["url"] for m in waiting)

    code, output = mw(example, "done", str(waiting[0]["id"]))
    assert code == 0, output
    assert [m["id"] for m in listed(example)] == [m["id"] for m in waiting[1:]]

    code, output = mw(example, "poll")
    assert code == 0 and "0 new" in output
    assert len(listed(example, "--all")) == len(waiting)

    code, output = mw(example, "list")
    assert code == 0 and "exampleco-alerts" in output


def test_manual_states_round_trip(example: Path) -> None:
    mw(example, "poll")
    first, second, third = (m["id"] for m in listed(example)[:3])
    assert mw(example, "dismiss", str(first))[0] == 0
    assert mw(example, "snooze", str(second), "--for", "2h")[0] == 0
    assert first not in [m["id"] for m in listed(example)]
    snoozed = listed(example, "--state", "snoozed")
    assert [m["id"] for m in snoozed] == [second]
    assert mw(example, "reopen", str(first), str(second))[0] == 0
    assert {first, second} <= {m["id"] for m in listed(example)}
    code, output = mw(example, "show", str(third))
    assert code == 0 and "exampleco-alerts" in output and "State" in output


def test_unknown_mention_id_is_a_usage_error(example: Path) -> None:
    mw(example, "poll")
    code, output = mw(example, "done", "999999")
    assert code == 2 and "no mention with id 999999" in output


@pytest.mark.parametrize("command", ["list", "export", "stats", "poll", "check"])
def test_a_mistyped_account_is_refused_rather_than_listing_nothing(
    example: Path, command: str
) -> None:
    mw(example, "poll")
    code, output = mw(example, command, "--account", "exampleco-alert")
    assert code == 2
    assert "no account named 'exampleco-alert'" in output and "exampleco-alerts" in output


def test_an_account_removed_from_the_config_can_still_be_listed(example: Path) -> None:
    mw(example, "poll")
    text = example.read_text().replace('name = "exampleco-alerts"', 'name = "renamed-alerts"')
    example.write_text(text)
    assert len(listed(example, "--account", "exampleco-alerts")) >= 3


def test_bad_duration_option_is_a_usage_error(example: Path) -> None:
    code, output = mw(example, "list", "--older-than", "soon")
    assert code == 2 and "--older-than" in output


HOSTILE = Mention(
    remote_id="evil-1",
    url="https://example.com/evil",
    author='=HYPERLINK("http://evil")',
    text="[bold red]fake alert[/bold red] \x1b]8;;http://evil\x07click\x1b]8;;\x07 \x1b[2J done",
    created_at=utcnow() - timedelta(hours=3),
)


def seed(config: Path, *mentions: Mention) -> None:
    from mentionwatch.config import database_path, load

    with Store.open(database_path(None, load(config))) as store:
        store.save_poll("exampleco-alerts", "feed", list(mentions), [], {}, utcnow())


def test_hostile_text_never_reaches_the_terminal_as_markup_or_escapes(example: Path) -> None:
    seed(example, HOSTILE)
    code, output = mw(example, "list")
    assert code == 0
    assert "\x1b" not in output and "\x07" not in output
    assert "[bold red]fake alert" in output  # shown literally, not rendered
    code, output = mw(example, "show", "1")
    assert "\x1b" not in output and "[bold red]fake alert[/bold red]" in output


def test_csv_export_neutralises_formulas(example: Path, tmp_path: Path) -> None:
    seed(example, HOSTILE)
    target = tmp_path / "out.csv"
    code, output = mw(example, "export", "--format", "csv", "--output", str(target))
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert rows[0]["author"] == '\'=HYPERLINK("http://evil")'
    assert "\x1b" not in rows[0]["text"]


def test_json_exports_and_overdue_filter(example: Path) -> None:
    fresh = Mention("fresh", "https://e/1", "a", "new", utcnow() - timedelta(minutes=5))
    stale = Mention("stale", "https://e/2", "b", "old", utcnow() - timedelta(days=2))
    seed(example, fresh, stale)
    code, output = mw(example, "export", "--format", "json")
    assert code == 0
    records = json.loads(output)
    assert [r["url"] for r in records] == ["https://e/2", "https://e/1"]
    assert records[0]["sla_status"] == "breached" and records[1]["sla_status"] == "ok"
    assert [m["author"] for m in listed(example, "--overdue")] == ["b"]
    assert [m["author"] for m in listed(example, "--older-than", "1h")] == ["b"]


def test_second_poll_while_one_runs_exits_with_its_own_code(example: Path) -> None:
    from mentionwatch.config import database_path, load

    db = database_path(None, load(example))
    assert isinstance(db, Path)
    Store.open(db).close()
    with poll_lock(db, 0):
        code, output = mw(example, "poll")
    assert code == 6 and "another `mentionwatch poll` is running" in output
    assert mw(example, "list")[0] == 0  # readers are never blocked


def test_corrupt_database_gives_exit_5_and_is_left_alone(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    db = tmp_path / "bad.db"
    db.write_bytes(b"garbage" * 500)
    config = write_config(f'[settings]\ndatabase = "{db}"\n')
    code, output = mw(config, "list")
    assert code == 5 and "corrupt" in output
    assert db.read_bytes() == b"garbage" * 500


def test_one_failing_account_does_not_stop_the_others(
    example: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/broken.atom").respond_with_data("down", status=404)
    text = example.read_text() + (
        f'\n[[accounts]]\nname = "broken"\nplatform = "feed"\n'
        f'url = "{httpserver.url_for("/broken.atom")}"\n'
    )
    example.write_text(text)
    code, output = mw(example, "poll")
    assert code == 4
    assert "broken (feed): FAILED" in output and "HTTP 404" in output
    assert len(listed(example)) >= 3


def test_a_failed_account_is_named_once_in_its_summary_line(example: Path) -> None:
    example.write_text(
        example.read_text()
        + '\n[[accounts]]\nname = "gone"\nplatform = "feed"\nurl = "examples/gone.atom"\n'
    )
    code, output = mw(example, "poll")
    line = next(x for x in output.splitlines() if x.startswith("gone (feed):"))
    assert code == 4 and line.count("gone") == 2  # the account, and the file's name
    assert line.endswith("gone.atom: cannot read it: No such file or directory")


def test_every_command_has_help_and_is_in_the_readme() -> None:
    import typer

    readme = (ROOT / "README.md").read_text()
    group = typer.main.get_command(app)
    names: list[str] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            names += [f"{name} {sub}" for sub in command.commands]
        else:
            names.append(name)
    assert {"poll", "list", "done", "config check"} <= set(names)
    for name in names:
        result = runner.invoke(app, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.output
        assert f"`mentionwatch {name}" in readme, f"{name} is not documented in README.md"


def test_help_texts_keep_bracketed_config_sections() -> None:
    # Rich reads "[digest]" as markup and drops it unless escaped.
    result = runner.invoke(app, ["digest", "--help"])
    assert "[digest.smtp]" in result.output and "[digest] to" in result.output


def test_config_check_counts_accounts_in_english(example: Path) -> None:
    one = example.read_text().split("# Real accounts")[0]
    example.write_text(one)
    code, output = mw(example, "config", "check")
    assert code == 0 and "OK, 1 account." in output


def test_poll_verbose_logs_each_request_without_secrets(
    write_config: Callable[[str], Path], httpserver: HTTPServer, tmp_path: Path
) -> None:
    feed = (ROOT / "examples" / "alerts.atom").read_bytes()
    httpserver.expect_request("/private.atom").respond_with_data(feed)
    url = httpserver.url_for("/private.atom") + "?key=hunter2"
    config = write_config(
        f'[settings]\ndatabase = "{tmp_path / "v.db"}"\nbackfill = "3650d"\n'
        f'[[accounts]]\nname = "alerts"\nplatform = "feed"\nurl = "{url}"\n'
    )
    code, output = mw(config, "poll", "--verbose")
    assert code == 0, output
    assert "GET http://" in output and "/private.atom" in output and " 200 " in output
    assert "hunter2" not in output
    assert "\x1b" not in output  # not a terminal: plain lines only


def test_config_check_online_says_who_each_token_belongs_to(
    write_config: Callable[[str], Path], httpserver: HTTPServer
) -> None:
    def verify(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    httpserver.expect_request(
        "/api/v1/accounts/verify_credentials", headers=verify("good-token")
    ).respond_with_json({"id": "1", "username": "brand", "acct": "brand"})
    httpserver.expect_request(
        "/api/v1/accounts/verify_credentials", headers=verify("revoked-token")
    ).respond_with_json({"error": "The access token was revoked"}, status=401)
    server = httpserver.url_for("").rstrip("/")
    accounts = "".join(
        f'[[accounts]]\nname = "{name}"\nplatform = "mastodon"\nserver = "{server}"\n'
        f'handle = "brand"\ntoken = "env:{var}"\n'
        for name, var in (("good", "GOOD_TOKEN"), ("bad", "BAD_TOKEN"))
    )
    config = write_config(accounts)
    env = {"GOOD_TOKEN": "good-token", "BAD_TOKEN": "revoked-token"}
    result = runner.invoke(app, ["--config", str(config), "config", "check", "--online"], env=env)
    assert result.exit_code == 4
    assert "✓ @brand@" in result.output
    assert "✗ bad: " in result.output and "was refused (env BAD_TOKEN)" in result.output
    assert "revoked-token" not in result.output and "good-token" not in result.output
