"""`poll` on a terminal shows live progress on stderr; under cron it writes plain lines only."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.fakes import FakeMastodon, serve

ESCAPE = re.compile(rb"\x1b\[")


def poll_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "mentionwatch", "--config", str(config), "poll"]


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other end of the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_terminal_gets_live_progress_on_stderr_and_the_summary_on_stdout(
    example: Path,
) -> None:
    main, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        poll_command(example), stdout=subprocess.PIPE, stderr=terminal, env=env
    )
    os.close(terminal)
    stderr = read_all(main)
    stdout, _ = process.communicate(timeout=60)
    os.close(main)
    assert process.returncode == 0, stderr
    # The live display draws and then erases itself with cursor controls.
    assert ESCAPE.search(stderr), stderr
    assert b"exampleco-alerts" in stderr
    assert b"exampleco-alerts (feed): 6 new" in stdout
    assert not ESCAPE.search(stdout)


def test_cron_gets_plain_lines_without_control_codes(tmp_path: Path) -> None:
    app = FakeMastodon(page_size=5)
    with serve(app) as url:
        remote = app.add_account("tok", "brand")
        app.add_mentions(remote, 7)
        config = tmp_path / "config.toml"
        config.write_text(
            '[settings]\nbackfill = "3650d"\n[[accounts]]\nname = "brand"\n'
            f'platform = "mastodon"\nserver = "{url}"\nhandle = "brand"\ntoken = "env:T"\n'
        )
        env = {**os.environ, "T": "tok", "TERM": "xterm-256color"}
        done = subprocess.run(poll_command(config), capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("brand (mastodon): 7 new")
    assert not ESCAPE.search(done.stdout) and not ESCAPE.search(done.stderr)
    assert b"\r" not in done.stderr


def test_lines_written_past_rich_to_a_pipe_are_what_rich_would_have_printed() -> None:
    import io

    from rich.console import Console
    from rich.text import Text

    from mentionwatch.cli.poll import line_writer

    line = Text("brand (mastodon): ", style="bold") + Text("[b]3 new[/b], " + "x" * 300)
    rich_file, plain_file = io.StringIO(), io.StringIO()
    Console(file=rich_file, highlight=False, soft_wrap=True, emoji=False).print(line)
    plain = Console(file=plain_file, highlight=False, soft_wrap=True, emoji=False)
    writer = line_writer(plain)
    assert writer != plain.print  # the fast path was taken: no terminal, no colours
    writer(line)
    assert plain_file.getvalue() == rich_file.getvalue()
    coloured = Console(file=io.StringIO(), force_terminal=True, color_system="standard")
    assert line_writer(coloured) == coloured.print  # styles still go through Rich
