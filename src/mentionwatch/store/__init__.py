"""The store tier, the only package with SQL: open and migrate the database, store polls,
query mentions. `Store` is here; `backend` and `postgres` the two databases, `queries` the
stats and digest queries, `rows` row → StoredMention, `manual` undo snapshots,
`migrations` the schema steps, `lock` the poll lock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentionwatch.errors import StoreError, UsageError
from mentionwatch.models import State, StoredMention
from mentionwatch.store.alerts import AlertPlanner, AlertQueries
from mentionwatch.store.backend import Connection, Dialect, dialect_of, is_url, shown
from mentionwatch.store.leases import LeaseQueries
from mentionwatch.store.manual import ManualStates
from mentionwatch.store.migrations import MIGRATIONS
from mentionwatch.store.queries import ReportQueries
from mentionwatch.store.rows import COLUMNS, READ_ONLY, explain, stored
from mentionwatch.store.team import TeamQueries
from mentionwatch.store.triage import Change, Decide, Decision, TriageQueries, decisions
from mentionwatch.timeutil import from_db, to_db

if TYPE_CHECKING:  # only polls build these; reading commands never define them
    from mentionwatch.fetched import Mention, Reply

_OPEN_STATES = ("open", "snoozed")
_ACTIONS = {State.ANSWERED: "done", State.DISMISSED: "dismissed", State.SNOOZED: "snoozed",
            State.OPEN: "reopened"}  # fmt: skip
# Raw payloads are ~2 KB: with 4 KB pages a mention row fills a page on its own. 16 KB pages
# hold six, which made storing 100,000 mentions ~1.5x faster and the file 40% smaller. SQLite
# fixes the page size when a database is created, so only new databases get it.
_PAGE_SIZE = 16384


@dataclass(frozen=True)
class MentionFilter:
    """What `list` and `export` select; `states` empty means every state."""

    states: tuple[State, ...] = (State.OPEN,)
    accounts: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    older_than: timedelta | None = None
    # Per-account cut-offs: only mentions created at or before the account's time are kept.
    due_before: Mapping[str, datetime] = field(default_factory=dict)
    limit: int | None = None
    newest_first: bool = False
    # Words that must all appear (any case) in the text, title, author or URL.
    grep: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()  # any of these (0 high, 1 normal, 2 low)
    tags: tuple[str, ...] = ()  # any of these

    # Only mentions assigned to one of these users, and/or (unassigned) to nobody.
    assignees: tuple[str, ...] = ()
    unassigned: bool = False


__all__ = ["Change", "Decide", "Decision", "MentionFilter", "SaveResult", "Store"]


@dataclass(frozen=True)
class SaveResult:
    new_mentions: int
    new_replies: int
    newly_answered: int
    still_open: int
    dismissed: int = 0  # new mentions a rule dismissed on arrival


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


class Store(ReportQueries, ManualStates, TriageQueries, AlertQueries, LeaseQueries, TeamQueries):
    def __init__(self, db: Connection, path: Path | str) -> None:
        self.db = db
        # Where messages say the database is: the file, or the URL without its password.
        self.path = path if isinstance(path, Path) else shown(path)
        self.dialect: Dialect = dialect_of(db)

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
            return cls._open_read_only(path)
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 10000")
            if new:
                db.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            store = cls(db, path)
            store.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: {explain(exc)}") from None
        return store

    @classmethod
    def _open_read_only(cls, path: Path) -> Store:
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
            db.row_factory = sqlite3.Row
            store = cls(db, path)
            applied = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: {explain(exc)}") from None
        known = [name for name, _ in MIGRATIONS]
        pending = [name for name in known if name not in applied]
        if applied - set(known):
            db.close()
            raise StoreError(
                f"{path}: written by a newer mentionwatch; upgrade mentionwatch to use it"
            )
        if pending:
            db.close()
            raise StoreError(
                f"{path}: read-only, and written by an older mentionwatch (it needs schema step "
                f"{pending[0]}); make it writable and run `mentionwatch poll` once"
            )
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit; on SQLite it takes the write lock up front (no upgrade deadlocks)."""
        try:
            self.db.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {explain(exc)}") from None

    def migrate(self) -> None:
        if self.dialect == "postgresql":
            # Pollers starting together on several machines: one migrates, the others wait.
            self.db.execute("SELECT pg_advisory_lock(7315001)")
        try:
            self._migrate()
        finally:
            if self.dialect == "postgresql":
                self.db.execute("SELECT pg_advisory_unlock(7315001)")

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
        decide: Decide | None = None,
        planner: AlertPlanner | None = None,
        first_poll: bool = False,
    ) -> SaveResult:
        """Store one account's poll atomically: data, answers and cursors, or nothing.

        `decide(text, title, author, platform, account, kind, lang)` is the inbox rules: what
        it says is stored with each new mention, in the same transaction, so a mention a rule
        dismisses is never open, not even for a moment.
        """
        seen = to_db(now)
        with self.transaction() as db:
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
            # The account's own posts (stored as replies, this run's included) are never
            # mentions. Looked up in one go: a NOT EXISTS per inserted row took half the time.
            own = _stored_reply_ids(db, account, [m.remote_id for m in mentions])
            fresh = [m for m in mentions if m.remote_id not in own]
            latest = self._latest_mention_id(db) if planner else None
            new_mentions = db.executemany(
                "INSERT INTO mentions (account, platform, remote_id, kind, url, author, title, "
                "text, thread_id, created_at, first_seen_at, raw, reply_context, lang, priority, "
                "tags, sla_seconds, state, state_changed_at, dismissed_reason, dismissed_rule) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account, remote_id) DO NOTHING",
                (
                    (account, platform, m.remote_id, str(m.kind), m.url, m.author, m.title,
                     m.text, m.thread_id, to_db(m.created_at), seen, m.raw, m.context or None,
                     m.lang, *decided)
                    for m, decided in zip(
                        fresh, decisions(fresh, account, platform, seen, decide), strict=True
                    )
                ),
            ).rowcount  # fmt: skip
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
            for listing, value in cursors.items():
                if value is None:
                    continue
                db.execute(
                    "INSERT INTO cursors (account, listing, value, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (account, listing) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    (account, listing, value, seen),
                )
            still_open = self._count_open(db, account, seen)
        return SaveResult(new_mentions, new_replies, answered, still_open, dismissed)

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
        with self.transaction() as db:
            db.execute(
                "INSERT INTO poll_runs (account, platform, started_at, finished_at, status, "
                "new_mentions, new_replies, newly_answered, error) VALUES (?,?,?,?,?,?,?,?,?)",
                (account, platform, to_db(started), to_db(finished), "error" if error else "ok",
                 s.new_mentions, s.new_replies, s.newly_answered, error),
            )  # fmt: skip

    # -- reading ---------------------------------------------------------------------------

    def mentions(self, where: MentionFilter, now: datetime) -> Iterator[StoredMention]:
        """Stream the selected mentions, oldest first, straight from the indexes."""
        sql, params = _select(where, to_db(now), self.dialect)
        try:
            for row in self.db.execute(sql, params):
                yield stored(row, now)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {explain(exc)}") from None

    def get(self, mention_id: int, now: datetime) -> StoredMention:
        """One mention, with the reply context its source stored (lists leave that out)."""
        row = self.db.execute(
            f"SELECT {COLUMNS}, reply_context FROM mentions WHERE id = ?", (mention_id,)
        )
        found = row.fetchone()
        if found is None:
            raise UsageError(f"no mention with id {mention_id}")
        mention = stored(found, now)
        if not found["reply_context"]:
            return mention
        import json  # not orjson: show and reply only

        try:
            context = json.loads(found["reply_context"])
        except json.JSONDecodeError:
            return mention  # sources fetch what they need when the context is unreadable
        return replace(mention, context=context) if isinstance(context, dict) else mention

    def raw(self, mention_id: int) -> str | None:
        """The payload kept for a mention (JSON text); None unless `keep_raw` was on."""
        row = self.db.execute("SELECT raw FROM mentions WHERE id = ?", (mention_id,)).fetchone()
        if row is None:
            raise UsageError(f"no mention with id {mention_id}")
        return str(row[0]) or None

    def set_state(
        self,
        ids: Iterable[int],
        state: State,
        now: datetime,
        until: datetime | None = None,
        actor: str = "",
    ) -> list[StoredMention]:
        """Manual states; returns each mention (once) as it was before, to say what changed.

        A mention already in `state` is left as it is (a snooze is renewed). `done` records a
        manual answer time. Each change is in the history, with `actor` and the time; the rows
        are locked first, so of two people changing a mention at once the later one finds the
        earlier one's change in what this returns.
        """
        ids = list(dict.fromkeys(ids))
        stamp = to_db(now)
        with self.transaction() as db:
            before = self.locked_mentions(db, ids, now)
            for mention in before:
                if mention.state is state and state is not State.SNOOZED:
                    continue
                params = {"now": stamp, "id": mention.id, "by": actor or None}
                if state is State.ANSWERED:
                    db.execute(
                        "UPDATE mentions SET state = 'answered', state_changed_at = :now, "
                        "state_changed_by = :by, snoozed_until = NULL, "
                        "answered_at = COALESCE(answered_at, :now), "
                        "answered_by = COALESCE(answered_by, 'manual') WHERE id = :id",
                        params,
                    )
                elif state is State.OPEN:
                    db.execute(
                        "UPDATE mentions SET state = 'open', state_changed_at = :now, "
                        "state_changed_by = :by, reopened_at = :now, snoozed_until = NULL, "
                        "answered_at = NULL, answered_url = NULL, answered_by = NULL, "
                        "dismissed_reason = NULL, dismissed_rule = NULL WHERE id = :id",
                        params,
                    )
                else:
                    db.execute(
                        "UPDATE mentions SET state = ?, state_changed_at = ?, "
                        "state_changed_by = ?, snoozed_until = ? WHERE id = ?",
                        (str(state), stamp, actor or None, to_db(until) if until else None,
                         mention.id),
                    )  # fmt: skip
                detail = to_db(until) if until and state is State.SNOOZED else ""
                self.record_change(db, mention.id, actor, _ACTIONS[state], now, detail)
        return before

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

    def has_account(self, account: str) -> bool:
        """Whether any mention of this account is stored (it may have left the config since)."""
        row = self.db.execute("SELECT 1 FROM mentions WHERE account = ? LIMIT 1", (account,))
        return row.fetchone() is not None

    def last_runs(self) -> list[Any]:
        return list(
            self.db.execute(
                "SELECT * FROM poll_runs WHERE id IN "
                "(SELECT MAX(id) FROM poll_runs GROUP BY account)"
                " ORDER BY account"
            )
        )


