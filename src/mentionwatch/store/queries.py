"""The Store's read queries: the mentions `list`, `export` and `show` read (MentionFilter
selects them), and the stats and digest queries. Reading never writes, so none of this needs
the transaction except recording a digest."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from mentionwatch.errors import StoreError, UsageError
from mentionwatch.models import SentDigest, State, StoredMention
from mentionwatch.store.backend import Connection, Dialect
from mentionwatch.store.rows import COLUMNS, explain, stored
from mentionwatch.timeutil import from_db, to_db


class MentionFilter(NamedTuple):
    """What `list` and `export` select; `states` empty means every state."""

    states: tuple[State, ...] = (State.OPEN,)
    accounts: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    older_than: timedelta | None = None
    # Per-account cut-offs: only mentions created at or before the account's time are kept.
    due_before: Mapping[str, datetime] = MappingProxyType({})
    limit: int | None = None
    newest_first: bool = False
    # Words that must all appear (any case) in the text, title, author or URL.
    grep: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()  # any of these (0 high, 1 normal, 2 low)
    tags: tuple[str, ...] = ()  # any of these

    # Only mentions assigned to one of these users, and/or (unassigned) to nobody.
    assignees: tuple[str, ...] = ()
    unassigned: bool = False


def mention_select(
    where: MentionFilter, now: str, dialect: Dialect = "sqlite"
) -> tuple[str, list[Any]]:
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
    if dialect == "postgresql" and len(arms) > 1:
        arms = [_one_arm(states, now)]
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


def _one_arm(states: set[str], now: str) -> tuple[list[str], list[Any]]:
    """The arms as one WHERE, for PostgreSQL: it sorts every row of a UNION ALL before the
    LIMIT (no Merge Append for a set operation), where one WHERE over the waiting states walks
    the partial index of migration 0009 in order and stops at the LIMIT. A CASE, not an OR of
    `state = ...` pairs, so that the planner does not take the rows for a hundred times fewer
    than they are and sort them all after all."""
    listed = states | ({"snoozed"} if "open" in states else set())
    waiting = [f"'{s}'" for s in ("open", "snoozed") if s in listed]  # as the index says
    others = sorted(listed - {"open", "snoozed"})
    clauses = [f"state IN ({', '.join([*waiting, *'?' * len(others)])})"]
    params: list[Any] = list(others)
    if "snoozed" in listed and not {"open", "snoozed"} <= states:
        # One of the two snoozed halves: run out (counts as open) or still running.
        until = "snoozed_until <= ?" if "open" in states else "snoozed_until > ?"
        clauses.append(f"CASE WHEN state = 'snoozed' THEN {until} ELSE TRUE END")
        params.append(now)
    return clauses, params


class MentionQueries:
    """Mixed into Store, which provides the connection: the mentions as commands read them."""

    db: Connection
    path: Path | str
    dialect: Dialect

    def mentions(self, where: MentionFilter, now: datetime) -> Iterator[StoredMention]:
        """Stream the selected mentions, oldest first, straight from the indexes."""
        sql, params = mention_select(where, to_db(now), self.dialect)
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
        return mention._replace(context=context) if isinstance(context, dict) else mention

    def raw(self, mention_id: int) -> str | None:
        """The payload kept for a mention (JSON text); None unless `keep_raw` was on."""
        row = self.db.execute("SELECT raw FROM mentions WHERE id = ?", (mention_id,)).fetchone()
        if row is None:
            raise UsageError(f"no mention with id {mention_id}")
        return str(row[0]) or None

    def has_account(self, account: str) -> bool:
        """Whether any mention of this account is stored (it may have left the config since)."""
        row = self.db.execute("SELECT 1 FROM mentions WHERE account = ? LIMIT 1", (account,))
        return row.fetchone() is not None


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
                "covered_since, covered_until, counts, mention_ids, audience) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (to_db(sent.sent_at), sent.channel, json.dumps(list(sent.recipients)),
                 sent.message_id, sent.subject, to_db(sent.covered_since),
                 to_db(sent.covered_until), json.dumps(dict(sent.counts)),
                 json.dumps(list(sent.mention_ids)), sent.audience),
            )  # fmt: skip

    def last_digest(self, audience: str = "") -> SentDigest | None:
        """The last digest delivered to `audience` ("" the team, else a user's own)."""
        import json

        row = self.db.execute(
            "SELECT * FROM digests WHERE audience = ? ORDER BY covered_until DESC, id DESC LIMIT 1",
            (audience,),
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
            audience=row["audience"],
        )

    def answered_since(
        self,
        since: datetime,
        now: datetime,
        assignees: Sequence[str] = (),
        unassigned: bool = False,
    ) -> list[StoredMention]:
        """Mentions answered at or after `since`, oldest mention first; only those assigned
        to `assignees` and/or (`unassigned`) to nobody when either is given."""
        # SQLite's "+state": look rows up by the answered_at index, not by scanning every
        # answered one (PostgreSQL's planner picks the index by itself).
        state = "+state" if self.dialect == "sqlite" else "state"
        whose, params = [], [to_db(since)]
        if assignees:
            whose.append(f"assignee IN ({', '.join('?' * len(assignees))})")
            params.extend(assignees)
        if unassigned:
            whose.append("assignee IS NULL")
        chosen = f" AND ({' OR '.join(whose)})" if whose else ""
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM mentions WHERE answered_at >= ? AND {state} = 'answered'"
            f"{chosen} ORDER BY created_at, id",
            params,
        )
        return [stored(row, now) for row in rows]
