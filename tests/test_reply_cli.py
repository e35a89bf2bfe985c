"""`mentionwatch reply` and `show --thread` as a user runs them, against the fake Mastodon."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.errors import EXIT_REPLY_REFUSED, EXIT_REPLY_REJECTED
from mentionwatch.models import State
from tests.fakes import stored_mention
from tests.test_source_mastodon import POST_STATUS, TOKEN, FakeMastodon, status

runner = CliRunner()


@pytest.fixture
def setup(
    httpserver: HTTPServer, write_config: Callable[[str], Path], tmp_path: Path
) -> tuple[FakeMastodon, Path, Path]:
    """A config, a polled database holding one mention (id 1) by alice, and the server."""
    fake = FakeMastodon(httpserver)
    fake.mention(1, 1001, acct="alice@other.example", content="<p>@brand is 2.1 out?</p>")
    server = httpserver.url_for("").rstrip("/")
    config = write_config(
        f'[[accounts]]\nname = "brand"\nplatform = "mastodon"\nserver = "{server}"\n'
        'handle = "brand"\ntoken = "env:MASTODON_TOKEN"\n'
    )
    db = tmp_path / "mw.db"
    result = mw(config, db, "poll")
    assert result[0] == 0, result[1]
    return fake, config, db


def mw(config: Path, db: Path, *args: str, **options: object) -> tuple[int, str]:
    env = {"MASTODON_TOKEN": TOKEN, **dict(options.pop("env", {}))}  # type: ignore[call-overload]
    result = runner.invoke(app, ["--config", str(config), "--db", str(db), *args], env=env,
                           **options)  # type: ignore[arg-type]  # fmt: skip
    return result.exit_code, result.output


def posted(fake: FakeMastodon) -> list[dict[str, object]]:
    return [json.loads(r.get_data()) for r, _ in fake.server.log if r.path == POST_STATUS]


def test_reply_with_text_posts_marks_answered_and_says_where(
    setup: tuple[FakeMastodon, Path, Path],
) -> None:
    fake, config, db = setup

    code, output = mw(config, db, "reply", "1", "Yes, this morning!")

    assert code == 0, output
    assert [p["status"] for p in posted(fake)] == ["@alice@other.example Yes, this morning!"]
    assert "Replied to #1 (25/500 characters)" in output
    assert fake.posted[0]["url"] in output and "Marked answered" in output
    assert stored_mention(db, "1001").state is State.ANSWERED


def test_reply_from_a_file_or_stdin(setup: tuple[FakeMastodon, Path, Path], tmp_path: Path) -> None:
    fake, config, db = setup
    answer = tmp_path / "answer.md"
    answer.write_text("From a file\n", encoding="utf-8")

    first = mw(config, db, "reply", "1", "--file", str(answer), "--dry-run")
    second = mw(config, db, "reply", "1", "--file", "-", input="From stdin\n")

    assert first[0] == 0 and '"status": "@alice@other.example From a file"' in first[1]
    assert second[0] == 0, second[1]
    assert [p["status"] for p in posted(fake)] == ["@alice@other.example From stdin"]


def test_dry_run_prints_the_request_without_the_token_and_sends_nothing(
    setup: tuple[FakeMastodon, Path, Path],
) -> None:
    fake, config, db = setup

    code, output = mw(config, db, "reply", "1", "Soon", "--dry-run")

    assert code == 0, output
    assert f"POST {fake.server.url_for(POST_STATUS)}" in output
    assert "Idempotency-Key: mentionwatch-" in output and '"in_reply_to_id": "1001"' in output
    assert TOKEN not in output and "Authorization" not in output
    assert "Dry run: nothing was sent" in output and posted(fake) == []
    assert stored_mention(db, "1001").state is State.OPEN


def write_editor(tmp_path: Path, body: str) -> str:
    """An $EDITOR that keeps the template for the test and writes `body` above it."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        "path = pathlib.Path(sys.argv[1])\n"
        f"pathlib.Path({str(tmp_path / 'template.txt')!r}).write_text(path.read_text())\n"
        f"path.write_text({body!r} + path.read_text())\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return f"{sys.executable} {script}"


def test_the_editor_shows_the_mention_and_thread_as_comments(
    setup: tuple[FakeMastodon, Path, Path], tmp_path: Path
) -> None:
    fake, config, db = setup
    fake.contexts["1001"] = [status(990, acct="brand", content="<p>2.0 is out \x1b[2J</p>")]
    editor = write_editor(tmp_path, "Typed in the editor\n")

    code, output = mw(config, db, "reply", "1", env={"VISUAL": editor})

    assert code == 0, output
    template = (tmp_path / "template.txt").read_text()
    assert (
        "# brand: 2.0 is out" in template
        and "# alice@other.example: @brand is 2.1 out?" in template
    )
    assert "\x1b" not in template  # hostile text stays inert in the editor too
    assert [p["status"] for p in posted(fake)] == ["@alice@other.example Typed in the editor"]


def test_an_empty_editor_message_aborts_and_changes_nothing(
    setup: tuple[FakeMastodon, Path, Path], tmp_path: Path
) -> None:
    fake, config, db = setup

    code, output = mw(config, db, "reply", "1", env={"VISUAL": write_editor(tmp_path, "")})

    assert code == EXIT_REPLY_REJECTED and "empty reply: aborted" in output
    assert posted(fake) == [] and stored_mention(db, "1001").state is State.OPEN


def test_a_refused_token_is_one_line_and_its_own_exit_code(
    setup: tuple[FakeMastodon, Path, Path],
) -> None:
    fake, config, db = setup
    fake.fail_next(POST_STATUS, fake._json({"error": "This action is outside the authorized "
                                             "scopes"}, 403))  # fmt: skip

    code, output = mw(config, db, "reply", "1", "hi")

    assert code == EXIT_REPLY_REFUSED
    assert len(output.strip().splitlines()) == 1 and "write:statuses" in output
    assert TOKEN not in output and stored_mention(db, "1001").state is State.OPEN


def test_too_long_says_the_count_and_exits_9(setup: tuple[FakeMastodon, Path, Path]) -> None:
    fake, config, db = setup

    code, output = mw(config, db, "reply", "1", "x" * 494)  # "@alice " counts 7

    assert code == EXIT_REPLY_REJECTED and "501/500 characters" in output and posted(fake) == []


def test_show_thread_prints_the_ancestors_then_the_mention_escaped(
    setup: tuple[FakeMastodon, Path, Path],
) -> None:
    fake, config, db = setup
    fake.contexts["1001"] = [
        status(990, acct="brand", content="<p>We shipped \x1b]8;;https://evil.example\x07[red]2.0"
                                          "[/red]</p>"),
        status(995, acct="carol@x.example", content="<p>Nice</p>"),
    ]  # fmt: skip

    code, output = mw(config, db, "show", "1", "--thread")

    assert code == 0, output
    assert output.index("We shipped") < output.index("Nice") < output.index("▶ alice")
    assert "\x1b" not in output and "[red]2.0[/red]" in output  # markup shown, not applied
