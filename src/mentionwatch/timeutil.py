"""The one duration parser, the one duration formatter and the one time formatter."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Patterns, not compiled ones: re compiles them on first use, so `list` never does.
_PART = r"(\d+)\s*([smhdw])"
_WHOLE = r"^\s*(?:\d+\s*[smhdw]\s*)+$"


def parse_duration(text: str) -> timedelta:
    """Parse "90m", "1h30m", "3d", "2w"; raise ValueError with the accepted form otherwise."""
    if not isinstance(text, str) or not re.match(_WHOLE, text.lower()):
        raise ValueError(f"{text!r} is not a duration like 90m, 4h, 1h30m, 3d or 2w")
    seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(_PART, text.lower()))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Two most significant units: "45s", "3h 12m", "2d 4h"."""
    total = int(abs(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    shown = [f"{n}{u}" for n, u in parts[first : first + 2] if n]
    return " ".join(shown) or "0s"


# What `format_time` shows by default: a date and a time of day to the minute.
MINUTE = "%Y-%m-%d %H:%M"


def display_zone(name: str) -> tzinfo | None:
    """The zone times are shown in: an IANA name ([settings] timezone), else None.

    None stands for the system's local zone: `astimezone(None)` asks the C library for each
    instant, so its summer and winter time are both right without knowing the zone's name.
    """
    if not name:
        return None
    from zoneinfo import ZoneInfo  # only configs that name a zone pay for loading its data

    return ZoneInfo(name)


def format_time(moment: datetime, zone: tzinfo | None, fmt: str = MINUTE) -> str:
    """A moment as its wall clock in `zone` (None: the system's), with the zone's abbreviation.

    E.g. "2026-11-20 16:00 CET". Zones without a letter abbreviation show their offset
    ("UTC-03"). Stored and exported times stay UTC; this is for people reading them.
    """
    shown = to_utc(moment).astimezone(zone)
    return f"{shown.strftime(fmt)} {zone_abbreviation(shown)}"


def zone_abbreviation(shown: datetime) -> str:
    name = shown.tzname() or ""
    return f"UTC{name}" if name.startswith(("+", "-")) else name


def zone_label(zone: tzinfo | None) -> str:
    """The zone's name for a heading: its IANA key, or the system's local abbreviation."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    return zone_abbreviation(datetime.now(UTC).astimezone(zone))


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, since every platform we read reports UTC."""
    zone = moment.tzinfo
    if zone is UTC:  # nearly always (platforms send UTC): no conversion to pay for
        return moment
    if zone is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_timestamp(value: str | int | float) -> datetime:
    """ISO 8601 (with Z or offset) or Unix seconds, to an aware UTC datetime."""
    if isinstance(value, str):
        # Since 3.11 fromisoformat reads "2026-11-30T12:00:00.000Z" itself, as UTC: ~10x
        # faster than rewriting the Z first (two of these per mention in a poll). What it
        # refuses (spaces around, a lowercase z) takes the long way, which reads it or says why.
        try:
            return to_utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return to_utc(datetime.fromisoformat(text))


def to_db(moment: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order in SQL."""
    # isoformat is ~5x faster than strftime, and pads the year to four digits where glibc's
    # %Y does not; cut at the seconds, it needs no replace() first.
    return to_utc(moment).isoformat(timespec="seconds")[:19] + "Z"


def from_db(text: str) -> datetime:
    # fromisoformat reads the "Z" since 3.11, and is ~15x faster than strptime.
    return datetime.fromisoformat(text)
