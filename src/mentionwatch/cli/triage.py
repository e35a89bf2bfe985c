"""Triage: `inbox` full screen, and `done`, `dismiss`, `snooze` and `reopen` by id, or all that
`list`'s filters select."""

import sys
from datetime import timedelta
from typing import Annotated

import typer

from mentionwatch import config as config_mod
from mentionwatch.cli.common import (
    STATE,
    AccountOption,
    GrepOption,
    OlderOption,
    OverdueOption,
    PlatformOption,
    PriorityOption,
    SelectionOptions,
    StateOption,
    TagOption,
    database_password,
    duration_option,
    err,
    handled,
    known_accounts,
    known_platforms,
    load_config,
    open_store,
    with_selection,
)
from mentionwatch.errors import UsageError
from mentionwatch.models import State
from mentionwatch.selection import StateChoice
from mentionwatch.timeutil import utcnow

# Annotations are not postponed (see cli/__init__.py): Typer reads them at every start.

OptionalIds = Annotated[
    list[int] | None, typer.Argument(help="Mention ids, as `list` shows them; or use filters.")
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Change what the filters select without asking.")
]
# A snooze longer than this is a dismissal; far longer ones overflow the calendar.
LONGEST_SNOOZE = timedelta(days=366)
_VERBS = {State.ANSWERED: "mark as answered", State.DISMISSED: "dismiss",
          State.SNOOZED: "snooze", State.OPEN: "reopen"}  # fmt: skip


def _triage(
    state: State,
    ids: list[int] | None,
    selection: SelectionOptions,
    yes: bool,
    snooze_for: timedelta | None = None,
) -> None:
    from mentionwatch.render.triage import confirmation

    if ids and selection.given:
        raise UsageError("give mention ids or filters, not both")
    if not ids and not selection.given:
        raise UsageError("give mention ids, or filters such as --platform or --older-than")
    config = load_config(required=False)
    now = utcnow()
    until = now + snooze_for if snooze_for is not None else None
    with open_store(config, write=True) as store:
        if not ids:
            chosen = selection.select(config, store, now, _default_states(state))
            ids = [m.id for m in chosen.mentions(store, config, now)]
            if not ids:
                err.print("Nothing matches those filters; nothing changed.", markup=False)
                return
            _confirm(state, len(ids), yes)
        actor = config_mod.acting_user(config)
        before = store.set_state(ids, state, now, until, actor=actor)
    for line in confirmation(before, state, now, config.zone, until):
        err.print(line, markup=False)


def _default_states(state: State) -> list[StateChoice]:
    """What a filter selects without --state: waiting mentions; for `reopen`, closed ones."""
    if state is State.OPEN:
        return [StateChoice.ANSWERED, StateChoice.DISMISSED, StateChoice.SNOOZED]
    return []


def _confirm(state: State, count: int, yes: bool) -> None:
    noun = f"{count} mention{'s' if count != 1 else ''}"
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"this would {_VERBS[state]} {noun}: add --yes to do it without a "
                         "terminal to ask at")  # fmt: skip
    if not typer.confirm(f"This will {_VERBS[state]} {noun}. Go ahead?", err=True):
        raise typer.Exit(1)


@handled
def inbox(
    account: AccountOption = None,
    platform: PlatformOption = None,
    older_than: OlderOption = None,
    overdue: OverdueOption = False,
    state: StateOption = None,
    grep: GrepOption = None,
    priority: PriorityOption = None,
    tag: TagOption = None,
) -> None:
    """Triage full screen: read, reply, done, dismiss, snooze, undo, from the keyboard."""
    from mentionwatch.inbox import run_inbox
    from mentionwatch.inbox.queue import InboxFilter

    config = load_config(required=False)
    older = duration_option("--older-than", older_than) if older_than else None
    with open_store(config, write=True) as store:
        where = InboxFilter(
            tuple(known_accounts(config, store, account)), tuple(known_platforms(platform)),
            tuple(state or ()), older, overdue, tuple(grep or ()),
            tuple(p.value for p in priority or ()), tuple(tag or ()),
        )  # fmt: skip
        location = config_mod.database_path(STATE.db, config)
        run_inbox(store, config, where, location, database_password(config))


@handled
@with_selection
def done(
    ids: OptionalIds = None,
    *,
    selection: SelectionOptions,
    yes: YesOption = False,
) -> None:
    """Mark mentions as answered by hand (you replied somewhere we can't see)."""
    _triage(State.ANSWERED, ids, selection, yes)


@handled
@with_selection
def dismiss(
    ids: OptionalIds = None,
    *,
    selection: SelectionOptions,
    yes: YesOption = False,
) -> None:
    """Dismiss mentions that need no answer."""
    _triage(State.DISMISSED, ids, selection, yes)


@handled
@with_selection
def snooze(
    ids: OptionalIds = None,
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 4h or 2d.")] = "4h",
    *,
    selection: SelectionOptions,
    yes: YesOption = False,
) -> None:
    """Hide mentions until later; they come back as open when the time is up."""
    delta = duration_option("--for", for_)
    if delta > LONGEST_SNOOZE:
        raise UsageError(f"--for: {for_!r} is longer than a year (366d); `dismiss` mentions "
                         "that need no answer")  # fmt: skip
    _triage(State.SNOOZED, ids, selection, yes, snooze_for=delta)


@handled
@with_selection
def reopen(
    ids: OptionalIds = None,
    *,
    selection: SelectionOptions,
    yes: YesOption = False,
) -> None:
    """Put mentions back in the open list (replies older than now no longer answer them)."""
    _triage(State.OPEN, ids, selection, yes)
