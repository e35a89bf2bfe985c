"""Working as a team: who changed what and when (history), assignment, notes.

Every manual change is a row of `changes`, written in the transaction that makes it; on
PostgreSQL the mention's row is locked first, so of two people changing one mention at once
the later one sees the earlier one's change and can say so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from mentionwatch.errors import UsageError
from mentionwatch.models import StoredMention
from mentionwatch.store.backend import Connection, Dialect
from mentionwatch.store.rows import COLUMNS, stored
from mentionwatch.timeutil import from_db, to_db


class Change(NamedTuple):
    at: datetime
    actor: str
    action: str
    detail: str = ""


class Note(NamedTuple):
    mention_id: int
    at: datetime
    actor: str
    text: str


class TeamQueries:
    """Mixed into Store, which provides the connection and the transaction."""

    db: Connection
    path: Path | str
    dialect: Dialect

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def locked_mentions(
        self, db: Connection, ids: Sequence[int], now: datetime
    ) -> list[StoredMention]:
        """The mentions as they are now, locked until the transaction ends (PostgreSQL)."""
        lock = " FOR UPDATE" if self.dialect == "postgresql" else ""
        found: list[StoredMention] = []
        missing: list[int] = []
        for mention_id in ids:
            row = db.execute(
                f"SELECT {COLUMNS} FROM mentions WHERE id = ?{lock}", (mention_id,)
            ).fetchone()
            if row is None:
                missing.append(mention_id)
            else:
                found.append(stored(row, now))
        if missing:
            raise UsageError(f"no mention with id {', '.join(map(str, missing))}")
        return found

    @staticmethod
    def record_change(
        db: Connection, mention_id: int, actor: str, action: str, now: datetime, detail: str = ""
    ) -> None:
        db.execute(
            "INSERT INTO changes (mention_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            (mention_id, to_db(now), actor, action, detail),
        )

    def assign(
        self, ids: Iterable[int], user: str | None, actor: str, now: datetime
    ) -> list[StoredMention]:
        """Give mentions to `user` (None: to nobody); returns each as it was before."""
        ids = list(dict.fromkeys(ids))
        with self.transaction() as db:
            before = self.locked_mentions(db, ids, now)
            for mention in before:
                if mention.assignee == user:
                    continue
                db.execute("UPDATE mentions SET assignee = ? WHERE id = ?", (user, mention.id))
                action = f"assigned to {user}" if user else "unassigned"
                self.record_change(db, mention.id, actor, action, now)
        return before

    def add_note(self, mention_id: int, text: str, actor: str, now: datetime) -> None:
        with self.transaction() as db:
            self.locked_mentions(db, [mention_id], now)
            db.execute(
                "INSERT INTO notes (mention_id, at, actor, text) VALUES (?, ?, ?, ?)",
                (mention_id, to_db(now), actor, text),
            )
            self.record_change(db, mention_id, actor, "noted", now)

    def history(self, mention_id: int) -> list[Change]:
        rows = self.db.execute(
            "SELECT at, actor, action, detail FROM changes WHERE mention_id = ? ORDER BY id",
            (mention_id,),
        )
        return [Change(from_db(r[0]), r[1], r[2], r[3]) for r in rows]

    def notes(self, ids: Sequence[int]) -> dict[int, list[Note]]:
        """Each mention's notes, oldest first; asked 500 ids at a time (exports stream)."""
        found: dict[int, list[Note]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.db.execute(
                "SELECT mention_id, at, actor, text FROM notes WHERE mention_id IN "
                f"({', '.join('?' * len(chunk))}) ORDER BY id",
                tuple(chunk),
            )
            for r in rows:
                found.setdefault(r[0], []).append(Note(r[0], from_db(r[1]), r[2], r[3]))
        return found

    def with_notes(self, mentions: Iterable[StoredMention]) -> Iterator[StoredMention]:
        """The mentions with their notes, looked up 500 at a time as the stream goes by."""
        it = iter(mentions)
        while chunk := list(itertools.islice(it, 500)):
            found = self.notes([m.id for m in chunk])
            for m in chunk:
                notes = found.get(m.id)
                if notes:
                    shown = tuple(f"{n.actor} at {n.at.isoformat()}: {n.text}" for n in notes)
                    yield m._replace(notes=shown)
                else:
                    yield m
