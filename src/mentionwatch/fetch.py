"""Fetching one account: its new mentions and replies, or why it failed; no store, no output.

Used by `poll` in its own process and by each worker process (workers.py) alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch, Mention, Reply
from mentionwatch.http import Http, tls_context
from mentionwatch.models import Account, Kind

if TYPE_CHECKING:
    from mentionwatch.sources.base import Source

log = logging.getLogger("mentionwatch.poll")


@dataclass(frozen=True)
class Fetched:
    """One account's fetch, ready to store: what came back, or why it failed (redacted)."""

    account: str
    started: datetime
    mentions: Sequence[Mention] = ()
    replies: Sequence[Reply] = ()
    cursors: Mapping[str, str | None] = field(default_factory=dict)
    error: str | None = None
    # The mentions were fetched but the replies failed: store the mentions, keep the error.
    partial: bool = False
    seconds: float = 0.0
    # The platform asked not to be polled before this time (GitHub's X-Poll-Interval).
    not_before: datetime | None = None


async def fetch_account(
    account: Account, cursors: Mapping[str, str], http: Http, clock: Callable[[], datetime]
) -> Fetched:
    """Fetch one account's new mentions and replies; never raises, never touches the store."""
    from mentionwatch.sources.registry import PLATFORMS

    started = clock()
    began = time.monotonic()
    fetcher = http.for_account(account)
    mentions: list[Mention] = []
    got: dict[str, str | None] = {}
    not_before = None
    try:
        source = PLATFORMS[account.platform].load()(account, fetcher)
        # The one backfill rule: a listing without a cursor looks back this far, by this
        # poll's clock; the sources' shared sweep applies it.
        horizon = started - account.backfill
        replying = _replies_alongside(source, cursors.get("replies"), horizon)
        awaited = False
        try:
            found = await source.mentions(cursors.get("mentions"), horizon)
            skip = _not_mentions(account)
            mentions = [
                m for m in found.items
                if m.author.lower().lstrip("@") not in skip and _wanted(account, m)
            ]  # fmt: skip
            got["mentions"] = found.cursor
            not_before = found.not_before
            if replying is None:
                replies = await source.replies(cursors.get("replies"), horizon)
            else:
                awaited = True
                replies = await replying
        finally:
            if replying is not None and not awaited:  # the mentions failed: so does the poll
                replying.cancel()
                await asyncio.gather(replying, return_exceptions=True)
        got["replies"] = replies.cursor
        return Fetched(account.name, started, mentions, replies.items, got,
                       seconds=time.monotonic() - began, not_before=not_before)  # fmt: skip
    except SourceError as exc:
        # Sources build some messages from server text: one that echoed a secret is redacted.
        error = fetcher.redact(str(exc))
    except Exception as exc:  # a parser bug on one account must not stop the others
        log.debug("unexpected failure polling %s", account.name, exc_info=True)
        error = fetcher.redact(f"{account.name}: unexpected {type(exc).__name__}: {exc}")
    # Mentions fetched before the replies failed are kept (a spent quota must not cost them
    # again next run); the replies cursor stays put, so no answer is missed.
    partial = "mentions" in got
    return Fetched(account.name, started, mentions, (), got, error, partial,
                   time.monotonic() - began, not_before)  # fmt: skip


def _replies_alongside(
    source: Source, cursor: str | None, horizon: datetime
) -> asyncio.Task[Batch[Reply]] | None:
    """The replies listing, started now beside the mentions' where the source allows it
    (`concurrent_listings`): a poll then takes the longer of the two listings' round trips,
    not their sum. Its failure still only makes the poll partial: the mentions are awaited
    first, and kept."""
    if not getattr(source, "concurrent_listings", False):
        return None
    return asyncio.ensure_future(source.replies(cursor, horizon))


def prepare(accounts: Sequence[Account]) -> None:
    """Load now what fetching these accounts needs: their platforms' modules and the TLS
    context. Worker processes forked afterwards inherit them, instead of each spending ~0.1 s
    of CPU loading them again (workers.py)."""
    from mentionwatch.sources.registry import PLATFORMS

    for platform in sorted({a.platform for a in accounts}):
        PLATFORMS[platform].load()
    tls_context()


def _wanted(account: Account, mention: Mention) -> bool:
    """A search hit is kept only if a keyword really matches it: platforms search loosely (or
    were sent only part of the expression), so the whole expression is checked here."""
    if mention.kind is not Kind.KEYWORD or not account.keywords:
        return True
    from mentionwatch.rules import matches_keywords

    return matches_keywords(
        account.keywords, mention.text, mention.title, mention.author, account.platform,
        account.name, mention.kind, mention.lang,
    )  # fmt: skip


def _not_mentions(account: Account) -> frozenset[str]:
    """Authors whose posts are never mentions: the account's own names and ignore_authors.

    Built once per fetch: per mention, it cost ~5 us of a first poll's ~60 us.
    """
    return account.own_names | {a.lower().lstrip("@") for a in account.ignore_authors}
