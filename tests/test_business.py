"""Business-time arithmetic: weekends, holidays, DST both ways, nights past midnight."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch.business_hours import Calendar, Window, first_instant, parse_hours
from mentionwatch.config import load
from mentionwatch.errors import ConfigError
from mentionwatch.models import State, StoredMention
from mentionwatch.sla import BREACHED, DUE_SOON, Sla, sla_status

MINUTE = timedelta(minutes=1)
# Zones whose transitions fall inside windows or outside them, never on a window's edge,
# so that a minute-by-minute reading of the wall clock is an exact oracle.
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Auckland",
         "Asia/Kolkata", "UTC"]  # fmt: skip
SPECS = [
    "Mon-Fri 09:00-18:00",
    "Mon-Thu 08:00-17:00, Fri 08:00-14:00",
    "Sat-Sun 22:00-06:00",
    "Mon-Fri 09:00-12:00 13:00-17:30",
    "Fri-Mon 20:00-08:00",
    "Wed 23:00-05:00, Thu 04:00-10:00",
    "Mon-Sun 00:00-24:00",
]
# Days when something happens: DST changes in both hemispheres, holidays, a leap day.
INTERESTING = [date(2026, 3, 8), date(2026, 3, 29), date(2026, 4, 5), date(2026, 9, 27),
               date(2026, 10, 4), date(2026, 10, 25), date(2026, 11, 1), date(2026, 12, 24),
               date(2027, 1, 1), date(2028, 2, 28)]  # fmt: skip


def cal(spec: str, zone: str = "Europe/Berlin", holidays: tuple[str, ...] = ()) -> Calendar:
    return Calendar.parse(spec, zone, holidays)


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """The first instant the clock in `zone` shows that time."""
    return first_instant(datetime(year, month, day, hour, minute), ZoneInfo(zone))


@st.composite
def moments(draw: st.DrawFn, zone: ZoneInfo) -> datetime:
    """Minute-aligned instants, often within a few days of an interesting date."""
    if draw(st.booleans()):
        day = draw(st.sampled_from(INTERESTING)) - timedelta(days=draw(st.integers(0, 3)))
    else:
        day = draw(st.dates(date(2025, 1, 1), date(2028, 12, 31)))
    wall = datetime.combine(day, time()) + draw(st.integers(0, 1439)) * MINUTE
    return first_instant(wall, zone)


def is_business(calendar: Calendar, moment: datetime) -> bool:
    """The oracle: read the wall clock at `moment` and look the time up in the windows."""
    wall = moment.astimezone(calendar.zone)
    minute = wall.hour * 60 + wall.minute
    for day, offset in ((wall.date(), 0), (wall.date() - timedelta(days=1), 1440)):
        if day in calendar.holidays:
            continue
        for w in calendar.windows:
            if w.weekday == day.weekday() and w.start <= minute + offset < w.end:
                return True
    return False


@settings(max_examples=60, deadline=None)
@given(data=st.data(), spec=st.sampled_from(SPECS), zone_name=st.sampled_from(ZONES))
def test_business_time_matches_a_minute_by_minute_reading_of_the_clock(
    data: st.DataObject, spec: str, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    start = data.draw(moments(zone))
    minutes = data.draw(st.integers(0, 3 * 1440))
    near = [start.astimezone(zone).date() + timedelta(days=d) for d in range(-1, 4)]
    holidays = data.draw(st.lists(st.sampled_from(near), max_size=2))
    calendar = Calendar(spec, zone, parse_hours(spec), frozenset(holidays))
    end = start + minutes * MINUTE
    expected = sum(is_business(calendar, start + i * MINUTE) for i in range(minutes))
    assert calendar.business_time_between(start, end) == expected * MINUTE


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    spec=st.sampled_from(SPECS),
    zone_name=st.sampled_from([*ZONES, "America/Santiago", "America/Sao_Paulo"]),
    seconds=st.integers(1, 40 * 3600),
    jitter=st.integers(0, 59_999_999),
)
def test_the_deadline_is_the_first_moment_the_time_has_passed(
    data: st.DataObject, spec: str, zone_name: str, seconds: int, jitter: int
) -> None:
    calendar = cal(spec, zone_name, ("2026-12-25", "2026-03-30"))
    start = data.draw(moments(calendar.zone)) + timedelta(microseconds=jitter)
    delta = timedelta(seconds=seconds)
    due = calendar.add_business_time(start, delta)
    assert calendar.business_time_between(start, due) == delta
    assert calendar.business_time_between(start, due - timedelta(microseconds=1)) < delta


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    spec=st.sampled_from(SPECS),
    zone_name=st.sampled_from(ZONES),
    sla_minutes=st.integers(1, 16 * 60),
    waited=st.integers(0, 6 * 1440),
)
def test_a_mention_is_breached_exactly_from_its_deadline_and_due_soon_from_warn_at(
    data: st.DataObject, spec: str, zone_name: str, sla_minutes: int, waited: int
) -> None:
    """The SLA states `list`, `check` and the reports show agree with the calendar's deadline."""
    calendar = cal(spec, zone_name, ("2026-12-25",))
    sla = Sla(sla_minutes * MINUTE, 0.75, calendar)
    created = data.draw(moments(calendar.zone))
    now = created + waited * MINUTE
    mention = StoredMention(1, "a", "mastodon", "r", "mention", "", "", "", "", created,
                            created, State.OPEN)  # fmt: skip
    status, left = sla_status(mention, sla, now)
    assert (status == BREACHED) == (now >= sla.due(created))
    assert left == sla.target - calendar.business_time_between(created, now)
    warn_from = calendar.add_business_time(created, sla.target * 0.75)
    assert (status == DUE_SOON) == (warn_from <= now < sla.due(created))


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    spec=st.sampled_from(SPECS),
    zone_name=st.sampled_from(ZONES),
    gaps=st.tuples(st.integers(0, 5000), st.integers(0, 5000)),
)
def test_splitting_an_interval_never_changes_its_business_time(
    data: st.DataObject, spec: str, zone_name: str, gaps: tuple[int, int]
) -> None:
    calendar = cal(spec, zone_name)
    a = data.draw(moments(calendar.zone))
    b, c = a + gaps[0] * MINUTE, a + (gaps[0] + gaps[1]) * MINUTE
    whole = calendar.business_time_between(a, c)
    assert whole == calendar.business_time_between(a, b) + calendar.business_time_between(b, c)
    assert timedelta(0) <= whole <= c - a
    assert calendar.business_time_between(c, a) == -whole


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    zone_name=st.sampled_from(
        [
            "Europe/Berlin",
            "America/Santiago",
            "America/Sao_Paulo",
            "Pacific/Apia",
            "Australia/Lord_Howe",
            "America/Havana",
            "Asia/Tehran",
        ]  # fmt: skip
    ),
    start=st.datetimes(datetime(2005, 1, 1), datetime(2030, 1, 1)),
    seconds=st.integers(0, 10 * 86400),
)
def test_a_round_the_clock_calendar_counts_real_time_across_any_dst_change(
    data: st.DataObject, zone_name: str, start: datetime, seconds: int
) -> None:
    """Zones here switch at midnight (Santiago, Havana, Tehran) and Apia skipped a whole day."""
    calendar = cal("Mon-Sun 00:00-24:00", zone_name)
    a = start.replace(tzinfo=UTC)
    b = a + timedelta(seconds=seconds)
    assert calendar.business_time_between(a, b) == b - a
    assert calendar.add_business_time(a, b - a) == b


