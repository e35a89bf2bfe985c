"""What the Store needs of a database connection, met by sqlite3 itself and by store/postgres.py.

The Store's SQL is written once, in SQLite's dialect with `?` and `:name` parameters; the
PostgreSQL connection translates parameters and DDL, and the few real differences are asked of
`dialect_of(db)` where they are written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

Dialect = Literal["sqlite", "postgresql"]
URL_SCHEMES = ("postgresql://", "postgres://")


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
