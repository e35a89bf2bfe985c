"""The CLI tier: Typer commands only. Each parses, calls one core function, renders.

This module holds the app, the order of its commands (as `--help` lists them) and the setup and
polling commands; `reading` the commands that read mentions, `triage` those that change their
state, `team` and `notify` theirs; `common` the consoles, shared options and error → exit
code. `poll`, `digest` and `reply` hold what those commands do, imported only when they run.
Only this package (and `inbox/`) prints or exits.
"""

# Annotations are not postponed here (no `from __future__ import annotations`): Typer reads
# every command's at each start, and evaluating ~280 strings cost ~8 ms of it.
from pathlib import Path
from typing import Annotated, Any

import typer

from mentionwatch import __version__
from mentionwatch import config as config_mod
from mentionwatch.cli import notify as notify_cli
from mentionwatch.cli import reading, team, triage
from mentionwatch.cli.common import (
    STATE,
    AccountOption,
    AssigneeOption,
    LockTimeoutOption,
    MentionIdArgument,
    MineOption,
    PriorityOption,
    TagOption,
    UnassignedOption,
    VerboseOption,
    WorkersOption,
    adapt_consoles,
    assignees,
    database_password,
    duration_option,
    err,
    handled,
    known_accounts,
    load_config,
    open_store,
    out,
    with_workers,
)
from mentionwatch.cli.rules import rules_app
from mentionwatch.errors import EXIT_ACCOUNTS_FAILED, UsageError
from mentionwatch.timeutil import utcnow