@settings(max_examples=100, deadline=None)
@given(minutes=st.integers(0, 63 * 60 - 1), weeks=st.integers(0, 104))
def test_a_mention_that_arrives_after_hours_is_due_from_the_next_opening(
    minutes: int, weeks: int
) -> None:
    calendar = cal("Mon-Fri 09:00-18:00")
    friday_close = local("Europe/Berlin", 2026, 1, 2, 18, 0) + timedelta(weeks=weeks)
    arrival = friday_close + minutes * MINUTE  # anywhere until Monday 09:00 (wall or DST)
    monday = friday_close.astimezone(calendar.zone).date() + timedelta(days=3)
    if arrival.astimezone(calendar.zone) >= datetime.combine(monday, time(9), calendar.zone):
        return
    due = calendar.add_business_time(arrival, timedelta(hours=1))
    assert due.astimezone(calendar.zone).replace(tzinfo=None) == datetime.combine(monday, time(10))
    assert calendar.business_time_between(arrival, due) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("zone", "night", "hours"),
    [
        ("Europe/Berlin", (2026, 3, 28), 7),  # spring forward at 02:00 on Sunday
        ("Europe/Berlin", (2026, 10, 24), 9),  # fall back at 03:00 on Sunday
        ("Europe/Berlin", (2026, 10, 31), 8),
        ("America/New_York", (2026, 3, 7), 7),
        ("America/New_York", (2026, 10, 31), 9),
    ],
)
def test_a_night_shift_over_a_dst_change_is_an_hour_shorter_or_longer(
    zone: str, night: tuple[int, int, int], hours: int
) -> None:
    calendar = cal("Sat-Sun 22:00-06:00", zone)
    evening = local(zone, *night, 20, 0)
    morning = evening + timedelta(hours=14)
    assert calendar.business_time_between(evening, morning) == timedelta(hours=hours)


