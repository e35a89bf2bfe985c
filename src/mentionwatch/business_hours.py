"""Business calendars: when a team is at work, and how much of that time lies between instants.

Every window is turned into two real instants for each local day, so DST is exact: a night
shift over the spring-forward jump lasts an hour less, one over the fall-back an hour more.
A wall-clock time means the first instant at which the local clock shows that time or later:
the first of two in the repeated hour, the jump itself for a time that never happens.
A window belongs to the day it starts on: a holiday drops the windows that start on it, so
"Fri 22:00-06:00" still counts Friday night into a Saturday holiday.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = 1440  # minutes
_ZERO = timedelta(0)
_SEGMENT = re.compile(r"^([a-z]+)(?:\s*-\s*([a-z]+))?\s+(.+)$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_EXAMPLE = '"Mon-Fri 09:00-18:00" or "Mon-Thu 08:00-17:00, Fri 08:00-14:00"'


@dataclass(frozen=True)
class Window:
    """Working time that starts on `weekday` (0 is Monday), in minutes after local midnight.

    `end` is above 1440 when the window runs past midnight into the next day.
    """

    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class Calendar:
    """Business hours in one time zone, with holidays; all instants in and out are aware."""

    hours: str
    zone: ZoneInfo
    windows: tuple[Window, ...]
    holidays: frozenset[date] = frozenset()
    # Each local day's windows as UTC instants; computed once, since stats ask for the same days.
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def parse(cls, hours: str, timezone: str, holidays: Iterable[object] = ()) -> Calendar:
        """Build from config values; ValueError says which part is wrong."""
        return cls(
            hours, load_zone(timezone), parse_hours(hours), frozenset(map(parse_holiday, holidays))
        )

    def describe(self) -> str:
        return f"{self.hours} {self.zone.key}"

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end`; negative when `end` comes first."""
        if end < start:
            return -self.business_time_between(end, start)
        total = _ZERO
        covered = start
        for opens, closes in self._intervals(self._local_day(start) - timedelta(days=1)):
            if opens >= end:
                break
            # Windows may overlap (a night shift into the next morning's): count time once.
            opens, closes = max(opens, covered), min(closes, end)
            if closes > opens:
                total += closes - opens
                covered = closes
        return total

    def add_business_time(self, start: datetime, delta: timedelta) -> datetime:
        """The earliest instant by which `delta` of working time has passed since `start`."""
        if delta <= _ZERO:
            return start
        remaining = delta
        covered = start
        for opens, closes in self._intervals(self._local_day(start) - timedelta(days=1)):
            opens = max(opens, covered)
            if closes <= opens:
                continue
            if closes - opens >= remaining:
                return opens + remaining
            remaining -= closes - opens
            covered = closes
        raise AssertionError("unreachable: _intervals never ends")  # pragma: no cover

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _intervals(self, first: date) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals in order of opening, from the windows that start on `first` on.

        Endless: callers stop. Every calendar has a window, and holidays are finite.
        """
        day = first
        while True:
            yield from self._day(day)
            day += timedelta(days=1)

    def _day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        found = self._days.get(day)
        if found is None:
            if day in self.holidays:
                found = ()
            else:
                found = tuple(
                    sorted(
                        (self._instant(day, w.start), self._instant(day, w.end))
                        for w in self.windows
                        if w.weekday == day.weekday()
                    )
                )
            self._days[day] = found
        return found

    def _instant(self, day: date, minute: int) -> datetime:
        day += timedelta(days=minute // _DAY)
        minute %= _DAY
        return first_instant(datetime.combine(day, time(minute // 60, minute % 60)), self.zone)


def first_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first UTC instant at which the clock in `zone` shows `wall` (naive) or later."""
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(early, zone) == wall:
        return early  # fold=0 is the first of two readings in a repeated hour
    # `wall` falls in a gap: the two folds land on either side of the jump; find it.
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(early, late), max(early, late)
    if not (_wall(lo, zone) < wall < _wall(hi, zone)):
        return early  # pragma: no cover - no known zone does this
    step = timedelta(seconds=1)
    while hi - lo > step:
        mid = lo + (hi - lo) // 2
        if _wall(mid, zone) > wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def parse_hours(text: str) -> tuple[Window, ...]:
    """Parse "Mon-Fri 09:00-18:00", "Mon-Thu 08:00-17:00, Fri 08:00-14:00", "Sat-Sun 22:00-06:00".

    Several ranges may follow the days ("Mon-Fri 09:00-12:00 13:00-17:00"); a range that ends
    at or before it starts runs past midnight; "24:00" ends a day.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not business hours like {_EXAMPLE}")
    windows: list[Window] = []
    for segment in re.split(r"[,;]", text.lower()):
        match = _SEGMENT.match(segment.strip())
        if not match:
            raise ValueError(f"{segment.strip()!r} is not days and hours like {_EXAMPLE}")
        days = _days(match.group(1), match.group(2))
        for part in match.group(3).split():
            start, end = _range(part)
            windows.extend(Window(day, start, end) for day in days)
    return tuple(windows)


def _days(first: str, last: str | None) -> list[int]:
    begin = _weekday(first)
    end = _weekday(last) if last else begin
    return [(begin + i) % 7 for i in range((end - begin) % 7 + 1)]


def _weekday(name: str) -> int:
    for index, day in enumerate(DAY_NAMES):
        full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        if name in (day, full[index]):
            return index
    raise ValueError(f"{name!r} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _range(text: str) -> tuple[int, int]:
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time range like 09:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} has a time that does not exist (00:00 to 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise ValueError(f"{text!r} is empty; a whole day is 00:00-24:00")
    if end < start:
        end += _DAY  # runs past midnight
    return start, end


def load_zone(name: str) -> ZoneInfo:
    """An IANA time zone; the `tzdata` package supplies them where the system has none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f'{name!r} is not a time zone; use an IANA name like "Europe/Berlin" or "UTC"'
        ) from None


def parse_holiday(value: object) -> date:
    """A TOML date (2026-12-25) or a "2026-12-25" string."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f'{value!r} is not a date like "2026-12-25"')