def _select(where: MentionFilter, now: str, dialect: Dialect = "sqlite") -> tuple[str, list[Any]]:
    """The SELECT for a filter: one arm per state condition, merged in time order.

    Each arm walks the (state, created_at) index in order, so SQLite merges the arms and stops
    at the LIMIT instead of sorting every waiting mention (0.2 ms instead of 3 ms for the
    first 50 of 10,000 open ones).
    """
    common: list[str] = []
    common_params: list[Any] = []
    for column, values in (("account", where.accounts), ("platform", where.platforms)):
        if values:
            common.append(f"{column} IN ({', '.join('?' * len(values))})")
            common_params.extend(values)
    like = "LIKE" if dialect == "sqlite" else "ILIKE"  # SQLite's LIKE ignores (ASCII) case
    for word in where.grep:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        common.append(
            "(" + " OR ".join(f"COALESCE({column}, '') {like} ? ESCAPE '\\'"
                              for column in ("text", "title", "author", "url")) + ")"
        )  # fmt: skip
        common_params.extend([pattern] * 4)
    if where.priorities:
        common.append(f"priority IN ({', '.join('?' * len(where.priorities))})")
        common_params.extend(where.priorities)
    if where.tags:
        # Tags are letters, digits, '-' and '_'; '_' is LIKE's any-character, so escaped.
        common.append("(" + " OR ".join("tags LIKE ? ESCAPE '\\'" for _ in where.tags) + ")")
        common_params.extend(f"%,{t.replace('_', chr(92) + '_')},%" for t in where.tags)
    if where.assignees or where.unassigned:
        whose = (
            [f"assignee IN ({', '.join('?' * len(where.assignees))})"] if where.assignees else []
        )
        whose += ["assignee IS NULL"] if where.unassigned else []
        common.append(f"({' OR '.join(whose)})")
        common_params.extend(where.assignees)
    if where.older_than is not None:
        common.append("created_at <= ?")
        common_params.append(to_db(from_db(now) - where.older_than))
    if where.due_before:
        due = " OR ".join("(account = ? AND created_at <= ?)" for _ in where.due_before)
        common.append(f"({due})")
        for account, moment in where.due_before.items():
            common_params.extend((account, to_db(moment)))
    arms: list[tuple[list[str], list[Any]]] = []
    states = {str(s) for s in where.states}
    if "open" in states:
        arms.append((["state = 'open'"], []))
        # A snooze that has run out counts as open, without anyone having to write that down.
        arms.append((["state = 'snoozed'", "snoozed_until <= ?"], [now]))
    if "snoozed" in states:
        arms.append((["state = 'snoozed'", "snoozed_until > ?"], [now]))
    arms += [(["state = ?"], [state]) for state in sorted(states - {"open", "snoozed"})]
    selects: list[str] = []
    params: list[Any] = []
    for clauses, arm_params in arms or [([], [])]:
        sql = f"SELECT {COLUMNS} FROM mentions"
        if clauses or common:
            sql += " WHERE " + " AND ".join([*clauses, *common])
        selects.append(sql)
        params += [*arm_params, *common_params]
    sql = " UNION ALL ".join(selects)
    # Most urgent first, then oldest: each arm walks (state, priority, created_at) in order.
    sql += (
        " ORDER BY priority, created_at DESC, id DESC"
        if where.newest_first
        else " ORDER BY priority, created_at, id"
    )
    if where.limit is not None:
        sql += " LIMIT ?"
        params.append(where.limit)
    return sql, params


def _stored_reply_ids(db: Connection, account: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are stored replies of `account`, asked 500 at a time."""
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
