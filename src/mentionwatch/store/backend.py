"""What the Store needs of a database connection, met by sqlite3 itself and by store/postgres.py,
and how a SQLite file is opened (store/postgres.py connects to PostgreSQL).

The Store's SQL is written once, in SQLite's dialect with `?` and `:name` parameters; the
PostgreSQL connection translates parameters and DDL, and the few real differences are asked of
`dialect_of(db)` where they are written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from mentionwatch.errors import StoreError
from mentionwatch.store.rows import READ_ONLY, explain

Dialect = Literal["sqlite", "postgresql"]
URL_SCHEMES = ("postgresql://", "postgres://")

# Raw payloads are ~2 KB: with 4 KB pages a mention row fills a page on its own. 16 KB pages
# hold six, which made storing 100,000 mentions ~1.5x faster and the file 40% smaller. SQLite
# fixes the page size when a database is created, so only new databases get it.
_PAGE_SIZE = 16384


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of sqlite3.Connection the Store uses; rows are read by index and by name."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    def close(self) -> None: ...


def is_url(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def dialect_of(db: Connection) -> Dialect:
    return "sqlite" if isinstance(db, sqlite3.Connection) else "postgresql"


def shown(location: Path | str) -> str:
    """A database location as messages show it: a URL never with its password."""
    if not is_url(location):
        return str(location)
    parts = urlsplit(str(location))
    if parts.password is None:
        return str(location)
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def open_sqlite(path: Path, *, create: bool, write: bool) -> tuple[sqlite3.Connection, bool]:
    """Connect to a SQLite file, and say whether it may be written (then it is to be migrated).

    `write=False` (commands that only read) also reads a file this user may not write.
    """
    new = not path.exists()
    if new:
        if not create:
            raise StoreError(f"{path}: no database yet; run `mentionwatch poll` first")
        try:
            _create_private(path)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create database: {exc.strerror}") from None
    elif not _writable(path):
        if write:
            raise StoreError(f"{path}: {READ_ONLY}")
        return _read_only(path), False
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 10000")
        if new:
            db.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: {explain(exc)}") from None
    return db, True


def _read_only(path: Path) -> sqlite3.Connection:
    """Read a database this user may not write, leaving no file behind.

    A plain connection would create `-wal`/`-shm` files as read-only as the database, and
    those would refuse every later write even once the database is writable again. With
    both files there, SQLite reads them as they are; without a `-wal` everything is in the
    database file, so it is read as immutable (no side files at all).
    """
    sides = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    query = "mode=ro" if all(side.exists() for side in sides) else "mode=ro&immutable=1"
    uri = f"{path.resolve().as_uri()}?{query}"
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: {explain(exc)}") from None
    db.row_factory = sqlite3.Row
    return db


def _writable(path: Path) -> bool:
    """Whether SQLite can write here: the file, and its folder (for the `-wal` and `-shm`)."""
    if not os.access(path, os.W_OK):
        return False
    if os.access(path.parent, os.W_OK):
        return True
    sides = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    return all(os.access(side, os.W_OK) for side in sides)


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite does, so no other user ever sees a readable copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
