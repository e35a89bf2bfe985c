"""The digest: what is overdue, what waits, what is new and what was answered since the last one.

Building only (sections, subject, plain text, the message): `digest_config` reads the settings,
`digest_html` renders the HTML part and `mail` delivers. `run` is the one flow the CLI calls:
it never sends twice within `min_interval` and records a digest only once it was delivered.
"""

from __future__ import annotations

import enum
import statistics
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from mentionwatch.config import Config
from mentionwatch.digest_config import DigestSettings
from mentionwatch.models import SentDigest, State, StoredMention
from mentionwatch.report import BREACHED, sla_for, sla_label, sla_status
from mentionwatch.store import MentionFilter, Store
from mentionwatch.text import one_line
from mentionwatch.timeutil import format_duration

EXCERPT = 200


@dataclass(frozen=True)
class Section:
    """The first `max_items` mentions of a section, oldest first, and how many there are."""

    key: str
    title: str
    items: tuple[StoredMention, ...] = ()
    total: int = 0


@dataclass(frozen=True)
class Digest:
    now: datetime
    since: datetime
    first: bool
    overdue: Section
    new: Section
    waiting: Section
    answered: Section
    oldest: StoredMention | None
    median_response: timedelta | None
    new_ids: frozenset[int] = frozenset()
    # The SLA label ("overdue by 3h", "20m left") of each waiting mention shown.
    sla: Mapping[int, str] = field(default_factory=dict)

    @property
    def sections(self) -> tuple[Section, ...]:
        return (self.overdue, self.new, self.waiting, self.answered)

    @property
    def waiting_count(self) -> int:
        return self.overdue.total + self.new.total + self.waiting.total

    def counts(self) -> dict[str, int]:
        return {s.key: s.total for s in self.sections}

    def mention_ids(self) -> tuple[int, ...]:
        return tuple(m.id for s in self.sections for m in s.items)


def collect(
    store: Store,
    config: Config,
    settings: DigestSettings,
    now: datetime,
    last: SentDigest | None,
) -> Digest:
    """Sort every waiting mention into overdue / new / still waiting; add what was answered."""
    since = last.covered_until if last else now - settings.min_interval
    limit = settings.max_items
    lists: dict[str, list[StoredMention]] = {"overdue": [], "new": [], "waiting": []}
    totals = dict.fromkeys(lists, 0)
    oldest: StoredMention | None = None
    new_ids: set[int] = set()
    sla: dict[int, str] = {}
    for mention in store.mentions(MentionFilter(states=(State.OPEN,)), now):
        oldest = oldest or mention
        status, left = sla_status(mention, sla_for(config, mention.account), now)
        is_new = mention.first_seen_at >= since
        key = "overdue" if status == BREACHED else "new" if is_new else "waiting"
        totals[key] += 1
        if len(lists[key]) < limit:
            lists[key].append(mention)
            sla[mention.id] = sla_label(status, left)
            if is_new:
                new_ids.add(mention.id)
    answered = store.answered_since(since, now)
    seconds = [m.response_time.total_seconds() for m in answered if m.response_time is not None]
    when = (
        f"in the last {format_duration(now - since)}" if last is None else "since the last digest"
    )
    return Digest(
        now=now,
        since=since,
        first=last is None,
        overdue=Section("overdue", "Overdue", tuple(lists["overdue"]), totals["overdue"]),
        new=Section("new", f"New {when}", tuple(lists["new"]), totals["new"]),
        waiting=Section("waiting", "Still waiting", tuple(lists["waiting"]), totals["waiting"]),
        answered=Section("answered", f"Answered {when}", tuple(answered[:limit]), len(answered)),
        oldest=oldest,
        median_response=timedelta(seconds=statistics.median(seconds)) if seconds else None,
        new_ids=frozenset(new_ids),
        sla=sla,
    )


def subject(digest: Digest, prefix: str) -> str:
    """E.g. "mentionwatch: 7 waiting (2 overdue), oldest 9h"."""
    if not digest.waiting_count:
        answered = f", {digest.answered.total} answered" if digest.answered.total else ""
        return f"{prefix}: nothing waiting{answered}"
    overdue = f" ({digest.overdue.total} overdue)" if digest.overdue.total else ""
    oldest = ""
    if digest.oldest is not None:
        # The most significant unit is enough for a subject line.
        oldest = f", oldest {format_duration(digest.now - digest.oldest.created_at).split()[0]}"
    return f"{prefix}: {digest.waiting_count} waiting{overdue}{oldest}"


