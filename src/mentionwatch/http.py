"""The shared HTTP client: timeouts, User-Agent, retries, rate limits, size cap, redaction.

Requests go over mentionwatch's own kept connections, h11 on asyncio streams (wire.py,
connections.py, http11.py); httpx gives the TLS context.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json
import logging
import random
import re
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

# httpx imports its command-line client (real click, pygments, rich's syntax highlighting)
# whenever those happen to be installed; mentionwatch never runs it. Marked absent, httpx
# falls back to the stub it has for installs without them: ~30 ms less at every poll's start.
if "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
import httpx

from mentionwatch import __version__, http11, wire
from mentionwatch.connections import HostConnections
from mentionwatch.errors import OutcomeUnknownError, RateLimitedError, SourceError
from mentionwatch.models import Account
from mentionwatch.quota import (
    REMAINING_HEADERS,
    RESET_HEADERS,
    clock_text,
    first_header,
    parse_reset,
)
from mentionwatch.slots import Gate, Slot
from mentionwatch.sources.base import Response

if TYPE_CHECKING:
    from mentionwatch.config import Settings

log = logging.getLogger("mentionwatch.http")

USER_AGENT = f"mentionwatch/{__version__} (+https://github.com/mentionwatch/mentionwatch)"
MAX_BODY = 20 * 1024 * 1024
# Failures that mean the request never reached the server, so sending it again is safe.
_UNSENT = http11.ConnectError
_ACCEPT = {"user-agent": ("User-Agent", USER_AGENT), "accept": ("Accept", "application/json"),
           "accept-encoding": ("Accept-Encoding", "gzip, deflate"),
           "connection": ("Connection", "keep-alive")}  # fmt: skip
_SECRET_PARAMS = re.compile(
    r"((?:access_?token|token|api_?key|key|password|secret|client_secret|sig)=)[^&\s]+", re.I
)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The CA bundle, loaded once per process (~50 ms) for every pool; worker processes forked
    after it was loaded share it."""
    return httpx.create_ssl_context()


class Http:
    """One per poll run: the connection pool and the concurrency limits shared by all accounts."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        connect_timeout: float = 10.0,
        retries: int = 3,
        max_wait: float = 60.0,
        concurrency: int = 128,
        per_host: int = 8,
        max_body: int = MAX_BODY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._verify = ssl_context or tls_context()
        self.timeouts = {"connect": connect_timeout, "read": timeout, "write": timeout}
        # Each host's connections apart: never more than `per_host` of them, as many as its
        # slots let requests through at once.
        self._pools: dict[str, HostConnections] = {}
        self.retries = retries
        self.max_wait = max_wait
        self.max_body = max_body
        self.sleep = sleep
        self.clock = clock
        self._all = Gate(concurrency)
        self._per_host = per_host
        self._hosts: dict[str, Gate] = {}
        # Accounts in the order they start: an earlier one's requests go first (slots.py).
        self._started = itertools.count()
        # Per host, the accounts whose first request went ahead of the others' (slot()).
        self._early: dict[str, int] = {}
        # Spent quotas per (host, account, endpoint): X counts each endpoint apart, and a
        # platform with one global quota answers 429 on the next endpoint anyway.
        self._blocked: dict[tuple[str, str, str], float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Http:
        """The client `[settings]` asks for; `overrides` for what a command sets itself."""
        options: dict[str, Any] = {
            "timeout": settings.timeout.total_seconds(),
            "retries": settings.retries,
            "max_wait": settings.max_wait.total_seconds(),
            "concurrency": settings.concurrency,
            "per_host": settings.per_host,
        }
        return cls(**{**options, **overrides})

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for pool in self._pools.values():
            pool.close()

    def pool_for(self, host: str) -> HostConnections:
        """The host's open connections (connections.py)."""
        if host not in self._pools:
            self._pools[host] = HostConnections(self._verify)
        return self._pools[host]

    def for_account(self, account: Account, user_agent: str | None = None) -> AccountFetcher:
        return AccountFetcher(self, account, user_agent, next(self._started))

    def slot(self, host: str, priority: int = 0, *, first: bool = False) -> Slot:
        """A place among all requests in flight and among this host's: `async with` it.

        Waiting requests get in by `priority`, lowest first: their account's start order.
        An account's `first` request to a host goes before all of those, for the host's first
        2 × per_host accounts: every later request of an account waits for its first, so an
        account that starts only as earlier ones finish would hold up the whole poll at its
        end; beyond those, accounts start in their order, as places free up, and the first
        ones still finish early (their mentions stored and alerted while others fetch).
        """
        if host not in self._hosts:
            self._hosts[host] = Gate(self._per_host)
        if first:
            early = self._early.get(host, 0)
            if early < 2 * self._per_host:
                self._early[host] = early + 1
                priority = -1
        return Slot(self._all, self._hosts[host], priority)

    def spent_until(self, key: tuple[str, str, str]) -> float | None:
        """When the quota of (host, account, endpoint) resets, if a response said it is spent."""
        return self._blocked.get(key)

    def mark_spent(self, key: tuple[str, str, str], until: float | None) -> None:
        """Note a spent quota until `until`, or forget it (None) once it has reset."""
        if until is None:
            self._blocked.pop(key, None)
        else:
            self._blocked[key] = until