app = typer.Typer(
    help="Watch your mentions across platforms and never leave one unanswered.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(rules_app, name="rules")
app.add_typer(notify_cli.notify_app, name="notify")
app.command()(notify_cli.watch)


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
        str | None,
        typer.Option(
            "--db", envvar=config_mod.DB_ENV, help="Database file, or a postgresql:// URL."
        ),
    ] = None,
    verbose: VerboseOption = False,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            envvar="MENTIONWATCH_ENV_FILE",
            help="Read NAME=value secrets from this 0600 file (for cron); the environment wins.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """mentionwatch: poll your accounts for mentions, list what waits for an answer."""
    STATE.config, STATE.db, STATE.verbose = config, db, verbose
    adapt_consoles()
    if env_file is not None:
        handled(_load_env_file)(env_file)


def _load_env_file(path: Path) -> None:
    import os

    from mentionwatch.config_secrets import load_env_file

    for name, value in load_env_file(path.expanduser()).items():
        os.environ.setdefault(name, value)


app.command("list")(reading.list_)
app.command()(reading.show)


@app.command()
@handled
def reply(
    mention_id: MentionIdArgument,
    text: Annotated[
        str | None, typer.Argument(help="The reply; without it, $VISUAL/$EDITOR opens.")
    ] = None,
    file: Annotated[
        str | None, typer.Option("--file", "-F", help="Read the reply from a file, or - (stdin).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the exact request; send nothing.")
    ] = False,
) -> None:
    """Answer a mention as its account; it is marked answered at once (see README, Replying)."""
    from mentionwatch.cli.reply import run_reply

    config = load_config()
    with open_store(config, write=True) as store:
        run_reply(store, config, mention_id, text, file, dry_run, out, err)


app.command()(triage.inbox)
app.command("open")(reading.open_)
app.command()(triage.done)
app.command()(triage.dismiss)
app.command()(triage.snooze)
app.command()(triage.reopen)


@app.command()
@handled
def poll(
    account: AccountOption = None,
    lock_timeout: LockTimeoutOption = 0.0,
    verbose: VerboseOption = False,
    workers: WorkersOption = None,
) -> None:
    """Fetch new mentions and replies from every enabled account."""
    from mentionwatch.cli.poll import log_to_stderr, run

    log_to_stderr(verbose or STATE.verbose)
    config = with_workers(load_config(), workers)
    names = known_accounts(config, None, account)
    config = notify_cli.ready(config)  # once checked: a second load would drop --workers
    location = config_mod.database_path(STATE.db, config)
    code = run(config, location, names, lock_timeout, out, err, database_password(config))
    if code:
        raise typer.Exit(code)


app.command("export")(reading.export_)


@app.command()
@handled
def init(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
) -> None:
    """Write a commented starter config (mode 0600)."""
    from mentionwatch.starter import write_starter

    path = config_mod.config_path(STATE.config)
    write_starter(path, force)
    err.print(f"Wrote {path}. Edit it, then run `mentionwatch config check`.", markup=False)


@app.command()
@handled
def schedule(
    systemd: Annotated[
        bool, typer.Option("--systemd", help="systemd user units and timers instead of cron.")
    ] = False,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Where the secrets' NAME=value lines go (chmod 600)."),
    ] = None,
) -> None:
    """Print a crontab block (or systemd units) that runs poll and the digest, ready to paste."""
    from mentionwatch import schedule as plan
    from mentionwatch.cli.common import running_executable

    config = load_config()
    secrets = plan.needed_secrets(config)
    env = (env_file or config.path.parent / "env").expanduser().absolute()
    db = STATE.db.absolute() if isinstance(STATE.db, Path) else STATE.db
    uses_env = secrets.variables and not systemd  # systemd reads it with EnvironmentFile=
    base = plan.base_command(running_executable(), config.path.absolute(), db,
                             env if uses_env else None)  # fmt: skip
    render = plan.systemd_units if systemd else plan.crontab
    out.print(render(config, base, secrets, env), markup=False, soft_wrap=True, end="")
    if secrets.variables and not env.exists():
        err.print(f"Note: {env} does not exist yet; create it with chmod 600.", markup=False)


@config_app.command("check")
@handled
def config_check(
    online: Annotated[
        bool, typer.Option("--online", help="Also verify each credential with one cheap call.")
    ] = False,
) -> None:
    """Validate the config and show the accounts, secrets redacted."""
    from mentionwatch.cli.poll import accounts_table, failure_lines, log_to_stderr
    from mentionwatch.poll import check_credentials

    log_to_stderr(STATE.verbose)
    config = notify_cli.ready_config()  # every [[notify]] URL is checked by apprise too
    if config.digest:
        from mentionwatch.digest.settings import digest_settings

        digest_settings(config)  # a [digest] mistake surfaces now, not at 8am from cron
    if not config.accounts:
        err.print(f"{config.path}: OK, but no [[accounts]] yet: add one (see the README).",
                  markup=False)  # fmt: skip
        return
    who = check_credentials(config, replying=True) if online else {}
    out.print(accounts_table(config, who))
    failed = failure_lines(who)
    for line in failed:
        out.print(line)
    if failed:
        raise typer.Exit(EXIT_ACCOUNTS_FAILED)
    for target in config.notify:
        events = ", ".join(sorted(target.events))
        out.print(f"alerts: {target.name}: {target.shown_url()}; {events}", markup=False)
    count = len(config.accounts)
    rules = len(config.rules)
    extra = f", {rules} rule{'s' if rules != 1 else ''}" if rules else ""
    err.print(f"{config.path}: OK, {count} account{'s' if count != 1 else ''}{extra}.",
              markup=False)  # fmt: skip


@app.command()
@handled
def prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Delete handled mentions older than this.")
    ] = "180d",
) -> None:
    """Delete answered and dismissed mentions older than --older-than, and old poll logs."""
    age = duration_option("--older-than", older_than)
    config = load_config(required=False)
    with open_store(config, write=True) as store:
        removed = store.prune(utcnow() - age)
    err.print(f"Deleted {removed} handled mentions older than {older_than}.", markup=False)


@app.command()
@handled
def digest(
    email: Annotated[
        bool, typer.Option("--email", help="Send by SMTP (\\[digest.smtp] settings).")
    ] = False,
    sendmail: Annotated[
        bool, typer.Option("--sendmail", help="Hand it to the local sendmail instead.")
    ] = False,
    stdout: Annotated[
        bool,
        typer.Option("--stdout", help="Deliver it to stdout, for cron's MAILTO (recorded)."),
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Recipient instead of \\[digest] to (repeatable)."),
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
    mine: MineOption = False,
    assignee: AssigneeOption = None,
    unassigned: UnassignedOption = False,
    per_assignee: Annotated[
        bool,
        typer.Option(
            "--per-assignee", help="Each assignee their own digest, to their \\[users] address."
        ),
    ] = False,
    priority: PriorityOption = None,
    tag: TagOption = None,
) -> None:
    """Show the digest of what waits; --email, --sendmail or --stdout deliver it, once a day."""
    from mentionwatch.cli.digest import run_digest, run_per_assignee
    from mentionwatch.selection import rule_filters

    if email + sendmail + stdout > 1:
        raise UsageError("--email, --sendmail and --stdout: choose one")
    channel = "smtp" if email else "sendmail" if sendmail else "stdout" if stdout else None
    config = load_config(required=False)
    ranks, tags = rule_filters(priority or (), tag or ())
    if per_assignee:
        if to or mine or assignee or unassigned:
            raise UsageError(
                "--per-assignee sends each assignee's digest to their [users] address: "
                "leave out --to, --mine, --assignee and --unassigned"
            )
        run_per_assignee(lambda write: open_store(config, write=write), config,
                         channel=channel, dry_run=dry_run, if_any=if_any, force=force, err=err,
                         verbose=STATE.verbose, priorities=ranks, tags=tags)  # fmt: skip
        return
    run_digest(lambda write: open_store(config, write=write), config, channel=channel,
               to=to or [], dry_run=dry_run, if_any=if_any, force=force, err=err,
               verbose=STATE.verbose, assignees=assignees(config, mine, assignee),
               unassigned=unassigned, priorities=ranks, tags=tags)  # fmt: skip


app.command()(reading.stats)
app.command()(reading.check)


# -- teams: the shared database ----------------------------------------------------------------

app.command()(team.pollers)
app.command()(team.assign)
app.command()(team.unassign)
app.command()(team.note)
db_app = typer.Typer(help="Move the database: SQLite file <-> PostgreSQL.", no_args_is_help=True)
app.add_typer(db_app, name="db")
db_app.command("copy")(team.db_copy)


def main() -> Any:
    # One name however it was started (`python -m mentionwatch` too): shell completion finds
    # the command by it (_MENTIONWATCH_COMPLETE), and usage lines show it.
    import sys

    from mentionwatch.cli.only import only

    return only(app, sys.argv[1:])(prog_name="mentionwatch")
