"""Response-time figures and SLA checks, computed from store queries; rendering is elsewhere.

Every figure describes the mentions received in the window, except "oldest waiting" for the
whole and per account or platform, which looks at every open mention however old: the
worst case must not drop out of a report because it is older than the window (an account
whose only waiting mentions are older still gets its row).
Business time is the SLA's clock: an account without business hours counts every hour.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.sla import BREACHED, Sla, mention_sla, sla_cutoffs, sla_status
from mentionwatch.store import MentionFilter, Store
from mentionwatch.text import strip_controls
from mentionwatch.timeutil import zone_label

GROUPINGS = ("account", "platform", "day")
# What `stats` and the Markdown/HTML reports look back over unless told otherwise.
REPORT_WINDOW = timedelta(days=30)
# Upper bounds of the histogram's buckets; the last bucket is everything slower.
BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("< 5m", timedelta(minutes=5)),
    ("5-15m", timedelta(minutes=15)),
    ("15-30m", timedelta(minutes=30)),
    ("30m-1h", timedelta(hours=1)),
    ("1-2h", timedelta(hours=2)),
    ("2-4h", timedelta(hours=4)),
    ("4-8h", timedelta(hours=8)),
    ("8-24h", timedelta(days=1)),
    ("1-3d", timedelta(days=3)),
    ("> 3d", timedelta.max),
)


@dataclass(frozen=True)
class Times:
    """Summary of a set of first-response times."""

    count: int
    median: timedelta
    p90: timedelta
    mean: timedelta
    quickest: timedelta
    slowest: timedelta

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> Times | None:
        if not values:
            return None
        seconds = sorted(v.total_seconds() for v in values)
        # quantiles() needs two points; the 90th percentile of one value is that value.
        p90 = seconds[0]
        if len(seconds) > 1:
            p90 = statistics.quantiles(seconds, n=10, method="inclusive")[-1]
        return cls(
            count=len(seconds),
            median=timedelta(seconds=statistics.median(seconds)),
            p90=timedelta(seconds=p90),
            mean=timedelta(seconds=statistics.fmean(seconds)),
            quickest=timedelta(seconds=seconds[0]),
            slowest=timedelta(seconds=seconds[-1]),
        )


@dataclass(frozen=True)
class Waiting:
    mention: StoredMention
    age: timedelta
    business_age: timedelta | None
    sla_status: str


@dataclass(frozen=True)
class Figures:
    group: str
    received: int
    answered: int
    dismissed: int
    open: int
    snoozed: int
    # answered / (received - dismissed): dismissed mentions needed no answer.
    response_rate: float | None
    # Answered within the SLA (on its clock) / answered.
    within_sla: float | None
    wall: Times | None
    business: Times | None
    oldest_waiting: Waiting | None


@dataclass(frozen=True)
class Stats:
    since: datetime
    now: datetime
    by: str | None
    zone: str
    total: Figures
    groups: tuple[Figures, ...]
    histogram: tuple[tuple[str, int], ...]
    daily: tuple[tuple[date, int, int], ...]  # day, received, answered
    calendars: dict[str, str]  # account -> its business hours
    tz: tzinfo | None = None  # where times are shown; None is the system's local zone


@dataclass
class _Tally:
    received: int = 0
    answered: int = 0
    dismissed: int = 0
    open: int = 0
    snoozed: int = 0
    within: int = 0
    wall: list[timedelta] = field(default_factory=list)
    business: list[timedelta] = field(default_factory=list)
    has_calendar: bool = False
    waiting: list[Waiting] = field(default_factory=list)

    def add(self, m: StoredMention, sla: Sla, now: datetime) -> None:
        self.received += 1
        self.has_calendar = self.has_calendar or sla.calendar is not None
        if m.state is State.ANSWERED and m.answered_at is not None:
            self.answered += 1
            # Clock skew between platforms must not make a reply look older than its mention.
            wall = max(m.answered_at - m.created_at, timedelta(0))
            counted = max(sla.elapsed(m.created_at, m.answered_at), timedelta(0))
            self.wall.append(wall)
            self.business.append(counted)
            self.within += counted <= sla.target
        elif m.state is State.DISMISSED:
            self.dismissed += 1
        elif m.state is State.SNOOZED:
            self.snoozed += 1
        else:
            self.open += 1

    def figures(self, group: str, oldest: Waiting | None) -> Figures:
        needing = self.received - self.dismissed
        return Figures(
            group=group,
            received=self.received,
            answered=self.answered,
            dismissed=self.dismissed,
            open=self.open,
            snoozed=self.snoozed,
            response_rate=self.answered / needing if needing else None,
            within_sla=self.within / self.answered if self.answered else None,
            wall=Times.of(self.wall),
            business=Times.of(self.business) if self.has_calendar else None,
            oldest_waiting=oldest,
        )


def day_zone(config: Config) -> tzinfo | None:
    """The zone whose days `--by day` counts: the one times are shown in (None: the system's)."""
    return config.zone


def compute(
    store: Store,
    config: Config,
    now: datetime,
    *,
    window: timedelta,
    by: str | None = None,
    accounts: Sequence[str] = (),
    platforms: Sequence[str] = (),
) -> Stats:
    """Figures for the mentions received in the last `window`, as a whole and per group."""
    start = now - window
    zone = day_zone(config)
    total = _Tally()
    groups: dict[str, _Tally] = defaultdict(_Tally)
    daily: dict[date, list[int]] = {}
    for m in store.received_since(start, now, accounts, platforms):
        sla = mention_sla(config, m)
        day = m.created_at.astimezone(zone).date()
        total.add(m, sla, now)
        if by is not None:
            key = {"account": m.account, "platform": m.platform, "day": day.isoformat()}[by]
            groups[key].add(m, sla, now)
            if by == "day" and m.state is State.OPEN:
                groups[key].waiting.append(_waiting(m, sla, now))
        counts = daily.setdefault(day, [0, 0])
        counts[0] += 1
        counts[1] += m.state is State.ANSWERED
    oldest = [_waiting(m, mention_sla(config, m), now)
              for m in store.oldest_waiting(now, accounts, platforms)]  # fmt: skip
    if by in ("account", "platform"):
        for w in oldest:
            groups.setdefault(getattr(w.mention, by), _Tally())  # a row even if none received
    figures = []
    for key in sorted(groups):
        tally = groups[key]
        if by == "day":
            candidates = tally.waiting
        else:
            candidates = [w for w in oldest if getattr(w.mention, str(by)) == key]
        figures.append(tally.figures(key, _worst(candidates)))
    return Stats(
        since=start,
        now=now,
        by=by,
        zone=zone_label(zone),
        tz=zone,
        total=total.figures("all", _worst(oldest)),
        groups=tuple(figures),
        histogram=_histogram(total.business),
        daily=_days(daily, start, now, zone),
        calendars={
            a.name: a.calendar.describe()
            for a in config.accounts
            if a.calendar
            and (not accounts or a.name in accounts)
            and (not platforms or a.platform in platforms)
        },
    )


def _waiting(m: StoredMention, sla: Sla, now: datetime) -> Waiting:
    business = sla.elapsed(m.created_at, now) if sla.calendar else None
    return Waiting(m, now - m.created_at, business, sla_status(m, sla, now)[0])


def _worst(candidates: Iterable[Waiting]) -> Waiting | None:
    """The oldest: received first, like the digest's "oldest" (ages on different accounts'
    business clocks do not compare)."""
    return min(candidates, key=lambda w: (w.mention.created_at, w.mention.id), default=None)


def _histogram(times: Sequence[timedelta]) -> tuple[tuple[str, int], ...]:
    counts = dict.fromkeys((label for label, _ in BUCKETS), 0)
    for t in times:
        label = next(label for label, upper in BUCKETS if t < upper)
        counts[label] += 1
    return tuple(counts.items())


def _days(
    counts: dict[date, list[int]], start: datetime, now: datetime, zone: tzinfo | None
) -> tuple[tuple[date, int, int], ...]:
    """Every day of the window, quiet ones included, so a sparkline keeps its time axis."""
    first, last = start.astimezone(zone).date(), now.astimezone(zone).date()
    days = []
    while first <= last:
        received, answered = counts.get(first, (0, 0))
        days.append((first, received, answered))
        first += timedelta(days=1)
    return tuple(days)


# -- check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    mention: StoredMention
    sla_status: str
    left: timedelta  # negative: overdue by that much on the SLA's clock
    too_old: bool  # older than --max-age (wall clock)
    business: bool  # `left` counts business hours


def breaches(
    store: Store,
    config: Config,
    now: datetime,
    accounts: Sequence[str] = (),
    max_age: timedelta | None = None,
    use_sla: bool = True,
    assignees: Sequence[str] = (),
    unassigned: bool = False,
    priorities: Sequence[int] = (),
    tags: Sequence[str] = (),
) -> list[Breach]:
    """Waiting mentions past their SLA (business time where set) or older than `max_age`.

    `use_sla=False` finds only those older than `max_age` (monitors that want age alone).
    """
    if not use_sla:
        assert max_age is not None
        where = MentionFilter(accounts=tuple(accounts), older_than=max_age,
                              assignees=tuple(assignees), unassigned=unassigned,
                              priorities=tuple(priorities), tags=tuple(tags))  # fmt: skip
    else:
        # A mention younger than both its SLA and max_age cannot be breaching.
        due, cut = sla_cutoffs(
            config, now, accounts, lambda t: min(t.target, max_age) if max_age else t.target
        )
        where = MentionFilter(accounts=tuple(accounts), due_before=due, older_than=cut,
                              assignees=tuple(assignees), unassigned=unassigned,
                              priorities=tuple(priorities), tags=tuple(tags))  # fmt: skip
    found = []
    for m in store.mentions(where, now):
        sla = mention_sla(config, m)
        status, left = sla_status(m, sla, now)
        too_old = max_age is not None and now - m.created_at >= max_age
        if not use_sla and status == BREACHED:
            status = "not checked"
        if status == BREACHED or too_old:
            found.append(Breach(m, status, left, too_old, sla.calendar is not None))
    return found


def breached_by(breach: Breach) -> list[str]:
    """Why a mention breached, as `check --json` says it: "sla", "max_age", or both."""
    return [why for why, hit in (("sla", breach.sla_status == BREACHED),
                                 ("max_age", breach.too_old)) if hit]  # fmt: skip


def to_json(stats: Stats) -> dict[str, Any]:
    """The `stats --json` document: durations in seconds, times in ISO 8601."""
    return {
        "since": stats.since.isoformat(),
        "until": stats.now.isoformat(),
        "by": stats.by,
        "timezone": stats.zone,
        "business_hours": stats.calendars,
        "total": _figures_json(stats.total),
        "groups": [_figures_json(f) for f in stats.groups],
        "histogram": [{"bucket": label, "count": n} for label, n in stats.histogram],
        "daily": [
            {"day": day.isoformat(), "received": received, "answered": answered}
            for day, received, answered in stats.daily
        ],
    }


def _figures_json(f: Figures) -> dict[str, Any]:
    oldest = None
    if f.oldest_waiting:
        w = f.oldest_waiting
        oldest = {
            "id": w.mention.id,
            "account": strip_controls(w.mention.account),
            "platform": strip_controls(w.mention.platform),
            "created_at": w.mention.created_at.isoformat(),
            "age_seconds": seconds(w.age),
            "business_age_seconds": (
                seconds(w.business_age) if w.business_age is not None else None
            ),
            "sla_status": w.sla_status,
        }
    return {
        "group": strip_controls(f.group),
        "received": f.received,
        "answered": f.answered,
        "dismissed": f.dismissed,
        "open": f.open,
        "snoozed": f.snoozed,
        "response_rate": f.response_rate,
        "answered_within_sla": f.within_sla,
        "response_seconds": _times_json(f.wall),
        "business_response_seconds": _times_json(f.business),
        "oldest_waiting": oldest,
    }


def _times_json(t: Times | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "count": t.count,
        **{name: seconds(getattr(t, name)) for name in ("median", "p90", "mean")},
        **{name: seconds(getattr(t, name)) for name in ("quickest", "slowest")},
    }


def seconds(delta: timedelta) -> int | float:
    """Whole seconds as an int, anything finer to a tenth."""
    value = delta.total_seconds()
    return int(value) if value.is_integer() else round(value, 1)
