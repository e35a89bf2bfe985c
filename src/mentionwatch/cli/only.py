"""Build only the command being run: Typer turns every command's signature into Click
parameters at each start, and `list` must not pay for the other thirty (~10% of its run).

`only(app, args)` is `app` with just the command (or sub-app) that `args` names, when that is
certain; otherwise `app` itself, whole. Top-level help, completion, an unknown command (whose
error suggests the close ones) and anything this reading does not understand all get the
whole app, so what is shown never changes, only how much is built before a command runs.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import typer
from typer.main import get_command_name

# The top-level options (main_options' and Typer's own), as they are written before the
# command's name; tests/test_cli_only.py checks these against the app's real options.
VALUE_OPTIONS = frozenset({"--config", "-c", "--db", "--env-file"})
FLAG_OPTIONS = frozenset({"--verbose", "-v"})


def invoked(args: Sequence[str]) -> str | None:
    """The command name `args` runs, or None when that is not certain."""
    rest = iter(args)
    for arg in rest:
        name, equals, _ = arg.partition("=")
        if name in VALUE_OPTIONS:
            if not equals and next(rest, None) is None:
                return None
        elif arg in FLAG_OPTIONS:
            continue
        elif arg.startswith("-") or not arg:
            return None  # --help, --version, completion, "--", or something unknown
        else:
            return arg
    return None


def only(app: typer.Typer, args: Sequence[str]) -> typer.Typer:
    """`app` with nothing but the command or sub-app `args` runs (see the module's doc)."""
    if any(name.endswith("_COMPLETE") for name in os.environ):
        return app  # shell completion lists the commands
    name = invoked(args)
    if name is None:
        return app
    commands = [
        info
        for info in app.registered_commands
        if (info.name or get_command_name(getattr(info.callback, "__name__", ""))) == name
    ]
    groups = [info for info in app.registered_groups if info.name == name]
    if len(commands) + len(groups) != 1:
        return app
    trimmed = copy.copy(app)
    trimmed.registered_commands = commands
    trimmed.registered_groups = groups
    return trimmed
