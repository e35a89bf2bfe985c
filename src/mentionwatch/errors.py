"""Typed errors; cli.py is the one place that turns them into messages and exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_ACCOUNTS_FAILED = 4
EXIT_DATABASE = 5
EXIT_LOCKED = 6
EXIT_DELIVERY = 7
EXIT_BREACHED = 1  # `check` only: something waits past its SLA or --max-age (DESIGN.md)


class MentionwatchError(Exception):
    """Base of every error mentionwatch expects; `exit_code` says how the CLI ends."""

    exit_code = EXIT_UNEXPECTED


class UsageError(MentionwatchError):
    exit_code = EXIT_USAGE


class ConfigError(MentionwatchError):
    exit_code = EXIT_CONFIG


class StoreError(MentionwatchError):
    exit_code = EXIT_DATABASE


class LockedError(MentionwatchError):
    """Another poll holds the lock (cron overlap)."""

    exit_code = EXIT_LOCKED


class DeliveryError(MentionwatchError):
    """A digest could not be sent."""

    exit_code = EXIT_DELIVERY


class SourceError(MentionwatchError):
    """A platform call failed; the message names the account and the endpoint, never a secret."""

    exit_code = EXIT_ACCOUNTS_FAILED

    def __init__(self, account: str, endpoint: str, problem: str) -> None:
        self.account = account
        self.endpoint = endpoint
        self.problem = problem
        super().__init__(f"{account}: {endpoint}: {problem}")


class RateLimitedError(SourceError):
    """The platform's quota is spent until `until`; the account resumes on the next run."""

    def __init__(self, account: str, endpoint: str, until: str) -> None:
        super().__init__(account, endpoint, f"rate limited until {until}")
        self.until = until
