"""Commands for a team: pollers, assign, unassign, note, and `db copy` between databases.

Registered on the app by cli/__init__.py; each parses, calls one core function, renders.
"""

# Annotations are not postponed (see cli/__init__.py): Typer reads them at every start.
from typing import Annotated

import typer

from mentionwatch import config as config_mod
from mentionwatch.cli.common import (
    STATE,
    database_password,
    err,
    handled,
    load_config,
    open_store,
    out,
)
from mentionwatch.errors import UsageError
from mentionwatch.timeutil import utcnow


@handled
def pollers() -> None:
    """Who polls which account (PostgreSQL leases), since when, and who polled it last."""
    from mentionwatch.render.team import leases_table

    config = load_config(required=False)
    with open_store(config, write=False) as store:
        if store.dialect == "sqlite":
            err.print(f"{store.path}: a SQLite file is polled by one `mentionwatch poll` at a "
                      "time (the poll lock); leases are for PostgreSQL.", markup=False)  # fmt: skip
            return
        leases = store.leases()
        now = store.db_now()
    if not leases:
        err.print("No account has been polled yet.")
        return
    out.print(leases_table(leases, now, config.zone))
    held = sum(
        1 for lease in leases if lease.holder and lease.expires_at and lease.expires_at > now
    )
    err.print(f"{held} of {len(leases)} accounts held right now.", style="dim")


@handled
def assign(
    ids: Annotated[list[int], typer.Argument(help="Mention ids, then the user to give them to.")],
    user: Annotated[str, typer.Argument(help="Who takes them (a name from [users], or any).")],
) -> None:
    """Give mentions to a teammate; `list --mine` is then their queue."""
    _assign(ids, user.strip() or None)


@handled
def unassign(
    ids: Annotated[list[int], typer.Argument(help="Mention ids, as `list` shows them.")],
) -> None:
    """Take mentions back from whoever has them."""
    _assign(ids, None)


def _assign(ids: list[int], user: str | None) -> None:
    from mentionwatch.render.team import assigned_lines

    config = load_config(required=False)
    now = utcnow()
    with open_store(config, write=True) as store:
        before = store.assign(ids, user, config_mod.acting_user(config), now)
    for line in assigned_lines(before, user, now):
        err.print(line, markup=False)


@handled
def note(
    mention_id: Annotated[int, typer.Argument(help="Mention id.")],
    text: Annotated[str, typer.Argument(help="The note, for the team.")],
) -> None:
    """Add a note to a mention: `show` and exports include it, with who and when."""
    if not text.strip():
        raise UsageError("the note is empty")
    config = load_config(required=False)
    with open_store(config, write=True) as store:
        store.add_note(mention_id, text.strip(), config_mod.acting_user(config), utcnow())
    err.print(f"Noted on #{mention_id}.")


@handled
def db_copy(
    to: Annotated[
        str | None, typer.Option("--to", help="Copy this database into an empty one there.")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Copy that database into this (empty) one.")
    ] = None,
) -> None:
    """Copy every mention, reply, state, cursor, digest, note and change to another database."""
    from mentionwatch.store import Store
    from mentionwatch.store.copy import copy_database

    if (to is None) == (from_ is None):
        raise UsageError("give --to URL or --from URL (one of them)")
    config = load_config(required=False)
    here = config_mod.database_path(STATE.db, config)
    there = config_mod.database_path(to or from_, None)
    password = database_password(config)
    source_at, target_at = (here, there) if to else (there, here)
    with Store.open(source_at, create=False, write=False, password=password) as source, \
            Store.open(target_at, create=True, password=password) as target:  # fmt: skip
        copied = copy_database(source, target)
    parts = ", ".join(f"{n} {table}" for table, n in copied.counts.items())
    err.print(f"Copied {parts} from {copied.source} to {copied.target}; counts checked.",
              markup=False)  # fmt: skip
