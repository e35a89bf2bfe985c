"""GitHub: @mentions from notifications, keyword hits from issue search, own comments from events.

API reference: https://docs.github.com/en/rest/activity/notifications,
https://docs.github.com/en/rest/search/search#search-issues-and-pull-requests,
https://docs.github.com/en/rest/activity/events. Issues and pull requests are flat threads:
a later comment by the account anywhere in "owner/repo#number" answers a mention there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch, Mention, Reply, kept, raw_json
from mentionwatch.models import Kind
from mentionwatch.rules.parse import Tag
from mentionwatch.sources.base import (
    join_cursor,
    require,
    split_cursor,
)
from mentionwatch.sources.github_api import Item, plain
from mentionwatch.sources.github_reply import GitHubReplies
from mentionwatch.sources.search import keyword_conjuncts, plain_terms
from mentionwatch.timeutil import to_db

MENTION_REASONS = frozenset({"mention", "team_mention"})
# Event type -> (payload key of the comment, id prefix, payload key of the issue or PR).
REPLY_EVENTS = {
    "IssueCommentEvent": ("comment", "issuecomment", "issue"),
    "PullRequestReviewCommentEvent": ("comment", "reviewcomment", "pull_request"),
    "PullRequestReviewEvent": ("review", "review", "pull_request"),
}
_KINDS = (("/issues/comments/", "issuecomment"), ("/pulls/comments/", "reviewcomment"))
_SUBJECT = re.compile(r"/repos/([^/]+/[^/]+)/(issues|pulls)/(\d+)$")
_HTML_NUMBER = re.compile(r"/(?:issues|pull)/(\d+)")
_TEAM = re.compile(r"(?<![\w@/.-])@[\w-]+/[\w.-]+")
# Issue templates leave HTML comments in bodies; GitHub hides them, so do we.


class GitHubSource(GitHubReplies):
    platform: ClassVar[str] = "github"

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

    async def mentions(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        self._check_token_kind("/notifications")
        parts = split_cursor(cursor)
        batch = await self._notifications(parts.get("notifications"), horizon)
        found = {m.remote_id: m for m in batch.items}
        new_parts: dict[str, str | None] = {"notifications": batch.cursor}
        for name, query in _searches(self.account.keywords).items():
            hits = await self._keyword(query, parts.get(name), horizon)
            for hit in hits.items:
                found.setdefault(hit.remote_id, hit)  # a mention that is also a hit stays one
            new_parts[name] = hits.cursor
        return Batch(list(found.values()), join_cursor(new_parts), batch.not_before)

    async def _notifications(self, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        endpoint = "/notifications"
        lower = self._lower_bound(cursor, horizon)

        def params(floor: Any) -> dict[str, str]:
            start = floor or to_db(lower)
            return {"all": "true", "participating": "true", "since": start, "per_page": "50"}

        batch = await self._sweep(
            endpoint, params, cursor, lower, key=self._updated(endpoint), validator="last-modified"
        )
        wanted = [n for n in batch.items if n.get("reason") in MENTION_REASONS]
        found = await asyncio.gather(*(self._resolve(n, lower) for n in wanted))
        return Batch([m for m in found if m is not None], batch.cursor, batch.not_before)

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
            text=plain(item.get("body")),
            created_at=self._time(item, where),
            kind=kind,
            thread_id=thread,
            title=title,
            raw=kept(self.account, {"notification": note, "comment": item} if note else item),
            context=_thread_context(thread),
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
            raw=kept(self.account, {"notification": note}),
            context=_thread_context(thread),
        )

    async def _keyword(self, phrase: str, cursor: str | None, horizon: datetime) -> Batch[Mention]:
        endpoint = "/search/issues"
        lower = self._lower_bound(cursor, horizon)

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

    async def replies(self, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        parts = split_cursor(cursor)
        logins = dict.fromkeys(n.lstrip("@") for n in (self.handle, *self.account.responders))
        found: list[Reply] = []
        new_parts: dict[str, str | None] = {}
        for login in logins:
            batch = await self._events(login, parts.get(f"events:{login}"), horizon)
            found += batch.items
            new_parts[f"events:{login}"] = batch.cursor
        return Batch(found, join_cursor(new_parts))

    async def _events(self, login: str, cursor: str | None, horizon: datetime) -> Batch[Reply]:
        """A user's comments; the events API keeps only the last 90 days and 300 events."""
        endpoint = f"/users/{login}/events"

        def event_id(event: Item) -> int:
            value = require(self.name, endpoint, event, "id")
            try:
                return int(value)
            except (TypeError, ValueError):
                problem = f"event id {value!r} is not a number"
                raise SourceError(self.name, endpoint, problem) from None

        lower = self._lower_bound(cursor, horizon)
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
            raw=kept(self.account, event),
        )


def _thread_context(thread: str | None) -> str:
    """Replying needs the thread (`owner/repo#number`), which lists do not read back."""
    return raw_json({"thread": thread}) if thread else ""


def _issue_api_url(url: str) -> str:
    """A PR body is fetched as its issue, so its id matches the search API's `issue-<id>`."""
    return re.sub(r"/pulls/(\d+)$", r"/issues/\1", url)


def _kind_of(url: str) -> str:
    """The id prefix for what an API URL points at; commit comments are plain `comment`."""
    path = urlsplit(url).path
    if re.search(r"/issues/\d+$", path):
        return "issue"
    return next((kind for part, kind in _KINDS if part in path), "comment")


SOURCE = GitHubSource


def _searches(keywords: Sequence[str]) -> dict[str, str]:
    """Issue-search queries by listing name: one per OR alternative of each keyword, every
    term in quotes (GitHub would split `example-co`), author: as GitHub's qualifier
    (sources/search.py); poll.py checks every hit against the whole expression."""
    found: dict[str, str] = {}
    for keyword in keywords:
        for conjunct in keyword_conjuncts(keyword):
            terms = [t.typed if isinstance(t, Tag) else '"' + t.typed.replace('"', "") + '"'
                     for t in conjunct.terms]  # fmt: skip
            author = conjunct.field("author")
            if author:
                terms.append(f"author:{author}")
            name = plain_terms(conjunct, quote=False) + (f" author:{author}" if author else "")
            found[f"keyword:{name}"] = " ".join(terms)
    return found
