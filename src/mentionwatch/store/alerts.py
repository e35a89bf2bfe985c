"""The alert outbox's SQL: queue in the poll's transaction, read what waits, mark it sent."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from mentionwatch.models import StoredMention
from mentionwatch.store.backend import Connection, Dialect
from mentionwatch.store.rows import COLUMNS, stored
from mentionwatch.timeutil import from_db, to_db

_M_COLUMNS = ", ".join(f"m.{column.strip()}" for column in COLUMNS.split(","))
_WAITING = "(m.state = 'open' OR (m.state = 'snoozed' AND m.snoozed_until <= :now))"


class QueuedAlert(NamedTuple):
    mention_id: int
    account: str
    event: str
    target: str
    backfill: bool = False


class AlertPlanner(Protocol):
    """Decides, inside a poll's transaction, which alerts the account's mentions raise."""

    def waiting_cutoff(self, account: str, now: datetime) -> datetime | None:
        """Mentions created after this cannot be due soon yet; None: no target wants those."""

    def plan(
        self,
        new: Sequence[StoredMention],
        waiting: Sequence[StoredMention],
        first_poll: bool,
        now: datetime,
    ) -> Iterable[QueuedAlert]: ...


class PendingAlert(NamedTuple):
    id: int
    event: str
    target: str
    backfill: bool
    mention: StoredMention


class TargetState(NamedTuple):
    failures: int = 0
    retry_at: datetime | None = None
    last_error: str | None = None
    last_sent_at: datetime | None = None


class AlertQueries:
    db: Connection
    path: Path | str
    dialect: Dialect

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _latest_mention_id(self, db: Connection) -> int:
        return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM mentions").fetchone()[0])

    def _queue_alerts(
        self,
        db: Connection,
        account: str,
        planner: AlertPlanner,
        first_poll: bool,
        after_id: int | None,
        now: datetime,
    ) -> int:
        """Queue what the account's new and waiting mentions raise; returns the rows added."""
        stamp = to_db(now)
        new: list[StoredMention] = []
        if after_id is not None:
            rows = db.execute(
                f"SELECT {_M_COLUMNS} FROM mentions m WHERE m.account = :account "
                f"AND m.id > :after AND {_WAITING} ORDER BY m.created_at, m.id",
                {"account": account, "after": after_id, "now": stamp},
            )
            new = [stored(row, now) for row in rows]
        waiting: list[StoredMention] = []
        cutoff = planner.waiting_cutoff(account, now)
        if cutoff is not None:
            # A mention alerted as breached has nothing left to raise.
            rows = db.execute(
                f"SELECT {_M_COLUMNS} FROM mentions m WHERE m.account = :account AND {_WAITING} "
                "AND m.created_at <= :cutoff AND NOT EXISTS (SELECT 1 FROM alerts a "
                "WHERE a.mention_id = m.id AND a.event = 'breached') ORDER BY m.created_at, m.id",
                {"account": account, "now": stamp, "cutoff": to_db(cutoff)},
            )
            waiting = [stored(row, now) for row in rows]
        if not new and not waiting:
            return 0
        added = db.executemany(
            "INSERT INTO alerts (mention_id, account, event, target, backfill, status, queued_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mention_id, event, target) DO NOTHING",
            (
                (a.mention_id, a.account, a.event, a.target, int(a.backfill), "pending", stamp)
                for a in planner.plan(new, waiting, first_poll, now)
            ),
        ).rowcount
        return max(int(added), 0)

    def queue_waiting_alerts(self, account: str, planner: AlertPlanner, now: datetime) -> int:
        """Due-soon and breached alerts for an account whose poll failed: SLAs run on."""
        with self.transaction() as db:
            return self._queue_alerts(db, account, planner, False, None, now)

    @contextlib.contextmanager
    def delivery_turn(self) -> Iterator[bool]:
        """Whether this process may deliver now. SQLite: the poll lock already says so. On a
        shared PostgreSQL, pollers on several machines take turns, or both would send."""
        if self.dialect != "postgresql":
            yield True
            return
        row = self.db.execute("SELECT pg_try_advisory_lock(7315002)").fetchone()
        try:
            yield bool(row[0])
        finally:
            if row[0]:
                self.db.execute("SELECT pg_advisory_unlock(7315002)")

    def pending_alerts(self, now: datetime, target: str | None = None) -> list[PendingAlert]:
        """Alerts waiting to be sent, the most urgent mention (a rule's priority) first, then
        the oldest."""
        sql = (
            f"SELECT a.id AS alert_id, a.event, a.target, a.backfill, {_M_COLUMNS} "
            "FROM alerts a JOIN mentions m ON m.id = a.mention_id WHERE a.status = 'pending'"
        )
        params: list[str] = []
        if target is not None:
            sql += " AND a.target = ?"
            params.append(target)
        rows = self.db.execute(sql + " ORDER BY m.priority, m.created_at, m.id, a.id", params)
        return [_pending(row, now) for row in rows]

    def finish_alerts(
        self, target: str, sent: Sequence[int], dropped: Sequence[int], now: datetime
    ) -> None:
        """After a delivery: mark what went out and what was dropped, and clear the backoff."""
        stamp = to_db(now)
        with self.transaction() as db:
            db.executemany(
                "UPDATE alerts SET status = 'sent', sent_at = ? WHERE id = ?",
                ((stamp, i) for i in sent),
            )
            db.executemany(
                "UPDATE alerts SET status = 'dropped' WHERE id = ?", ((i,) for i in dropped)
            )
            if sent:
                db.execute(
                    "INSERT INTO alert_targets (target, failures, last_sent_at) VALUES (?, 0, ?) "
                    "ON CONFLICT (target) DO UPDATE SET failures = 0, retry_at = NULL, "
                    "last_error = NULL, last_sent_at = excluded.last_sent_at",
                    (target, stamp),
                )

    def target_failed(self, target: str, error: str, retry_at: datetime) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO alert_targets (target, failures, retry_at, last_error) "
                "VALUES (?, 1, ?, ?) ON CONFLICT (target) DO UPDATE SET "
                "failures = alert_targets.failures + 1, retry_at = excluded.retry_at, "
                "last_error = excluded.last_error",
                (target, to_db(retry_at), error),
            )

    def target_states(self) -> dict[str, TargetState]:
        rows = self.db.execute("SELECT * FROM alert_targets")
        return {row["target"]: _target_state(row) for row in rows}

    def forget_orphan_alerts(self, db: Connection) -> None:
        """Alerts of mentions that `prune` deleted."""
        db.execute(
            "DELETE FROM alerts WHERE NOT EXISTS (SELECT 1 FROM mentions m "
            "WHERE m.id = alerts.mention_id)"
        )


def _pending(row: Any, now: datetime) -> PendingAlert:
    return PendingAlert(
        id=row["alert_id"],
        event=row["event"],
        target=row["target"],
        backfill=bool(row["backfill"]),
        mention=stored(row, now),
    )


def _target_state(row: Any) -> TargetState:
    def moment(value: str | None) -> datetime | None:
        return from_db(value) if value else None

    return TargetState(
        failures=int(row["failures"]),
        retry_at=moment(row["retry_at"]),
        last_error=row["last_error"],
        last_sent_at=moment(row["last_sent_at"]),
    )
