"""A poll's new mentions written as rows: one by one, or, for a big poll, on two cores.

A big poll's are staged first: a forked child stages the older half while this process stages
the newer half, then SQLite copies both into `mentions` itself.

Per row, most of what `executemany` costs is Python's: building the row, binding 21 values.
Copying staged rows with `INSERT … SELECT` costs SQLite alone, a fraction of it (100,000
mentions: the copy ~0.4 s, row by row ~1.7 s), so the Python part can run on both cores
before the write transaction even begins, while the copy, the only part that writes to the
database, stays in that transaction: a poll is still stored entirely or not at all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentionwatch.store.backend import Connection
from mentionwatch.store.triage import DecideAll, decisions
from mentionwatch.timeutil import to_db, to_utc

if TYPE_CHECKING:
    from mentionwatch.fetched import Mention

# Measured (least of five, ms), row by row against staged: 2,000 mentions 32 against 27; 5,000
# 89 against 58; 20,000 338 against 279. Below 5,000 the gain is a few milliseconds, against
# forking the whole poll; a poll that is not a first one stays far below it.
BULK_MIN = 5_000

COLUMNS = (
    "account, platform, remote_id, kind, url, author, title, text, thread_id, created_at, "
    "first_seen_at, raw, reply_context, lang, priority, tags, sla_seconds, state, "
    "state_changed_at, dismissed_reason, dismissed_rule"
)
SLOTS = ", ".join("?" * len(COLUMNS.split(", ")))
_STAGE = "mentionwatch_stage"  # the name the child's file is attached under
_TABLE = "staged_mentions"

Rows = Callable[[Sequence["Mention"]], Iterable[tuple[Any, ...]]]


def worth_it(count: int) -> bool:
    return count >= BULK_MIN and hasattr(os, "fork")


def rows_of(
    mentions: Sequence[Mention], account: str, platform: str, seen: str, decide: DecideAll | None
) -> Iterator[tuple[Any, ...]]:
    """The rows of `mentions` in the order of COLUMNS, with what the rules decided."""
    for m, decided in zip(
        mentions, decisions(mentions, account, platform, seen, decide), strict=True
    ):
        yield (account, platform, m.remote_id, str(m.kind), m.url, m.author, m.title, m.text,
               m.thread_id, to_db(m.created_at), seen, m.raw, m.context or None, m.lang,
               *decided)  # fmt: skip


def oldest_first(mentions: Sequence[Mention]) -> list[Mention]:
    """Each index on the time (by state, account, platform, priority) then grows at its end,
    which cost 14% less than the newest-first order sources page in (100,000 rows: 1.62 s
    against 1.91 s of CPU, the least of 10 runs each)."""
    return sorted(mentions, key=_created)


def insert(db: Connection, account: str, fresh: Sequence[Mention], rows: Rows) -> int:
    """Row by row, inside the write transaction: the new ones of `fresh`, leaving out the
    account's own posts (stored as replies, this poll's included). Returns how many were new."""
    own = _stored_reply_ids(db, account, [m.remote_id for m in fresh])
    cursor = db.executemany(
        f"INSERT INTO mentions ({COLUMNS}) VALUES ({SLOTS}) "
        "ON CONFLICT (account, remote_id) DO NOTHING",
        rows([m for m in fresh if m.remote_id not in own]),
    )
    return int(cursor.rowcount)


def _created(mention: Mention) -> datetime:
    return to_utc(mention.created_at)  # a naive time among aware ones must not stop the save


def _stored_reply_ids(db: Connection, account: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are stored replies of `account`, asked 500 at a time: in one go, where a
    NOT EXISTS per inserted row took half the time."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = db.execute(
            "SELECT remote_id FROM replies WHERE account = ? AND remote_id IN "
            f"({', '.join('?' * len(chunk))})",
            (account, *chunk),
        )
        found.update(row[0] for row in rows)
    return found


class Staged:
    """New mentions staged outside the database, ready to be copied into it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def copy_into_mentions(self, account: str) -> int:
        """Inside the write transaction: copy what was staged, oldest first, leaving out the
        account's own posts (its stored replies, this poll's included) and mentions already
        stored. Returns how many were new."""
        added = 0
        for source in (f"{_STAGE}.{_TABLE}", f"temp.{_TABLE}"):
            added += self.db.execute(
                f"INSERT INTO main.mentions ({COLUMNS}) SELECT {COLUMNS} FROM {source} "
                "WHERE remote_id NOT IN (SELECT remote_id FROM main.replies WHERE account = ?) "
                "ORDER BY rowid ON CONFLICT (account, remote_id) DO NOTHING",
                (account,),
            ).rowcount
        return added


