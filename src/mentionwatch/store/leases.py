"""Account leases: how pollers on many machines share one PostgreSQL database's accounts.

A poller claims the accounts it has room for in one statement (`FOR UPDATE SKIP LOCKED`:
claimers never wait for each other) among those nobody holds, or whose holder let the lease
expire, and that no poller finished since this poller's round began; as each account's poll
ends it claims the next. It stores an account's poll only while it still holds the lease
(checked under the row lock in the same transaction), then releases it. Times are the
database server's, so the pollers' clocks never need to agree.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from mentionwatch.errors import MentionwatchError
from mentionwatch.store.backend import Connection, Dialect
from mentionwatch.timeutil import from_db, to_utc, utcnow

# How long a poll trusts its reading of the server's clock (lease_now).
CLOCK_READ_EVERY = 60.0


class LeaseLostError(MentionwatchError):
    """Another poller took the account over (this one outlived its lease); nothing was stored."""


class Lease(NamedTuple):
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

    def lease_now(self) -> datetime:
        """The server's clock as a poll keeps it: read once, then moved on by this machine's
        monotonic clock, so that claims, renewals and releases cost no round trip of their own
        to ask the time. Read again every minute, so a long `watch` never drifts."""
        if self.dialect != "postgresql":
            return utcnow()
        anchor: tuple[float, datetime] | None = getattr(self, "_server_clock", None)
        ticks = time.monotonic()
        if anchor is None or ticks - anchor[0] > CLOCK_READ_EVERY:
            anchor = (ticks, self.db_now())
            self._server_clock = anchor
        return anchor[1] + timedelta(seconds=ticks - anchor[0])

    def claim(
        self, holder: str, accounts: Sequence[str], round_start: datetime, limit: int = 1
    ) -> list[str]:
        """Take up to `limit` of `accounts` that are free and not polled since `round_start`.

        One statement, so one round trip however many it takes: the free rows are locked
        (`SKIP LOCKED`: claimers never wait for each other, nor take the same row) and given
        to `holder` at once. A poller claims as many as it has room to poll concurrently.
        """
        if not accounts or limit < 1:
            return []
        import secrets  # not at start: hashlib's OpenSSL costs `list` ~4 ms

        now = self.lease_now()
        token = secrets.token_hex(8)
        claimed = (holder, token, to_db(now), to_db(now + self.lease_length))
        free = "(holder IS NULL OR expires_at <= ?) AND (polled_at IS NULL OR polled_at < ?)"
        if self.dialect == "postgresql":
            # ANY(array): one short statement whatever the number of accounts (a long IN list
            # is parsed afresh by psycopg on every call); ARRAY(...) runs the locking
            # subquery exactly once.
            rows = self.db.execute(
                "UPDATE account_leases SET holder = ?, token = ?, acquired_at = ?, "
                "expires_at = ? WHERE account = ANY(ARRAY(SELECT account FROM account_leases "
                f"WHERE account = ANY(?) AND {free} ORDER BY account LIMIT ? "
                "FOR UPDATE SKIP LOCKED)) RETURNING account",
                (*claimed, list(accounts), to_db(now), to_db(round_start), limit),
            ).fetchall()
        else:
            marks = ", ".join("?" * len(accounts))
            with self.transaction() as db:
                rows = db.execute(
                    "UPDATE account_leases SET holder = ?, token = ?, acquired_at = ?, "
                    "expires_at = ? WHERE account IN (SELECT account FROM account_leases "
                    f"WHERE account IN ({marks}) AND {free} ORDER BY account LIMIT ?) "
                    "RETURNING account",
                    (*claimed, *accounts, to_db(now), to_db(round_start), limit),
                ).fetchall()
        names = sorted(str(row[0]) for row in rows)
        tokens = self._claimed()
        for name in names:
            tokens[name] = token
        return names

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
        now = self.lease_now()
        named: list[object]
        if self.dialect == "postgresql":
            among, named = "account = ANY(?)", [list(accounts)]
        else:
            among, named = f"account IN ({', '.join('?' * len(accounts))})", list(accounts)
        with self.transaction() as db:
            if self.dialect == "postgresql":
                db.execute("SELECT pg_advisory_xact_lock(7315002)")
            row = db.execute("SELECT started_at FROM poll_rounds ORDER BY id DESC LIMIT 1")
            latest = row.fetchone()
            if latest is not None and from_db(latest[0]) > now - self.lease_length:
                unpolled = db.execute(
                    f"SELECT 1 FROM account_leases WHERE {among} "
                    "AND (polled_at IS NULL OR polled_at < ?) LIMIT 1",
                    (*named, latest[0]),
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
        changed = self.db.execute(
            "UPDATE account_leases SET expires_at = ? WHERE account = ? AND token = ?",
            (to_db(self.lease_now() + self.lease_length), account, self._claimed().get(account)),
        ).rowcount
        return bool(changed)

    def release(self, holder: str, account: str) -> None:
        """The account's poll is over (stored or failed): free it, and note the round."""
        token = self._claimed().pop(account, None)
        # One statement, atomic by itself: no BEGIN and COMMIT round trips around it.
        self.db.execute(
            "UPDATE account_leases SET holder = NULL, token = NULL, acquired_at = NULL, "
            "expires_at = NULL, polled_at = ?, polled_by = ? WHERE account = ? AND token = ?",
            (to_db(self.lease_now()), holder, account, token),
        )

    def hold_lease(self, db: Connection, account: str) -> None:
        """Inside save_poll's transaction: refuse to store unless this poller holds `account`.

        The UPDATE's row lock, held to the commit, makes the check and the commit one step: a
        poller taking the account over waits for it, then sees the new cursors.
        """
        if self.lease_holder is None:
            return
        token = self._claimed().get(account)
        held = db.execute(
            "UPDATE account_leases SET expires_at = ? WHERE account = ? AND token = ?",
            (to_db(self.lease_now() + self.lease_length), account, token),
        ).rowcount
        if token is None or not held:
            row = db.execute(
                "SELECT holder FROM account_leases WHERE account = ?", (account,)
            ).fetchone()
            taker = row[0] if row is not None and row[0] else "nobody"
            raise LeaseLostError(
                f"{account}: the lease ran out and {taker} took the account over; nothing "
                "stored (raise [settings] lease if polls take this long)"
            )

    def leases(self) -> list[Lease]:
        rows = self.db.execute(
            "SELECT account, holder, acquired_at, expires_at, polled_at, polled_by "
            "FROM account_leases ORDER BY account"
        )
        return [Lease(r[0], r[1], _when(r[2]), _when(r[3]), _when(r[4]), r[5]) for r in rows]
