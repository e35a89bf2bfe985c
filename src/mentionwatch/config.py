"""Load and validate the TOML config; every mistake is one line naming file, account and key."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mentionwatch.config_fields import (
    check_address,
    check_keys,
    check_url,
    get_duration,
    get_fraction,
    get_positive,
    get_strings,
    get_table,
    get_value,
)
from mentionwatch.config_secrets import account_with_secrets, secret_sources
from mentionwatch.errors import ConfigError
from mentionwatch.models import Account
from mentionwatch.sources.registry import PLATFORMS, PlatformSpec
from mentionwatch.timeutil import display_zone

if TYPE_CHECKING:
    from mentionwatch.business_hours import Calendar
    from mentionwatch.notify.settings import NotifyTarget
    from mentionwatch.rules import Rule, RuleSet

APP_NAME = "mentionwatch"
CONFIG_ENV = "MENTIONWATCH_CONFIG"
DB_ENV = "MENTIONWATCH_DB"

_SETTINGS_KEYS = {
    "sla", "warn_at", "backfill", "database", "max_pages", "max_wait", "concurrency",
    "per_host", "timeout", "retries", "business_hours", "timezone", "holidays",
    "password_file", "user", "lease", "keep_raw", "workers", "db_connections",
}  # fmt: skip
_ACCOUNT_KEYS = {
    "name", "platform", "server", "api_url", "handle", "keywords", "sla", "warn_at",
    "backfill", "enabled", "max_pages", "responders", "ignore_authors", "business_hours",
    "timezone", "holidays", "keep_raw",
}  # fmt: skip
_TOP_KEYS = {"settings", "accounts", "digest", "users", "rules", "notify"}
USER_ENV = "MENTIONWATCH_USER"
_URL_SCHEMES = ("postgresql://", "postgres://")
CalendarParts = tuple[str, str, tuple[date, ...]]  # business_hours, timezone, holidays


class Settings(NamedTuple):
    sla: timedelta = timedelta(hours=1)
    warn_at: float = 0.75
    backfill: timedelta = timedelta(days=3)
    # A SQLite file, or a `postgresql://` URL (a str) for a database the team shares.
    database: Path | str | None = None
    # The PostgreSQL password, when neither $PGPASSWORD nor ~/.pgpass gives it.
    password_file: Path | None = None
    # Who is acting, recorded with every manual change; "" = $MENTIONWATCH_USER or the OS user.
    user: str = ""
    # How long a PostgreSQL poller holds an account before another may take it over.
    lease: timedelta = timedelta(minutes=10)
    # Connections a PostgreSQL poller stores through at once (store_pool.py).
    db_connections: int = 8
    max_pages: int = 10
    max_wait: timedelta = timedelta(seconds=60)
    # In flight overall (per_host is what each server sees): 128 polled 200 accounts on 20
    # instances ~18% faster than 64, in one process or in workers (README, Benchmarks).
    concurrency: int = 128
    per_host: int = 8
    timeout: timedelta = timedelta(seconds=20)
    retries: int = 3
    keep_raw: bool = False
    # Processes a poll of many accounts fetches in; None: one per core (workers.py).
    workers: int | None = None
    # The business calendar accounts inherit key by key; `timezone` alone also sets the days
    # that `stats --by day` counts in.
    business_hours: str = ""
    timezone: str = ""
    holidays: tuple[date, ...] = ()
    calendar: Calendar | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings = field(default_factory=Settings)
    accounts: tuple[Account, ...] = ()
    digest: Mapping[str, Any] = field(default_factory=dict)
    # [users]: each team member's e-mail address, for `digest --per-assignee`.
    users: Mapping[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    @functools.cached_property
    def ruleset(self) -> RuleSet:
        """The `[[rules]]`, as storing a mention applies them (compiled on first use)."""
        from mentionwatch.rules import RuleSet

        return RuleSet(self.rules)

    notify: tuple[NotifyTarget, ...] = ()

    @functools.cached_property
    def by_name(self) -> Mapping[str, Account]:
        """Accounts by name: looked up once a row by exports and SLA checks."""
        return {account.name: account for account in self.accounts}

    @functools.cached_property
    def zone(self) -> tzinfo | None:
        """Where shown times are in: [settings] timezone; None is the system's local zone."""
        return display_zone(self.settings.timezone)

    def with_secrets(self, read_env: Callable[[str], str | None] = os.environ.get) -> Config:
        """This config with every enabled account's secrets read; a missing one is a
        ConfigError before any polling. Only commands that call a platform need them: `list`
        works from a config without tokens."""
        accounts = tuple(account_with_secrets(self.path, a, read_env) for a in self.accounts)
        return replace(self, accounts=accounts)

    def account(self, name: str) -> Account:
        if name not in self.by_name:
            raise ConfigError(f"{self.path}: no account named {name!r}")
        return self.by_name[name]


def default_config_path() -> Path:
    from mentionwatch.user_dirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def config_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return default_config_path()


