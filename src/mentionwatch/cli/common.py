"""What the commands share: consoles, global options, option types, error handling."""

from __future__ import annotations

import enum
import functools
import inspect
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NamedTuple, ParamSpec, TextIO, TypeVar

import typer

from mentionwatch import config as config_mod
from mentionwatch.cli.consoles import adapt_consoles as adapt_consoles
from mentionwatch.cli.consoles import err as err
from mentionwatch.cli.consoles import out as out
from mentionwatch.config import Config
from mentionwatch.errors import MentionwatchError, UsageError
from mentionwatch.selection import Selection, StateChoice, select
from mentionwatch.store import Store
from mentionwatch.text import one_line
from mentionwatch.timeutil import parse_duration

# The consoles (`x as x`: the commands get them from here) live in cli/consoles.py.

P = ParamSpec("P")
R = TypeVar("R")


class Globals:
    """The top-level options, set once per run by main_options."""

    config: Path | None = None
    db: str | None = None
    verbose: bool = False


STATE = Globals()

AccountOption = Annotated[
    list[str] | None, typer.Option("--account", "-a", help="Only this account (repeatable).")
]
MentionIdArgument = Annotated[int, typer.Argument(help="Mention id.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log every request to stderr.")
]
JsonArrayOption = Annotated[bool, typer.Option("--json", help="A JSON array, for scripts.")]
LockTimeoutOption = Annotated[
    float, typer.Option("--lock-timeout", help="Seconds to wait for a running poll.")
]


def _platform_names(incomplete: str) -> list[str]:
    """What the shell completes after --platform."""
    from mentionwatch.sources.registry import PLATFORMS

    return [name for name in PLATFORMS if name.startswith(incomplete)]


PlatformOption = Annotated[
    list[str] | None,
    typer.Option(
        "--platform",
        "-p",
        help="Only this platform (repeatable).",
        autocompletion=_platform_names,
    ),
]
OlderOption = Annotated[
    str | None, typer.Option("--older-than", help="Only mentions older than this, e.g. 2h.")
]
OverdueOption = Annotated[bool, typer.Option("--overdue", help="Only mentions past their SLA.")]


StateOption = Annotated[
    list[StateChoice] | None,
    typer.Option(
        "--state",
        help="Only mentions in this state, or waiting ones in this SLA state (repeatable).",
    ),
]
AllOption = Annotated[bool, typer.Option("--all", help="Mentions in every state.")]
MineOption = Annotated[
    bool, typer.Option("--mine", help="Only mentions assigned to you ([settings] user).")
]
AssigneeOption = Annotated[
    list[str] | None,
    typer.Option("--assignee", help="Only mentions assigned to this user (repeatable)."),
]
UnassignedOption = Annotated[
    bool, typer.Option("--unassigned", help="Only mentions assigned to nobody.")
]


def assignees(config: Config, mine: bool, assignee: list[str] | None) -> tuple[str, ...]:
    """The users --mine and --assignee name; --mine is whoever is acting."""
    names = [name.strip() for name in assignee or [] if name.strip()]
    if mine:
        names.append(config_mod.acting_user(config))
    return tuple(dict.fromkeys(names))


GrepOption = Annotated[
    list[str] | None,
    typer.Option("--grep", "-g", help="Only mentions whose text, author or URL has this word "
                 "(any case; repeatable: all of them)."),
]  # fmt: skip


