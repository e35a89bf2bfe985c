"""Replying on X: POST /2/tweets with reply.in_reply_to_tweet_id, as a user-context token.

API: https://docs.x.com/x-api/posts/manage-tweets/introduction (POST /2/tweets answers 201
{"data": {"id", "text"}}). Reading uses the app-only Bearer token (`token`), which cannot
post: posting takes an OAuth 2.0 user-context token with `tweet.write` (`reply_token`).
Lengths are weighted as twitter-text counts them (280; links 23).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mentionwatch.errors import ReplyRefusedError, ReplyRejectedError, SourceError
from mentionwatch.fetched import Post, Reply, kept
from mentionwatch.models import Account, StoredMention
from mentionwatch.sources.base import Fetcher, LengthCheck, ReplyRequest, reply_refusal
from mentionwatch.sources.reply_text import x_weighted_length

TWEETS = "/2/tweets"
ME = "/2/users/me"
SEARCH = "/2/tweets/search/recent"
LIMIT = 280
SNOWFLAKE_EPOCH_MS = 1288834974657
NEEDS = (
    "a user-context token in 'reply_token' (OAuth 2.0 with tweet.write, tweet.read and "
    "users.read; the app-only Bearer token in 'token' cannot post)"
)
_FIELDS = {"tweet.fields": "created_at,author_id,conversation_id,referenced_tweets",
           "expansions": "author_id", "user.fields": "username"}  # fmt: skip


def post_context(tweet: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation a mention belongs to, for `show --thread`."""
    conversation = tweet.get("conversation_id")
    return {"conversation": str(conversation)} if conversation else {}


