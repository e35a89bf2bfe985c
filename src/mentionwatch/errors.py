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
# `reply`: nothing was posted and nothing changed, except for 11 (see README, "Replying").
EXIT_REPLY_REFUSED = 8  # the credential may not post (scope, reply_token, expired)
EXIT_REPLY_REJECTED = 9  # the reply itself: too long, empty, or the post is gone
EXIT_REPLY_FAILED = 10  # network, timeout or rate limit: not posted, safe to run again
EXIT_REPLY_UNKNOWN = 11  # sent, but whether it was posted could not be checked
EXIT_ALERTS_FAILED = 12  # poll, watch --once, notify test: a target did not take its alerts
EXIT_DIGEST_INCOMPLETE = 13  # digest --per-assignee: some people's digests not sent
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


class RecipientRefusedError(DeliveryError):
    """The mail server refused every recipient's address (the server itself works)."""


class DigestIncompleteError(MentionwatchError):
    """`digest --per-assignee`: some people's digests were not sent; the others were."""

    exit_code = EXIT_DIGEST_INCOMPLETE


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


class OutcomeUnknownError(SourceError):
    """A request that must not be repeated was sent, but no answer came (timeout, dropped)."""


class ReplyRefusedError(SourceError):
    """The platform refused the credential for posting (missing scope or user token)."""

    exit_code = EXIT_REPLY_REFUSED


class ReplyRejectedError(SourceError):
    """The platform (or the length check before sending) rejected this reply."""

    exit_code = EXIT_REPLY_REJECTED


class ReplyFailedError(SourceError):
    """The reply could not be sent (network, timeout, rate limit); nothing was posted."""

    exit_code = EXIT_REPLY_FAILED


class ReplyUnknownError(SourceError):
    """The reply was sent and may have been posted; checking the platform failed too."""

    exit_code = EXIT_REPLY_UNKNOWN