class PriorityChoice(enum.StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PriorityOption = Annotated[
    list[PriorityChoice] | None,
    typer.Option("--priority", help="Only mentions of this priority (repeatable)."),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", "-t", help="Only mentions a rule gave this tag (repeatable: any)."),
]
LimitOption = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N rows.")]


class SelectionOptions(NamedTuple):
    """Which mentions a command was asked for, from the options `with_selection` adds."""

    account: list[str] | None
    platform: list[str] | None
    older_than: timedelta | None
    overdue: bool
    state: list[StateChoice] | None
    all_states: bool
    limit: int | None
    grep: list[str] | None
    priority: list[PriorityChoice] | None
    tag: list[str] | None
    mine: bool
    assignee: list[str] | None
    unassigned: bool
    given: bool  # whether any was given (triage commands need ids or filters)

    def select(
        self,
        config: Config,
        store: Store,
        now: datetime,
        default_states: Sequence[StateChoice] = (),
    ) -> Selection:
        """The selection, after refusing unknown --account and --platform names."""
        return select(
            config,
            now,
            accounts=self.accounts(config, store),
            platforms=self.platforms(),
            older_than=self.older_than,
            overdue=self.overdue,
            states=self.state or default_states,
            all_states=self.all_states,
            limit=self.limit,
            grep=self.grep or (),
            priorities=self.priority or (),
            tags=self.tag or (),
            assignees=assignees(config, self.mine, self.assignee),
            unassigned=self.unassigned,
        )

    def accounts(self, config: Config, store: Store) -> list[str]:
        return known_accounts(config, store, self.account)

    def platforms(self) -> list[str]:
        return known_platforms(self.platform)


_SELECTION_OPTIONS: dict[str, tuple[Any, Any]] = {
    "account": (AccountOption, None),
    "platform": (PlatformOption, None),
    "older_than": (OlderOption, None),
    "overdue": (OverdueOption, False),
    "state": (StateOption, None),
    "all_states": (AllOption, False),
    "limit": (LimitOption, None),
    "grep": (GrepOption, None),
    "priority": (PriorityOption, None),
    "tag": (TagOption, None),
    "mine": (MineOption, False),
    "assignee": (AssigneeOption, None),
    "unassigned": (UnassignedOption, False),
}


def with_selection(command: Callable[..., R]) -> Callable[..., R]:
    """Give a command the selection options in place of its `selection` parameter.

    Typer reads the wrapper's signature, so the options are declared once for every command
    that selects mentions; the command gets them parsed, as one SelectionOptions.
    """
    signature = inspect.signature(command)
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        if param.name != "selection":
            params.append(param)
            continue
        for name, (annotation, default) in _SELECTION_OPTIONS.items():
            option = inspect.Parameter(name, param.kind, default=default, annotation=annotation)
            params.append(option)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        given = {
            name: kwargs.pop(name, default) for name, (_, default) in _SELECTION_OPTIONS.items()
        }
        older = given["older_than"]
        # Parsed before the store opens, so that a bad duration is the error shown.
        given["older_than"] = duration_option("--older-than", older) if older else None
        selection = SelectionOptions(**given, given=any(given.values()))
        return command(*args, selection=selection, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper


class Grouping(enum.StrEnum):
    ACCOUNT = "account"
    PLATFORM = "platform"
    DAY = "day"


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the core's typed errors into one clear line on stderr and their exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except MentionwatchError as exc:
            err.print(f"mentionwatch: {one_line(str(exc))}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("mentionwatch: interrupted", markup=False)
            raise typer.Exit(130) from None

    return wrapper


def load_config(required: bool = True) -> Config:
    """The config; read-only commands fall back to defaults when none was ever written."""
    path = config_mod.config_path(STATE.config)
    explicit = STATE.config is not None or bool(os.environ.get(config_mod.CONFIG_ENV))
    if not required and not explicit and not path.exists():
        return Config(path)
    return config_mod.load(path)


@contextmanager
def open_store(config: Config, *, write: bool) -> Iterator[Store]:
    """The existing database (only `poll` creates one); readers also read a read-only one."""
    location = config_mod.database_path(STATE.db, config)
    password = database_password(config)
    with Store.open(location, create=False, write=write, password=password) as store:
        yield store


def database_password(config: Config) -> str | None:
    """The PostgreSQL password from [settings] password_file (libpq reads the other places)."""
    if config.settings.password_file is None:
        return None
    from mentionwatch.config_secrets import read_secret

    where = f"{config.path}: [settings]: key 'password_file'"
    return read_secret(where, f"file {config.settings.password_file}")


def duration_option(name: str, text: str) -> timedelta:
    """A duration given on the command line; a bad one is a usage error naming the option."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None
    except OverflowError:
        raise UsageError(f"{name}: {text!r} is far too long") from None


@contextmanager
def written_atomically(path: Path) -> Iterator[TextIO]:
    """A file that appears whole or not at all: an interrupted export never leaves half a file."""
    partial = path.with_name(path.name + ".partial")
    try:
        # Mentions can be private (DMs, private repositories): readable by the owner only.
        fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def known_accounts(config: Config, store: Store | None, names: list[str] | None) -> list[str]:
    """--account names, refusing a typo: an empty answer must mean "nothing there".

    With a store, an account removed from the config but still stored counts as known.
    """
    for name in names or []:
        if name in config.by_name:
            continue
        if store is None or not store.has_account(name):
            known = ", ".join(a.name for a in config.accounts) or "none configured"
            raise UsageError(f"--account: no account named {name!r} ({known})")
    return names or []


def known_platforms(names: list[str] | None) -> list[str]:
    """--platform names, refusing a typo: `--platform nope` must not read as "nothing waiting"."""
    from mentionwatch.sources.registry import PLATFORMS

    for name in names or []:
        if name not in PLATFORMS:
            raise UsageError(f"--platform: no platform named {name!r} ({', '.join(PLATFORMS)})")
    return names or []


WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Processes to fetch in (default: [settings] workers, else one per core; "
        "1: this process only). Used from 16 accounts on.",
    ),
]


def with_workers(config: Config, workers: int | None) -> Config:
    """The config with `--workers` in place of `[settings] workers`, when given."""
    if workers is None:
        return config
    import dataclasses

    settings = config.settings._replace(workers=workers)
    return dataclasses.replace(config, settings=settings)


def running_executable() -> list[str]:
    """How to run this very mentionwatch again by absolute path (cron has no PATH to find it)."""
    import shutil
    import sys

    started = sys.argv[0]
    if Path(started).name == "__main__.py":  # python -m mentionwatch
        return [sys.executable, "-m", "mentionwatch"]
    found = started if os.sep in started else shutil.which(started) or started
    return [str(Path(found).absolute())]
