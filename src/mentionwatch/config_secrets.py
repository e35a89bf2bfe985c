"""Secrets in the config: where each one is ("env:NAME", a 0600 file, the config itself), and
reading them only when a command is about to call a platform."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mentionwatch.errors import ConfigError
from mentionwatch.models import Account
from mentionwatch.sources.registry import PLATFORMS, PlatformSpec


def secret_sources(
    entry: Mapping[str, Any], spec: PlatformSpec, where: str, path: Path
) -> dict[str, str]:
    """Where each secret is to be read from: "env NAME" or "file PATH"."""
    found: dict[str, str] = {}
    for key in spec.secrets:
        source = secret_source(entry, key, where, path)
        if source:
            found[key] = source
    return found


def secret_source(table: Mapping[str, Any], key: str, where: str, path: Path) -> str | None:
    """Where the secret `key` (or `key`_file) of a table is: "env NAME", "file PATH" or
    "config file"; None when the table has neither. Any table with secrets uses this."""
    value, file_value = _string(table, key, where), _string(table, f"{key}_file", where)
    if value and file_value:
        raise ConfigError(f"{where}: give {key!r} or '{key}_file', not both")
    if file_value:
        file_path = Path(file_value).expanduser()
        if not file_path.is_absolute():
            file_path = path.parent / file_path
        return f"file {file_path}"
    if value and value.startswith("env:"):
        if not value[4:].strip():
            raise ConfigError(
                f'{where}: key {key!r}: "env:" needs a variable name, like "env:TOKEN"'
            )
        return f"env {value[4:]}"
    if value:
        if readable_by_others(path):
            raise ConfigError(
                f"{where}: key {key!r}: a secret written in a config file that others can "
                f"read; use \"env:NAME\" or '{key}_file', or chmod 600 {path}"
            )
        return "config file"
    return None


def account_with_secrets(
    path: Path, account: Account, read_env: Callable[[str], str | None] = os.environ.get
) -> Account:
    """The account with its secrets read (from `path`'s config); `Config.with_secrets` asks."""
    if not account.enabled:
        return account
    needed = PLATFORMS[account.platform].needs_one_of if account.platform in PLATFORMS else ()
    if needed and not any(key in account.secret_sources for key in needed):
        wanted = " or ".join(repr(key) for key in needed)
        raise ConfigError(
            f"{path}: account {account.name!r}: key {wanted} is required for "
            f"{account.platform} (as \"env:NAME\" or '{needed[0]}_file')"
        )
    secrets = {
        key: account.secrets.get(key) or _read_secret(path, account.name, key, source, read_env)
        for key, source in account.secret_sources.items()
    }
    return account._replace(secrets=secrets)


def _read_secret(
    path: Path, account: str, key: str, source: str, read_env: Callable[[str], str | None]
) -> str:
    return read_secret(f"{path}: account {account!r}: key {key!r}", source, read_env)


def read_secret(
    where: str, source: str, read_env: Callable[[str], str | None] = os.environ.get
) -> str:
    """Read a secret located by `secret_source` ("env NAME" or "file PATH")."""
    if source.startswith("env "):
        value = read_env(source[4:])
        if not value:
            raise ConfigError(f"{where}: environment variable {source[4:]} is not set")
        return value
    secret_path = Path(source[5:])
    try:
        if readable_by_others(secret_path):
            raise ConfigError(
                f"{where}: {secret_path} is readable by group or others; chmod 600 {secret_path}"
            )
        value = secret_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {secret_path}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{where}: {secret_path} is empty")
    return value


def readable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def _string(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: key {key!r} must be a str, not {value!r}")
    return value


def load_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines of a 0600 file, for cron, which passes none of the shell's variables.

    The format systemd's EnvironmentFile= reads too: `#` comments, blank lines, an optional
    `export `, values optionally in matching quotes. Values never appear in messages.
    """
    import re

    try:
        if readable_by_others(path):
            raise ConfigError(f"{path}: readable by group or others; chmod 600 {path}")
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the env file: {exc.strerror}") from None
    found: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = re.fullmatch(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", text)
        if match is None:
            raise ConfigError(f"{path}: line {number}: not NAME=value")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name] = value
    return found
