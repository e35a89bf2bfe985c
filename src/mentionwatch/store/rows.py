"""Rows of the mentions table as StoredMention (from either backend), and SQLite errors as
sentences."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from mentionwatch.models import State, StoredMention
from mentionwatch.timeutil import from_db

COLUMNS = (
    "id, account, platform, remote_id, kind, url, author, title, text, created_at, "
    "first_seen_at, state, snoozed_until, answered_at, answered_url, answered_by, priority, "
    "tags, sla_seconds, dismissed_reason, dismissed_rule, lang, state_changed_at, "
    "state_changed_by, assignee"
)


def stored(row: Any, now: datetime) -> StoredMention:
    state = State(row["state"])
    until = from_db(row["snoozed_until"]) if row["snoozed_until"] else None
    if state is State.SNOOZED and (until is None or until <= now):
        state = State.OPEN
    return StoredMention(
        id=row["id"],
        account=row["account"],
        platform=row["platform"],
        remote_id=row["remote_id"],
        kind=row["kind"],
        url=row["url"],
        author=row["author"],
        title=row["title"],
        text=row["text"],
        created_at=from_db(row["created_at"]),
        first_seen_at=from_db(row["first_seen_at"]),
        state=state,
        snoozed_until=until if state is State.SNOOZED else None,
        answered_at=from_db(row["answered_at"]) if row["answered_at"] else None,
        answered_url=row["answered_url"],
        answered_by=row["answered_by"],
        priority=row["priority"],
        tags=tuple(row["tags"].strip(",").split(",")) if row["tags"] else (),
        sla_override=timedelta(seconds=row["sla_seconds"]) if row["sla_seconds"] else None,
        dismissed_reason=row["dismissed_reason"],
        dismissed_rule=row["dismissed_rule"],
        lang=row["lang"],
        state_changed_at=from_db(row["state_changed_at"]) if row["state_changed_at"] else None,
        state_changed_by=row["state_changed_by"],
        assignee=row["assignee"],
    )


READ_ONLY = "the database is read-only (check the file's and its folder's permissions)"


def tags_column(tags: tuple[str, ...]) -> str:
    """Tags as stored: ",a,b,", so that `LIKE '%,a,%'` finds one on every backend."""
    return f",{','.join(tags)}," if tags else ""


def explain(exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "readonly" in text:
        return READ_ONLY
    if "locked" in text or "busy" in text:
        return "the database is locked by another process; try again"
    if "not a database" in text or "malformed" in text:
        return "not a mentionwatch database, or it is corrupt (nothing was changed)"
    return text
