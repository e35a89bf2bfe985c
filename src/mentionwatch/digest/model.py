"""The digest's content: what is overdue, what waits, what is new and what was answered since
the last one, as sections of items, with its subject and scorecard."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from mentionwatch.config import Config
from mentionwatch.digest.settings import DigestSettings
from mentionwatch.models import SentDigest, State, StoredMention
from mentionwatch.sla import BREACHED, mention_sla, sla_label, sla_status
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
    zone: tzinfo | None = None  # where times are shown; None is the system's local zone

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
    where = MentionFilter(states=(State.OPEN,), assignees=settings.assignees,
                          unassigned=settings.unassigned, priorities=settings.priorities,
                          tags=settings.tags)  # fmt: skip
    for mention in store.mentions(where, now):
        if oldest is None or mention.created_at < oldest.created_at:
            oldest = mention  # listed by priority first, so not always the first
        status, left = sla_status(mention, mention_sla(config, mention), now)
        # "New" is what arrived in the window the digest covers: a first poll's backfill
        # finds weeks-old mentions, and seeing them now does not make them new. One that a
        # poll found only after the last digest went out (poll lag) is still news.
        is_new = mention.created_at >= since or bool(
            last
            and mention.first_seen_at > since
            and mention.created_at >= last.covered_since
            and mention.id not in last.mention_ids
        )
        key = "overdue" if status == BREACHED else "new" if is_new else "waiting"
        totals[key] += 1
        if len(lists[key]) < limit:
            lists[key].append(mention)
            sla[mention.id] = sla_label(status, left)
            if is_new:
                new_ids.add(mention.id)
    answered = store.answered_since(since, now, settings.assignees, settings.unassigned)
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
        zone=config.zone,
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
