"""What sources fetch: mentions, the replies that may answer them, and the batches they come in.

Apart from `models` so that commands which only read the store never define these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from mentionwatch.models import Kind


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
