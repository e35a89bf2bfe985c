"""`list` into a pipe writes its lines without Rich (cli/consoles.py): the very bytes Rich
would write, which these tests get from the same command with Rich deciding instead."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from mentionwatch.cli.consoles import LazyConsole, plain_width
from tests.history import add, at, build, mention

HOSTILE = [
    "tab\there and\ttwo\t\ttabs",
    "bell\x07 escape\x1b[31mred\x1b[0m backspace\x08 carriage\rreturn",
    "wide 例え話の長い文章がここに続きますので全部は入りません 🎉🎉🎉 end",
    "[bold]not markup[/bold] :smile: \\[escaped]",
    "right\u202eto-left \u200b zero width  trailing spaces   ",
    "x" * 300,
]
# What makes Rich decide for itself; TTY_COMPATIBLE=0 tells it there is no terminal.
RICH_DECIDES = {"TTY_COMPATIBLE": "0"}
# Left out of the environment the commands run in, so the tests choose them.
RICH_ENVIRONMENT = ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "JUPYTER_COLUMNS")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config, _ = build(tmp_path)
    hostile = [mention(f"h{i}", at(20, 12, i), text=text, author=f"au\tthor{i}")
               for i, text in enumerate(HOSTILE)]  # fmt: skip
    hostile.append(mention("link", at(20, 12, 30))._replace(url="https://x.example/" + "p/" * 90))
    add(config, "brand", "mastodon", hostile)
    return config


def run(config: Path, args: list[str], env: dict[str, str]) -> tuple[int, str, str, set[str]]:
    """The real command with both streams piped: exit code, stdout, stderr, modules imported."""
    base = {k: v for k, v in os.environ.items() if k not in RICH_ENVIRONMENT}
    command = [sys.executable, "-X", "importtime", "-m", "mentionwatch", "-c", str(config), *args]
    done = subprocess.run(command, capture_output=True, text=True, env={**base, **env},
                          stdin=subprocess.DEVNULL, timeout=60)  # fmt: skip
    lines = done.stderr.splitlines(keepends=True)
    imported = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    stderr = "".join(line for line in lines if not line.startswith("import time:"))
    return done.returncode, done.stdout, stderr, imported


@pytest.mark.parametrize("columns", ["80", "140", "47", None])
@pytest.mark.parametrize(
    "args", [["list"], ["list", "--all"], ["list", "--limit", "3"], ["list", "--tag", "none"]]
)
def test_piped_list_writes_exactly_what_rich_writes(
    config: Path, args: list[str], columns: str | None
) -> None:
    width = {"COLUMNS": columns} if columns else {}
    for _ in range(2):  # the ages are the clock's: a second try if an hour turned between
        plain = run(config, args, width)
        rich = run(config, args, {**width, **RICH_DECIDES})
        if plain[:3] == rich[:3]:
            break
    assert plain[:3] == rich[:3]
    assert plain[0] == 0 and plain[2].strip()  # something was said, so the comparison counts
    assert "rich.console" not in plain[3]  # written without Rich ...
    assert "rich.console" in rich[3]  # ... and with it


def test_a_hostile_list_is_written_plain_and_whole(config: Path) -> None:
    code, out, err, _ = run(config, ["list", "--all"], {"COLUMNS": "100"})
    assert code == 0
    assert err.endswith(" mentions\n")
    assert "\x1b" not in out and "\x07" not in out
    assert "https://x.example/" + "p/" * 90 in out  # a link is never cut


@pytest.mark.parametrize(
    "env",
    [{"COLUMNS": "77"}, {"COLUMNS": "wide"}, {}, {"COLUMNS": "0"}],
)
def test_the_plain_width_is_the_one_rich_would_use(env: dict[str, str]) -> None:
    probe = (
        "from mentionwatch.cli.consoles import plain_width\n"
        "width = plain_width()\n"
        "from rich.console import Console\n"
        "print(width, Console().width, Console(stderr=True).width)\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in RICH_ENVIRONMENT}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**base, **env}, stdin=subprocess.DEVNULL, timeout=60,
                          check=True)  # fmt: skip
    plain, out, err = done.stdout.split()
    assert plain == out == err


@pytest.mark.parametrize("name", ["FORCE_COLOR", "TTY_COMPATIBLE", "JUPYTER_COLUMNS"])
def test_anything_that_could_make_rich_style_the_output_leaves_it_to_rich(name: str) -> None:
    probe = "from mentionwatch.cli.consoles import plain_width\nprint(plain_width())\n"
    env = {**{k: v for k, v in os.environ.items() if k not in RICH_ENVIRONMENT}, name: "1"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "None"


def test_captured_streams_leave_it_to_rich() -> None:
    assert plain_width() is None  # pytest has replaced sys.stdout


def test_a_lazy_console_becomes_a_rich_console_on_first_use() -> None:
    screen = io.StringIO()
    lazy = LazyConsole(file=screen, soft_wrap=False, highlight=False)
    assert not isinstance(lazy, Console)
    lazy._adapt = True  # adapt_consoles ran before it was made
    lazy.print("made")
    assert isinstance(lazy, Console)
    assert lazy.soft_wrap  # a StringIO is no terminal: adapted when made
    assert screen.getvalue() == "made\n"