def scorecard(digest: Digest) -> str:
    """The one-line summary both parts lead with."""
    answered = f"Answered: {digest.answered.total}"
    if digest.median_response is not None:
        answered += f", median response {format_duration(digest.median_response)}"
    waiting = f"Waiting: {digest.waiting_count} ({digest.overdue.total} overdue)"
    if digest.oldest is not None:
        waiting += f", oldest {format_duration(digest.now - digest.oldest.created_at)}"
    return f"{answered} · {waiting}"


@dataclass(frozen=True)
class Item:
    """One mention as both parts show it; every string is already one clean line."""

    id: int
    when: str  # the age, or "answered after 12m"
    sla: str  # "overdue by 3h 2m", "20m left", or "" for answered ones
    platform: str
    account: str
    author: str
    new: bool
    excerpt: str
    url: str


def items(digest: Digest, section: Section) -> list[Item]:
    shown = []
    for m in section.items:
        response = m.response_time if section.key == "answered" else None
        when = format_duration(digest.now - m.created_at)
        if response is not None:
            when = f"answered after {format_duration(response)}"
        shown.append(
            Item(
                id=m.id,
                when=when,
                sla="" if section.key == "answered" else digest.sla.get(m.id, ""),
                platform=one_line(m.platform),
                account=one_line(m.account),
                author=one_line(m.author),
                new=section.key == "overdue" and m.id in digest.new_ids,
                excerpt=one_line(f"{m.title}: {m.text}" if m.title else m.text, EXCERPT),
                url=one_line(m.url),
            )
        )
    return shown


def plain_text(digest: Digest, prefix: str) -> str:
    """The text/plain part; also what `digest` prints for cron's MAILTO."""
    lines = [f"{prefix} digest, {digest.now:%a %d %b %Y %H:%M} UTC", scorecard(digest), ""]
    if not digest.waiting_count:
        lines += ["Nothing waiting for an answer. 🎉", ""]
    for section in digest.sections:
        if not section.total:
            continue
        lines.append(f"{section.title.upper()} ({section.total})")
        for item in items(digest, section):
            facts = [item.when, item.sla, f"{item.platform}/{item.account}", item.author]
            facts += ["new"] if item.new else []
            lines.append(f"  #{item.id} " + " · ".join(f for f in facts if f))
            lines += textwrap.wrap(
                item.excerpt, 76, initial_indent="    ", subsequent_indent="    "
            )
            lines.append("    " + (item.url or "(no link)"))
        if section.total > len(section.items):
            lines.append(f"  … and {section.total - len(section.items)} more: mentionwatch list")
        lines.append("")
    if digest.first:
        lines.append(f"First digest: \"new\" and \"answered\" cover the last "
                     f"{format_duration(digest.now - digest.since)}.")  # fmt: skip
    lines.append("Clear items with: mentionwatch done|dismiss|snooze ID (see mentionwatch list).")
    return "\n".join(lines) + "\n"


def compose(digest: Digest, settings: DigestSettings, recipients: Sequence[str]) -> EmailMessage:
    """The multipart/alternative message: plain text first, then HTML, UTF-8 throughout."""
    from mentionwatch.digest_html import render_html

    sender = settings.sender or "mentionwatch@localhost"
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    title = subject(digest, settings.subject_prefix)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = sender
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(digest.now)
    message["Message-ID"] = make_msgid("digest", domain=domain)
    # RFC 3834: tells vacation responders and ticket systems not to answer a robot.
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps every line 7-bit and short, whatever the server supports.
    message.set_content(plain_text(digest, settings.subject_prefix), cte="quoted-printable")
    message.add_alternative(
        render_html(digest, settings.subject_prefix, title), subtype="html", cte="quoted-printable"
    )
    return message


def plain_part(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


# -- the flow --------------------------------------------------------------------------------


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
    last = store.last_digest()
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
        )
    )
    return RunResult(Outcome.SENT, digest, message, last, refused)
