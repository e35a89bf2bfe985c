"""Transactions, and groups of them committed together (Store mixes this in)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from mentionwatch.errors import StoreError
from mentionwatch.store.backend import Connection, Dialect
from mentionwatch.store.rows import explain


class Transactions:
    """Mixed into Store, which provides the connection."""

    db: Connection
    path: Path | str
    dialect: Dialect
    _grouped: bool
    _group_open: bool

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit; on SQLite it takes the write lock up front (no upgrade deadlocks).

        Inside `grouped()` it is a savepoint of the group's transaction: still all or nothing.
        """
        if self._grouped:
            with self._savepoint():
                yield self.db
            return
        try:
            self._begin()
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {explain(exc)}") from None

    @contextlib.contextmanager
    def grouped(self) -> Iterator[Callable[[], None]]:
        """Many transactions, few commits: yields `commit()`, which makes durable everything
        stored since the last one; the rest is committed at the end, or rolled back on an error.

        A poll stores each account in its own transaction (and records the run in another):
        each commit wrote ~40 pages of WAL, mostly the same index pages again.
        """
        self._grouped = True
        try:
            yield self._commit_group
        except BaseException:
            self._end_group("ROLLBACK")
            raise
        finally:
            self._grouped = False
        self._end_group("COMMIT")

    def _begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")

    def _commit_group(self) -> None:
        self._end_group("COMMIT")

    def _end_group(self, how: str) -> None:
        if self._group_open:
            self._group_open = False
            try:
                self.db.execute(how)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: {explain(exc)}") from None

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[None]:
        try:
            if not self._group_open:
                self._begin()
                self._group_open = True
            self.db.execute("SAVEPOINT unit")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK TO unit")
                self.db.execute("RELEASE unit")
                raise
            self.db.execute("RELEASE unit")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {explain(exc)}") from None