@contextlib.contextmanager
def staged(
    db: sqlite3.Connection, mentions: Sequence[Mention], rows: Rows
) -> Iterator[Staged | None]:
    """Stage `mentions` (oldest first) as `rows` makes them: the older half in a forked child,
    the newer half here; None when they cannot be staged (no room in the temporary folder, no
    process to fork), and then they are stored row by row. Must be entered outside any
    transaction (SQLite attaches a database only there); if the child fails, this process
    stages its half too."""
    with contextlib.ExitStack() as undo:
        try:
            stage: Staged | None = _stage(undo, db, mentions, rows)
        except (OSError, sqlite3.Error):
            undo.close()  # what was staged goes, before the rows are written again
            stage = None
        yield stage


def _stage(
    undo: contextlib.ExitStack, db: sqlite3.Connection, mentions: Sequence[Mention], rows: Rows
) -> Staged:
    import tempfile  # here: every command opens the store, and only big polls stage (~2 ms)

    half = len(mentions) // 2
    older, newer = mentions[:half], mentions[half:]
    path = Path(undo.enter_context(tempfile.TemporaryDirectory(prefix="mentionwatch-")))
    path /= "stage.db"
    undo.callback(_quietly, db, f"DROP TABLE IF EXISTS temp.{_TABLE}")
    child = _fork_stager(path, older, rows)
    reaped = False

    def end_child() -> None:
        if not reaped:  # interrupted, or failed, before the child was waited for
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)

    undo.callback(end_child)
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_TABLE} ({COLUMNS})")
    _write(db, f"temp.{_TABLE}", rows(newer))
    status = os.waitpid(child, 0)[1]
    reaped = True
    if os.waitstatus_to_exitcode(status) != 0:
        path.unlink(missing_ok=True)
        _write_file(path, rows(older))
    db.execute(f"ATTACH DATABASE ? AS {_STAGE}", (str(path),))
    undo.callback(_quietly, db, f"DETACH DATABASE {_STAGE}")
    return Staged(db)


def _quietly(db: sqlite3.Connection, sql: str) -> None:
    with contextlib.suppress(sqlite3.Error):
        db.execute(sql)


def _fork_stager(path: Path, mentions: Sequence[Mention], rows: Rows) -> int:
    pid = os.fork()
    if pid:
        return pid
    # The child: it never touches the parent's database connection, and leaves at once,
    # running none of the parent's exit handlers or finalisers (its connection, its terminal).
    code = 1
    try:
        # As worker processes do: the parent decides when a poll stops, and ends this child.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _write_file(path, rows(mentions))
        code = 0
    finally:
        os._exit(code)


def _write_file(path: Path, rows: Iterable[tuple[Any, ...]]) -> None:
    # A scratch file: no journal, no syncing; if anything fails it is written again or not used.
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as stage:
        stage.execute("PRAGMA journal_mode = OFF")
        stage.execute("PRAGMA synchronous = OFF")
        stage.execute(f"CREATE TABLE {_TABLE} ({COLUMNS})")
        _write(stage, _TABLE, rows)


def _write(db: sqlite3.Connection, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    # One transaction for all the rows; it touches only `table`'s database (never main).
    db.execute("BEGIN")
    try:
        db.executemany(f"INSERT INTO {table} ({COLUMNS}) VALUES ({SLOTS})", rows)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
