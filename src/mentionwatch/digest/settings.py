"""`[digest]` and `[digest.smtp]`: parsed, validated, and made ready for one delivery channel.

Every mistake is a ConfigError naming the file and the key; passwords follow the same rules as
account secrets ("env:NAME", `password_file`, or written in a chmod 600 config).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from mentionwatch.config import Config
from mentionwatch.config_fields import (
    check_address,
    check_keys,
    get_duration,
    get_positive,
    get_table,
    get_value,
)
from mentionwatch.config_secrets import read_secret, secret_source
from mentionwatch.errors import ConfigError, UsageError
from mentionwatch.text import one_line

_DIGEST_KEYS = {"to", "from", "min_interval", "subject_prefix", "sendmail", "max_items", "smtp"}
_SMTP_KEYS = {
    "host", "port", "security", "username", "password", "password_file", "ca_file", "timeout",
}  # fmt: skip
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    password_source: str | None = None
    ca_file: Path | None = None
    timeout: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class DigestSettings:
    """`[digest]` and `[digest.smtp]`, validated; `where` prefixes every config message."""

    where: str = "[digest]"
    to: tuple[str, ...] = ()
    sender: str = ""
    min_interval: timedelta = timedelta(hours=20)
    subject_prefix: str = "mentionwatch"
    sendmail: str = ""
    max_items: int = 50
    smtp: SmtpSettings | None = None
    # Only mentions assigned to these users and/or (unassigned) to nobody: --mine, --assignee.
    assignees: tuple[str, ...] = ()
    unassigned: bool = False
    # Only mentions of these priorities (ranks) and/or with one of these tags: --priority, --tag.
    priorities: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def audience(self) -> str:
        """Whose digest this is, for its once-a-day guard: "" the team's, else the selection
        ("alice"; "alice,bob"; "(unassigned)")."""
        return ",".join([*sorted(self.assignees), *(["(unassigned)"] if self.unassigned else [])])


def digest_settings(config: Config) -> DigestSettings:
    """Validate `[digest]`; every mistake is a ConfigError naming the file and the key."""
    raw = config.digest
    where = f"{config.path}: [digest]"
    check_keys(raw, _DIGEST_KEYS, where)
    to = raw.get("to", [])
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not all(isinstance(v, str) for v in to):
        raise ConfigError(f"{where}: key 'to' must be an address or a list of addresses")
    sender = get_value(raw, "from", str, where, "")
    sendmail = get_value(raw, "sendmail", str, where, "")
    smtp_raw = get_table(raw, "smtp", where)
    return DigestSettings(
        where=where,
        to=tuple(check_address(v, f"{where}: key 'to'") for v in to),
        sender=check_address(sender, f"{where}: key 'from'") if sender else "",
        min_interval=get_duration(raw, "min_interval", where, DigestSettings.min_interval),
        subject_prefix=one_line(get_value(raw, "subject_prefix", str, where, "mentionwatch")),
        sendmail=str(Path(sendmail).expanduser()) if sendmail else "",
        max_items=get_positive(raw, "max_items", where, DigestSettings.max_items),
        smtp=_smtp(smtp_raw, config.path) if smtp_raw else None,
    )


def _smtp(raw: Mapping[str, Any], path: Path) -> SmtpSettings:
    where = f"{path}: [digest.smtp]"
    check_keys(raw, _SMTP_KEYS, where)
    host = get_value(raw, "host", str, where, "")
    if not host:
        raise ConfigError(f"{where}: key 'host' is required")
    security = get_value(raw, "security", str, where, "starttls")
    if security not in DEFAULT_PORTS:
        raise ConfigError(f'{where}: key \'security\' must be "none", "starttls" or "ssl"')
    port = get_positive(raw, "port", where, DEFAULT_PORTS[security])
    if port > 65535:
        raise ConfigError(f"{where}: key 'port' must be at most 65535")
    username = get_value(raw, "username", str, where, "")
    source = secret_source(raw, "password", where, path)
    if source and not username:
        raise ConfigError(f"{where}: a password needs key 'username'")
    if username and security == "none" and host.lower() not in _LOOPBACK:
        raise ConfigError(
            f"{where}: key 'security': \"none\" would send the password in clear text to "
            f'{host}; use "starttls" or "ssl"'
        )
    ca_file = None
    if ca_value := get_value(raw, "ca_file", str, where, ""):
        ca_file = Path(ca_value).expanduser()
        ca_file = ca_file if ca_file.is_absolute() else path.parent / ca_file
        if not ca_file.is_file():
            raise ConfigError(f"{where}: key 'ca_file': {ca_file} is not a file")
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        username=username,
        password=raw["password"] if source == "config file" else "",
        password_source=source,
        ca_file=ca_file,
        timeout=get_duration(raw, "timeout", where, SmtpSettings.timeout),
    )


def for_delivery(
    settings: DigestSettings,
    channel: str,
    to: Sequence[str] = (),
    read_env: Callable[[str], str | None] = os.environ.get,
    resolve_password: bool = True,
    per_assignee: bool = False,
) -> DigestSettings:
    """Settings ready for `channel` ("smtp", "sendmail", "stdout"): recipients, sender, password.

    A dry run checks everything but reads no password, so it works without the secret at hand.
    `per_assignee`: the recipients come from [users], so [digest] to is not needed.
    """
    if to:
        try:
            settings = replace(settings, to=tuple(check_address(v, "--to") for v in to))
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    if channel == "stdout":
        return settings
    if not settings.to and not per_assignee:
        raise ConfigError(f"{settings.where}: key 'to' is required to send a digest (or --to)")
    if not settings.sender:
        raise ConfigError(f"{settings.where}: key 'from' is required to send a digest")
    if channel != "smtp":
        return settings
    smtp = settings.smtp
    if smtp is None:
        where = settings.where.replace("[digest]", "[digest.smtp]")
        raise ConfigError(f"{where} is required for --email (at least 'host')")
    if resolve_password and smtp.password_source and smtp.password_source != "config file":
        where = settings.where.replace("[digest]", "[digest.smtp]: key 'password'")
        smtp = replace(smtp, password=read_secret(where, smtp.password_source, read_env))
    return replace(settings, smtp=smtp)
