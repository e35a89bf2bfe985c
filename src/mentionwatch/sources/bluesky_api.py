"""Bluesky sessions and XRPC queries: app-password login, token renewal, errors without tokens.

An app password buys a session (`com.atproto.server.createSession`); its short-lived access
JWT is renewed with the refresh JWT (`com.atproto.server.refreshSession`) when a call answers
`ExpiredToken`. Both tokens are registered with the fetcher the moment they arrive, so no
message or log line can show them.
API: https://docs.bsky.app/docs/api/com-atproto-server-create-session
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mentionwatch.errors import RateLimitedError, SourceError
from mentionwatch.models import Account
from mentionwatch.sources.base import Fetcher, Response, require

# XRPC answers an expired or revoked access token with 400 ExpiredToken / 401; we read those.
_READ_STATUSES = (200, 400, 401)
_STALE_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
_SESSION_FIELDS = ("accessJwt", "refreshJwt", "did", "handle")
CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"


class XrpcError(SourceError):
    """A query the server refused with a named XRPC error (not a session problem)."""

    def __init__(self, account: str, nsid: str, problem: str, status: int, error: str) -> None:
        super().__init__(account, nsid, problem)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class Session:
    access: str
    refresh: str
    did: str
    handle: str


class Xrpc:
    """One account's session on its PDS; `app.bsky.*` queries go to the AppView if one is set."""

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account
        self.fetcher = fetcher
        self.pds = account.server.rstrip("/")
        self.appview = str(account.options.get("appview") or "").rstrip("/") or self.pds
        self.session: Session | None = None

    async def query(self, nsid: str, params: list[tuple[str, Any]]) -> Any:
        """GET an XRPC query with the session; an expired access token is renewed once."""
        base = self.appview if nsid.startswith("app.bsky.") else self.pds
        response = await self._get(f"{base}/xrpc/{nsid}", nsid, params)
        if response.status != 200 and self._token_is_stale(response):
            await self._renew()
            response = await self._get(f"{base}/xrpc/{nsid}", nsid, params)
        if response.status != 200:
            raise self._refused(nsid, response)
        return response.json()

    async def procedure(self, nsid: str, body: Any) -> Response:
        """POST an XRPC procedure on the PDS (a write: never re-sent once it may have arrived).

        Returns any answer the server gave; an expired access token is renewed once first.
        """
        for attempt in range(2):
            session = await self.ensure_session()
            response = await self.fetcher.post(
                f"{self.pds}/xrpc/{nsid}",
                json_body=body,
                headers={"Authorization": f"Bearer {session.access}"},
                endpoint=nsid,
                ok_statuses=(200, 400, 401, 403, 404, 413),
                resend=False,
            )
            if response.status == 200 or not self._token_is_stale(response) or attempt:
                return response
            await self._renew()
        raise AssertionError("unreachable")

    async def ensure_session(self) -> Session:
        if self.session is None:
            self.session = await self._login()
        return self.session

    async def _get(self, url: str, nsid: str, params: list[tuple[str, Any]]) -> Response:
        session = await self.ensure_session()
        return await self.fetcher.get(
            url,
            params=params,
            headers={"Authorization": f"Bearer {session.access}"},
            endpoint=nsid,
            ok_statuses=_READ_STATUSES,
        )

    def _token_is_stale(self, response: Response) -> bool:
        return response.status == 401 or _xrpc_error(response)[0] in _STALE_TOKEN_ERRORS

    def _refused(self, nsid: str, response: Response) -> SourceError:
        error, message = _xrpc_error(response)
        if response.status == 401 or error in _STALE_TOKEN_ERRORS:
            problem = (
                f"the session for {self.account.handle} was refused ({error or 'HTTP 401'}) "
                f"even after renewing it{self._password_hint()}"
            )
            return self._fail(nsid, self._scrub(problem))
        problem = self._scrub(f"HTTP {response.status} {error}: {message}")[:240]
        return XrpcError(self.account.name, nsid, problem, response.status, error)

    async def _login(self) -> Session:
        password = self.account.secret("app_password")
        if not password:
            raise self._fail(CREATE_SESSION, "no app_password is configured")
        body = {"identifier": self.account.handle, "password": password}
        try:
            response = await self.fetcher.post(
                f"{self.pds}/xrpc/{CREATE_SESSION}", json_body=body, endpoint=CREATE_SESSION
            )
        except RateLimitedError:
            raise
        except SourceError as exc:
            problem = f"login as {self.account.handle} failed{self._password_hint()}: "
            raise self._fail(CREATE_SESSION, problem + exc.problem) from None
        return self._keep(CREATE_SESSION, response)

    async def _renew(self) -> None:
        old = self.session
        if old is not None:
            try:
                response = await self.fetcher.post(
                    f"{self.pds}/xrpc/{REFRESH_SESSION}",
                    headers={"Authorization": f"Bearer {old.refresh}"},
                    endpoint=REFRESH_SESSION,
                )
                self.session = self._keep(REFRESH_SESSION, response)
                return
            except RateLimitedError:
                raise
            except SourceError:
                pass  # the refresh token expired or was revoked: a fresh login still works
        self.session = await self._login()

    def _keep(self, endpoint: str, response: Response) -> Session:
        data = response.json()
        fields = [require(self.account.name, endpoint, data, f) for f in _SESSION_FIELDS]
        for token in fields[:2]:
            # Registered at once, so that no later message or log line can show them.
            if isinstance(token, str):
                self.fetcher.add_secret(token)
        if not all(isinstance(f, str) and f for f in fields):
            raise self._fail(endpoint, "unexpected payload: session fields are not strings")
        return Session(*fields)

    def _password_hint(self) -> str:
        source = self.account.secret_sources.get("app_password")
        where = f", app_password from {source}" if source else ""
        return f" (check the app password{where})"

    def _scrub(self, text: str) -> str:
        """Server text without the app password or the session's tokens (all registered)."""
        return self.fetcher.redact(text)

    def _fail(self, endpoint: str, problem: str) -> SourceError:
        return SourceError(self.account.name, endpoint, problem)


def xrpc_error(response: Response) -> tuple[str, str]:
    """The XRPC error name and message of a failed call ("" when unnamed)."""
    return _xrpc_error(response)


def _xrpc_error(response: Response) -> tuple[str, str]:
    """XRPC errors are {"error": "ExpiredToken", "message": "..."}; anything else is unnamed."""
    try:
        data = json.loads(response.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("error") or ""), str(data.get("message") or "")
