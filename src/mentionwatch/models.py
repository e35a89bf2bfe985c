"""The typed values everything past the sources works with; no I/O here."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from mentionwatch.business_hours import Calendar


class State(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"


class Kind(enum.StrEnum):
    """How a mention reached us."""

    MENTION = "mention"
    REPLY = "reply"
    QUOTE = "quote"
    KEYWORD = "keyword"
    FEED = "feed"


class Account(NamedTuple):
    """One `[[accounts]]` entry of the config, validated; secrets are resolved lazily by name.

    A NamedTuple, not a frozen dataclass: the class is made as the module loads, at every
    start, and a dataclass of this many fields compiles its methods then (~1.7 ms of `list`'s
    start-up)."""

    name: str
    platform: str
    server: str
    handle: str = ""
    keywords: tuple[str, ...] = ()
    sla: timedelta = timedelta(hours=1)
    warn_at: float = 0.75
    backfill: timedelta = timedelta(days=3)
    enabled: bool = True
    max_pages: int = 10
    # Store each post's payload as the platform sent it (JSON), for `show --raw`.
    keep_raw: bool = False
    responders: tuple[str, ...] = ()
    ignore_authors: tuple[str, ...] = ()
    secrets: Mapping[str, str] = MappingProxyType({})
    # Where each secret came from ("env MASTODON_TOKEN"), for messages that must not show it.
    secret_sources: Mapping[str, str] = MappingProxyType({})
    options: Mapping[str, Any] = MappingProxyType({})
    # Business hours: SLA ages and response times count only this time when set.
    calendar: Calendar | None = None

    def secret(self, key: str) -> str:
        return self.secrets.get(key, "")

    @property
    def own_names(self) -> frozenset[str]:
        """Identities whose posts are never mentions and whose replies answer them."""
        names = {self.handle, *self.responders}
        return frozenset(n.lower().lstrip("@") for n in names if n)


# Stored as these numbers, so that ascending order is most urgent first.
PRIORITIES = {"high": 0, "normal": 1, "low": 2}
PRIORITY_NAMES = {rank: name for name, rank in PRIORITIES.items()}


class StoredMention(NamedTuple):
    """A mention as the database knows it, with its local id and state."""

    id: int
    account: str
    platform: str
    remote_id: str
    kind: str
    url: str
    author: str
    title: str
    text: str
    created_at: datetime
    first_seen_at: datetime
    state: State
    snoozed_until: datetime | None = None
    answered_at: datetime | None = None
    answered_url: str | None = None
    answered_by: str | None = None
    # Who made the last manual state change, and when (None: none yet, or a poll's answer).
    state_changed_at: datetime | None = None
    state_changed_by: str | None = None
    assignee: str | None = None
    # The team's notes, "who at when: text", oldest first; only exports ask for them.
    notes: tuple[str, ...] = ()
    # The fetched Mention's `context` (what replying needs); only `Store.get` fills it in.
    context: Mapping[str, Any] = MappingProxyType({})
    # What the inbox rules decided when it was stored (or at `rules apply`).
    priority: int = 1  # 0 high, 1 normal, 2 low
    tags: tuple[str, ...] = ()
    sla_override: timedelta | None = None
    dismissed_reason: str | None = None
    dismissed_rule: str | None = None
    lang: str = ""

    @property
    def priority_name(self) -> str:
        return PRIORITY_NAMES.get(self.priority, "normal")

    @property
    def response_time(self) -> timedelta | None:
        if self.answered_at is None:
            return None
        return self.answered_at - self.created_at


class SentDigest(NamedTuple):
    """A digest that was delivered: what the next one counts "since", and what it covered."""

    sent_at: datetime
    channel: str
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    covered_since: datetime
    covered_until: datetime
    counts: Mapping[str, int] = MappingProxyType({})
    mention_ids: tuple[int, ...] = ()
    # Whose digest: "" the whole team's, "alice" alice's own (`--per-assignee`, `--assignee
    # alice`). Each audience has its own once-a-day guard and its own "since".
    audience: str = ""