def test_day_windows_on_dst_days_keep_their_length() -> None:
    calendar = cal("Mon-Sun 09:00-18:00")
    for day in (29, 30):  # Sunday of the change, then Monday
        opening = local("Europe/Berlin", 2026, 3, day, 0, 0)
        assert calendar.business_time_between(opening, opening + timedelta(hours=23)) == (
            timedelta(hours=9)
        )


def test_a_window_inside_the_skipped_hour_is_empty_that_day_only() -> None:
    calendar = cal("Sun 02:00-03:00")
    change = local("Europe/Berlin", 2026, 3, 29, 0, 0)
    assert calendar.business_time_between(change, change + timedelta(hours=6)) == timedelta(0)
    later = change + timedelta(weeks=1)
    assert calendar.business_time_between(later, later + timedelta(hours=6)) == timedelta(hours=1)


def test_a_time_in_the_repeated_hour_means_its_first_reading() -> None:
    calendar = cal("Sun 02:30-04:00")
    day = local("Europe/Berlin", 2026, 10, 25, 0, 0)
    # 02:30 summer time (00:30 UTC) to 04:00 winter time (03:00 UTC).
    assert calendar.business_time_between(day, day + timedelta(hours=8)) == timedelta(hours=2.5)
    assert first_instant(datetime(2026, 10, 25, 2, 30), calendar.zone) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert first_instant(datetime(2026, 3, 29, 2, 30), calendar.zone) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )


def test_weekends_and_holidays_count_nothing() -> None:
    calendar = cal("Mon-Fri 09:00-18:00", holidays=("2026-12-25",))
    saturday = local("Europe/Berlin", 2026, 12, 19, 0, 0)
    assert calendar.business_time_between(saturday, saturday + timedelta(days=2)) == timedelta(0)
    christmas = local("Europe/Berlin", 2026, 12, 25, 0, 0)
    assert calendar.business_time_between(christmas, christmas + timedelta(days=1)) == (
        timedelta(0)
    )
    eve = local("Europe/Berlin", 2026, 12, 24, 17, 0)
    due = calendar.add_business_time(eve, timedelta(hours=2))
    assert due == local("Europe/Berlin", 2026, 12, 28, 10, 0)  # Thu 1h, Fri off, weekend, Mon


def test_a_holiday_drops_the_night_that_starts_on_it_not_the_one_ending_on_it() -> None:
    calendar = cal("Mon-Sun 22:00-06:00", holidays=("2026-12-25",))
    eve = local("Europe/Berlin", 2026, 12, 24, 12, 0)
    # 24th 22:00 to 25th 06:00 counts, 25th 22:00 to 26th 06:00 does not.
    assert calendar.business_time_between(eve, eve + timedelta(days=2)) == timedelta(hours=8)


