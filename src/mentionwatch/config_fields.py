"""Reading one value of a config table: every mistake is a ConfigError naming where it is.

Shared by every table's parser (`config` for [settings] and [[accounts]], `digest.settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from mentionwatch.errors import ConfigError
from mentionwatch.timeutil import parse_duration


def check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """Refuse a key that is not `allowed`, suggesting the closest one."""
    for key in table:
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def get_table(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def get_value(table: Mapping[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    value = table.get(key, default)
    if value is default:
        return value
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: key {key!r} must be a {kind.__name__}, not {value!r}")
    return value


def get_strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: key {key!r} must be a list of non-empty strings")
    return tuple(value)


def get_duration(table: Mapping[str, Any], key: str, where: str, default: timedelta) -> timedelta:
    value = table.get(key)
    if value is None:
        return default
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: key {key!r}: {exc}") from None


def get_positive(
    table: Mapping[str, Any], key: str, where: str, default: int, minimum: int = 1
) -> int:
    value: int = get_value(table, key, int, where, default)
    if value < minimum:
        raise ConfigError(f"{where}: key {key!r} must be at least {minimum}")
    return value


def check_address(value: str, where: str) -> str:
    """An address like "a@example.com" or "Team <a@example.com>", never a header injection."""
    from email.utils import parseaddr  # not at start: it brings socket, calendar, base64 (~2 ms)

    _, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if "\r" in value or "\n" in value or not local or "." not in domain.strip("."):
        raise ConfigError(f"{where}: {value!r} is not an email address")
    return value.strip()


def check_url(key: str, value: str, where: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{where}: key {key!r}: {value!r} must start with https://")


def get_fraction(table: Mapping[str, Any], where: str, default: float) -> float:
    value = table.get("warn_at", default)
    if isinstance(value, str) and value.endswith("%"):
        try:
            value = float(value[:-1]) / 100
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"{where}: key 'warn_at' must be a fraction like 0.75 or \"75%\"")
    return float(value)