def is_database_url(value: str) -> bool:
    return value.startswith(_URL_SCHEMES)


def _location(value: str) -> Path | str:
    return value if is_database_url(value) else Path(value).expanduser()


def database_path(explicit: Path | str | None, config: Config | None) -> Path | str:
    """The database to open: a Path, or a `postgresql://` URL (a str)."""
    if explicit is not None:
        return _location(str(explicit)) if isinstance(explicit, str) else explicit
    if os.environ.get(DB_ENV):
        return _location(os.environ[DB_ENV])
    if config is not None and config.settings.database is not None:
        return config.settings.database
    from mentionwatch.user_dirs import user_data_path

    return user_data_path(APP_NAME) / "mentionwatch.db"


def load(path: Path) -> Config:
    """Read and validate `path`. Secrets are only located here; `Config.with_secrets` reads them."""
    import tomllib

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file (create one with `mentionwatch init`)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(raw, path)


def parse(raw: Mapping[str, Any], path: Path) -> Config:
    check_keys(raw, _TOP_KEYS, f"{path}")
    settings_raw = get_table(raw, "settings", f"{path}")
    where = f"{path}: [settings]"
    check_keys(settings_raw, _SETTINGS_KEYS, where)
    settings = _settings(settings_raw, path, where)
    accounts_raw = raw.get("accounts", [])
    if not isinstance(accounts_raw, list):
        raise ConfigError(f"{path}: 'accounts' must be [[accounts]] tables")
    accounts: list[Account] = []
    for index, entry in enumerate(accounts_raw):
        account = _account(entry, index, settings, path)
        if any(a.name == account.name for a in accounts):
            raise ConfigError(f"{path}: accounts[{index}]: duplicate account name {account.name!r}")
        accounts.append(account)
    digest = get_table(raw, "digest", f"{path}")
    rules: tuple[Rule, ...] = ()
    if "rules" in raw:
        from mentionwatch.config_rules import parse_rules

        rules = parse_rules(raw["rules"], path, [a.name for a in accounts])
    notify: tuple[NotifyTarget, ...] = ()
    if "notify" in raw:  # imported only for configs that have alerts
        from mentionwatch.notify.settings import parse_targets

        names = [a.name for a in accounts]
        notify = parse_targets(raw["notify"], path, names, sorted(PLATFORMS), settings.timezone)
    return Config(path, settings, tuple(accounts), digest, _users(raw, path), rules, notify)


def _users(raw: Mapping[str, Any], path: Path) -> dict[str, str]:
    users = get_table(raw, "users", f"{path}")
    for name, address in users.items():
        where = f"{path}: [users]: key {name!r}"
        if not isinstance(address, str):
            raise ConfigError(f"{where} must be an e-mail address, not {address!r}")
        users[name] = check_address(address, where)
    return dict(users)


def acting_user(config: Config | None) -> str:
    """Who is acting: [settings] user, else $MENTIONWATCH_USER, else the OS user name."""
    if config is not None and config.settings.user:
        return config.settings.user
    if os.environ.get(USER_ENV, "").strip():
        return os.environ[USER_ENV].strip()
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no $USER
        return f"uid{os.getuid()}"


def _settings(raw: Mapping[str, Any], path: Path, where: str) -> Settings:
    base = Settings()
    parts = _calendar_parts(raw, where, (base.business_hours, base.timezone, base.holidays))
    hours, zone, holidays = parts
    database = get_value(raw, "database", str, where, None)
    db_path: Path | str | None = None
    if database and is_database_url(database):
        db_path = database
    elif database:
        db_path = Path(database).expanduser()
        if not db_path.is_absolute():
            db_path = path.parent / db_path
    password_file = get_value(raw, "password_file", str, where, None)
    password_path = None
    if password_file:
        password_path = Path(password_file).expanduser()
        if not password_path.is_absolute():
            password_path = path.parent / password_path
    return Settings(
        sla=get_duration(raw, "sla", where, base.sla),
        warn_at=get_fraction(raw, where, base.warn_at),
        backfill=get_duration(raw, "backfill", where, base.backfill),
        database=db_path,
        password_file=password_path,
        user=get_value(raw, "user", str, where, base.user).strip(),
        lease=get_duration(raw, "lease", where, base.lease),
        db_connections=get_positive(raw, "db_connections", where, base.db_connections),
        max_pages=get_positive(raw, "max_pages", where, base.max_pages),
        max_wait=get_duration(raw, "max_wait", where, base.max_wait),
        concurrency=get_positive(raw, "concurrency", where, base.concurrency),
        per_host=get_positive(raw, "per_host", where, base.per_host),
        timeout=get_duration(raw, "timeout", where, base.timeout),
        retries=get_positive(raw, "retries", where, base.retries, minimum=0),
        keep_raw=get_value(raw, "keep_raw", bool, where, base.keep_raw),
        workers=get_positive(raw, "workers", where, 1) if "workers" in raw else None,
        business_hours=hours,
        timezone=zone,
        holidays=holidays,
        calendar=_calendar(raw, where, parts, settings=True),
    )


