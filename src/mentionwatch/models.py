"""The typed values everything past the sources works with; no I/O here."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from mentionwatch.business import Calendar


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


@dataclass(frozen=True)
class Account:
    """One `[[accounts]]` entry of the config, validated; secrets are resolved lazily by name."""

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
    responders: tuple[str, ...] = ()
    ignore_authors: tuple[str, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=dict)
    # Where each secret came from ("env MASTODON_TOKEN"), for messages that must not show it.
    secret_sources: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    # Business hours: SLA ages and response times count only this time when set.
    calendar: Calendar | None = None

    def secret(self, key: str) -> str:
        return self.secrets.get(key, "")

    @property
    def own_names(self) -> frozenset[str]:
        """Identities whose posts are never mentions and whose replies answer them."""
        names = {self.handle, *self.responders}
        return frozenset(n.lower().lstrip("@") for n in names if n)


@dataclass(frozen=True)
class Mention:
    """A post that addresses the account and may need an answer."""

    remote_id: str
    url: str
    author: str
    text: str
    created_at: datetime
    kind: Kind = Kind.MENTION
    # Flat-thread platforms (GitHub issues) only: a later reply anywhere in the thread answers.
    thread_id: str | None = None
    title: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A post by the account (or a responder) that may answer a mention."""

    remote_id: str
    url: str
    author: str
    created_at: datetime
    parent_id: str | None = None
    thread_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


T = TypeVar("T")


@dataclass(frozen=True)
class Batch(Generic[T]):
    """What one source call fetched, and the cursor that covers exactly those items."""

    items: Sequence[T]
    cursor: str | None


@dataclass(frozen=True)
class PollResult:
    account: str
    platform: str
    new_mentions: int = 0
    newly_answered: int = 0
    still_open: int = 0
    new_replies: int = 0
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class StoredMention:
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

    @property
    def response_time(self) -> timedelta | None:
        if self.answered_at is None:
            return None
        return self.answered_at - self.created_at


@dataclass(frozen=True)
class SentDigest:
    """A digest that was delivered: what the next one counts "since", and what it covered."""

    sent_at: datetime
    channel: str
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    covered_since: datetime
    covered_until: datetime
    counts: Mapping[str, int] = field(default_factory=dict)
    mention_ids: tuple[int, ...] = ()
