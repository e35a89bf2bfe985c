"""Deliver the outbox after a poll commits: one message per target, through apprise.

Exactly once per (mention, event, target): an alert is marked sent only after its target took
the message. A crash between the two re-sends that one message on the next run (at most
once more); a crash anywhere before sending loses nothing, since the alert is still pending.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mentionwatch.config import Config
from mentionwatch.errors import ConfigError
from mentionwatch.models import State
from mentionwatch.notify.message import Message, compose
from mentionwatch.notify.settings import NotifyTarget, quiet_until
from mentionwatch.store import Store

if TYPE_CHECKING:
    from apprise.plugins.base import NotifyBase

BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=30)
_FORMATS = ("text", "markdown", "html")
_URL_PARTS = re.compile(r"[/:@?&=#,;]+")

# How a target is sent to: (target, message) -> (accepted, what it answered).
Sender = Callable[[NotifyTarget, Message], tuple[bool, str]]


@dataclass(frozen=True)
class Outcome:
    """What one target's delivery came to in this run."""

    target: str
    status: str  # "sent", "failed", "backoff", "quiet" or "idle" (nothing to send)
    sent: int = 0
    dropped: int = 0
    pending: int = 0
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "backoff")


def backoff(failures: int) -> timedelta:
    """30 s after the first failure, doubling, at most 30 minutes."""
    # The exponent is capped first: 2 ** failures overflows a timedelta after ~40 failures.
    doublings = min(max(failures - 1, 0), 16)
    doubled: timedelta = BACKOFF_FIRST * (2**doublings)
    return min(doubled, BACKOFF_CAP)


def deliver_pending(
    store: Store, config: Config, now: datetime, send: Sender | None = None
) -> list[Outcome]:
    """Send every target's pending alerts; one target's failure never stops the others."""
    with store.delivery_turn() as mine:
        if not mine:  # another poller on the shared database is delivering right now
            return []
        return _deliver(store, config, now, send or send_with_apprise)


def _deliver(store: Store, config: Config, now: datetime, sender: Sender) -> list[Outcome]:
    pending = store.pending_alerts(now)
    states = store.target_states()
    outcomes = []
    for target in config.notify:
        mine = [a for a in pending if a.target == target.name]
        # Answered, dismissed or snoozed before its alert went out: it is dropped from it.
        dropped = [a.id for a in mine if a.mention.state is not State.OPEN]
        live = [a for a in mine if a.mention.state is State.OPEN]
        if not live:
            if dropped:
                store.finish_alerts(target.name, [], dropped, now)
            outcomes.append(Outcome(target.name, "idle", dropped=len(dropped)))
            continue
        held = quiet_until(target, now)
        state = states.get(target.name)
        if held is not None:
            detail = f"quiet hours until {held:%H:%M} UTC"
            outcomes.append(Outcome(target.name, "quiet", pending=len(live), detail=detail))
            continue
        if state is not None and state.retry_at is not None and state.retry_at > now:
            detail = f"retrying after {state.retry_at:%H:%M:%S} UTC: {state.last_error}"
            outcomes.append(Outcome(target.name, "backoff", pending=len(live), detail=detail))
            continue
        try:
            message = compose(live, config, now, body_format(target), target.max_items)
            ok, answer = sender(target, message)
        except Exception as exc:  # one broken target must not stop the others
            ok, answer = False, f"unexpected {type(exc).__name__}: {exc}"
        answer = scrub(answer, target.url)
        if ok:
            store.finish_alerts(target.name, [a.id for a in live], dropped, now)
            outcomes.append(Outcome(target.name, "sent", sent=len(live), dropped=len(dropped)))
            continue
        failures = (state.failures if state else 0) + 1
        store.target_failed(target.name, answer, now + backoff(failures))
        if dropped:
            store.finish_alerts(target.name, [], dropped, now)
        outcomes.append(Outcome(target.name, "failed", pending=len(live), detail=answer))
    return outcomes


def send_test(config: Config, names: Sequence[str], send: Sender | None = None) -> list[Outcome]:
    """A test message to each chosen target; records nothing."""
    sender = send or send_with_apprise
    outcomes = []
    for target in config.notify:
        if names and target.name not in names:
            continue
        message = Message(
            "mentionwatch: test alert",
            f"A test from mentionwatch to {target.name}: alerts for "
            f"{', '.join(sorted(target.events))} will arrive here.",
            "text",
            (),
        )
        try:
            ok, answer = sender(target, message)
        except Exception as exc:
            ok, answer = False, f"unexpected {type(exc).__name__}: {exc}"
        answer = scrub(answer, target.url)
        outcomes.append(Outcome(target.name, "sent" if ok else "failed", detail=answer))
    return outcomes


def scrub(text: str, url: str) -> str:
    """Take every part of a target's URL out of a message: any of them may be its secret."""
    after_scheme = url.split("://", 1)[-1]
    parts = {p for p in _URL_PARTS.split(after_scheme) if len(p) >= 3}
    for part in sorted(parts, key=len, reverse=True):
        text = text.replace(part, "***")
    return text


def body_format(target: NotifyTarget) -> str:
    """The format the target's service takes natively, so apprise converts nothing."""
    declared: Any = _plugin(target).notify_format
    first = declared[0] if isinstance(declared, tuple | list) else declared
    value = str(getattr(first, "value", first))
    return value if value in _FORMATS else "text"


def check_targets(config: Config) -> None:
    """Every (resolved) URL is one apprise can send to; otherwise a ConfigError naming it."""
    for target in config.notify:
        _plugin(target)


def _plugin(target: NotifyTarget) -> NotifyBase:
    import apprise  # only where alerts are sent or checked: ~0.8 s to import

    plugin = apprise.Apprise.instantiate(target.url, asset=_asset())
    if plugin is None:
        scheme = target.url.split("://", 1)[0].lower()
        from apprise.manager_plugins import NotificationManager

        known = scheme in NotificationManager().schemas()  # type: ignore[no-untyped-call]
        problem = (
            f"apprise cannot use this {scheme}:// URL (a part is missing or wrong)"
            if known
            else f"unknown scheme {scheme}:// (see apprise's list of services)"
        )
        raise ConfigError(f"{target.where}: key 'url' ({target.shown_url()}): {problem}")
    return plugin


def _asset() -> Any:
    import apprise

    # Memory only: apprise keeps nothing on disk for us.
    return apprise.AppriseAsset(
        app_id="mentionwatch", app_desc="mentionwatch alerts", storage_mode="memory"
    )


def send_with_apprise(target: NotifyTarget, message: Message) -> tuple[bool, str]:
    """One message to one target; returns whether it was accepted and what apprise said."""
    import apprise

    notifier = apprise.Apprise(asset=_asset())
    notifier.add(_plugin(target))
    said: list[str] = []
    handler = _Collect(said)
    logger = logging.getLogger("apprise")
    propagate = logger.propagate
    # Apprise's own log lines would otherwise reach stderr through the root logger.
    logger.addHandler(handler)
    logger.propagate = False
    try:
        result = notifier.notify(
            body=message.body, title=message.title, body_format=message.body_format
        )
        ok = bool(result)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    answer = "; ".join(dict.fromkeys(said)) or ("accepted" if ok else "not accepted")
    return ok, answer


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


def prepare(config: Config) -> Config:
    """The config with every alert URL read (env:, url_file) and checked by apprise."""
    if not config.notify:
        return config
    from dataclasses import replace

    from mentionwatch.notify.settings import resolve_targets

    ready = replace(config, notify=resolve_targets(config.notify))
    check_targets(ready)
    return ready
