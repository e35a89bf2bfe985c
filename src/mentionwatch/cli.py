"""Typer commands only: parse, call one core function, render. Errors become exit codes here."""

from __future__ import annotations

import enum
import functools
import itertools
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from mentionwatch import __version__
from mentionwatch import config as config_mod
from mentionwatch.config import Config
from mentionwatch.errors import EXIT_ACCOUNTS_FAILED, MentionwatchError, UsageError
from mentionwatch.models import State, StoredMention
from mentionwatch.store import MentionFilter, Store
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration, parse_duration, utcnow

app = typer.Typer(
    help="Watch your mentions across platforms and never leave one unanswered.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Globals:
    config: Path | None = None
    db: Path | None = None
    verbose: bool = False


STATE = Globals()

AccountOption = Annotated[
    list[str] | None, typer.Option("--account", "-a", help="Only this account (repeatable).")
]
PlatformOption = Annotated[
    list[str] | None, typer.Option("--platform", "-p", help="Only this platform (repeatable).")
]
OlderOption = Annotated[
    str | None, typer.Option("--older-than", help="Only mentions older than this, e.g. 2h.")
]
OverdueOption = Annotated[bool, typer.Option("--overdue", help="Only mentions past their SLA.")]


class StateChoice(enum.StrEnum):
    """A stored state, or the SLA state of a waiting mention (on its account's clock)."""

    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"
    OK = "ok"
    DUE_SOON = "due-soon"
    BREACHED = "breached"


_SLA_CHOICES = {"ok": "ok", "due-soon": "due soon", "breached": "breached"}
StateOption = Annotated[
    list[StateChoice] | None,
    typer.Option(
        "--state",
        help="Only mentions in this state, or waiting ones in this SLA state (repeatable).",
    ),
]
AllOption = Annotated[bool, typer.Option("--all", help="Mentions in every state.")]
LimitOption = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N rows.")]
IdsArgument = Annotated[list[int], typer.Argument(help="Mention ids, as `list` shows them.")]


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


def _version(value: bool) -> None:
    if value:
        out.print(f"mentionwatch {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def main_options(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar=config_mod.CONFIG_ENV, help="Config file."),
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", envvar=config_mod.DB_ENV, help="Database file.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every request to stderr.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """mentionwatch: poll your accounts for mentions, list what waits for an answer."""
    STATE.config, STATE.db, STATE.verbose = config, db, verbose
    _log_to_stderr(verbose)


def _log_to_stderr(verbose: bool) -> None:
    """Our own loggers only, so that libraries' chatter never reaches the user."""
    logger = logging.getLogger("mentionwatch")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def load_config(required: bool = True) -> Config:
    """The config; read-only commands fall back to defaults when none was ever written."""
    path = config_mod.config_path(STATE.config)
    explicit = STATE.config is not None or bool(os.environ.get(config_mod.CONFIG_ENV))
    if not required and not explicit and not path.exists():
        return Config(path)
    return config_mod.load(path)


@contextmanager
def open_store(config: Config, create: bool = True) -> Iterator[Store]:
    with Store.open(config_mod.database_path(STATE.db, config), create=create) as store:
        yield store


def _filter(
    account: list[str] | None,
    platform: list[str] | None,
    older_than: str | None,
    overdue: bool,
    state: list[StateChoice] | None,
    all_states: bool,
    limit: int | None,
    config: Config,
    now: datetime,
) -> Selection:
    try:
        older = parse_duration(older_than) if older_than else None
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    chosen = state or []
    plain = {State(s.value) for s in chosen if s.value not in _SLA_CHOICES}
    sla = frozenset(_SLA_CHOICES[s.value] for s in chosen if s.value in _SLA_CHOICES)
    if overdue:
        plain, sla = set(), frozenset({"breached"})
    elif all_states:
        plain = set(State)
    states = tuple(sorted(plain | {State.OPEN} if sla else plain or {State.OPEN}))
    due: dict[str, datetime] = {}
    if sla and not plain and "ok" not in sla:
        # Business time never outruns the wall clock, so a wall-clock cut-off is a safe
        # first cut that keeps the query on its index; calendars are applied after it.
        soon = "due soon" in sla
        due = {a.name: now - a.sla * (a.warn_at if soon else 1) for a in config.accounts}
        if not due:
            s = config.settings
            due = dict.fromkeys(account or [], now - s.sla * (s.warn_at if soon else 1))
    where = MentionFilter(
        states=() if all_states and not overdue else states,
        accounts=tuple(account or ()),
        platforms=tuple(platform or ()),
        older_than=older,
        due_before=due,
        limit=None if sla else limit,
    )
    return Selection(where, sla, frozenset(plain), limit)


@dataclass(frozen=True)
class Selection:
    """What list/export select: SQL does the states and cut-offs, SLA states are checked after."""

    where: MentionFilter
    sla: frozenset[str]
    keep: frozenset[State]  # states kept whatever their SLA state
    limit: int | None

    def mentions(self, store: Store, config: Config, now: datetime) -> Iterator[StoredMention]:
        from mentionwatch.report import sla_filter

        found = store.mentions(self.where, now)
        if not self.sla:
            return found
        return itertools.islice(sla_filter(found, config, now, self.sla, self.keep), self.limit)


@app.command("list")
@handled
def list_(
    account: AccountOption = None,
    platform: PlatformOption = None,
    older_than: OlderOption = None,
    overdue: OverdueOption = False,
    state: StateOption = None,
    all_states: AllOption = False,
    limit: LimitOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array, for scripts.")] = False,
    as_jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object a line.")] = False,
) -> None:
    """List unanswered mentions, oldest first, with their age and SLA status."""
    from mentionwatch.export import export
    from mentionwatch.report import mention_table

    config = load_config(required=False)
    now = utcnow()
    chosen = _filter(account, platform, older_than, overdue, state, all_states, limit, config, now)
    with open_store(config) as store:
        mentions = chosen.mentions(store, config, now)
        if as_json or as_jsonl:
            export("json" if as_json else "jsonl", mentions, config, now, sys.stdout)
            return
        rows = list(mentions)
        if not rows:
            err.print("Nothing waiting. 🎉" if not all_states else "No mentions stored.")
            return
        out.print(mention_table(rows, config, now, out.width))
        err.print(f"{len(rows)} mention{'s' if len(rows) != 1 else ''}", style="dim")


@app.command()
@handled
def show(mention_id: Annotated[int, typer.Argument(help="Mention id.")]) -> None:
    """Show one mention in full."""
    from mentionwatch.report import mention_detail

    config = load_config(required=False)
    now = utcnow()
    with open_store(config, create=False) as store:
        out.print(mention_detail(store.get(mention_id, now), config, now))


@app.command("open")
@handled
def open_(mention_id: Annotated[int, typer.Argument(help="Mention id.")]) -> None:
    """Open a mention in the web browser (prints the URL when there is none)."""
    import webbrowser

    from mentionwatch.text import safe_url

    config = load_config(required=False)
    with open_store(config, create=False) as store:
        url = safe_url(store.get(mention_id, utcnow()).url)
    if not url:
        raise UsageError(f"mention {mention_id} has no web link")
    if not webbrowser.open(url):
        out.print(url, markup=False)


def _set_state(ids: list[int], state: State, until: datetime | None = None) -> list[int]:
    config = load_config(required=False)
    with open_store(config, create=False) as store:
        return store.set_state(ids, state, utcnow(), until)


@app.command()
@handled
def done(ids: IdsArgument) -> None:
    """Mark mentions as answered by hand (you replied somewhere we can't see)."""
    changed = _set_state(ids, State.ANSWERED)
    err.print(f"Marked {len(changed)} as answered.")


@app.command()
@handled
def dismiss(ids: IdsArgument) -> None:
    """Dismiss mentions that need no answer."""
    changed = _set_state(ids, State.DISMISSED)
    err.print(f"Dismissed {len(changed)}.")


@app.command()
@handled
def snooze(
    ids: IdsArgument,
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 4h or 2d.")] = "4h",
) -> None:
    """Hide mentions until later; they come back as open when the time is up."""
    try:
        delta = parse_duration(for_)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    until = utcnow() + delta
    changed = _set_state(ids, State.SNOOZED, until)
    err.print(f"Snoozed {len(changed)} for {format_duration(delta)} (until {until:%H:%M} UTC).")


@app.command()
@handled
def reopen(ids: IdsArgument) -> None:
    """Put mentions back in the open list (replies older than now no longer answer them)."""
    changed = _set_state(ids, State.OPEN)
    err.print(f"Reopened {len(changed)}.")


@app.command()
@handled
def poll(
    account: AccountOption = None,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for a running poll.")
    ] = 0.0,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every request to stderr.")
    ] = False,
) -> None:
    """Fetch new mentions and replies from every enabled account."""
    from mentionwatch.cli_poll import run

    if verbose:
        _log_to_stderr(True)
    config = config_mod.resolve_secrets(load_config())
    names = account or []
    for name in names:
        config.account(name)
    code = run(config, config_mod.database_path(STATE.db, config), names, lock_timeout, out, err)
    if code:
        raise typer.Exit(code)