class AccountFetcher:
    """The `Fetcher` a source gets: every error names this account and never its secrets."""

    def __init__(
        self, http: Http, account: Account, user_agent: str | None, priority: int = 0
    ) -> None:
        self.http = http
        self.account = account.name
        self.user_agent = user_agent
        self.priority = priority
        self._hosts: set[str] = set()  # the hosts this account has sent requests to
        self._secrets = sorted((s for s in account.secrets.values() if s), key=len, reverse=True)
        self._secret_hint = ", ".join(account.secret_sources.values())

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _SECRET_PARAMS.sub(r"\1***", text)

    def add_secret(self, value: str) -> None:
        """Tokens obtained at run time (OAuth, sessions) are redacted like configured ones."""
        if value and value not in self._secrets:
            self._secrets.append(value)
            self._secrets.sort(key=len, reverse=True)

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        ok_statuses: tuple[int, ...] = (200,),
    ) -> Response:
        request = self._request("GET", wire.with_params(url, params), headers)
        return await self._send(request, endpoint, ok_statuses)

    async def post(
        self,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        auth: tuple[str, str] | None = None,
        ok_statuses: tuple[int, ...] = (200,),
        resend: bool = True,
    ) -> Response:
        all_headers = dict(headers or {})
        if auth is not None:
            pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            basic = f"Basic {pair}"
            # Base64 hides nothing: a server that echoes the header must not show the secret.
            self.add_secret(basic.partition(" ")[2])
            all_headers["Authorization"] = basic
        body = b""
        if data is not None:
            body = wire.form(data)
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif json_body is not None:
            # As httpx writes it: compact, UTF-8, no NaN.
            body = json.dumps(
                json_body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
            all_headers.setdefault("Content-Type", "application/json")
        request = self._request("POST", url, all_headers, body)
        return await self._send(request, endpoint, ok_statuses, resend)

    def _request(
        self, method: str, url: str, headers: Mapping[str, str] | None, body: bytes = b""
    ) -> wire.Request:
        if not url.isascii() or " " in url:
            url = str(httpx.URL(url))  # percent-encoded (and an IDN host in ASCII) as httpx does
        sent = dict(_ACCEPT)
        for name, value in (headers or {}).items():
            sent[name.lower()] = (name, value)
        if self.user_agent:
            sent["user-agent"] = ("User-Agent", self.user_agent)
        return wire.Request(method, url, sent, body)

    def _fail(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.account, endpoint, self.redact(problem))

    def _unknown(self, endpoint: str, problem: str) -> OutcomeUnknownError:
        return OutcomeUnknownError(self.account, endpoint, f"{problem} after the request was sent")

    async def _send(
        self, request: wire.Request, endpoint: str | None, ok: tuple[int, ...], resend: bool = True
    ) -> Response:
        parts = urlsplit(request.url)
        where = endpoint or parts.path or "/"
        host = (parts.hostname or "").lower()
        http = self.http
        for attempt in range(http.retries + 1):
            await self._wait_for_quota((host, self.account, where))
            started = http.clock()
            try:
                first = host not in self._hosts
                self._hosts.add(host)
                async with http.slot(host, self.priority, first=first):
                    status, headers, body = await wire.exchange(
                        http.pool_for, request, http.timeouts, http.max_body
                    )
            except wire.TooLarge:
                raise self._fail(where, f"response larger than {http.max_body} bytes") from None
            except wire.BadBody as exc:
                raise self._fail(where, str(exc)) from None
            except http11.Timeout as exc:
                problem = "timed out"
                if not resend and not isinstance(exc, _UNSENT):
                    raise self._unknown(where, problem) from None
            except http11.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
                if not resend and not isinstance(exc, _UNSENT):
                    raise self._unknown(where, problem) from None
            else:
                self._log(request, status, started, attempt)
                self._note_quota((host, self.account, where), headers)
                if status in ok:
                    return Response(status, headers, body, request.url, where, self.account)
                wait = self._retry_wait(status, headers, attempt, where)
                if wait is None:
                    raise self._status_error(status, headers, body, where)
                if not resend and status >= 500 and "retry-after" not in headers:
                    # A gateway error may come after the server acted on the request.
                    raise self._unknown(where, f"HTTP {status}")
                problem = f"HTTP {status}"
                if attempt < http.retries:
                    await http.sleep(wait)
                    continue
                raise self._fail(where, f"{problem} after {attempt + 1} attempts")
            self._log(request, None, started, attempt, problem)
            if attempt < http.retries:
                await http.sleep(self._backoff(attempt))
                continue
            raise self._fail(where, f"{problem} after {attempt + 1} attempts")
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return float(min(2**attempt, 30)) * (0.5 + random.random() / 2)

    def _retry_wait(
        self, status: int, headers: Mapping[str, str], attempt: int, where: str
    ) -> float | None:
        """Seconds to wait before retrying, or None when the status is final."""
        spent = first_header(headers, REMAINING_HEADERS) in ("0", "0.0")
        limited = status == 429 or (status == 403 and ("retry-after" in headers or spent))
        if not limited and status < 500:
            return None
        now = self.http.clock()
        reset = None
        if "retry-after" in headers:
            reset = parse_reset(headers["retry-after"], now)
        elif limited and (value := first_header(headers, RESET_HEADERS)):
            reset = parse_reset(value, now)
        if reset is None:
            return self._backoff(attempt)
        if reset - now > self.http.max_wait:
            raise RateLimitedError(self.account, where, clock_text(reset))
        return max(reset - now, 0.0) + 0.5

    def _note_quota(self, key: tuple[str, str, str], headers: Mapping[str, str]) -> None:
        remaining = first_header(headers, REMAINING_HEADERS)
        reset = first_header(headers, RESET_HEADERS)
        if remaining is None or reset is None:
            return
        try:
            spent = float(remaining) <= 0
        except ValueError:
            return
        if not spent:  # most responses: the reset time is only read once a quota is spent
            return
        when = parse_reset(reset, self.http.clock())
        if when is not None:
            self.http.mark_spent(key, when)

    async def _wait_for_quota(self, key: tuple[str, str, str]) -> None:
        until = self.http.spent_until(key)
        if until is None:
            return
        delay = until - self.http.clock()
        if delay > self.http.max_wait:
            raise RateLimitedError(self.account, key[2], clock_text(until))
        if delay > 0:
            log.info("%s: quota spent, waiting %.0fs for the reset", self.account, delay)
            await self.http.sleep(delay + 0.5)
        self.http.mark_spent(key, None)

    def _status_error(
        self, status: int, headers: Mapping[str, str], body: bytes, where: str
    ) -> SourceError:
        if status in (401, 403) and self._secrets:
            hint = f" ({self._secret_hint})" if self._secret_hint else ""
            return self._fail(where, f"token for account {self.account} was refused{hint}")
        if status in (401, 403):
            return self._fail(where, f"access refused (HTTP {status})")
        # Redacted before it is cut, so that no secret the server echoed survives in part.
        text = self.redact(body[:4096].decode("utf-8", "replace"))
        excerpt = text.strip()[:200].strip().replace("\n", " ")
        detail = f": {excerpt}" if excerpt and not excerpt.startswith("<") else ""
        return self._fail(where, f"HTTP {status}{detail}")

    def _log(
        self,
        request: wire.Request,
        status: int | None,
        started: float,
        attempt: int,
        problem: str = "",
    ) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        elapsed = (self.http.clock() - started) * 1000
        outcome = str(status) if status is not None else problem
        retry = f" retry {attempt}" if attempt else ""
        url = self.redact(request.url)
        log.debug("%s %s %s %.0fms%s", request.method, url, outcome, elapsed, retry)
