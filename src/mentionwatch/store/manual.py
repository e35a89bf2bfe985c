"""Manual states: done, dismiss, snooze and reopen (each in the team's history), and the
snapshots of them that let the inbox undo one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from mentionwatch.errors import UsageError
from mentionwatch.models import State, StoredMention
from mentionwatch.store.team import TeamQueries
from mentionwatch.timeutil import to_db

_FIELDS = (
    "state, state_changed_at, snoozed_until, reopened_at, answered_at, answered_url, answered_by"
)


class ManualState(NamedTuple):
    """The columns a manual state change writes, as stored (database text, not parsed)."""

    state: str
    state_changed_at: str | None
    snoozed_until: str | None
    reopened_at: str | None
    answered_at: str | None
    answered_url: str | None
    answered_by: str | None


_ACTIONS = {State.ANSWERED: "done", State.DISMISSED: "dismissed", State.SNOOZED: "snoozed",
            State.OPEN: "reopened"}  # fmt: skip


class ManualStates(TeamQueries):
    """Mixed into Store, which provides the connection and the transaction; every change is
    recorded in the team's history (TeamQueries)."""

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
                (*before, mention_id),
            )
        return True


def _state(row: Any) -> ManualState:
    """By index: SQLite and PostgreSQL rows both read that way."""
    return ManualState(*(row[i] for i in range(7)))