def test_overlapping_windows_count_once() -> None:
    calendar = cal("Mon 08:00-12:00, Mon 10:00-14:00, Sun 20:00-09:00")
    monday = local("Europe/Berlin", 2026, 11, 23, 0, 0)
    assert calendar.business_time_between(monday, monday + timedelta(days=1)) == timedelta(hours=14)


def test_hours_are_parsed_in_every_documented_form() -> None:
    assert parse_hours("Mon-Fri 09:00-18:00")[0] == Window(0, 540, 1080)
    assert len(parse_hours("Mon-Fri 09:00-18:00")) == 5
    split = parse_hours("Mon-Thu 08:00-17:00, Fri 08:00-14:00")
    assert [w.weekday for w in split] == [0, 1, 2, 3, 4] and split[-1].end == 840
    assert parse_hours("Sat-Sun 22:00-06:00") == (Window(5, 1320, 1800), Window(6, 1320, 1800))
    assert [w.weekday for w in parse_hours("fri-mon 9:00-24:00")] == [4, 5, 6, 0]
    assert len(parse_hours("Monday 09:00-12:00 13:00-17:00; Tue 10:00-11:00")) == 3


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not business hours"),
        ("weekdays 09:00-18:00", "'weekdays' is not a day"),
        ("Mon-Fri 9-18", "not a time range"),
        ("Mon-Fri 09:00-25:00", "does not exist"),
        ("Mon-Fri 09:00-09:00", "is empty"),
        ("09:00-18:00", "not days and hours"),
    ],
)
def test_bad_hours_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_hours(text)


CONFIG = """
[settings]
sla = "1h"
business_hours = "Mon-Fri 09:00-18:00"
timezone = "Europe/Berlin"
holidays = ["2026-12-25", 2026-12-26]

[[accounts]]
name = "office"
platform = "hackernews"

[[accounts]]
name = "night"
platform = "hackernews"
business_hours = "Sat-Sun 22:00-06:00"
timezone = "America/New_York"
holidays = []
"""


def test_calendar_keys_reach_accounts_one_by_one(write_config: Callable[[str], Path]) -> None:
    config = load(write_config(CONFIG))
    office, night = (a.calendar for a in config.accounts)
    assert office is not None and night is not None
    assert office.describe() == "Mon-Fri 09:00-18:00 Europe/Berlin"
    assert office.holidays == {date(2026, 12, 25), date(2026, 12, 26)}
    assert night.describe() == "Sat-Sun 22:00-06:00 America/New_York" and not night.holidays


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('timezone = "America/New_York"', 'timezone = "Mars/Base"'),
         "account 'night': key 'timezone': 'Mars/Base' is not a time zone"),
        (('business_hours = "Sat-Sun', 'business_hours = "Sat-Sunday-Mon'),
         "account 'night': key 'business_hours'"),
        (("holidays = []", 'holidays = ["Christmas"]'),
         "account 'night': key 'holidays': 'Christmas' is not a date"),
        (("holidays = []", 'holidays = "2026-12-25"'), "key 'holidays' must be a list"),
        (('timezone = "Europe/Berlin"\n', ""),
         "[settings]: key 'business_hours' needs a 'timezone'"),
    ],
)  # fmt: skip
def test_calendar_mistakes_are_one_line_naming_account_and_key(
    write_config: Callable[[str], Path], change: tuple[str, str], expected: str
) -> None:
    path = write_config(CONFIG.replace(*change, 1))
    with pytest.raises(ConfigError) as error:
        load(path)
    assert expected in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_holidays_without_hours_are_refused_for_an_account(
    write_config: Callable[[str], Path],
) -> None:
    text = '[[accounts]]\nname = "a"\nplatform = "hackernews"\nholidays = ["2026-12-25"]\n'
    with pytest.raises(ConfigError, match="account 'a': key 'holidays' needs 'business_hours'"):
        load(write_config(text))
