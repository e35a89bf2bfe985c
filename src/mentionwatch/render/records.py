"""The flat form of a stored mention that every machine-readable output shares."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mentionwatch.models import State, StoredMention
from mentionwatch.sla import Sla, sla_status
from mentionwatch.text import strip_controls


def record(mention: StoredMention, sla: Sla, now: datetime) -> dict[str, Any]:
    """The flat form every machine-readable output shares (json, jsonl, csv)."""
    waiting = mention.state in (State.OPEN, State.SNOOZED)
    status, left = sla_status(mention, sla, now) if waiting else ("", timedelta(0))
    response = mention.response_time
    return {
        "id": mention.id,
        "account": strip_controls(mention.account),
        "platform": strip_controls(mention.platform),
        "kind": strip_controls(mention.kind),
        "state": str(mention.state),
        "author": strip_controls(mention.author),
        "title": strip_controls(mention.title),
        "text": strip_controls(mention.text),
        "url": strip_controls(mention.url),
        "created_at": mention.created_at.isoformat(),
        "age_seconds": int((now - mention.created_at).total_seconds()),
        "sla_seconds": int(sla.target.total_seconds()),
        "sla_status": status,
        "sla_left_seconds": int(left.total_seconds()) if waiting else None,
        "snoozed_until": mention.snoozed_until.isoformat() if mention.snoozed_until else None,
        "answered_at": mention.answered_at.isoformat() if mention.answered_at else None,
        "answered_url": strip_controls(mention.answered_url or "") or None,
        "answered_by": strip_controls(mention.answered_by or "") or None,
        "response_seconds": int(response.total_seconds()) if response is not None else None,
        "sla_clock": "business hours" if sla.calendar else "wall clock",
        "sla_due_at": sla.due(mention.created_at).isoformat() if waiting else None,
        "priority": mention.priority_name,
        "tags": list(mention.tags),
        "dismissed_reason": strip_controls(mention.dismissed_reason or "") or None,
        "dismissed_rule": strip_controls(mention.dismissed_rule or "") or None,
        "lang": strip_controls(mention.lang),
        "assignee": strip_controls(mention.assignee or "") or None,
        "notes": " | ".join(strip_controls(note) for note in mention.notes),
    }
