"""The two consoles, made on first use, and whether `list` may write plain lines without one.

Importing rich.console costs every start ~4 ms (30M instructions: a fifth of what `list` did
beyond `import typer, rich.table`). `out` and `err` are therefore made when first used: each
becomes the rich Console itself then (its class is swapped in place), so that modules can hold
them from import on and Rich sees a real Console. `list` into a pipe, a file or cron's mail
shows no styles, so there it writes the very same lines itself (`plain_width`), and never
needs a console at all; tests/test_plain_output.py pins the two outputs byte for byte.
"""

from __future__ import annotations

import builtins
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    """Becomes `rich.console.Console(**options)` on its first attribute lookup."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._adapt = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probe for these: not a use
            raise AttributeError(name)
        from rich.console import Console

        options, adapt = self.__dict__.pop("_options"), self.__dict__.pop("_adapt")
        self.__class__ = Console  # type: ignore[assignment]
        Console.__init__(self, **options)  # type: ignore[arg-type]
        if adapt:
            self.soft_wrap = not self.is_terminal
        return getattr(self, name)


def console(**options: Any) -> Console:
    return LazyConsole(**options)  # type: ignore[return-value]


out = console(highlight=False, soft_wrap=False, emoji=False)
err = console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def adapt_consoles() -> None:
    """Lines to a pipe, a file or cron's mail are never wrapped: the reader's screen wraps them.

    On a terminal stdout keeps Rich's wrapping at word boundaries. stderr carries one-line
    messages only, so it never wraps. Checked per command: the streams are known only then (a
    console not made yet is adapted when it is).
    """
    if isinstance(out, LazyConsole):
        out._adapt = True
    else:
        out.soft_wrap = not out.is_terminal


# What makes Rich treat a stream as a terminal, or size it, other than isatty and COLUMNS.
_RICH_ENVIRONMENT = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS",
                     "JUPYTER_LINES", "VSCODE_PID", "DATABRICKS_RUNTIME_VERSION")  # fmt: skip


def plain_width() -> int | None:
    """The width Rich would lay stdout out at, when neither stdout nor stderr is a terminal
    and nothing else could make Rich style them; None whenever Rich must decide.

    As Rich does: COLUMNS when it is a number, else the first standard stream's terminal
    size (stdin may be a terminal while stdout is a pipe), else 80.
    """
    if not isinstance(out, LazyConsole) or not isinstance(err, LazyConsole):
        return None  # made already: ask them
    stdout, stderr = sys.__stdout__, sys.__stderr__
    if stdout is None or stderr is None or sys.stdout is not stdout or sys.stderr is not stderr:
        return None  # captured (tests, notebooks, IDEs), or no stream at all
    if sys.platform == "win32" or any(name in os.environ for name in _RICH_ENVIRONMENT):
        return None
    if hasattr(builtins, "get_ipython") or "idlelib" in sys.modules:
        return None  # Jupyter or IDLE
    try:
        if stdout.isatty() or stderr.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    for fd in (0, 1, 2):
        try:
            return os.get_terminal_size(fd).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80
