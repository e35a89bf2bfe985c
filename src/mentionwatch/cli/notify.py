"""`notify test`, `notify pending` and `watch`; registered on the app by cli/__init__.py.

Nothing here imports apprise or httpx at start: the commands load them when they run.
"""

# Annotations are not postponed, as in cli/__init__.py: Typer reads them at every start.
import signal
import threading
from typing import Annotated

import typer
from rich.text import Text

from mentionwatch import config as config_mod
from mentionwatch.cli.common import (
    STATE,
    AccountOption,
    LockTimeoutOption,
    database_password,
    duration_option,
    err,
    handled,
    known_accounts,
    load_config,
    open_store,
    out,
)
from mentionwatch.config import Config
from mentionwatch.errors import EXIT_ALERTS_FAILED, UsageError
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration, utcnow

notify_app = typer.Typer(help="Alert targets: send a test, see what waits.", no_args_is_help=True)


def ready_config() -> Config:
    """The config with its secrets and alert URLs read, and every URL checked."""
    return ready(load_config())


def ready(config: Config) -> Config:
    """`config` with its secrets and alert URLs read, and every URL checked."""
    config = config.with_secrets()
    if not config.notify:
        return config  # nothing to check: the alerts' modules are never loaded
    from mentionwatch.notify.deliver import prepare

    return prepare(config)


@notify_app.command("test")
@handled
def notify_test(
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="Only this \\[\\[notify]] block (repeatable)."),
    ] = None,
) -> None:
    """Send a test message to each alert target and say what each answered."""
    from mentionwatch.notify.deliver import send_test

    config = ready_config()
    if not config.notify:
        raise UsageError(f"{config.path}: no [[notify]] blocks to test")
    for wanted in name or []:
        if wanted not in {t.name for t in config.notify}:
            known = ", ".join(t.name for t in config.notify)
            raise UsageError(f"--name: no [[notify]] block named {wanted!r} ({known})")
    outcomes = send_test(config, name or [])
    shown = {t.name: t.shown_url() for t in config.notify}
    for outcome in outcomes:
        mark = "✓" if not outcome.failed else "✗ FAILED:"
        line = f"{outcome.target} {shown[outcome.target]}: {mark} {one_line(outcome.detail)}"
        out.print(Text(line, style="" if not outcome.failed else "red"))
    if any(o.failed for o in outcomes):
        raise typer.Exit(EXIT_ALERTS_FAILED)


@notify_app.command("pending")
@handled
def notify_pending() -> None:
    """List the alerts that wait to be sent, per target, and each target's last failure."""
    config = load_config(required=False)
    now = utcnow()
    with open_store(config, write=False) as store:
        pending = store.pending_alerts(now)
        states = store.target_states()
    if not pending:
        err.print("No alerts waiting.")
        return
    from rich.table import Table

    configured = {t.name for t in config.notify}
    table = Table(pad_edge=False)
    for column in ("Target", "Event", "ID", "Age", "Where", "Author", "Mention", "Retry"):
        table.add_column(column, overflow="fold")
    for alert in pending:
        m = alert.mention
        state = states.get(alert.target)
        retry = "-"
        if alert.target not in configured:
            retry = "no such [[notify]] block any more"
        elif state is not None and state.retry_at is not None:
            retry = f"after {state.retry_at:%H:%M:%S} UTC ({state.failures} failed)"
        event = alert.event + (" (first poll)" if alert.backfill else "")
        table.add_row(
            Text(alert.target), Text(event), Text(str(m.id)),
            Text(format_duration(now - m.created_at)), Text(f"{m.platform}/{m.account}"),
            Text(one_line(m.author, 30)), Text(one_line(m.title or m.text, 60)), Text(retry),
        )  # fmt: skip
    out.print(table)
    err.print(f"{len(pending)} alert{'s' if len(pending) != 1 else ''} waiting", style="dim")


@handled
def watch(
    every: Annotated[
        str, typer.Option("--every", help="How often to poll, e.g. 5m (jittered).")
    ] = "5m",
    account: AccountOption = None,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle, then exit.")] = False,
    lock_timeout: LockTimeoutOption = 60.0,
) -> None:
    """Poll, send alerts, sleep; again until SIGTERM or Ctrl-C (for systemd or a container)."""
    from mentionwatch.cli.poll import cycle_line, exit_code, log_to_stderr
    from mentionwatch.watch import Cycle, run_watch

    interval = duration_option("--every", every).total_seconds()
    log_to_stderr(STATE.verbose)
    config = load_config()
    names = known_accounts(config, None, account)
    config = ready(config)
    stop = threading.Event()

    def stop_soon(signum: int, frame: object) -> None:
        stop.set()  # the cycle running now finishes: each account is committed or not at all

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_soon)
    codes = [0]

    def on_cycle(cycle: Cycle) -> None:
        codes[0] = exit_code(cycle.results, cycle.outcomes)
        err.print(cycle_line(cycle), markup=False, highlight=False)

    db_path = config_mod.database_path(STATE.db, config)
    run_watch(config, db_path, names, interval, once=once, stop=stop, on_cycle=on_cycle,
              lock_timeout=lock_timeout, password=database_password(config))  # fmt: skip
    if once and codes[0]:
        raise typer.Exit(codes[0])
