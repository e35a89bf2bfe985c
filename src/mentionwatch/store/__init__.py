"""The store tier, the only package with SQL: open and migrate the database, store polls,
read mentions. `Store` is here, made of one mixin per concern: `backend` (opening a SQLite
file) and `postgres` the two databases, `queries` the selection of `list`/`export` and the stats
and digest queries, `manual` done/dismiss/snooze/reopen and their undo, `triage` what the rules
decided, `team` history, assignment and notes, `alerts`, `leases`; `rows` row → StoredMention,
`migrations` the schema steps, `lock` the poll lock, `copy` SQLite ↔ PostgreSQL.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mentionwatch.errors import StoreError
from mentionwatch.models import State, StoredMention
from mentionwatch.store.alerts import AlertPlanner, AlertQueries
from mentionwatch.store.backend import Connection, Dialect, dialect_of, is_url, open_sqlite, shown
from mentionwatch.store.leases import LeaseQueries
from mentionwatch.store.manual import ManualStates
from mentionwatch.store.migrations import MIGRATIONS
from mentionwatch.store.queries import MentionFilter, MentionQueries, ReportQueries
from mentionwatch.store.rows import explain
from mentionwatch.store.team import TeamQueries
from mentionwatch.store.transactions import Transactions
from mentionwatch.store.triage import (
    Change,
    Decide,
    DecideAll,
    Decision,
    TriageQueries,
)
from mentionwatch.timeutil import to_db

if TYPE_CHECKING:  # only polls build these; reading commands never define them
    from mentionwatch.fetched import Mention, Reply
    from mentionwatch.store import inserts

__all__ = ["Change", "Decide", "DecideAll", "Decision", "MentionFilter", "SaveResult", "Store"]


class SaveResult(NamedTuple):
    new_mentions: int
    new_replies: int
    newly_answered: int
    still_open: int
    dismissed: int = 0  # new mentions a rule dismissed on arrival


class Store(
    Transactions,
    MentionQueries,
    ReportQueries,
    ManualStates,
    TriageQueries,
    AlertQueries,
    LeaseQueries,
    TeamQueries,
):
    """The database: each base class is one concern's queries (see the module's docstring)."""

    def __init__(self, db: Connection, path: Path | str) -> None:
        self.db = db
        # Where messages say the database is: the file, or the URL without its password.
        self.path = path if isinstance(path, Path) else shown(path)
        self.dialect: Dialect = dialect_of(db)
        self._grouped = False  # inside grouped(): transactions are savepoints
        self._group_open = False  # the group's transaction has begun

    @classmethod
    def open(
        cls,
        location: Path | str,
        *,
        create: bool = True,
        write: bool = True,
        password: str | None = None,
    ) -> Store:
        """A SQLite file, or a `postgresql://` URL (psycopg is imported only then).

        `write=False` (commands that only read) also reads a SQLite file this user may not write.
        """
        if is_url(location):
            from mentionwatch.store.postgres import connect

            store = cls(connect(str(location), password), str(location))
            try:
                store.migrate()
            except BaseException:
                store.close()
                raise
            return store
        return cls._open_sqlite(Path(location), create, write)

    @classmethod
    def _open_sqlite(cls, path: Path, create: bool, write: bool) -> Store:
        db, writable = open_sqlite(path, create=create, write=write)
        store = cls(db, path)
        try:
            if writable:
                store.migrate()
            else:
                store._check_schema()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(f"{path}: {explain(exc)}") from None
        except BaseException:
            db.close()
            raise
        return store

    def _check_schema(self) -> None:
        """A database read without migrating must already have every schema step, no more."""
        applied = {row[0] for row in self.db.execute("SELECT name FROM schema_migrations")}
        known = [name for name, _ in MIGRATIONS]
        pending = [name for name in known if name not in applied]
        if applied - set(known):
            raise StoreError(
                f"{self.path}: written by a newer mentionwatch; upgrade mentionwatch to use it"
            )
        if pending:
            raise StoreError(
                f"{self.path}: read-only, and written by an older mentionwatch (it needs schema "
                f"step {pending[0]}); make it writable and run `mentionwatch poll` once"
            )

    def another(self) -> Store:
        """PostgreSQL: a second connection to this database (already migrated) holding this
        one's leases, for a poller's other store threads (store_pool.StorePool)."""
        from mentionwatch.store.postgres import PgConnection

        if not isinstance(self.db, PgConnection):
            raise StoreError(f"{self.path}: another connection is for PostgreSQL only")
        other = Store(self.db.another(), self.path)
        other.lease_holder, other.lease_length = self.lease_holder, self.lease_length
        other._tokens = self._claimed()  # one poller's claims, whichever connection made them
        return other

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> None:
        if self.dialect == "postgresql":
            if self._up_to_date():
                return
            # Pollers starting together on several machines: one migrates, the others wait.
            self.db.execute("SELECT pg_advisory_lock(7315001)")
        try:
            self._migrate()
        finally:
            if self.dialect == "postgresql":
                self.db.execute("SELECT pg_advisory_unlock(7315001)")

    def _up_to_date(self) -> bool:
        """Every schema step applied, read in one round trip without the migration lock: the
        usual case, and what every PostgreSQL command would otherwise pay three more for."""
        try:
            applied = {row[0] for row in self.db.execute("SELECT name FROM schema_migrations")}
        except StoreError:  # no table yet: a new database, migrated under the lock
            return False
        return applied == {name for name, _ in MIGRATIONS}

    def _migrate(self) -> None:
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] for row in self.db.execute("SELECT name FROM schema_migrations")}
        known = {name for name, _ in MIGRATIONS}
        if applied - known:
            raise StoreError(
                f"{self.path}: written by a newer mentionwatch (schema step "
                f"{sorted(applied - known)[-1]}); upgrade mentionwatch to use it"
            )
        for name, step in MIGRATIONS:
            if name in applied:
                continue
            with self.transaction() as db:
                # Another process may have migrated while we waited for the write lock.
                if db.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone():
                    continue
                step(db)
                db.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (name, to_db(datetime.now().astimezone())),
                )

    # -- polling ---------------------------------------------------------------------------

    def cursors(self, account: str) -> dict[str, str]:
        rows = self.db.execute("SELECT listing, value FROM cursors WHERE account = ?", (account,))
        return {row["listing"]: row["value"] for row in rows}

    def save_poll(
        self,
        account: str,
        platform: str,
        mentions: Sequence[Mention],
        replies: Sequence[Reply],
        cursors: Mapping[str, str | None],
        now: datetime,
        decide: DecideAll | None = None,
        planner: AlertPlanner | None = None,
        first_poll: bool = False,
    ) -> SaveResult:
        """Store one account's poll atomically: data, answers and cursors, or nothing.

        `decide(mentions, platform, account)` is the inbox rules (RuleSet.outcomes), deciding
        about all the new mentions together: what it says is stored with each new mention, in
        the same transaction, so a mention a rule dismisses is never open, not even for a
        moment.
        """
        from mentionwatch.store import inserts  # only polls write mentions

        seen = to_db(now)
        fresh = inserts.oldest_first(mentions)

        def rows(chosen: Sequence[Mention]) -> Iterator[tuple[Any, ...]]:
            return inserts.rows_of(chosen, account, platform, seen, decide)

        with self._staging(fresh, rows) as staged, self.transaction() as db:
            self.hold_lease(db, account)
            new_replies = db.executemany(
                "INSERT INTO replies (account, platform, remote_id, url, author, created_at, "
                "parent_id, thread_id, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account, remote_id) DO NOTHING",
                (
                    (account, platform, r.remote_id, r.url, r.author, to_db(r.created_at),
                     r.parent_id, r.thread_id, r.raw)
                    for r in replies
                ),
            ).rowcount  # fmt: skip
            latest = self._latest_mention_id(db) if planner else None
            if staged is not None:
                new_mentions = staged.copy_into_mentions(account)
            else:
                new_mentions = inserts.insert(db, account, fresh, rows)
            dismissed = 0
            if decide is not None and new_mentions:
                dismissed = int(db.execute(
                    "SELECT COUNT(*) FROM mentions WHERE account = ? AND first_seen_at = ? "
                    "AND state = 'dismissed' AND dismissed_rule IS NOT NULL", (account, seen),
                ).fetchone()[0])  # fmt: skip
            answered = self._match_answers(db, account)
            if planner is not None:
                # After the answers (and any rules): a handled mention raises nothing.
                self._queue_alerts(db, account, planner, first_poll, latest, now)
            moved = [(account, listing, value, seen) for listing, value in cursors.items()
                     if value is not None]  # fmt: skip
            if moved:
                # One statement for all the listings: one round trip to a team's database.
                db.execute(
                    "INSERT INTO cursors (account, listing, value, updated_at) VALUES "
                    + ", ".join(["(?, ?, ?, ?)"] * len(moved))
                    + " ON CONFLICT (account, listing) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    [field for row in moved for field in row],
                )
            still_open = self._count_open(db, account, seen)
        return SaveResult(new_mentions, new_replies, answered, still_open, dismissed)

    @contextlib.contextmanager
    def _staging(
        self, fresh: Sequence[Mention], rows: inserts.Rows
    ) -> Iterator[inserts.Staged | None]:
        """A big poll's new mentions staged on two cores before its transaction (inserts.py);
        outside a transaction only, since SQLite attaches the staged rows only there."""
        from mentionwatch.store import inserts

        db = self.db
        if (
            not isinstance(db, sqlite3.Connection)
            or self._group_open
            or not inserts.worth_it(len(fresh))
        ):
            yield None
            return
        with inserts.staged(db, fresh, rows) as staged:
            yield staged
            if staged is not None and self._group_open:
                # In a group, the account's savepoint leaves the group's transaction open, and
                # SQLite detaches the staged rows only once no transaction holds them: the
                # group commits now (its accounts are each whole), before they are detached.
                self._end_group("COMMIT")

    def record_reply(self, mention_id: int, reply: Reply, now: datetime) -> StoredMention:
        """A reply posted from mentionwatch: stored exactly as a poll stores it, so the next
        poll finds it already there, and its mention answered by it."""
        mention = self.get(mention_id, now)
        self.save_poll(mention.account, mention.platform, [], [reply], {}, now)
        if self.get(mention_id, now).state is not State.ANSWERED:
            # The poll's matching missed it (a mention reopened moments ago by a clock ahead
            # of the platform's): the reply was posted to it, so it answers it.
            with self.transaction() as db:
                db.execute(
                    "UPDATE mentions SET state = 'answered', answered_at = ?, answered_url = ?, "
                    "answered_by = ?, state_changed_at = ?, snoozed_until = NULL WHERE id = ?",
                    (to_db(reply.created_at), reply.url, reply.author, to_db(now), mention_id),
                )
        return self.get(mention_id, now)

    def _match_answers(self, db: Connection, account: str) -> int:
        """Mark open mentions that one of the stored replies answers; returns how many."""
        rows = db.execute(
            """
            SELECT m.id AS mention, r.created_at, r.url, r.author FROM mentions m
              JOIN replies r ON r.account = m.account AND r.parent_id = m.remote_id
             WHERE m.account = :account AND m.state IN ('open', 'snoozed')
               AND r.created_at >= COALESCE(m.reopened_at, '')
            UNION ALL
            SELECT m.id, r.created_at, r.url, r.author FROM mentions m
              JOIN replies r ON r.account = m.account AND r.thread_id = m.thread_id
                            AND r.created_at >= m.created_at
             WHERE m.account = :account AND m.state IN ('open', 'snoozed')
               AND m.thread_id IS NOT NULL AND r.created_at >= COALESCE(m.reopened_at, '')
            ORDER BY 2 DESC
            """,
            {"account": account},
        ).fetchall()
        # Descending order so that the earliest reply for each mention is written last and wins.
        first: dict[int, Any] = {row["mention"]: row for row in rows}
        db.executemany(
            "UPDATE mentions SET state = 'answered', answered_at = ?, answered_url = ?, "
            "answered_by = ?, state_changed_at = ?, snoozed_until = NULL WHERE id = ?",
            (
                (r["created_at"], r["url"], r["author"], r["created_at"], m)
                for m, r in first.items()
            ),
        )
        return len(first)

    def _count_open(self, db: Connection, account: str, now: str) -> int:
        row = db.execute(
            "SELECT COUNT(*) FROM mentions WHERE account = ? AND (state = 'open' "
            "OR (state = 'snoozed' AND snoozed_until <= ?))",
            (account, now),
        ).fetchone()
        return int(row[0])

    def record_run(
        self,
        account: str,
        platform: str,
        started: datetime,
        finished: datetime,
        error: str | None,
        saved: SaveResult | None,
    ) -> None:
        s = saved or SaveResult(0, 0, 0, 0)
        sql = (
            "INSERT INTO poll_runs (account, platform, started_at, finished_at, status, "
            "new_mentions, new_replies, newly_answered, error) VALUES (?,?,?,?,?,?,?,?,?)"
        )
        row = (account, platform, to_db(started), to_db(finished), "error" if error else "ok",
               s.new_mentions, s.new_replies, s.newly_answered, error)  # fmt: skip
        if self.dialect == "postgresql" and not self._grouped:
            # One statement, atomic by itself: no BEGIN and COMMIT round trips around it.
            self.db.execute(sql, row)
            return
        with self.transaction() as db:
            db.execute(sql, row)

    def prune(self, before: datetime) -> int:
        """Forget handled mentions (and poll logs) older than `before`; open ones are kept."""
        stamp = to_db(before)
        with self.transaction() as db:
            gone = db.execute(
                "DELETE FROM mentions WHERE state IN ('answered', 'dismissed') AND created_at < ?",
                (stamp,),
            ).rowcount
            db.execute("DELETE FROM poll_runs WHERE finished_at < ?", (stamp,))
            self.forget_orphan_alerts(db)
        return int(gone)

    def last_runs(self) -> list[Any]:
        return list(
            self.db.execute(
                "SELECT * FROM poll_runs WHERE id IN "
                "(SELECT MAX(id) FROM poll_runs GROUP BY account)"
                " ORDER BY account"
            )
        )
