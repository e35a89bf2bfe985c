"""What a new user met in their first hour (issue 12): feeds, exports, confirmations, snoozes,
skipped polls, wording; each test failed before its fix. Those that store run on a SQLite file
and on PostgreSQL (conftest's BOTH_BACKENDS)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from rich.console import Console
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.cli.poll import summary_line
from mentionwatch.fetched import Batch, Mention
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.poll import PollResult
from mentionwatch.store import Store
from mentionwatch.timeutil import parse_timestamp, to_db, utcnow
from tests.conftest import FakeClock
from tests.history import database
from tests.test_source_github import make_account, notification, serve_notifications

runner = CliRunner()


def mw(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def seeded(write_config: Callable[[str], Path], tmp_path: Path) -> Path:
    """A config with a feed account and a database holding four mentions (ids 1-4)."""
    config = write_config(
        f'[settings]\ndatabase = "{database(tmp_path / "m.db")}"\n'
        '[[accounts]]\nname = "alerts"\nplatform = "feed"\nurl = "alerts.atom"\nsla = "1d"\n'
    )
    now = utcnow()
    found = [
        Mention("a", "https://news.example/ExampleCo-raises", "Tech Daily",
                "ExampleCo raises a round", now - timedelta(days=10)),
        Mention("b", "https://blog.example/post", "Ana", "Loving the new release",
                now - timedelta(days=8)),
        Mention("c", "https://forum.example/t/1", "EXAMPLECO fan", "help please",
                now - timedelta(hours=2)),
        Mention("d", "https://social.example/@x/1", "x", "nothing to see",
                now - timedelta(hours=1)),
    ]  # fmt: skip
    with Store.open(database(tmp_path / "m.db")) as store:
        store.save_poll("alerts", "feed", found, [], {}, now)
    return config


def ids(config: Path, *args: str) -> list[int]:
    code, out, err = mw(config, "list", "--jsonl", *args)
    assert code == 0, err
    return [int(json.loads(line)["id"]) for line in out.splitlines() if line.strip()]


# -- 5: a feed that does not parse fails its account and stores nothing --------------------------


def test_a_truncated_feed_is_a_failed_account_storing_nothing(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "broken.rss").write_text("<rss><channel><item><title>broken")
    config = write_config(
        f'[settings]\ndatabase = "{database(tmp_path / "m.db")}"\n'
        '[[accounts]]\nname = "alerts"\nplatform = "feed"\nurl = "broken.rss"\n'
    )
    code, out, err = mw(config, "poll")
    assert code == 4
    [line] = [x for x in out.splitlines() if x.startswith("alerts (feed):")]
    assert "FAILED:" in line and "not a readable RSS/Atom feed (no element found" in line
    assert mw(config, "list", "--all", "--json")[1] == "[]\n"


def test_a_feed_entry_without_an_author_is_shown_by_its_site(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "alerts.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Google Alert - ExampleCo'
        "</title><link>https://www.google.com/alerts</link><item><guid>1</guid><title>ExampleCo"
        "</title><link>https://www.techdaily.example/exampleco</link></item></channel></rss>"
    )
    config = write_config(
        f'[settings]\ndatabase = "{database(tmp_path / "m.db")}"\n'
        '[[accounts]]\nname = "alerts"\nplatform = "feed"\nurl = "alerts.rss"\n'
        'backfill = "3650d"\n'
    )
    assert mw(config, "poll")[0] == 0
    [row] = json.loads(mw(config, "list", "--json")[1])
    assert row["author"] == "techdaily.example"


# -- 6: export's format follows the file name ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "starts"),
    [("report.html", "<!doctype html>"), ("r.md", "# "), ("r.json", "["), ("r.jsonl", '{"id"'),
     ("r.csv", "id,account")],
)  # fmt: skip
def test_export_infers_the_format_from_the_extension(
    write_config: Callable[[str], Path], tmp_path: Path, name: str, starts: str
) -> None:
    config = seeded(write_config, tmp_path)
    code, _, err = mw(config, "export", "-o", str(tmp_path / name))
    assert code == 0, err
    assert (tmp_path / name).read_text().lstrip().startswith(starts)


def test_export_md_is_markdown_and_an_unknown_extension_is_refused(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = seeded(write_config, tmp_path)
    code, out, _ = mw(config, "export", "--format", "md")
    assert code == 0 and out.startswith("# ")
    code, _, err = mw(config, "export", "-o", str(tmp_path / "r.xlsx"))
    assert code == 2 and "cannot tell the format of" in err and not (tmp_path / "r.xlsx").exists()
    code, _, _ = mw(config, "export", "-o", str(tmp_path / "r.txt"), "--format", "csv")
    assert code == 0 and (tmp_path / "r.txt").read_text().startswith("id,")


# -- 14: confirmations name ids and say what was already so ------------------------------------


def test_confirmations_name_ids_and_what_was_already_so(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = seeded(write_config, tmp_path)
    assert mw(config, "dismiss", "3") == (0, "", "Dismissed #3.\n")
    assert mw(config, "reopen", "3", "3") == (0, "", "Reopened #3.\n")
    assert mw(config, "done", "1", "2")[2] == "Marked #1 and #2 as answered.\n"
    code, _, err = mw(config, "done", "1", "4")
    assert code == 0
    # Each command is a process of its own: on a slow machine seconds may pass between the two.
    assert re.fullmatch(
        r"Marked #4 as answered\.\n#1 was already answered \(by hand, \d+s ago\)\.\n", err
    )
    assert mw(config, "reopen", "4", "3")[2] == "Reopened #4.\n#3 was already open.\n"
    # An answer seen by a poll names who gave it.
    with Store.open(database(tmp_path / "m.db")) as store:
        two_hours_ago = to_db(utcnow() - timedelta(hours=2))
        store.db.execute(
            "UPDATE mentions SET answered_by = 'alice', answered_at = ? WHERE id = 1",
            (two_hours_ago,),
        )
    assert mw(config, "done", "1")[2] == "#1 was already answered (by alice, 2h ago).\n"


def test_show_says_a_manual_answer_was_marked_by_hand_with_no_trailing_blanks(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = seeded(write_config, tmp_path)
    mw(config, "done", "2")
    code, out, _ = mw(config, "show", "2")
    assert code == 0 and "marked answered by hand" in out and "by manual" not in out
    assert all(line == line.rstrip() for line in out.splitlines())


# -- 15: snooze says the date, and refuses absurd durations ------------------------------------


def test_snooze_prints_date_and_time_and_refuses_absurd_durations(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = seeded(write_config, tmp_path)
    code, _, err = mw(config, "snooze", "3", "--for", "1d")
    until = (utcnow() + timedelta(days=1)).astimezone()
    assert code == 0
    assert err.startswith(f"Snoozed #3 for 1d (until {until:%Y-%m-%d %H:}")
    for absurd in ("99999d", "367d", "9999999999d"):
        code, _, err = mw(config, "snooze", "4", "--for", absurd)
        assert code == 2 and "--for:" in err and "Traceback" not in err
    assert 4 in ids(config)


# -- 16: a poll the platform asked to skip says so --------------------------------------------


def test_a_github_listing_skipped_by_x_poll_interval_says_when_it_may_be_asked(
    httpserver: HTTPServer, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    from mentionwatch.sources.github import GitHubSource
    from tests.conftest import run
    from tests.test_source_github import HORIZON

    server = httpserver.url_for("").rstrip("/")
    serve_notifications(httpserver, [notification(server, reason="subscribed")])
    account = make_account(httpserver)

    async def mentions(cursor: str | None) -> Batch[Mention]:
        async with make_http() as http:
            source = GitHubSource(account, http.for_account(account), clock=clock.time)
            return await source.mentions(cursor, HORIZON)

    first = run(mentions(None))
    asked_at = clock.now
    clock.now += 30
    early = run(mentions(first.cursor))
    assert early.not_before == parse_timestamp(asked_at + 60)
    result = PollResult("gh-work", "github", not_before=utcnow() + timedelta(seconds=30))
    line = summary_line(result).plain
    assert "not asked for mentions (the platform asked to wait)" in line
    assert "(in 29s)" in line or "(in 30s)" in line


# -- 18: wording, and the spinner beside a finished account ------------------------------------


def test_failure_summary_reads_right_for_one_and_for_many() -> None:
    from mentionwatch.cli.poll import failure_summary

    assert failure_summary(1, 1) == "The account failed."
    assert failure_summary(3, 3) == "All 3 accounts failed."
    assert failure_summary(1, 2) == "1 of 2 accounts failed; the other was stored."
    assert failure_summary(2, 5) == "2 of 5 accounts failed; the others were stored."


def test_the_spinner_stops_beside_a_finished_account() -> None:
    from mentionwatch.cli.poll import progress_hooks

    console = Console(width=80, force_terminal=True, color_system=None, record=True)
    progress, started, finished = progress_hooks(console, None)
    a = Account(name="a", platform="feed", server="")
    b = Account(name="b", platform="feed", server="")
    started(a)
    started(b)
    finished(PollResult("a", "feed", new_mentions=2))
    table = progress.make_tasks_table(progress.tasks)
    console.print(table)
    lines = console.export_text().splitlines()
    done = next(line for line in lines if "a (feed): 2 new" in line)
    waiting = next(line for line in lines if line.rstrip().endswith("b (feed)"))
    spinner = set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
    assert not spinner & set(done) and spinner & set(waiting)


def test_exit_130_on_interrupt_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "| 130 |" in readme


# -- 19: bulk triage by filter -----------------------------------------------------------------


def test_bulk_dismiss_by_filter_needs_yes_without_a_terminal(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = seeded(write_config, tmp_path)
    code, _, err = mw(config, "dismiss", "--platform", "feed", "--older-than", "7d")
    assert code == 2 and "this would dismiss 2 mentions: add --yes" in err
    assert ids(config) == [1, 2, 3, 4]
    code, _, err = mw(config, "dismiss", "--platform", "feed", "--older-than", "7d", "--yes")
    assert code == 0 and err == "Dismissed #1 and #2.\n"
    assert ids(config) == [3, 4]
    code, _, err = mw(config, "reopen", "--older-than", "9d", "--yes")  # closed ones, by default
    assert code == 0 and err == "Reopened #1.\n"
    code, _, err = mw(config, "done", "--state", "breached", "--yes")
    assert code == 0 and err == "Marked #1 as answered.\n"
    code, _, err = mw(config, "snooze", "--grep", "please", "--for", "2h", "-y")
    assert code == 0 and err.startswith("Snoozed #3 for 2h (until ")
    assert mw(config, "dismiss", "--grep", "no-such-word", "--yes")[2].startswith("Nothing matches")
    code, _, err = mw(config, "dismiss", "4", "--platform", "feed")
    assert code == 2 and "not both" in err
    assert mw(config, "dismiss")[0] == 2
    assert mw(config, "dismiss", "--platform", "nope", "--yes")[0] == 2


def test_bulk_triage_at_a_terminal_asks_first(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = seeded(write_config, tmp_path)

    def answer(reply: bytes) -> str:
        leader, follower = pty.openpty()
        child = subprocess.Popen(
            [sys.executable, "-m", "mentionwatch", "--config", str(config), "dismiss",
             "--older-than", "7d"],
            stdin=follower, stdout=subprocess.PIPE, stderr=follower,
            env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        os.close(follower)
        said = b""
        while b"Go ahead?" not in said:
            ready, _, _ = select.select([leader], [], [], 30)
            assert ready, f"no question asked: {said!r}"
            said += os.read(leader, 1024)
        os.write(leader, reply)
        child.wait(timeout=30)
        try:
            while chunk := os.read(leader, 1024):
                said += chunk
        except OSError:
            pass
        os.close(leader)
        return said.decode()

    assert "This will dismiss 2 mentions. Go ahead?" in answer(b"n\n")
    assert ids(config) == [1, 2, 3, 4]
    assert "Dismissed #1 and #2." in answer(b"y\n")
    assert ids(config) == [3, 4]


# -- 20: search --------------------------------------------------------------------------------


def test_grep_searches_text_author_and_url_in_any_case(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = seeded(write_config, tmp_path)
    assert ids(config, "--grep", "exampleco") == [1, 3]  # text and URL; author (any case)
    assert ids(config, "--grep", "LOVING") == [2]
    assert ids(config, "--grep", "blog.example/") == [2]
    assert ids(config, "--grep", "exampleco", "--grep", "fan") == [3]
    assert ids(config, "--grep", "100%") == []  # % and _ are literal, not wildcards
    assert ids(config, "--grep", "_") == []
    code, out, _ = mw(config, "export", "--format", "csv", "--grep", "release")
    assert code == 0 and len(out.splitlines()) == 2 and "Loving the new release" in out


# -- 21: shell completion ----------------------------------------------------------------------


def complete(words: str) -> list[str]:
    """What bash's completion asks the installed command, as the script Typer writes does."""
    env = {**os.environ, "_MENTIONWATCH_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "mentionwatch"], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_shell_completion_is_on_and_completes_commands_options_and_platforms() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output and "--show-completion" in result.output
    # Typer finds the shell to write a script for among the command's ancestors, as in a
    # user's terminal; here that is bash, whatever runs the tests (cron, CI, a bare process).
    # (`; exit` keeps bash there: a lone command would replace it.)
    shown = f"'{sys.executable}' -m mentionwatch --show-completion; exit $?"
    script = subprocess.run(["bash", "-c", shown], capture_output=True, text=True, timeout=60)
    assert script.returncode == 0, script.stderr
    assert "_MENTIONWATCH_COMPLETE=complete_bash" in script.stdout
    assert complete("mentionwatch li") == ["list"]
    assert "--platform" in complete("mentionwatch list --pl")
    assert complete("mentionwatch list --platform ma") == ["mastodon"]


def test_the_readme_says_how_to_install_completion() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "mentionwatch --install-completion" in readme


def test_a_real_poll_skipped_by_x_poll_interval_says_so_in_its_summary(
    httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    from tests.fakes import poll_through_store
    from tests.test_source_github import serve_json

    server = httpserver.url_for("").rstrip("/")
    serve_notifications(httpserver, [notification(server, reason="subscribed")])  # 60s interval
    serve_json(httpserver, "/users/octocat/events", [])
    account = make_account(httpserver)
    first, _ = poll_through_store(account, make_http(), database(tmp_path / "mw.db"))
    assert first.error is None and first.not_before is None
    second, _ = poll_through_store(account, make_http(), database(tmp_path / "mw.db"))
    assert second.error is None and second.not_before is not None
    assert timedelta(seconds=50) < second.not_before - utcnow() <= timedelta(seconds=60)
    line = summary_line(second).plain
    assert line.startswith("gh-work (github): not asked for mentions (the platform asked to wait)")
    assert "; 0 new, 0 newly answered" in line
