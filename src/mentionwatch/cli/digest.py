"""Rendering for `digest`; kept apart so cli.py stays a list of commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from email.message import EmailMessage

from rich.console import Console

from mentionwatch import digest as core
from mentionwatch.config import Config
from mentionwatch.digest.render import plain_part
from mentionwatch.digest.settings import DigestSettings, digest_settings, for_delivery
from mentionwatch.errors import UsageError
from mentionwatch.store import Store
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration, format_time, utcnow


def run_digest(
    opener: Callable[[bool], AbstractContextManager[Store]],
    config: Config,
    *,
    channel: str | None,
    to: Sequence[str],
    dry_run: bool,
    if_any: bool,
    force: bool,
    err: Console,
    verbose: bool = False,
    assignees: Sequence[str] = (),
    unassigned: bool = False,
) -> None:
    """Build, deliver (or preview), and say what happened on stderr; data goes to stdout.

    `channel=None` shows the digest and records nothing, wherever stdout goes (`| head`,
    `> /dev/null`): only an explicit delivery uses up the day's digest.
    """
    if to and channel in (None, "stdout"):
        raise UsageError("--to needs --email or --sendmail")
    shown = channel or "stdout"
    settings = for_delivery(digest_settings(config), shown, to, resolve_password=not dry_run)
    settings = replace(settings, assignees=tuple(assignees), unassigned=unassigned)
    preview = dry_run or channel is None
    # Only a delivery is recorded, so only a delivery opens the database for writing.
    with opener(not preview) as store:
        result = core.run(
            store,
            config,
            settings,
            now=utcnow(),
            channel=shown,
            deliver=None if preview else _deliverer(shown, settings),
            if_any=if_any,
            force=force,
        )
    if result.outcome is core.Outcome.NOTHING_WAITING:
        return
    if result.outcome is core.Outcome.TOO_SOON:
        err.print(f"mentionwatch: digest not sent: {_last_sent(result, settings)}", markup=False)
        return
    if result.outcome is core.Outcome.PREVIEW:
        assert result.message is not None
        _show(result.message, shown, dry_run)
        if channel is not None and _blocked(result, settings, force):
            err.print(f"A real run would not send: {_last_sent(result, settings)}", markup=False)
        return
    for address in result.refused:
        err.print(f"mentionwatch: warning: the server refused {address}", markup=False)
    if channel != "stdout" and (verbose or err.is_terminal):
        assert result.message is not None
        err.print(
            f"Sent “{result.message['Subject']}” to {', '.join(settings.to)} "
            f"({result.message['Message-ID']}).",
            markup=False,
        )


def _deliverer(channel: str, settings: DigestSettings) -> core.Deliver:
    def deliver(message: EmailMessage) -> Sequence[str]:
        from mentionwatch.digest import mail

        if channel == "smtp":
            assert settings.smtp is not None
            return mail.send_smtp(message, settings.smtp, settings.sender, settings.to)
        if channel == "sendmail":
            return mail.send_sendmail(message, settings.sendmail)
        sys.stdout.write(plain_part(message))
        sys.stdout.flush()
        return []

    return deliver


def _show(message: EmailMessage, channel: str, dry_run: bool) -> None:
    """Headers and the plain part, decoded: a dry run is for reading."""
    if channel != "stdout":
        for name in ("From", "To", "Subject", "Date", "Message-ID"):
            if message[name]:
                sys.stdout.write(f"{name}: {one_line(str(message[name]))}\n")
        sys.stdout.write("\n")
    sys.stdout.write(plain_part(message))
    html = message.get_body(("html",))
    if dry_run and html is not None:
        size = len(str(html.get_content()).encode("utf-8"))
        sys.stdout.write(f"\n[+ an HTML alternative of {size:,} bytes; dry run: nothing sent]\n")
    sys.stdout.flush()


def _blocked(result: core.RunResult, settings: DigestSettings, force: bool) -> bool:
    last = result.last
    return bool(last and not force and result.digest.now - last.sent_at < settings.min_interval)


def _last_sent(result: core.RunResult, settings: DigestSettings) -> str:
    last = result.last
    assert last is not None
    ago = format_duration(result.digest.now - last.sent_at)
    where = ", ".join(last.recipients) or last.channel
    when = format_time(last.sent_at, result.digest.zone)
    due = last.sent_at + settings.min_interval
    return (
        f"the last one went to {where} {ago} ago ({when}), within "
        f"min_interval ({format_duration(settings.min_interval)}); the next is due "
        f"{format_time(due, result.digest.zone)} (in {format_duration(due - result.digest.now)}); "
        "use --force to send anyway"
    )
