"""GitHub REST plumbing: auth headers, conditional requests, paging, X-Poll-Interval.

Every URL the API hands back (Link, latest_comment_url) is followed only when it stays on the
configured server. Validators (Last-Modified / ETag) and the next allowed poll time are kept in
each listing's cursor, so a run that comes too early makes no request at all and a run with
nothing new costs a free 304.
API: https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch
from mentionwatch.models import Account
from mentionwatch.sources.base import (
    Fetcher,
    Page,
    Response,
    SweepState,
    require,
    sweep_newest_first,
)
from mentionwatch.text import strip_controls
from mentionwatch.timeutil import parse_timestamp

# Fine-grained PATs and GitHub App tokens get 403 from /notifications (classic tokens only).
NO_NOTIFICATIONS_PREFIXES = ("github_pat_", "ghu_", "ghs_")
# Response validator -> the conditional request header that sends it back (304 costs no quota).
CONDITIONAL = {"last-modified": "If-Modified-Since", "etag": "If-None-Match"}
# GitHub may ask for longer pauses; an hour at most, so a huge value cannot stall an account.
MAX_POLL_INTERVAL = 3600.0
# HTML comments in Markdown bodies: hidden on github.com, so hidden here.
_HIDDEN = re.compile(r"<!--.*?-->", re.S)
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

Item = dict[str, Any]


class GitHubApi:
    """One account's view of the REST API; `GitHubSource` builds mentions and replies on it."""

    def __init__(
        self, account: Account, fetcher: Fetcher, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.account = account
        self.name = account.name
        self.fetcher = fetcher
        self.clock = clock
        self.base = account.server.rstrip("/")
        self.handle = account.handle.strip().lstrip("@")
        self._me = re.compile(rf"(?<![\w@/.-])@{re.escape(self.handle)}(?![\w/-])", re.I)
        self.headers = {
            "Authorization": f"Bearer {account.secret('token')}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    async def _sweep(
        self,
        endpoint: str,
        params: Callable[[Any], Mapping[str, str]],
        cursor: str | None,
        lower: datetime,
        *,
        key: Callable[[Item], Any],
        time_field: str = "updated_at",
        items_key: str | None = None,
        validator: str | None = None,
    ) -> Batch[Item]:
        """A newest-first listing; validators and X-Poll-Interval are kept in its cursor."""
        state = SweepState.decode(cursor)
        extra = dict(state.extra)
        next_poll = float(extra.get("next_poll", 0))
        if next_poll > self.clock():  # GitHub asked us not to poll this listing yet
            return Batch([], cursor, not_before=parse_timestamp(next_poll))

        async def fetch_page(token: str | None, floor: Any) -> Page[Item]:
            if token is not None:
                response = await self._get(token, endpoint)
            else:
                # A gap fill resumes at a page token, so only a fresh sweep gets here.
                headers = {CONDITIONAL[validator]: extra[validator]} if validator in extra else {}
                url = self.base + endpoint
                response = await self._get(url, endpoint, params(floor), headers, (200, 304))
                self._note_polling(response, extra, validator)
                if response.status == 304:
                    return Page([], None)
            data = response.json()
            data = require(self.name, endpoint, data, items_key) if items_key else data
            return Page(_objects(response, data), _next_link(response))

        batch = await sweep_newest_first(
            fetch_page,
            key=key,
            time_of=lambda item: self._time(item, endpoint, time_field),
            cursor=cursor,
            horizon=lower,
            max_pages=self.account.max_pages,
        )
        state = SweepState.decode(batch.cursor)
        extra.pop("horizon", None)  # kept by older versions, now that every run has one
        state.extra = extra
        return Batch(batch.items, state.encode())

    def _note_polling(
        self, response: Response, extra: dict[str, Any], validator: str | None
    ) -> None:
        if validator is not None and validator in response.headers:
            extra[validator] = response.headers[validator]
        try:
            interval = float(response.headers.get("x-poll-interval", "0"))
        except ValueError:
            interval = 0.0
        if interval > 0:
            extra["next_poll"] = self.clock() + min(interval, MAX_POLL_INTERVAL)

    def _check_token_kind(self, endpoint: str) -> None:
        if self.account.secret("token").startswith(NO_NOTIFICATIONS_PREFIXES):
            raise SourceError(
                self.name,
                endpoint,
                "fine-grained and GitHub App tokens cannot read notifications; "
                "use a personal access token (classic) with the notifications scope",
            )

    def _lower_bound(self, cursor: str | None, horizon: datetime) -> datetime:
        """How far back a listing reaches: its floor's time, or the horizon while it has none."""
        floor = SweepState.decode(cursor).floor
        if isinstance(floor, str):  # an events floor is an id, not a time
            try:
                return parse_timestamp(floor)
            except ValueError:
                pass
        return horizon

    async def _get(
        self,
        url: str,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Response:
        # Every URL we follow (Link, latest_comment_url) must stay on the configured server,
        # or the token would go wherever a payload points.
        if not url.startswith(self.base + "/"):
            raise SourceError(self.name, endpoint, f"refusing to follow {url!r}")
        return await self.fetcher.get(
            url, params=params, headers={**self.headers, **(headers or {})},
            endpoint=endpoint, ok_statuses=ok,
        )  # fmt: skip

    async def _fetch_item(self, url: str) -> Item | None:
        """One comment or issue; None when it is gone or the token may not read it."""
        endpoint = url.removeprefix(self.base)
        response = await self._get(url, endpoint, ok=(200, 404, 410))
        if response.status != 200:
            return None
        data = response.json()
        if not isinstance(data, dict):
            raise SourceError(self.name, endpoint, "unexpected payload: not an object")
        return data

    async def _collect(self, url: str, params: Mapping[str, str]) -> list[Item]:
        """Every page of an oldest-first listing, up to the page cap."""
        endpoint = url.removeprefix(self.base)
        response = await self._get(url, endpoint, params, ok=(200, 404))
        if response.status == 404:
            return []  # a private repository the token may not read
        items = _objects(response, response.json())
        for _ in range(self.account.max_pages - 1):
            if (link := _next_link(response)) is None:
                break
            response = await self._get(link, endpoint)
            items += _objects(response, response.json())
        return items

    def _updated(self, endpoint: str) -> Callable[[Item], str]:
        # ISO 8601 UTC strings from one server sort like the times they name.
        return lambda item: str(require(self.name, endpoint, item, "updated_at"))

    def _time(self, item: Mapping[str, Any], endpoint: str, field: str = "created_at") -> datetime:
        value = require(self.name, endpoint, item, field)
        try:
            return parse_timestamp(value)
        except (TypeError, ValueError, AttributeError):
            problem = f"field {field!r} is not a time: {value!r}"
            raise SourceError(self.name, endpoint, problem) from None


def _objects(response: Response, data: Any) -> list[Item]:
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise SourceError(response.account, response.endpoint, "unexpected payload: not a list")
    return data


def _next_link(response: Response) -> str | None:
    for part in response.headers.get("link", "").split(","):
        if found := _NEXT.search(part):
            return found.group(1)
    return None


def plain(body: Any) -> str:
    """Markdown stays as written, minus hidden comments, entities, CRLF and control codes."""
    text = _HIDDEN.sub("", str(body or "")).replace("\r\n", "\n")
    return strip_controls(html.unescape(text)).strip()
