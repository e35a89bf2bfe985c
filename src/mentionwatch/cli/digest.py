"""Rendering for `digest`; kept apart so cli.py stays a list of commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from email.message import EmailMessage
from email.utils import parseaddr

from rich.console import Console

from mentionwatch import digest as core
from mentionwatch.config import Config
from mentionwatch.digest.per_assignee import Person
from mentionwatch.digest.render import plain_part
from mentionwatch.digest.settings import DigestSettings, digest_settings, for_delivery
from mentionwatch.errors import DeliveryError, DigestIncompleteError, UsageError
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
    priorities: Sequence[int] = (),
    tags: Sequence[str] = (),
) -> None:
    """Build, deliver (or preview), and say what happened on stderr; data goes to stdout.

    `channel=None` shows the digest and records nothing, wherever stdout goes (`| head`,
    `> /dev/null`): only an explicit delivery uses up the day's digest.
    """
    if to and channel in (None, "stdout"):
        raise UsageError("--to needs --email or --sendmail")
    shown = channel or "stdout"
    settings = for_delivery(digest_settings(config), shown, to, resolve_password=not dry_run)
    settings = replace(settings, assignees=tuple(assignees), unassigned=unassigned,
                       priorities=tuple(priorities), tags=tuple(tags))  # fmt: skip
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


def _deliverer(channel: str, settings: DigestSettings, heading: str = "") -> core.Deliver:
    def deliver(message: EmailMessage) -> Sequence[str]:
        from mentionwatch.digest import mail

        if channel == "smtp":
            assert settings.smtp is not None
            return mail.send_smtp(message, settings.smtp, settings.sender, settings.to)
        if channel == "sendmail":
            return mail.send_sendmail(message, settings.sendmail)
        sys.stdout.write(heading + plain_part(message))
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


def run_per_assignee(
    opener: Callable[[bool], AbstractContextManager[Store]],
    config: Config,
    *,
    channel: str | None,
    dry_run: bool,
    if_any: bool,
    force: bool,
    err: Console,
    verbose: bool = False,
    priorities: Sequence[int] = (),
    tags: Sequence[str] = (),
) -> None:
    """Each assignee's own digest, to their [users] address; one line for each one not sent."""
    from mentionwatch.digest import per_assignee

    shown = channel or "stdout"
    settings = for_delivery(
        digest_settings(config), shown, resolve_password=not dry_run, per_assignee=True
    )
    settings = replace(settings, priorities=tuple(priorities), tags=tuple(tags))
    preview = dry_run or channel is None

    def deliverers(person: Person, own: DigestSettings) -> core.Deliver:
        return _deliverer(shown, own, heading=_heading(person))

    with opener(not preview) as store:
        done = per_assignee.run(store, config, settings, now=utcnow(), channel=shown,
                                deliverers=None if preview else deliverers, if_any=if_any,
                                force=force)  # fmt: skip
    if not done.results and not done.stopped and not if_any:
        err.print("mentionwatch: no digest to send: nobody has mentions assigned and [users] "
                  "is empty (mentionwatch assign ID USER)", markup=False)  # fmt: skip
    for item in done.results:
        who = f"{one_line(item.person.user)}'s digest"
        result = item.result
        if item.problem:
            said = "A real run would not send " if preview else "mentionwatch: "
            said += who if preview else f"{who} not sent"
            err.print(one_line(f"{said}: {item.problem}"), markup=False)
        elif result is None or result.outcome is core.Outcome.NOTHING_WAITING:
            continue
        elif result.outcome is core.Outcome.TOO_SOON:
            err.print(f"mentionwatch: {who} not sent: {_last_sent(result, settings)}",
                      markup=False)  # fmt: skip
        elif result.outcome is core.Outcome.PREVIEW:
            assert result.message is not None
            sys.stdout.write(_heading(item.person))
            _show(result.message, shown, dry_run)
            if channel is not None and _blocked(result, settings, force):
                err.print(f"A real run would not send {who}: {_last_sent(result, settings)}",
                          markup=False)  # fmt: skip
        elif channel != "stdout" and (verbose or err.is_terminal):
            assert result.message is not None
            err.print(f"Sent “{result.message['Subject']}” to {item.person.address} "
                      f"({result.message['Message-ID']}).", markup=False)  # fmt: skip
    if done.unassigned:
        many = "s are" if done.unassigned != 1 else " is"
        err.print(f"{done.unassigned} waiting mention{many} assigned to nobody, so in no "
                  "one's digest (mentionwatch list --unassigned).", markup=False)  # fmt: skip
    if done.stopped:
        names = ", ".join(one_line(p.user) for p in done.untried)
        raise DeliveryError(f"{done.stopped} (not sent to {names})")
    if done.failed and not preview:
        names = ", ".join(one_line(r.person.user) for r in done.failed)
        raise DigestIncompleteError(
            f"{len(done.failed)} of {len(done.results)} digests not sent ({names}); "
            "the others were sent"
        )


def _heading(person: Person) -> str:
    address = f" <{one_line(parseaddr(person.address)[1])}>" if person.address else ""
    return f"=== {one_line(person.user)}{address} ===\n"
