"""GitHub: @mentions from notifications, keyword hits from issue search, own comments from events.

API reference: https://docs.github.com/en/rest/activity/notifications,
https://docs.github.com/en/rest/search/search#search-issues-and-pull-requests,
https://docs.github.com/en/rest/activity/events. Issues and pull requests are flat threads:
a later comment by the account anywhere in "owner/repo#number" answers a mention there.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from mentionwatch.errors import SourceError
from mentionwatch.models import Account, Batch, Kind, Mention, Reply
from mentionwatch.sources.base import (
    Fetcher,
    Page,
    Response,
    SweepState,
    join_cursor,
    require,
    split_cursor,
    sweep_newest_first,
)
from mentionwatch.text import strip_controls
from mentionwatch.timeutil import parse_timestamp, to_db

DEFAULT_SERVER = "https://api.github.com"
MENTION_REASONS = frozenset({"mention", "team_mention"})
# Fine-grained PATs and GitHub App tokens get 403 from /notifications (classic tokens only).
NO_NOTIFICATIONS_PREFIXES = ("github_pat_", "ghu_", "ghs_")
# Event type -> (payload key of the comment, id prefix, payload key of the issue or PR).
REPLY_EVENTS = {
    "IssueCommentEvent": ("comment", "issuecomment", "issue"),
    "PullRequestReviewCommentEvent": ("comment", "reviewcomment", "pull_request"),
    "PullRequestReviewEvent": ("review", "review", "pull_request"),
}
# Response validator -> the conditional request header that sends it back (304 costs no quota).
CONDITIONAL = {"last-modified": "If-Modified-Since", "etag": "If-None-Match"}
_KINDS = (("/issues/comments/", "issuecomment"), ("/pulls/comments/", "reviewcomment"))
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_SUBJECT = re.compile(r"/repos/([^/]+/[^/]+)/(issues|pulls)/(\d+)$")
_HTML_NUMBER = re.compile(r"/(?:issues|pull)/(\d+)")
_TEAM = re.compile(r"(?<![\w@/.-])@[\w-]+/[\w.-]+")
# Issue templates leave HTML comments in bodies; GitHub hides them, so do we.
_HIDDEN = re.compile(r"<!--.*?-->", re.S)

Item = dict[str, Any]


class GitHubSource:
    platform: ClassVar[str] = "github"

    def __init__(
        self, account: Account, fetcher: Fetcher, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.account = account
        self.name = account.name
        self.fetcher = fetcher
        self.clock = clock
        self.base = (account.server or DEFAULT_SERVER).rstrip("/")
        self.handle = account.handle.strip().lstrip("@")
        self._me = re.compile(rf"(?<![\w@/.-])@{re.escape(self.handle)}(?![\w/-])", re.I)
        self.headers = {
            "Authorization": f"Bearer {account.secret('token')}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    async def whoami(self) -> str:
        self._check_token_kind("/user")
        response = await self._get(f"{self.base}/user", "/user")
        login = require(self.name, "/user", response.json(), "login")
        scopes = {s.strip() for s in response.headers.get("x-oauth-scopes", "").split(",")}
        # Classic tokens list their scopes; without notifications (or repo) the poll gets 403.
        if "x-oauth-scopes" in response.headers and not {"notifications", "repo"} & scopes:
            raise SourceError(self.name, "/user", "token lacks the notifications (or repo) scope")
        host = urlsplit(self.base).hostname or ""
        return f"@{login}" if host == "api.github.com" else f"@{login}@{host}"

    # ---- mentions ----------------------------------------------------------------------

    async def mentions(self, cursor: str | None, since: datetime) -> Batch[Mention]:
        self._check_token_kind("/notifications")
        parts = split_cursor(cursor)
        batch = await self._notifications(parts.get("notifications"), since)
        found = {m.remote_id: m for m in batch.items}
        new_parts: dict[str, str | None] = {"notifications": batch.cursor}
        for keyword in self.account.keywords:
            hits = await self._keyword(keyword, parts.get(f"keyword:{keyword}"), since)
            for hit in hits.items:
                found.setdefault(hit.remote_id, hit)  # a mention that is also a hit stays one
            new_parts[f"keyword:{keyword}"] = hits.cursor
        return Batch(list(found.values()), join_cursor(new_parts))

    async def _notifications(self, cursor: str | None, since: datetime) -> Batch[Mention]:
        endpoint = "/notifications"
        lower = self._lower_bound(cursor, since)

        def params(floor: Any) -> dict[str, str]:
            start = floor or to_db(lower)
            return {"all": "true", "participating": "true", "since": start, "per_page": "50"}

        batch = await self._sweep(
            endpoint, params, cursor, lower, key=self._updated(endpoint), validator="last-modified"
        )
        wanted = [n for n in batch.items if n.get("reason") in MENTION_REASONS]
        found = await asyncio.gather(*(self._resolve(n, lower) for n in wanted))
        return Batch([m for m in found if m is not None], batch.cursor)

    async def _resolve(self, note: Item, lower: datetime) -> Mention | None:
        """The comment behind a notification: the latest one that mentions the account."""
        subject = require(self.name, "/notifications", note, "subject")
        repo = str(require(self.name, "/notifications", note, "repository", "full_name"))
        team = note.get("reason") == "team_mention"
        match = _SUBJECT.search(urlsplit(subject.get("url") or "").path)
        thread = f"{repo}#{match.group(3)}" if match else None
        title = str(subject.get("title") or "")
        item = None
        if latest := subject.get("latest_comment_url"):
            url = _issue_api_url(str(latest))
            item = await self._fetch_item(url)
            if item is not None and self._addresses_me(item, team):
                return self._mention(item, _kind_of(url), Kind.MENTION, thread, title, note)
        if match is not None:
            number, kind = match.group(3), match.group(2)
            if picked := await self._latest_mentioning(repo, number, kind, lower, team):
                return self._mention(picked[1], picked[0], Kind.MENTION, thread, title, note)
        if item is not None:
            return None  # readable, and no new mention since the last poll: only later chatter
        # Deleted, a private repo the token can't read, or a discussion: keep what the
        # notification itself says rather than lose the mention.
        return self._bare_notification(note, title, match, thread)

    async def _latest_mentioning(
        self, repo: str, number: str, kind: str, lower: datetime, team: bool
    ) -> tuple[str, Item] | None:
        """Someone commented after the mention: look through what changed since `lower`."""
        issue = f"{self.base}/repos/{repo}/issues/{number}"
        where = issue.removeprefix(self.base)
        listings = [("issuecomment", f"{issue}/comments")]
        if kind == "pulls":  # inline review comments live on the pull, not the issue
            listings.append(("reviewcomment", f"{self.base}/repos/{repo}/pulls/{number}/comments"))
        found: list[tuple[str, Item]] = []
        for prefix, url in listings:
            comments = await self._collect(url, {"since": to_db(lower), "per_page": "100"})
            found += [(prefix, c) for c in comments if self._addresses_me(c, team)]
        if not found:  # the mention may be the issue or PR description itself
            body = await self._fetch_item(issue)
            if body and self._addresses_me(body, team) and self._time(body, where) >= lower:
                found.append(("issue", body))
        return max(found, key=lambda f: self._time(f[1], where), default=None)

    def _addresses_me(self, item: Item, team: bool) -> bool:
        author = str((item.get("user") or {}).get("login") or "")
        if author.lower() == self.handle.lower():
            return False  # the account quoting its own name is not a mention
        body = str(item.get("body") or "")
        return bool(self._me.search(body) or (team and _TEAM.search(body)))

    def _mention(
        self, item: Item, prefix: str, kind: Kind, thread: str | None, title: str, note: Item
    ) -> Mention:
        where = "/search/issues" if kind is Kind.KEYWORD else "/notifications"
        return Mention(
            remote_id=f"{prefix}-{require(self.name, where, item, 'id')}",
            url=str(require(self.name, where, item, "html_url")),
            author=str(require(self.name, where, item, "user", "login")),
            text=_plain(item.get("body")),
            created_at=self._time(item, where),
            kind=kind,
            thread_id=thread,
            title=title,
            raw={"notification": note, "comment": item} if note else item,
        )

    def _bare_notification(
        self, note: Item, title: str, match: re.Match[str] | None, thread: str | None
    ) -> Mention:
        url = str((note.get("repository") or {}).get("html_url") or self.base)
        if match is not None:
            url += f"/{'pull' if match.group(2) == 'pulls' else 'issues'}/{match.group(3)}"
        return Mention(
            remote_id=f"notification-{require(self.name, '/notifications', note, 'id')}",
            url=url,
            author="",
            text=title,
            created_at=self._time(note, "/notifications", "updated_at"),
            thread_id=thread,
            title=title,
            raw={"notification": note},
        )

    async def _keyword(self, keyword: str, cursor: str | None, since: datetime) -> Batch[Mention]:
        endpoint = "/search/issues"
        lower = self._lower_bound(cursor, since)
        phrase = '"' + keyword.replace('"', "") + '"'

        def params(floor: Any) -> dict[str, str]:
            # Search allows 30 requests a minute: starting at the floor keeps it to one a run.
            query = f"{phrase} updated:>={floor or to_db(lower)}"
            return {"q": query, "sort": "updated", "order": "desc", "per_page": "50"}

        batch = await self._sweep(
            endpoint, params, cursor, lower, key=self._updated(endpoint), items_key="items"
        )
        hits = []
        for issue in batch.items:
            repo_url = str(require(self.name, endpoint, issue, "repository_url"))
            number = require(self.name, endpoint, issue, "number")
            thread = f"{repo_url.split('/repos/', 1)[-1]}#{number}"
            title = str(issue.get("title") or "")
            hits.append(self._mention(issue, "issue", Kind.KEYWORD, thread, title, {}))
        return Batch(hits, batch.cursor)

    # ---- replies -----------------------------------------------------------------------

    async def replies(self, cursor: str | None, since: datetime) -> Batch[Reply]:
        parts = split_cursor(cursor)
        logins = dict.fromkeys(n.lstrip("@") for n in (self.handle, *self.account.responders))
        found: list[Reply] = []
        new_parts: dict[str, str | None] = {}
        for login in logins:
            batch = await self._events(login, parts.get(f"events:{login}"), since)
            found += batch.items
            new_parts[f"events:{login}"] = batch.cursor
        return Batch(found, join_cursor(new_parts))

    async def _events(self, login: str, cursor: str | None, since: datetime) -> Batch[Reply]:
        """A user's comments; the events API keeps only the last 90 days and 300 events."""
        endpoint = f"/users/{login}/events"

        def event_id(event: Item) -> int:
            value = require(self.name, endpoint, event, "id")
            try:
                return int(value)
            except (TypeError, ValueError):
                problem = f"event id {value!r} is not a number"
                raise SourceError(self.name, endpoint, problem) from None

        lower = self._lower_bound(cursor, since)
        batch = await self._sweep(
            endpoint, lambda floor: {"per_page": "100"}, cursor, lower,
            key=event_id, time_field="created_at", validator="etag",
        )  # fmt: skip
        found = [self._reply(e, endpoint) for e in batch.items]
        return Batch([r for r in found if r is not None], batch.cursor)

    def _reply(self, event: Item, endpoint: str) -> Reply | None:
        shape = REPLY_EVENTS.get(str(event.get("type")))
        payload = event.get("payload") or {}
        if shape is None or payload.get("action") not in ("created", "submitted"):
            return None
        item_key, prefix, parent_key = shape
        item = require(self.name, endpoint, payload, item_key)
        url = str(require(self.name, endpoint, item, "html_url"))
        repo = str(require(self.name, endpoint, event, "repo", "name"))
        number = (payload.get(parent_key) or {}).get("number")
        if number is None and (found := _HTML_NUMBER.search(urlsplit(url).path)):
            number = found.group(1)  # trimmed payloads: the web URL still names the thread
        stamp = "submitted_at" if item_key == "review" else "created_at"
        when, field = (item, stamp) if item.get(stamp) else (event, "created_at")
        actor = require(self.name, endpoint, event, "actor", "login")
        return Reply(
            remote_id=f"{prefix}-{require(self.name, endpoint, item, 'id')}",
            url=url,
            author=str((item.get("user") or {}).get("login") or actor),
            created_at=self._time(when, endpoint, field),
            parent_id=None,
            thread_id=f"{repo}#{number}" if number is not None else None,
            raw=event,
        )

    # ---- plumbing ----------------------------------------------------------------------

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
        if float(extra.get("next_poll", 0)) > self.clock():
            return Batch([], cursor)  # GitHub asked us not to poll this listing yet

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
            since=lower,
            max_pages=self.account.max_pages,
        )
        state = SweepState.decode(batch.cursor)
        # Remember the horizon, so a listing that found nothing yet never reaches back to 1970.
        state.extra = {**extra, "horizon": to_db(lower)}
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
            extra["next_poll"] = self.clock() + min(interval, 3600.0)

    def _check_token_kind(self, endpoint: str) -> None:
        if self.account.secret("token").startswith(NO_NOTIFICATIONS_PREFIXES):
            raise SourceError(
                self.name,
                endpoint,
                "fine-grained and GitHub App tokens cannot read notifications; "
                "use a personal access token (classic) with the notifications scope",
            )

    def _lower_bound(self, cursor: str | None, since: datetime) -> datetime:
        """How far back a listing reaches: its floor, or the backfill horizon when it is new."""
        if cursor is None:  # e.g. a keyword added after the account's first poll
            return max(since, parse_timestamp(self.clock()) - self.account.backfill)
        state = SweepState.decode(cursor)
        bounds = [since]
        for value in (state.floor, state.extra.get("horizon")):
            if isinstance(value, str):  # an events floor is an id, not a time
                try:
                    bounds.append(parse_timestamp(value))
                except ValueError:
                    pass
        return max(bounds)

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


def _issue_api_url(url: str) -> str:
    """A PR body is fetched as its issue, so its id matches the search API's `issue-<id>`."""
    return re.sub(r"/pulls/(\d+)$", r"/issues/\1", url)


def _kind_of(url: str) -> str:
    """The id prefix for what an API URL points at; commit comments are plain `comment`."""
    path = urlsplit(url).path
    if re.search(r"/issues/\d+$", path):
        return "issue"
    return next((kind for part, kind in _KINDS if part in path), "comment")


def _plain(body: Any) -> str:
    """Markdown stays as written, minus hidden comments, entities, CRLF and control codes."""
    text = _HIDDEN.sub("", str(body or "")).replace("\r\n", "\n")
    return strip_controls(html.unescape(text)).strip()


SOURCE = GitHubSource
