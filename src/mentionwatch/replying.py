"""Answer a stored mention from mentionwatch: check, post, store, mark answered; fetch threads.

The CLI (`reply`, `show --thread`) and the inbox call these. Platform logic stays in the
sources (`sources.base.Replier`); this module only orders the steps and keeps the promise that
a failure changes nothing and a success is stored exactly as a poll would store it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mentionwatch.config import Config
from mentionwatch.errors import (
    OutcomeUnknownError,
    ReplyFailedError,
    ReplyRefusedError,
    ReplyRejectedError,
    ReplyUnknownError,
    SourceError,
)
from mentionwatch.models import Account, StoredMention
from mentionwatch.store import Store
from mentionwatch.timeutil import utcnow

if TYPE_CHECKING:
    from mentionwatch.fetched import Post, Reply
    from mentionwatch.http import Http
    from mentionwatch.sources.base import Fetcher, LengthCheck, Replier, ReplyRequest

T = TypeVar("T")


@dataclass(frozen=True)
class ReplyOutcome:
    """What `send_reply` did. Exactly one of `posted`, `request` (dry run), `reply_page`."""

    mention: StoredMention  # as stored afterwards (answered, when posted)
    text: str  # as posted or to be posted, @handles added
    length: LengthCheck | None = None
    posted: Reply | None = None
    request: ReplyRequest | None = None
    reply_page: str | None = None  # HN and feeds: where to reply in a browser
    checked_after_timeout: bool = False  # the outcome was unknown and looked up on the platform


def reply_key(mention: StoredMention, text: str) -> str:
    """The same reply to the same mention always gets the same idempotency key."""
    digest = hashlib.sha256(f"{mention.account}\0{mention.remote_id}\0{text}".encode())
    return "mentionwatch-" + digest.hexdigest()[:32]


def check_reply_text(
    config: Config, mention: StoredMention, text: str, *, limit: int | None = None
) -> LengthCheck | None:
    """The length as the platform counts it, without any network call (None: no posting).

    Mastodon's limit is the instance's; without `limit` (from `reply_limit`) it is taken as
    500, Mastodon's default.
    """
    source = _offline_replier(config, mention)
    if source is None:
        return None
    if limit is not None:
        source.reply_limit = limit
    return source.check_reply(mention, source.reply_text(mention, text))


async def reply_limit(config: Config, mention: StoredMention, *, http: Http | None = None) -> int:
    """The platform's limit for a reply to this mention (one call for Mastodon, else none)."""

    async def go(source: Replier) -> int:
        await source.prepare_reply(mention)
        return source.check_reply(mention, "x").limit

    return await _with_source(config, mention, http, go, posting=True)


async def send_reply(
    store: Store,
    config: Config,
    mention_id: int,
    text: str,
    *,
    dry_run: bool = False,
    http: Http | None = None,
    now: Callable[[], datetime] = utcnow,
) -> ReplyOutcome:
    """Post `text` as the mention's account; on success the mention is answered at once.

    Raises ReplyRefusedError, ReplyRejectedError (nothing sent: too long, empty; or refused
    by the platform), ReplyFailedError (not posted) or ReplyUnknownError; none changes the store.
    """
    mention = store.get(mention_id, now())
    text = text.strip()  # a file's or stdin's last newline is no part of the reply
    if not text:
        raise ReplyRejectedError(mention.account, "reply", "the reply is empty; nothing was sent")
    account = config.account(mention.account)
    if not _can_post(account):
        page = _reply_page(account, mention)
        return ReplyOutcome(mention, text, reply_page=page)

    async def go(source: Replier) -> ReplyOutcome:
        try:
            await source.prepare_reply(mention, text)
        except SourceError as exc:
            raise _not_posted(exc) from None
        final = source.reply_text(mention, text)
        length = source.check_reply(mention, final)
        if not length.ok:
            raise ReplyRejectedError(
                mention.account, "reply", f"too long: {length.describe()}; nothing was sent"
            )
        key = reply_key(mention, final)
        if dry_run:
            request = source.reply_request(mention, final, key)
            return ReplyOutcome(mention, final, length, request=request)
        started = now()
        checked = False
        try:
            reply = await source.post_reply(mention, final, key)
        except OutcomeUnknownError as exc:
            checked = True
            reply = await _look_for_reply(source, mention, final, key, started, exc)
        except SourceError as exc:
            raise _not_posted(exc) from None
        answered = store.record_reply(mention.id, reply, now())
        return ReplyOutcome(answered, final, length, posted=reply, checked_after_timeout=checked)

    return await _with_source(config, mention, http, go, posting=True)


