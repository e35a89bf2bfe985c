"""Account leases: how pollers on many machines share one PostgreSQL database's accounts.

A poller claims one account at a time (`FOR UPDATE SKIP LOCKED`: claimers never wait for each
other) that nobody holds, or whose holder let the lease expire, and that no poller finished
since this poller's round began. It stores the account's poll only while it still holds the
lease (checked under the row lock in the same transaction), then releases it. Times are the
database server's, so the pollers' clocks never need to agree.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mentionwatch.errors import MentionwatchError
from mentionwatch.store.backend import Connection, Dialect
from mentionwatch.timeutil import from_db, to_utc, utcnow


class LeaseLostError(MentionwatchError):
    """Another poller took the account over (this one outlived its lease); nothing was stored."""


@dataclass(frozen=True)
class Lease:
    account: str
    holder: str | None
    acquired_at: datetime | None
    expires_at: datetime | None
    polled_at: datetime | None
    polled_by: str | None


def _when(text: str | None) -> datetime | None:
    return from_db(text) if text else None


def to_db(moment: datetime) -> str:
    """Like timeutil.to_db, to the microsecond: a lease of seconds must not lose one."""
    return to_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class LeaseQueries:
    """Mixed into Store, which provides the connection and the transaction."""

    db: Connection
    path: Path | str
    dialect: Dialect
    # Set by a PostgreSQL poll: save_poll then stores an account only under this holder's lease.
    lease_holder: str | None = None
    lease_length: timedelta = timedelta(minutes=10)
    # Each claim's own token: two workers of one poller never pass for each other.
    _tokens: dict[str, str]

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def db_now(self) -> datetime:
        """The database server's clock (PostgreSQL), else this machine's."""
        if self.dialect == "postgresql":
            return to_utc(self.db.execute("SELECT now()").fetchone()[0])
        return utcnow()

    def claim(self, holder: str, accounts: Sequence[str], round_start: datetime) -> str | None:
        """Take one of `accounts` that is free and not polled since `round_start`, or None."""
        if not accounts:
            return None
        now = self.db_now()
        marks = ", ".join("?" * len(accounts))
        with self.transaction() as db:
            lock = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
            row = db.execute(
                f"SELECT account FROM account_leases WHERE account IN ({marks}) "
                "AND (holder IS NULL OR expires_at <= ?) AND (polled_at IS NULL OR polled_at < ?)"
                f" ORDER BY account LIMIT 1{lock}",
                (*accounts, to_db(now), to_db(round_start)),
            ).fetchone()
            if row is None:
                return None
            token = secrets.token_hex(8)
            db.execute(
                "UPDATE account_leases SET holder = ?, token = ?, acquired_at = ?, "
                "expires_at = ? WHERE account = ?",
                (holder, token, to_db(now), to_db(now + self.lease_length), row[0]),
            )
        self._claimed()[str(row[0])] = token
        return str(row[0])

    def _claimed(self) -> dict[str, str]:
        if not hasattr(self, "_tokens"):
            self._tokens = {}
        return self._tokens

    def begin_round(self, accounts: Sequence[str]) -> datetime:
        """When this poller's round began: pollers started together share one round.

        A poller joins the latest round while some of `accounts` are still unpolled in it and
        it is younger than a lease (its pollers may be alive); else it starts a new one. So
        three pollers started by cron at once poll each account once between them, and a run
        after a poller died completes that round's accounts, not all of them again.
        """
        now = self.db_now()
        marks = ", ".join("?" * len(accounts))
        with self.transaction() as db:
            if self.dialect == "postgresql":
                db.execute("SELECT pg_advisory_xact_lock(7315002)")
            row = db.execute("SELECT started_at FROM poll_rounds ORDER BY id DESC LIMIT 1")
            latest = row.fetchone()
            if latest is not None and from_db(latest[0]) > now - self.lease_length:
                unpolled = db.execute(
                    f"SELECT 1 FROM account_leases WHERE account IN ({marks}) "
                    "AND (polled_at IS NULL OR polled_at < ?) LIMIT 1",
                    (*accounts, latest[0]),
                ).fetchone()
                if unpolled is not None:
                    return from_db(latest[0])
            db.execute("INSERT INTO poll_rounds (started_at) VALUES (?)", (to_db(now),))
        return now

    def add_leases(self, accounts: Sequence[str]) -> None:
        """A lease row for each account, so that claims have rows to lock."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO account_leases (account) VALUES (?) ON CONFLICT (account) DO NOTHING",
                [(name,) for name in accounts],
            )

    def renew(self, account: str) -> bool:
        """Push the lease's expiry on while a long poll runs; False if it was taken over."""
        now = self.db_now()
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE account_leases SET expires_at = ? WHERE account = ? AND token = ?",
                (to_db(now + self.lease_length), account, self._claimed().get(account)),
            ).rowcount
        return bool(changed)

    def release(self, holder: str, account: str) -> None:
        """The account's poll is over (stored or failed): free it, and note the round."""
        token = self._claimed().pop(account, None)
        with self.transaction() as db:
            db.execute(
                "UPDATE account_leases SET holder = NULL, token = NULL, acquired_at = NULL, "
                "expires_at = NULL, polled_at = ?, polled_by = ? WHERE account = ? AND token = ?",
                (to_db(self.db_now()), holder, account, token),
            )

    def hold_lease(self, db: Connection, account: str) -> None:
        """Inside save_poll's transaction: refuse to store unless this poller holds `account`.

        The row lock makes the check and the commit one step: a poller taking the account over
        waits for it, then sees the new cursors.
        """
        if self.lease_holder is None:
            return
        lock = " FOR UPDATE" if self.dialect == "postgresql" else ""
        row = db.execute(
            f"SELECT holder, token FROM account_leases WHERE account = ?{lock}", (account,)
        ).fetchone()
        if row is None or row[1] is None or row[1] != self._claimed().get(account):
            taker = row[0] if row is not None and row[0] else "nobody"
            raise LeaseLostError(
                f"{account}: the lease ran out and {taker} took the account over; nothing "
                "stored (raise [settings] lease if polls take this long)"
            )
        db.execute(
            "UPDATE account_leases SET expires_at = ? WHERE account = ?",
            (to_db(self.db_now() + self.lease_length), account),
        )

    def leases(self) -> list[Lease]:
        rows = self.db.execute(
            "SELECT account, holder, acquired_at, expires_at, polled_at, polled_by "
            "FROM account_leases ORDER BY account"
        )
        return [Lease(r[0], r[1], _when(r[2]), _when(r[3]), _when(r[4]), r[5]) for r in rows]
