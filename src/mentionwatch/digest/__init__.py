"""The daily digest: `run` is the one flow the CLI calls.

`model` collects the sections, `render` writes the plain text, the HTML and the message,
`settings` reads `[digest]`, `mail` delivers, `per_assignee` sends each assignee their own. A
digest is never sent twice to one audience (the team, or one person) within `min_interval` and
is recorded only once it was delivered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from mentionwatch.config import Config
from mentionwatch.digest.model import Digest, collect
from mentionwatch.digest.render import compose
from mentionwatch.digest.settings import DigestSettings
from mentionwatch.models import SentDigest
from mentionwatch.store import Store


class Outcome(enum.Enum):
    SENT = "sent"
    NOTHING_WAITING = "nothing waiting"
    TOO_SOON = "too soon"
    PREVIEW = "preview"


# Delivers the message; returns the recipients the server refused (the rest got it).
Deliver = Callable[[EmailMessage], Sequence[str]]


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    digest: Digest
    message: EmailMessage | None = None
    last: SentDigest | None = None
    refused: tuple[str, ...] = ()

    @property
    def too_soon(self) -> bool:
        return self.outcome is Outcome.TOO_SOON


def run(
    store: Store,
    config: Config,
    settings: DigestSettings,
    *,
    now: datetime,
    channel: str,
    deliver: Deliver | None,
    if_any: bool = False,
    force: bool = False,
) -> RunResult:
    """Build and deliver one digest; `deliver=None` previews (never recorded, never blocked)."""
    last = store.last_digest(settings.audience)
    digest = collect(store, config, settings, now, last)
    if if_any and not digest.waiting_count:
        return RunResult(Outcome.NOTHING_WAITING, digest, last=last)
    recipients = settings.to if channel != "stdout" else ()
    message = compose(digest, settings, recipients)
    if deliver is None:
        return RunResult(Outcome.PREVIEW, digest, message, last)
    if last is not None and not force and now - last.sent_at < settings.min_interval:
        return RunResult(Outcome.TOO_SOON, digest, message, last)
    refused = tuple(deliver(message))
    store.record_digest(
        SentDigest(
            sent_at=now,
            channel=channel,
            recipients=tuple(r for r in recipients if parseaddr(r)[1] not in refused),
            message_id=str(message["Message-ID"]),
            subject=str(message["Subject"]),
            covered_since=digest.since,
            covered_until=now,
            counts=digest.counts(),
            mention_ids=digest.mention_ids(),
            audience=settings.audience,
        )
    )
    return RunResult(Outcome.SENT, digest, message, last, refused)
