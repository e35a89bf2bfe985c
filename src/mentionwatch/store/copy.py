"""`db copy`: every row of one database into another, empty one, in one transaction.

Both ends are opened (so migrated) by the same mentionwatch, so they have the same tables and
columns: the copy reads the table list from the source and copies the columns both have,
keeping every id (`done 12` means the same mention before and after). Leases and poll rounds
are the pollers' running state, not data: they start afresh. PostgreSQL's identity sequences
are moved past the copied ids, so that the next row stored gets a new one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mentionwatch.errors import StoreError, UsageError
from mentionwatch.store.backend import Connection, dialect_of

if TYPE_CHECKING:
    from mentionwatch.store import Store

_NOT_DATA = {"schema_migrations", "account_leases", "poll_rounds"}
_BATCH = 2000


@dataclass(frozen=True)
class Copied:
    source: str
    target: str
    counts: dict[str, int]


def tables(db: Connection) -> list[str]:
    """The data tables, in creation order (a table never refers to a later one)."""
    if dialect_of(db) == "sqlite":
        rows = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY rowid"
        )
    else:
        rows = db.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY c.oid"
        )
    return [str(row[0]) for row in rows if row[0] not in _NOT_DATA]


def columns(db: Connection, table: str) -> list[str]:
    if dialect_of(db) == "sqlite":
        return [str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")]
    rows = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? ORDER BY ordinal_position",
        (table,),
    )
    return [str(row[0]) for row in rows]


def count(db: Connection, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def copy_database(source: Store, target: Store) -> Copied:
    """Copy every data row of `source` into `target`, which must hold none; all or nothing."""
    names = tables(source.db)
    missing = [t for t in names if t not in tables(target.db)]
    if missing:
        raise StoreError(f"{target.path}: has no table {missing[0]!r}; is it mentionwatch's?")
    occupied = {t: n for t in names if (n := count(target.db, t))}
    if occupied:
        table, rows = next(iter(occupied.items()))
        raise UsageError(
            f"{target.path}: not empty ({rows} rows in {table}); copy only into an empty "
            "database, so that no id clashes and nothing is merged by accident"
        )
    counts: dict[str, int] = {}
    with target.transaction() as db:
        for table in names:
            shared = [c for c in columns(source.db, table) if c in set(columns(db, table))]
            listed = ", ".join(shared)
            marks = ", ".join("?" * len(shared))
            insert = f"INSERT INTO {table} ({listed}) VALUES ({marks})"
            for batch in _batches(source.db, f"SELECT {listed} FROM {table}"):
                db.executemany(insert, batch)
            counts[table] = count(db, table)
            expected = count(source.db, table)
            if counts[table] != expected:
                raise StoreError(
                    f"{target.path}: {table} has {counts[table]} rows after the copy, the source "
                    f"{expected}; nothing was copied"
                )
            if dialect_of(db) == "postgresql" and "id" in shared:
                db.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
                )
    return Copied(str(source.path), str(target.path), counts)


def _batches(db: Connection, sql: str) -> Iterator[list[tuple[Any, ...]]]:
    """The source's rows a few thousand at a time: a big database never sits in memory."""
    if dialect_of(db) == "postgresql":
        from mentionwatch.store.postgres import PgConnection

        assert isinstance(db, PgConnection)
        rows = db.stream(sql)  # psycopg would otherwise fetch the whole table first
        while batch := [tuple(row) for row in itertools.islice(rows, _BATCH)]:
            yield batch
        return
    cursor = db.execute(sql)
    while found := cursor.fetchmany(_BATCH):
        yield [tuple(row) for row in found]
