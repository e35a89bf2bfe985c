"""Snapshots of a mention's manual state, so that the inbox can undo a done/dismiss/snooze."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from mentionwatch.errors import UsageError
from mentionwatch.store.backend import Connection

_FIELDS = (
    "state, state_changed_at, snoozed_until, reopened_at, answered_at, answered_url, answered_by"
)


@dataclass(frozen=True)
class ManualState:
    """The columns a manual state change writes, as stored (database text, not parsed)."""

    state: str
    state_changed_at: str | None
    snoozed_until: str | None
    reopened_at: str | None
    answered_at: str | None
    answered_url: str | None
    answered_by: str | None


class ManualStates:
    """Mixed into Store, which provides the connection and the transaction."""

    db: Connection
    path: Path | str

    def transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def manual_state(self, mention_id: int) -> ManualState:
        row = self.db.execute(f"SELECT {_FIELDS} FROM mentions WHERE id = ?", (mention_id,))
        found = row.fetchone()
        if found is None:
            raise UsageError(f"no mention with id {mention_id}")
        return _state(found)

    def restore_manual_state(
        self, mention_id: int, before: ManualState, expected: ManualState
    ) -> bool:
        """Put `before` back, only if the mention is still exactly `expected`.

        A poll (or another user) may have changed it since: an undo must never overwrite a
        real answer found in between. Returns whether it was restored.
        """
        with self.transaction() as db:
            row = db.execute(f"SELECT {_FIELDS} FROM mentions WHERE id = ?", (mention_id,))
            current = row.fetchone()
            if current is None or _state(current) != expected:
                return False
            db.execute(
                "UPDATE mentions SET state = ?, state_changed_at = ?, snoozed_until = ?, "
                "reopened_at = ?, answered_at = ?, answered_url = ?, answered_by = ? "
                "WHERE id = ?",
                (*astuple(before), mention_id),
            )
        return True


def _state(row: Any) -> ManualState:
    """By index: SQLite and PostgreSQL rows both read that way."""
    return ManualState(*(row[i] for i in range(7)))