def _account(entry: Any, index: int, settings: Settings, path: Path) -> Account:
    where = f"{path}: accounts[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table")
    name = get_value(entry, "name", str, where, None)
    if not name:
        raise ConfigError(f"{where}: key 'name' is required")
    where = f"{path}: account {name!r}"
    platform = get_value(entry, "platform", str, where, None)
    if not platform:
        raise ConfigError(f"{where}: key 'platform' is required")
    spec = PLATFORMS.get(platform)
    if spec is None:
        known = ", ".join(sorted(PLATFORMS))
        raise ConfigError(
            f"{where}: key 'platform': unknown platform {platform!r} (known: {known})"
        )
    secret_keys = {k for s in spec.secrets for k in (s, f"{s}_file")}
    check_keys(entry, _ACCOUNT_KEYS | set(spec.required) | set(spec.optional) | secret_keys, where)
    if spec.no_keywords and "keywords" in entry:
        raise ConfigError(f"{where}: key 'keywords': {spec.no_keywords}; remove the key")
    keywords = get_strings(entry, "keywords", where)
    if keywords:
        from mentionwatch.config_rules import check_keywords

        check_keywords(keywords, where)
    server = _server(entry, spec, where)
    handle = get_value(entry, "handle", str, where, "")
    if spec.needs_handle and not handle:
        raise ConfigError(f"{where}: key 'handle' is required for {platform}")
    options = _options(entry, spec, where, path)
    sources = secret_sources(entry, spec, where, path)
    # What the account's calendar keys fall back to, one by one.
    inherited = (settings.business_hours, settings.timezone, settings.holidays)

    return Account(
        name=name,
        platform=platform,
        server=server,
        handle=handle.lstrip("@") if spec.strip_at else handle,
        keywords=keywords,
        sla=get_duration(entry, "sla", where, settings.sla),
        warn_at=get_fraction(entry, where, settings.warn_at),
        backfill=get_duration(entry, "backfill", where, settings.backfill),
        enabled=get_value(entry, "enabled", bool, where, True),
        keep_raw=get_value(entry, "keep_raw", bool, where, settings.keep_raw),
        max_pages=get_positive(entry, "max_pages", where, settings.max_pages),
        responders=get_strings(entry, "responders", where),
        ignore_authors=get_strings(entry, "ignore_authors", where),
        secret_sources=sources,
        secrets={k: entry[k] for k, where_from in sources.items() if where_from == "config file"},
        options=options,
        calendar=_calendar(entry, where, _calendar_parts(entry, where, inherited)),
    )


def _options(
    entry: Mapping[str, Any], spec: PlatformSpec, where: str, path: Path
) -> dict[str, Any]:
    """The platform's own keys (client_id, url, appview, ...): all non-empty strings."""
    options: dict[str, Any] = {}
    for key in (*spec.required, *spec.optional):
        if key == "server":
            continue
        value = get_value(entry, key, str, where, None)
        if not value:
            if key in spec.required:
                raise ConfigError(f"{where}: key {key!r} is required for {spec.name}")
            continue
        if key in spec.url_options:
            check_url(key, value, where)
        if key in spec.path_options and not value.startswith(("https:", "http:")):
            value = str((path.parent / Path(value).expanduser()).resolve())
        options[key] = value
    return options


def _server(entry: Mapping[str, Any], spec: PlatformSpec, where: str) -> str:
    server = get_value(entry, "server", str, where, None)
    api_url = get_value(entry, "api_url", str, where, None)
    if server and api_url:
        raise ConfigError(f"{where}: give 'server' or 'api_url' (the same key), not both")
    key = "api_url" if api_url else "server"
    server = server or api_url or spec.default_server
    if not server:
        if "server" in spec.required:
            raise ConfigError(f"{where}: key 'server' is required for {spec.name}")
        return ""
    check_url(key, server, where)
    return server.rstrip("/")


def _calendar_parts(
    table: Mapping[str, Any], where: str, inherited: CalendarParts
) -> CalendarParts:
    """business_hours, timezone and holidays (config_calendar.py), each falling back on its
    own to `inherited`."""
    # A config without calendar keys never imports their parsing, nor the time zone data.
    if not any(key in table for key in ("business_hours", "timezone", "holidays")):
        return inherited
    from mentionwatch.config_calendar import calendar_parts

    return calendar_parts(table, where, *inherited)


def _calendar(
    table: Mapping[str, Any], where: str, parts: CalendarParts, settings: bool = False
) -> Calendar | None:
    """The business calendar of `parts` (config_calendar.py); `settings` for [settings]."""
    hours, zone, holidays = parts
    if not hours and not table.get("holidays"):
        return None  # no business hours: no calendar, and no holidays to refuse
    from mentionwatch.config_calendar import calendar

    return calendar(table, where, hours, zone, holidays, table if settings else None)
