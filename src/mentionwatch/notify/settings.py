"""`[[notify]]` blocks: validated when the config loads; URLs read only when alerts are sent."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mentionwatch.config_secrets import read_secret, secret_source
from mentionwatch.errors import ConfigError

EVENTS = ("new", "due-soon", "breached")
_KEYS = {"name", "url", "url_file", "events", "accounts", "platforms", "quiet_hours", "max_items"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class NotifyTarget:
    """One `[[notify]]` block. `url` is empty until `resolve_targets` reads it."""

    name: str
    url_source: str  # "env NAME", "file PATH" or "config file": shown instead of the URL
    url: str = ""
    events: frozenset[str] = frozenset(EVENTS)
    accounts: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    # Minutes after midnight in [settings] timezone (else the system's); start > end wraps.
    quiet_hours: tuple[int, int] | None = None
    quiet_zone: str = ""
    max_items: int = 10

    @property
    def where(self) -> str:
        return f"[[notify]] {self.name!r}"

    def wants(self, event: str, account: str, platform: str) -> bool:
        return (
            event in self.events
            and (not self.accounts or account in self.accounts)
            and (not self.platforms or platform in self.platforms)
        )

    def shown_url(self) -> str:
        """The URL as it may be shown anywhere: its scheme only, and where it comes from."""
        match = _SCHEME.match(self.url)
        scheme = f"{match.group(1).lower()}://…" if match else "?"
        origin = "config file" if self.url_source == "config file" else self.url_source
        return f"{scheme} (from {origin})"


def parse_targets(
    raw: Any, path: Path, accounts: Sequence[str], platforms: Sequence[str], timezone: str
) -> tuple[NotifyTarget, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'notify' must be [[notify]] tables")
    targets: list[NotifyTarget] = []
    for index, entry in enumerate(raw):
        target = _target(entry, index, path, accounts, platforms, timezone)
        if any(t.name == target.name for t in targets):
            raise ConfigError(f"{path}: notify[{index}]: duplicate name {target.name!r}")
        targets.append(target)
    return tuple(targets)


def _target(
    entry: Any,
    index: int,
    path: Path,
    accounts: Sequence[str],
    platforms: Sequence[str],
    timezone: str,
) -> NotifyTarget:
    where = f"{path}: notify[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: key 'name' is required (a non-empty string)")
    where = f"{path}: [[notify]] {name!r}"
    for key in entry:
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(_KEYS))})")
    source = secret_source(entry, "url", where, path)
    if source is None:
        raise ConfigError(f"{where}: key 'url' is required (an apprise URL, or \"env:NAME\")")
    if source == "config file" and not _SCHEME.match(entry["url"]):
        raise ConfigError(f"{where}: key 'url': not a URL like slack://… or ntfy://host/topic")
    events = _names(entry, "events", where, EVENTS, EVENTS)
    named_accounts = _names(entry, "accounts", where, tuple(accounts), ())
    named_platforms = _names(entry, "platforms", where, tuple(platforms), ())
    max_items = entry.get("max_items", 10)
    if not isinstance(max_items, int) or isinstance(max_items, bool) or max_items < 1:
        raise ConfigError(f"{where}: key 'max_items' must be a whole number of at least 1")
    quiet = _quiet_hours(entry.get("quiet_hours"), where)
    return NotifyTarget(
        name=name,
        url_source=source,
        url=entry["url"] if source == "config file" else "",
        events=frozenset(events),
        accounts=named_accounts,
        platforms=named_platforms,
        quiet_hours=quiet,
        quiet_zone=timezone if quiet else "",
        max_items=max_items,
    )


def _names(
    entry: Mapping[str, Any],
    key: str,
    where: str,
    known: tuple[str, ...],
    default: tuple[str, ...],
) -> tuple[str, ...]:
    value = entry.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key {key!r} must be a list of strings")
    for item in value:
        if item not in known:
            choices = ", ".join(known) or "none configured"
            raise ConfigError(f"{where}: key {key!r}: unknown {item!r} (known: {choices})")
    if key == "events" and not value:
        raise ConfigError(f"{where}: key 'events' is empty: name at least one of {EVENTS}")
    return tuple(value)


def _quiet_hours(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    problem = f"{where}: key 'quiet_hours' must look like \"22:00-07:00\""
    if not isinstance(value, str) or value.count("-") != 1:
        raise ConfigError(problem)
    ends: list[int] = []
    for part in value.split("-"):
        match = _CLOCK.match(part.strip())
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ConfigError(problem)
        ends.append(int(match.group(1)) * 60 + int(match.group(2)))
    if ends[0] == ends[1]:
        raise ConfigError(f"{where}: key 'quiet_hours' starts and ends at the same time")
    return ends[0], ends[1]


def resolve_targets(
    targets: Sequence[NotifyTarget], read_env: Callable[[str], str | None] = os.environ.get
) -> tuple[NotifyTarget, ...]:
    """Read each target's URL from its env variable or file; a missing one is a ConfigError."""
    resolved = []
    for target in targets:
        if target.url:
            resolved.append(target)
            continue
        url = read_secret(f"{target.where}: key 'url'", target.url_source, read_env)
        if not _SCHEME.match(url):
            raise ConfigError(
                f"{target.where}: the URL from {target.url_source} is not a URL like slack://…"
            )
        resolved.append(replace(target, url=url))
    return tuple(resolved)


def quiet_until(target: NotifyTarget, now: datetime) -> datetime | None:
    """When the target's quiet hours end, if `now` is within them; None otherwise."""
    if target.quiet_hours is None:
        return None
    from mentionwatch.business_hours import load_zone

    local = now.astimezone(load_zone(target.quiet_zone) if target.quiet_zone else None)
    start, end = target.quiet_hours
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    ends = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC)
