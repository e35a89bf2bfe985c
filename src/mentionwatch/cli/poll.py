"""Rendering for `poll` and `config check`; kept apart so other commands never import httpx.

Only these commands talk to servers, so only they set up logging (the others never log).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from mentionwatch.config import Config
from mentionwatch.errors import EXIT_ACCOUNTS_FAILED, EXIT_ALERTS_FAILED
from mentionwatch.models import Account
from mentionwatch.poll import PollHooks, PollResult, run_poll
from mentionwatch.store import Store
from mentionwatch.store.lock import poll_lock
from mentionwatch.text import one_line, strip_controls
from mentionwatch.timeutil import format_duration, format_time, utcnow

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

    from mentionwatch.notify.deliver import Outcome
    from mentionwatch.watch import Cycle


class CleanFormatter(logging.Formatter):
    """Log lines quote servers and exceptions: no escape sequence reaches the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(strip_controls(line) for line in super().format(record).splitlines())


def log_to_stderr(verbose: bool) -> None:
    """Our own loggers only, so that libraries' chatter never reaches the user."""
    logger = logging.getLogger("mentionwatch")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CleanFormatter("%(message)s"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def summary_line(result: PollResult, zone: tzinfo | None = None) -> Text:
    name = Text(f"{one_line(result.account)} ({result.platform}): ", style="bold")
    if result.error:
        # Errors name their account for logs and poll_runs; the line names it already.
        error = result.error.removeprefix(f"{result.account}: ")
        return name + Text(f"FAILED: {one_line(error)}", style="red")
    skipped = Text()
    if result.not_before is not None:
        # Otherwise "0 new" reads as if the platform had been asked and had nothing.
        wait = format_duration(max(result.not_before - utcnow(), timedelta(0)))
        skipped = Text(
            f"not asked for mentions (the platform asked to wait); it may be asked again "
            f"at {format_time(result.not_before, zone, '%Y-%m-%d %H:%M:%S')} (in {wait}); ",
            style="yellow",
        )
    return (
        name
        + skipped
        + Text(
            f"{result.new_mentions} new, {result.newly_answered} newly answered, "
            f"{result.still_open} open ({result.seconds:.1f}s)"
        )
    )


def run(
    config: Config,
    db_path: Path | str,
    names: Sequence[str],
    lock_timeout: float,
    out: Console,
    err: Console,
    password: str | None = None,
) -> int:
    """Poll under the lock and print one line per account; returns the exit code."""
    if not any(a.enabled for a in config.accounts):
        err.print(f"{config.path}: no enabled accounts to poll", markup=False)
        return 0
    # SQLite: one poll at a time per file. PostgreSQL: pollers share the accounts by leases.
    lock = poll_lock(db_path, lock_timeout) if isinstance(db_path, Path) else nullcontext()
    with lock, Store.open(db_path, password=password) as store:
        if err.is_terminal:
            results = _with_progress(config, store, names, err)
            for result in results:
                out.print(summary_line(result, config.zone))
        else:
            # cron: plain lines as each account finishes, no control codes.
            write = line_writer(out)
            hooks = PollHooks(finished=lambda result: write(summary_line(result, config.zone)))
            results = run_poll(config, store, accounts=names, hooks=hooks)
        outcomes = []
        if config.notify:
            from mentionwatch.notify.deliver import deliver_pending

            # After every account committed: what was queued is in the outbox for good.
            outcomes = deliver_pending(store, config, utcnow())
    for outcome in outcomes:
        if outcome.status != "idle" or outcome.dropped:
            out.print(alert_line(outcome))
    enabled = [a for a in config.accounts if a.enabled and (not names or a.name in names)]
    if len(results) < len(enabled):
        others = len(enabled) - len(results)
        err.print(f"{others} of {len(enabled)} accounts were polled by other pollers "
                  "(`mentionwatch pollers` shows who).")  # fmt: skip
    failed = [r for r in results if not r.ok]
    if failed:
        err.print(failure_summary(len(failed), len(results)), markup=False)
    targets = [o.target for o in outcomes if o.failed]
    if targets:
        err.print(
            f"alerts not delivered to {', '.join(targets)}; they stay pending for the next run.",
            markup=False,
        )
    return exit_code(results, outcomes)


def exit_code(results: Sequence[PollResult], outcomes: Sequence[Outcome]) -> int:
    """4 when an account failed, else 12 when an alert target did, else 0."""
    if any(not r.ok for r in results):
        return EXIT_ACCOUNTS_FAILED
    if any(o.failed for o in outcomes):
        return EXIT_ALERTS_FAILED
    return 0


def line_writer(console: Console) -> Callable[[Text], None]:
    """Print one line at a time: through Rich where it styles, else straight to the file.

    Rich lays out each line in ~0.6 ms, 5% of a 200-account poll to a pipe, where it has no
    styles to apply (and, here, nothing to wrap) anyway.
    """
    if console.is_terminal or console.color_system is not None:
        return console.print

    def write(line: Text) -> None:
        console.file.write(line.plain + "\n")
        console.file.flush()  # each account's line as it finishes, as cron logs expect

    return write


def failure_summary(failed: int, polled: int) -> str:
    if polled == 1:
        return "The account failed."
    if failed == polled:
        return f"All {polled} accounts failed."
    others = "the other was" if polled - failed == 1 else "the others were"
    return f"{failed} of {polled} accounts failed; {others} stored."


def alert_line(outcome: Outcome) -> Text:
    name = Text(f"alerts → {one_line(outcome.target)}: ", style="bold")
    dropped = f", {outcome.dropped} dropped (handled meanwhile)" if outcome.dropped else ""
    if outcome.status == "sent":
        plural = "s" if outcome.sent != 1 else ""
        return name + Text(f"sent {outcome.sent} alert{plural} in one message{dropped}")
    if outcome.status == "quiet":
        return name + Text(f"{outcome.pending} held: {outcome.detail}{dropped}")
    if outcome.status == "idle":
        return name + Text(f"nothing to send{dropped}")
    return name + Text(
        f"FAILED, {outcome.pending} pending: {one_line(outcome.detail)}{dropped}", style="red"
    )


def cycle_line(cycle: Cycle) -> str:
    """The one stderr line `watch` writes per cycle."""
    new = sum(r.new_mentions for r in cycle.results)
    failed = [r.account for r in cycle.results if not r.ok]
    parts = [f"watch: cycle {cycle.number}", f"{len(cycle.results)} polled", f"{new} new"]
    if cycle.waiting:
        parts.append(f"{cycle.waiting} not due")
    if failed:
        parts.append(f"failed: {', '.join(failed)}")
    sent = sum(o.sent for o in cycle.outcomes)
    if cycle.outcomes:
        parts.append(f"{sent} alert{'s' if sent != 1 else ''} sent")
    held = [o.target for o in cycle.outcomes if o.failed]
    if held:
        parts.append(f"alerts failed: {', '.join(held)}")
    if cycle.note:
        parts.append(cycle.note)
    parts.append(f"next in {cycle.next_in:.{0 if cycle.next_in >= 10 else 1}f}s")
    return one_line(" · ".join(parts))


def _with_progress(
    config: Config, store: Store, names: Sequence[str], err: Console
) -> list[PollResult]:
    """A live line per account on stderr while polling; gone when the summary prints."""
    progress, started, finished = progress_hooks(err, config.zone)

    with progress:
        hooks = PollHooks(started=started, finished=finished)
        return run_poll(config, store, accounts=names, hooks=hooks)


def progress_hooks(
    err: Console, zone: tzinfo | None
) -> tuple[Progress, Callable[[Account], None], Callable[[PollResult], None]]:
    """The live lines and the hooks that move them: a spinner while an account polls, its
    summary (and no spinner) once it is done."""
    # Only on a terminal: cron's polls never load Rich's live display (~14 ms of start-up).
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

    progress = Progress(
        SpinnerColumn(finished_text=" "), TextColumn("{task.description}"), console=err,
        transient=True,
    )  # fmt: skip
    tasks: dict[str, TaskID] = {}

    def started(account: Account) -> None:
        tasks[account.name] = progress.add_task(f"{account.name} ({account.platform})", total=1)

    def finished(result: PollResult) -> None:
        # Completing the task (not only stopping it) is what stops its spinner.
        task = tasks[result.account]
        progress.update(task, description=summary_line(result, zone).plain, completed=1)
        progress.stop_task(task)

    return progress, started, finished


def accounts_table(config: Config, who: dict[str, tuple[bool, str]]) -> Table:
    from rich.table import Table

    from mentionwatch.sources.registry import PLATFORMS

    table = Table(pad_edge=False)
    for column in ("Account", "Platform", "Server", "Handle", "SLA", "Secrets", "Status"):
        table.add_column(column, overflow="fold")
    for a in config.accounts:
        secrets = ", ".join(f"{k} from {v}" for k, v in a.secret_sources.items()) or "-"
        status = Text("enabled" if a.enabled else "disabled", style="" if a.enabled else "dim")
        if a.name in who:
            ok, said = who[a.name]
            # A failure's reason is long: it gets lines of its own below the table.
            shown = one_line(said) if ok else "failed"
            status = Text(("✓ " if ok else "✗ ") + shown, style="green" if ok else "red")
        spec = PLATFORMS.get(a.platform)
        target = spec.address(a) if spec else a.server
        table.add_row(
            Text(a.name), Text(a.platform), Text(target), Text(a.handle or "-"),
            Text(_short(a.sla.total_seconds())), Text(secrets), status,
        )  # fmt: skip
    return table


def failure_lines(who: dict[str, tuple[bool, str]]) -> list[Text]:
    """Why each failed account failed, a line each, so the reason is never squeezed or cut."""
    lines = []
    for name, (ok, said) in who.items():
        if not ok:
            reason = one_line(said).removeprefix(f"{name}: ")
            lines.append(Text(f"✗ {one_line(name)}: {reason}", style="red"))
    return lines


def _short(seconds: float) -> str:
    from datetime import timedelta

    from mentionwatch.timeutil import format_duration

    return format_duration(timedelta(seconds=seconds))
