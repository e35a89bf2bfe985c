"""Replying on GitHub: an issue or pull request comment, or a reply in a review comment's thread.

API: https://docs.github.com/en/rest/issues/comments#create-an-issue-comment,
https://docs.github.com/en/rest/pulls/comments#create-a-reply-for-a-review-comment.
What to answer follows from the stored mention: its remote id says what it is
(`reviewcomment-ID`, `issuecomment-ID`, `issue-ID`, ...) and its thread says where
(`owner/repo#number`), so nothing more needs keeping at poll time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from mentionwatch.errors import ReplyRefusedError, ReplyRejectedError, SourceError
from mentionwatch.fetched import Post, Reply, kept
from mentionwatch.models import StoredMention
from mentionwatch.sources.base import LengthCheck, ReplyRequest, Response, reply_refusal
from mentionwatch.sources.github_api import GitHubApi, Item, plain
from mentionwatch.timeutil import parse_timestamp, to_db

ISSUE_COMMENTS = "/repos/{owner}/{repo}/issues/{number}/comments"
REVIEW_REPLIES = "/repos/{owner}/{repo}/pulls/{number}/comments/{comment_id}/replies"
REVIEW_COMMENTS = "/repos/{owner}/{repo}/pulls/{number}/comments"
ISSUE = "/repos/{owner}/{repo}/issues/{number}"
LIMIT = 65536  # characters in a comment body
WRITE_SCOPES = frozenset({"repo", "public_repo"})
NEEDS = "a classic token with the public_repo scope (repo for private repositories)"
_THREAD = re.compile(r"^([^/\s]+/[^/#\s]+)#(\d+)$")


class GitHubReplies(GitHubApi):
    """Replying, on top of the REST plumbing; GitHubSource adds the listings."""

    reply_limit: int = LIMIT

    async def prepare_reply(self, mention: StoredMention, text: str = "") -> None:
        self._target(mention)  # a mention outside any issue or pull request is refused now

    def reply_text(self, mention: StoredMention, text: str) -> str:
        return text.strip()

    def check_reply(self, mention: StoredMention, text: str) -> LengthCheck:
        return LengthCheck(len(text), self.reply_limit)

    def reply_request(self, mention: StoredMention, text: str, key: str) -> ReplyRequest:
        repo, number, review = self._target(mention)
        owner, name = repo.split("/", 1)
        if review:
            path = REVIEW_REPLIES.format(owner=owner, repo=name, number=number, comment_id=review)
        else:
            path = ISSUE_COMMENTS.format(owner=owner, repo=name, number=number)
        headers = {k: v for k, v in self.headers.items() if k != "Authorization"}
        return ReplyRequest("POST", self.base + path, {"body": text}, headers)

    async def post_reply(self, mention: StoredMention, text: str, key: str) -> Reply:
        request = self.reply_request(mention, text, key)
        endpoint = REVIEW_REPLIES if self._target(mention)[2] else ISSUE_COMMENTS
        response = await self.fetcher.post(
            request.url, json_body=dict(request.body), headers=self.headers, endpoint=endpoint,
            ok_statuses=(201, 401, 403, 404, 410, 422), resend=False,
        )  # fmt: skip
        if response.status != 201:
            raise reply_refusal(self.account, endpoint, response.status, _message(response), NEEDS)
        data = response.json()
        if not isinstance(data, dict):
            raise SourceError(self.name, endpoint, "unexpected payload: not an object")
        return self._posted_reply(mention, data, endpoint)

    async def find_reply(
        self, mention: StoredMention, text: str, key: str, since: datetime
    ) -> Reply | None:
        """Our own comment with this body, posted since the attempt began."""
        repo, number, review = self._target(mention)
        owner, name = repo.split("/", 1)
        template = REVIEW_COMMENTS if review else ISSUE_COMMENTS
        path = template.format(owner=owner, repo=name, number=number)
        # `since` compares updated_at; a minute of slack covers clocks that disagree.
        params = {"since": to_db(since - timedelta(minutes=1)), "per_page": "100"}
        for item in await self._collect(self.base + path, params):
            login = str((item.get("user") or {}).get("login") or "")
            if login.lower() == self.handle.lower() and str(item.get("body")) == text:
                if not review or str(item.get("in_reply_to_id")) == review:
                    return self._posted_reply(mention, item, template)
        return None

    async def thread(self, mention: StoredMention) -> list[Post]:
        """The issue or pull request description, then every comment before the mention."""
        repo, number, _ = self._target(mention)
        owner, name = repo.split("/", 1)
        issue_path = ISSUE.format(owner=owner, repo=name, number=number)
        response = await self._get(self.base + issue_path, ISSUE)
        issue = response.json()
        posts = [] if mention.remote_id.startswith("issue-") else [self._post(issue, ISSUE)]
        comments_path = ISSUE_COMMENTS.format(owner=owner, repo=name, number=number)
        for comment in await self._collect(self.base + comments_path, {"per_page": "100"}):
            post = self._post(comment, ISSUE_COMMENTS, "issuecomment-")
            if post.remote_id == mention.remote_id:
                break
            if post.created_at is not None and post.created_at < mention.created_at:
                posts.append(post)
        return posts

    async def reply_access(self) -> str:
        response = await self._get(f"{self.base}/user", "/user")
        if "x-oauth-scopes" not in response.headers:
            # Fine-grained tokens list no scopes; their permissions show only when used.
            return (
                "replying: the token lists no scopes (a fine-grained token needs Issues and "
                "Pull requests: Read and write)"
            )
        scopes = {s.strip() for s in response.headers["x-oauth-scopes"].split(",") if s.strip()}
        if not WRITE_SCOPES & scopes:
            listed = ", ".join(sorted(scopes)) or "none"
            raise ReplyRefusedError(
                self.name, "/user", f"the token's scopes ({listed}) do not allow commenting: "
                "add public_repo (or repo for private repositories)",
            )  # fmt: skip
        return f"can reply ({', '.join(sorted(WRITE_SCOPES & scopes))})"

    def _target(self, mention: StoredMention) -> tuple[str, str, str | None]:
        """(owner/repo, number, the review comment to answer in its thread, if any)."""
        found = _THREAD.match(mention.context.get("thread", "") or "") or _THREAD.match(
            _thread_of(mention)
        )
        if found is None:
            raise ReplyRejectedError(
                self.name, "reply", "this mention is not in an issue or pull request, so it "
                "cannot be answered from here (commit comments and discussions are not)",
            )  # fmt: skip
        prefix, _, comment_id = mention.remote_id.partition("-")
        review = comment_id if prefix == "reviewcomment" else None
        return found.group(1), found.group(2), review

    def _posted_reply(self, mention: StoredMention, item: Item, endpoint: str) -> Reply:
        repo, number, review = self._target(mention)
        prefix = "reviewcomment" if review else "issuecomment"
        login = str((item.get("user") or {}).get("login") or self.handle)
        return Reply(
            remote_id=f"{prefix}-{item.get('id')}",
            url=str(item.get("html_url") or ""),
            author=login,
            created_at=_time(self.name, endpoint, item),
            parent_id=None,
            thread_id=f"{repo}#{number}",
            raw=kept(self.account, item),
        )

    def _post(self, item: Any, endpoint: str, prefix: str = "issue-") -> Post:
        if not isinstance(item, dict):
            raise SourceError(self.name, endpoint, "unexpected payload: not an object")
        title = str(item.get("title") or "")
        body = plain(item.get("body"))
        return Post(
            remote_id=f"{prefix}{item.get('id')}",
            url=str(item.get("html_url") or ""),
            author=str((item.get("user") or {}).get("login") or ""),
            text=f"{title}\n\n{body}".strip() if title else body,
            created_at=_time(self.name, endpoint, item),
        )


def _thread_of(mention: StoredMention) -> str:
    """The stored thread id is not on StoredMention; the web URL names it as well."""
    found = re.search(r"https?://[^/]+/([^/]+/[^/]+)/(?:issues|pull)/(\d+)", mention.url)
    return f"{found.group(1)}#{found.group(2)}" if found else ""


def _time(account: str, endpoint: str, item: Item) -> datetime:
    try:
        return parse_timestamp(str(item.get("created_at")))
    except ValueError:
        raise SourceError(account, endpoint, "unexpected payload: no 'created_at'") from None


def _message(response: Response) -> str:
    try:
        data = response.json()
    except SourceError:
        return ""
    if not isinstance(data, dict):
        return ""
    errors = data.get("errors")
    detail = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        detail = f" ({errors[0].get('message') or errors[0].get('code') or ''})"
    return f"{data.get('message') or ''}{detail}"