@app.command("export")
@handled
def export_(
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="csv, json, jsonl, or a report: markdown or html."),
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    account: AccountOption = None,
    platform: PlatformOption = None,
    older_than: OlderOption = None,
    overdue: OverdueOption = False,
    state: StateOption = None,
    all_states: AllOption = False,
    limit: LimitOption = None,
) -> None:
    """Export mentions (open ones unless --state/--all say otherwise), streaming."""
    from mentionwatch.export import FORMATS, REPORTS, export

    if fmt not in FORMATS:
        raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    config = load_config(required=False)
    now = utcnow()
    chosen = _filter(account, platform, older_than, overdue, state, all_states, limit, config, now)
    with open_store(config) as store:
        mentions = chosen.mentions(store, config, now)
        summary = None
        if fmt in REPORTS:
            from mentionwatch.stats import REPORT_WINDOW, compute

            summary = compute(store, config, now, REPORT_WINDOW, "account", account or (),
                              platform or ())  # fmt: skip
        if output is None:
            export(fmt, mentions, config, now, sys.stdout, summary)
            return
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as handle:
                count = export(fmt, mentions, config, now, handle, summary)
            partial.replace(output)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise UsageError(f"{output}: cannot write: {exc.strerror}") from None
    err.print(f"Wrote {count} mentions to {output}.", markup=False)


