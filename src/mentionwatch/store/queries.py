"""Store queries for stats and digests, kept apart so store.py stays about polls and states."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from mentionwatch.errors import StoreError
from mentionwatch.models import SentDigest, StoredMention
from mentionwatch.store.backend import Connection, Dialect
from mentionwatch.store.rows import COLUMNS, explain, stored
from mentionwatch.timeutil import from_db, to_db


class ReportQueries:
    """Mixed into Store, which provides the connection and the transaction."""

    db: Connection
    path: Path | str
    dialect: Dialect

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # -- stats -----------------------------------------------------------------------------

    def received_since(
        self,
        since: datetime,
        now: datetime,
        accounts: Sequence[str] = (),
        platforms: Sequence[str] = (),
    ) -> Iterator[StoredMention]:
        """Every mention received at or after `since`, whatever its state, oldest first."""
        # Naming every state lets the (state, created_at) index serve the time range.
        sql = (
            f"SELECT {COLUMNS} FROM mentions WHERE state IN "
            "('open', 'answered', 'dismissed', 'snoozed') AND created_at >= ?"
        )
        params: list[Any] = [to_db(since)]
        sql += self._in_clauses(accounts, platforms, params) + " ORDER BY created_at, id"
        try:
            for row in self.db.execute(sql, params):
                yield stored(row, now)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {explain(exc)}") from None

    def oldest_waiting(
        self, now: datetime, accounts: Sequence[str] = (), platforms: Sequence[str] = ()
    ) -> list[StoredMention]:
        """Each account's oldest waiting mention, however old (open, or a snooze that ran out)."""
        params: list[Any] = [to_db(now)]
        where = self._in_clauses(accounts, platforms, params)
        # The first waiting row of each account, ties broken by id on both backends.
        sql = (
            f"SELECT {COLUMNS} FROM (SELECT {COLUMNS}, ROW_NUMBER() OVER (PARTITION BY account "
            "ORDER BY created_at, id) AS n FROM mentions WHERE (state = 'open' OR "
            f"(state = 'snoozed' AND snoozed_until <= ?)){where}) AS firsts WHERE n = 1 "
            "ORDER BY created_at, id"
        )
        return [stored(row, now) for row in self.db.execute(sql, params)]

    @staticmethod
    def _in_clauses(accounts: Sequence[str], platforms: Sequence[str], params: list[Any]) -> str:
        sql = ""
        for column, values in (("account", accounts), ("platform", platforms)):
            if values:
                sql += f" AND {column} IN ({', '.join('?' * len(values))})"
                params.extend(values)
        return sql

    # -- digests ---------------------------------------------------------------------------

    def record_digest(self, sent: SentDigest) -> None:
        """Called only once the mail server (or stdout) took the digest."""
        import json  # digests only; other commands start without it

        with self.transaction() as db:
            db.execute(
                "INSERT INTO digests (sent_at, channel, recipients, message_id, subject, "
                "covered_since, covered_until, counts, mention_ids) VALUES (?,?,?,?,?,?,?,?,?)",
                (to_db(sent.sent_at), sent.channel, json.dumps(list(sent.recipients)),
                 sent.message_id, sent.subject, to_db(sent.covered_since),
                 to_db(sent.covered_until), json.dumps(dict(sent.counts)),
                 json.dumps(list(sent.mention_ids))),
            )  # fmt: skip

    def last_digest(self) -> SentDigest | None:
        import json

        row = self.db.execute(
            "SELECT * FROM digests ORDER BY covered_until DESC, id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return SentDigest(
            sent_at=from_db(row["sent_at"]),
            channel=row["channel"],
            recipients=tuple(json.loads(row["recipients"])),
            message_id=row["message_id"],
            subject=row["subject"],
            covered_since=from_db(row["covered_since"]),
            covered_until=from_db(row["covered_until"]),
            counts=dict(json.loads(row["counts"])),
            mention_ids=tuple(json.loads(row["mention_ids"])),
        )

    def answered_since(self, since: datetime, now: datetime) -> list[StoredMention]:
        """Mentions answered at or after `since`, oldest mention first."""
        # SQLite's "+state": look rows up by the answered_at index, not by scanning every
        # answered one (PostgreSQL's planner picks the index by itself).
        state = "+state" if self.dialect == "sqlite" else "state"
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM mentions WHERE answered_at >= ? AND {state} = 'answered' "
            "ORDER BY created_at, id",
            (to_db(since),),
        )
        return [stored(row, now) for row in rows]
