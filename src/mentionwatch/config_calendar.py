"""The calendar keys of [settings] and [[accounts]]: business_hours, timezone, holidays.

Apart from config.py so that commands reading no config never import it; the time zone data
is loaded only for a `timezone` key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from mentionwatch.config_fields import get_value
from mentionwatch.errors import ConfigError

if TYPE_CHECKING:
    from mentionwatch.business_hours import Calendar


def calendar_parts(
    table: Mapping[str, Any], where: str, hours: str, zone: str, holidays: tuple[date, ...]
) -> tuple[str, str, tuple[date, ...]]:
    """business_hours, timezone and holidays; each one falls back on its own to the one given
    (an account's to [settings], [settings] to none)."""
    # Imported here: commands on a config without a calendar never load the time zone data.
    from mentionwatch.business_hours import load_zone, parse_holiday

    hours = get_value(table, "business_hours", str, where, hours)
    zone = get_value(table, "timezone", str, where, zone)
    if "timezone" in table:
        try:
            load_zone(zone)
        except ValueError as exc:
            raise ConfigError(f"{where}: key 'timezone': {exc}") from None
    if "holidays" in table:
        value = table["holidays"]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: key 'holidays' must be a list of dates like 2026-12-25")
        try:
            holidays = tuple(parse_holiday(v) for v in value)
        except ValueError as exc:
            raise ConfigError(f"{where}: key 'holidays': {exc}") from None
    return hours, zone, holidays


def calendar(
    table: Mapping[str, Any],
    where: str,
    hours: str,
    zone: str,
    holidays: tuple[date, ...],
    settings_raw: Mapping[str, Any] | None = None,
) -> Calendar | None:
    from mentionwatch.business_hours import Calendar, load_zone, parse_hours

    if not hours:
        # [settings] may list holidays for accounts that set their own hours.
        if table.get("holidays") and table is not settings_raw:
            raise ConfigError(f"{where}: key 'holidays' needs 'business_hours' to mean anything")
        return None
    if not zone:
        raise ConfigError(
            f"{where}: key 'business_hours' needs a 'timezone' (here or in [settings]), "
            'like "Europe/Berlin"'
        )
    try:
        windows = parse_hours(hours)
    except ValueError as exc:
        raise ConfigError(f"{where}: key 'business_hours': {exc}") from None
    return Calendar(hours, load_zone(zone), windows, frozenset(holidays))