async def fetch_thread(
    config: Config, mention: StoredMention, *, http: Http | None = None
) -> list[Post]:
    """What the mention answers and what came before it, oldest first (the mention left out)."""
    account = config.account(mention.account)
    from mentionwatch.sources.registry import PLATFORMS

    if not hasattr(PLATFORMS[account.platform].load(), "thread"):
        return []  # feeds: an entry has no thread

    async def go(source: Any) -> list[Post]:
        posts: list[Post] = await source.thread(mention)
        return posts

    return await _with_source(config, mention, http, go, posting=False)


def _not_posted(exc: SourceError) -> SourceError:
    """Reply errors as they are; network, timeouts before sending, spent quotas: not posted."""
    if isinstance(
        exc, ReplyRefusedError | ReplyRejectedError | ReplyFailedError | ReplyUnknownError
    ):
        return exc
    return ReplyFailedError(exc.account, exc.endpoint, f"{exc.problem}; not posted")


async def _look_for_reply(
    source: Replier,
    mention: StoredMention,
    text: str,
    key: str,
    started: datetime,
    unknown: OutcomeUnknownError,
) -> Reply:
    """A reply sent without an answer: ask the platform before anyone posts it again."""
    try:
        found = await source.find_reply(mention, text, key, started)
    except SourceError as exc:
        raise ReplyUnknownError(
            unknown.account,
            unknown.endpoint,
            f"{unknown.problem}, and checking whether it was posted failed ({exc.problem}): "
            "look at the post before replying again",
        ) from None
    if found is None:
        raise ReplyFailedError(
            unknown.account,
            unknown.endpoint,
            f"{unknown.problem}; the platform shows no such reply, so nothing was posted",
        )
    return found


def _can_post(account: Account) -> bool:
    from mentionwatch.sources.registry import PLATFORMS

    return hasattr(PLATFORMS[account.platform].load(), "post_reply")


def _reply_page(account: Account, mention: StoredMention) -> str:
    from mentionwatch.sources.registry import PLATFORMS

    cls = PLATFORMS[account.platform].load()
    page = getattr(cls, "reply_page", None)
    return str(page(mention)) if page is not None else mention.url


def _offline_replier(config: Config, mention: StoredMention) -> Replier | None:
    """A source that may count and prepare but never reach the network."""
    account = config.account(mention.account)
    if not _can_post(account):
        return None
    from mentionwatch.sources.registry import PLATFORMS

    offline: Fetcher = _NoNetwork(account.name)
    return cast("Replier", PLATFORMS[account.platform].load()(account, offline))


async def _with_source(
    config: Config,
    mention: StoredMention,
    http: Http | None,
    action: Callable[[Any], Awaitable[T]],
    *,
    posting: bool,
) -> T:
    from mentionwatch.config_secrets import account_with_secrets
    from mentionwatch.http import Http
    from mentionwatch.sources.registry import PLATFORMS

    account = config.account(mention.account)
    if set(account.secret_sources) - set(account.secrets):
        # Only this account's secrets: another account's missing one must not stop a reply.
        account = account_with_secrets(config.path, account)
    client = http or Http.from_settings(config.settings)
    async with client:
        fetcher = client.for_account(account)
        source = PLATFORMS[account.platform].load()(account, fetcher)
        try:
            return await action(source)
        except SourceError as exc:
            # Sources quote servers in some messages: one that echoed a secret is redacted.
            if type(exc).__init__ is SourceError.__init__:
                raise type(exc)(exc.account, exc.endpoint, fetcher.redact(exc.problem)) from None
            raise


class _NoNetwork:
    """A Fetcher for counting offline: any request is a bug, said loudly."""

    def __init__(self, account: str) -> None:
        self.account = account

    async def get(self, url: str, **kwargs: Any) -> Any:
        raise SourceError(self.account, url, "no network here (offline length check)")

    async def post(self, url: str, **kwargs: Any) -> Any:
        raise SourceError(self.account, url, "no network here (offline length check)")

    def add_secret(self, value: str) -> None:
        pass

    def redact(self, text: str) -> str:
        return text


def run(coro: Awaitable[T]) -> T:
    """For synchronous callers (the CLI)."""

    async def main() -> T:
        return await coro

    return asyncio.run(main())