@app.command()
@handled
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
) -> None:
    """Write a commented starter config (mode 0600)."""
    from mentionwatch.starter import STARTER_CONFIG

    path = config_mod.config_path(STATE.config)
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(STARTER_CONFIG)
    os.chmod(path, 0o600)
    err.print(f"Wrote {path}. Edit it, then run `mentionwatch config check`.", markup=False)


@config_app.command("check")
@handled
def config_check(
    online: Annotated[
        bool, typer.Option("--online", help="Also verify each credential with one cheap call.")
    ] = False,
) -> None:
    """Validate the config and show the accounts, secrets redacted."""
    from mentionwatch.cli_poll import accounts_table, verify_online

    config = config_mod.resolve_secrets(load_config())
    if config.digest:
        from mentionwatch.digest_config import digest_settings

        digest_settings(config)  # a [digest] mistake surfaces now, not at 8am from cron
    who = verify_online(config) if online else {}
    out.print(accounts_table(config, who))
    failed = [name for name, (ok, _) in who.items() if not ok]
    if failed:
        raise typer.Exit(EXIT_ACCOUNTS_FAILED)
    err.print(f"{config.path}: OK, {len(config.accounts)} accounts.", markup=False)


@app.command()
@handled
def prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Delete handled mentions older than this.")
    ] = "180d",
) -> None:
    """Delete answered and dismissed mentions older than --older-than, and old poll logs."""
    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    config = load_config(required=False)
    with open_store(config, create=False) as store:
        removed = store.prune(utcnow() - age)
    err.print(f"Deleted {removed} handled mentions older than {older_than}.", markup=False)


@app.command()
@handled
def digest(
    email: Annotated[bool, typer.Option("--email", help="Send by SMTP ([digest.smtp]).")] = False,
    sendmail: Annotated[
        bool, typer.Option("--sendmail", help="Hand it to the local sendmail instead.")
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Recipient instead of [digest] to (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the message; send and record nothing.")
    ] = False,
    if_any: Annotated[
        bool, typer.Option("--if-any", help="Print and send nothing when nothing waits.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send even within min_interval of the last digest.")
    ] = False,
) -> None:
    """Print (for cron's MAILTO) or email the digest of what waits; never twice a day."""
    from mentionwatch.cli_digest import run_digest

    if email and sendmail:
        raise UsageError("--email and --sendmail: choose one")
    channel = "smtp" if email else "sendmail" if sendmail else "stdout"
    config = load_config(required=False)
    with open_store(config) as store:
        run_digest(store, config, channel=channel, to=to or [], dry_run=dry_run, if_any=if_any,
                   force=force, err=err, verbose=STATE.verbose)  # fmt: skip


# -- response times: stats and check ---------------------------------------------------------

EXIT_BREACHED = 1  # `check`: something waits past its SLA (or --max-age); DESIGN.md


class Grouping(enum.StrEnum):
    ACCOUNT = "account"
    PLATFORM = "platform"
    DAY = "day"


def _duration_option(name: str, text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None


@app.command()
@handled
def stats(
    since: Annotated[
        str, typer.Option("--since", help="Mentions received in the last ..., e.g. 7d.")
    ] = "30d",
    by: Annotated[
        Grouping | None, typer.Option("--by", help="Also per account, platform or day.")
    ] = None,
    account: AccountOption = None,
    platform: PlatformOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Response-time figures: answered, response rate, first-response times, within SLA."""
    import json

    from mentionwatch.stats import compute, to_json
    from mentionwatch.stats_view import render

    window = _duration_option("--since", since)
    config = load_config(required=False)
    now = utcnow()
    with open_store(config) as store:
        figures = compute(store, config, now, window, by and str(by), account or (),
                          platform or ())  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps(to_json(figures), ensure_ascii=False, indent=2) + "\n")
        return
    out.print(render(figures, out.width))


@app.command()
@handled
def check(
    account: AccountOption = None,
    max_age: Annotated[
        str | None,
        typer.Option("--max-age", help="Also fail when a mention has waited this long, e.g. 2h."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the breaching items.")] = False,
) -> None:
    """Exit 1 with a one-line summary when a mention is past its SLA; for cron and monitors."""
    from mentionwatch.stats import breaches
    from mentionwatch.stats_view import check_summary

    age = _duration_option("--max-age", max_age) if max_age else None
    config = load_config(required=False)
    for name in account or []:
        config.account(name)  # a typo must not make a monitor silently green
    now = utcnow()
    with open_store(config, create=False) as store:
        found = breaches(store, config, now, account or (), age)
    if as_json:
        from mentionwatch.export import export

        export("json", (b.mention for b in found), config, now, sys.stdout)
    elif found:
        out.print(check_summary(found, age), markup=False, soft_wrap=True)
    if found:
        raise typer.Exit(EXIT_BREACHED)


def main() -> Any:
    return app()