def snowflake_time(post_id: int) -> datetime:
    """A post's creation time, which its id holds (X's answer to POST /2/tweets has none)."""
    return datetime.fromtimestamp(((post_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


class TwitterReplies:
    """Mixed into TwitterSource, which provides the reading side (app-only token)."""

    account: Account
    fetcher: Fetcher
    base: str
    handle: str
    reply_limit: int = LIMIT

    if TYPE_CHECKING:

        async def _get(
            self, path: str, params: Mapping[str, str], endpoint: str
        ) -> dict[str, Any]: ...

        async def _lookup_user(self) -> tuple[str, str]: ...

        def _problem(self, endpoint: str, payload: dict[str, Any], status: int) -> SourceError: ...

    async def prepare_reply(self, mention: StoredMention, text: str = "") -> None:
        self._reply_token()  # missing: said before anything is counted or sent

    def reply_text(self, mention: StoredMention, text: str) -> str:
        return text.strip()  # in_reply_to_tweet_id threads it; X adds no @handle itself now

    def check_reply(self, mention: StoredMention, text: str) -> LengthCheck:
        return LengthCheck(x_weighted_length(text), self.reply_limit, "weighted characters")

    def reply_request(self, mention: StoredMention, text: str, key: str) -> ReplyRequest:
        body = {"text": text, "reply": {"in_reply_to_tweet_id": mention.remote_id}}
        return ReplyRequest("POST", self.base + TWEETS, body)

    async def post_reply(self, mention: StoredMention, text: str, key: str) -> Reply:
        token = self._reply_token()
        request = self.reply_request(mention, text, key)
        response = await self.fetcher.post(
            request.url, json_body=dict(request.body),
            headers={"Authorization": f"Bearer {token}"}, endpoint=TWEETS,
            ok_statuses=(200, 201, 400, 401, 403, 404), resend=False,
        )  # fmt: skip
        payload = response.json()
        if response.status not in (200, 201):
            raise self._refusal(response.status, payload)
        data = payload.get("data") if isinstance(payload, Mapping) else None
        if not isinstance(data, Mapping) or not str(data.get("id") or "").isdigit():
            raise SourceError(self.account.name, TWEETS, "unexpected payload: no 'data.id'")
        return self._posted(mention, int(data["id"]), data)

    async def find_reply(
        self, mention: StoredMention, text: str, key: str, since: datetime
    ) -> Reply | None:
        """The account's newest posts: one replying to the mention, posted since the attempt."""
        user_id, _ = await self._lookup_user()
        params = {**_FIELDS, "max_results": "20", "exclude": "retweets"}
        path = f"/2/users/{quote(user_id)}/tweets"
        payload = await self._get(path, params, "/2/users/:id/tweets")
        for tweet in payload.get("data") or ():
            refs = tweet.get("referenced_tweets") or ()
            answers = any(r.get("type") == "replied_to" and str(r.get("id")) == mention.remote_id
                          for r in refs if isinstance(r, Mapping))  # fmt: skip
            post_id = int(str(tweet.get("id") or "0"))
            if answers and snowflake_time(post_id) >= since.replace(microsecond=0):
                return self._posted(mention, post_id, tweet)
        return None

    async def thread(self, mention: StoredMention) -> list[Post]:
        """The conversation's earlier posts, from recent search (7 days; plan permitting)."""
        conversation = str(mention.context.get("conversation") or "")
        if not conversation:
            found = await self._get(f"{TWEETS}/{quote(mention.remote_id)}", _FIELDS, TWEETS)
            conversation = str((found.get("data") or {}).get("conversation_id") or "")
        if not conversation or conversation == mention.remote_id:
            return []  # the mention starts its conversation
        params = {**_FIELDS, "query": f"conversation_id:{conversation}", "max_results": "100"}
        found = await self._get(SEARCH, params, SEARCH)
        root = await self._get(f"{TWEETS}/{quote(conversation)}", _FIELDS, TWEETS)
        tweets = [*(found.get("data") or ()), *([root["data"]] if root.get("data") else [])]
        users = {str(u.get("id")): str(u.get("username")) for source in (found, root)
                 for u in (source.get("includes") or {}).get("users") or ()}  # fmt: skip
        posts = [_post(t, users) for t in tweets if int(str(t["id"])) < int(mention.remote_id)]
        return sorted(posts, key=lambda p: int(p.remote_id))

    async def reply_access(self) -> str:
        token = self._reply_token()
        response = await self.fetcher.get(
            self.base + ME, params={"user.fields": "username"},
            headers={"Authorization": f"Bearer {token}"}, endpoint=ME,
            ok_statuses=(200, 401, 403),
        )  # fmt: skip
        if response.status != 200:
            raise reply_refusal(self.account, ME, response.status, "reply_token refused", NEEDS)
        username = (response.json().get("data") or {}).get("username") or "?"
        return f"can reply as @{username} (reply_token)"

    def _reply_token(self) -> str:
        token = self.account.secret("reply_token")
        if not token:
            raise ReplyRefusedError(
                self.account.name, TWEETS, f"no reply_token: posting needs {NEEDS}"
            )
        return token

    def _refusal(self, status: int, payload: Any) -> SourceError:
        detail = ""
        if isinstance(payload, Mapping):
            errors = payload.get("errors")
            first = errors[0] if isinstance(errors, list) and errors else payload
            if isinstance(first, Mapping):
                detail = str(
                    first.get("detail") or first.get("message") or first.get("title") or ""
                )
        detail = self.fetcher.redact(detail)
        if status == 403 and ("deleted" in detail or "not visible" in detail):
            return ReplyRejectedError(
                self.account.name, TWEETS, f"the post to answer is gone: {detail}"
            )
        if status == 403 and "reply" in detail.lower() and "allowed" in detail.lower():
            return ReplyRejectedError(
                self.account.name, TWEETS, f"replies are restricted: {detail}"
            )
        return reply_refusal(self.account, TWEETS, status, detail, NEEDS)

    def _posted(self, mention: StoredMention, post_id: int, raw: Mapping[str, Any]) -> Reply:
        return Reply(
            remote_id=str(post_id),
            url=f"https://x.com/{self.handle}/status/{post_id}",
            author=self.handle,
            created_at=snowflake_time(post_id),
            parent_id=mention.remote_id,
            raw=kept(self.account, raw),
        )


def _post(tweet: Mapping[str, Any], users: Mapping[str, str]) -> Post:
    post_id = int(str(tweet["id"]))
    author = users.get(str(tweet.get("author_id")), "")
    return Post(
        remote_id=str(post_id),
        url=post_url(author, post_id),
        author=author or str(tweet.get("author_id") or ""),
        text=display_text(tweet),
        created_at=snowflake_time(post_id),
    )


def post_url(username: str, post_id: int) -> str:
    if not username:  # the author was missing from includes: this form redirects to the post
        return f"https://x.com/i/web/status/{post_id}"
    return f"https://x.com/{username}/status/{post_id}"


def display_text(tweet: Mapping[str, Any]) -> str:
    """v2 `text` escapes only &, < and >; t.co links become the URLs they stand for."""
    text = str(tweet.get("text", ""))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    entities = tweet.get("entities")
    urls = entities.get("urls") if isinstance(entities, dict) else None
    for link in urls or ():
        if isinstance(link, dict) and link.get("url") and link.get("expanded_url"):
            text = text.replace(str(link["url"]), str(link["expanded_url"]))
    return text
