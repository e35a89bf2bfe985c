"""Replying on Reddit: POST /api/comment on the mention's fullname; the parent chain by /api/info.

API: https://www.reddit.com/dev/api#POST_api_comment (form `thing_id`, `text`, `api_type=json`;
errors come as HTTP 200 with `json.errors` [[CODE, message, field]]), /api/info, the
`scope` field of the OAuth token (`submit` posts comments; the script app's password login
gets `*`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mentionwatch.errors import ReplyFailedError, ReplyRefusedError, ReplyRejectedError, SourceError
from mentionwatch.fetched import Post, Reply
from mentionwatch.models import Account, StoredMention
from mentionwatch.sources.base import Fetcher, LengthCheck, ReplyRequest, reply_refusal

WEB = "https://www.reddit.com"
COMMENT = "/api/comment"
INFO = "/api/info"
LIMIT = 10000  # characters in a comment
PARENTS = 10  # how far up the chain `show --thread` climbs
NEEDS = "the submit scope (a script app's password login has it; a refresh_token needs it)"
# Errors that mean the post to answer is gone or closed, not a problem with the reply.
_GONE = frozenset({"DELETED_COMMENT", "DELETED_LINK", "THREAD_LOCKED", "NO_LINKS", "TOO_OLD"})

Thing = Mapping[str, Any]


def thing_context(thing: Thing) -> dict[str, Any]:
    """Where the mention sits, for `show --thread`: its parent's fullname."""
    parent = thing.get("parent_id")
    return {"parent": parent} if isinstance(parent, str) and parent else {}


class RedditReplies:
    """Mixed into RedditSource, which provides the OAuth session and the listings."""

    account: Account
    fetcher: Fetcher
    api: str
    user: str
    user_agent: str
    _token: str | None
    _scope: str = ""
    reply_limit: int = LIMIT

    if TYPE_CHECKING:

        async def _get(self, path: str, params: Mapping[str, str]) -> Any: ...

        async def _login(self) -> str: ...

        def _parse_reply(self, path: str, thing: Thing) -> Reply: ...

    async def prepare_reply(self, mention: StoredMention, text: str = "") -> None:
        return None  # the limit is fixed and the fullname is the mention's id

    def reply_text(self, mention: StoredMention, text: str) -> str:
        return text.strip()

    def check_reply(self, mention: StoredMention, text: str) -> LengthCheck:
        return LengthCheck(len(text), self.reply_limit)

    def reply_request(self, mention: StoredMention, text: str, key: str) -> ReplyRequest:
        body = {"api_type": "json", "thing_id": mention.remote_id, "text": text}
        return ReplyRequest("POST", self.api + COMMENT, body, {"User-Agent": self.user_agent},
                            form=True)  # fmt: skip

    async def post_reply(self, mention: StoredMention, text: str, key: str) -> Reply:
        request = self.reply_request(mention, text, key)
        token = self._token or await self._login()
        for attempt in range(2):
            response = await self.fetcher.post(
                request.url,
                data=dict(request.body),
                headers={"User-Agent": self.user_agent, "Authorization": f"bearer {token}"},
                endpoint=COMMENT,
                ok_statuses=(200, 401, 403, 404),
                resend=False,
            )
            if response.status != 401 or attempt:
                break
            token = await self._login()  # expired: Reddit did nothing with the request
        if response.status != 200:
            raise reply_refusal(self.account, COMMENT, response.status, "", NEEDS)
        data = response.json()
        self._raise_errors(data)
        things = _dig(data, "json", "data", "things")
        if not isinstance(things, list) or not things or not isinstance(things[0], Mapping):
            raise SourceError(self.account.name, COMMENT, "unexpected payload: no json.data.things")
        comment = things[0].get("data")
        if not isinstance(comment, Mapping):
            raise SourceError(self.account.name, COMMENT, "unexpected payload: no comment data")
        return self._parse_reply(COMMENT, comment)

    async def find_reply(
        self, mention: StoredMention, text: str, key: str, since: datetime
    ) -> Reply | None:
        """The account's newest comments: one under the mention, with this text, posted since."""
        path = f"/user/{self.user}/comments"
        data = await self._get(path, {"sort": "new", "limit": "25", "raw_json": "1"})
        after = (since - timedelta(minutes=1)).timestamp()  # clocks disagree a little
        for child in _dig(data, "data", "children") or ():
            thing = child.get("data") if isinstance(child, Mapping) else None
            if not isinstance(thing, Mapping) or thing.get("parent_id") != mention.remote_id:
                continue
            if thing.get("body") == text and float(thing.get("created_utc") or 0) >= after:
                return self._parse_reply(path, thing)
        return None

    async def thread(self, mention: StoredMention) -> list[Post]:
        """Up the parent chain by /api/info, to the post the comments are under."""
        parent = mention.context.get("parent")
        if not isinstance(parent, str) or not parent:
            parent = _dig(await self._info(mention.remote_id), "parent_id")
        posts: list[Post] = []
        while isinstance(parent, str) and parent and len(posts) < PARENTS:
            thing = await self._info(parent)
            if thing is None:
                break
            posts.append(_post(thing))
            parent = thing.get("parent_id") if parent.startswith("t1_") else None
        return posts[::-1]

    async def reply_access(self) -> str:
        await self._login()
        scopes = set(self._scope.replace(",", " ").split())
        if not scopes:
            return "replying: Reddit did not list the token's scopes (needs submit)"
        if not {"*", "submit"} & scopes:
            raise ReplyRefusedError(
                self.account.name, "/api/v1/access_token",
                f"the token's scopes ({' '.join(sorted(scopes))}) do not allow commenting: "
                "authorize the app again with submit",
            )  # fmt: skip
        return "can reply (submit)"

    async def _info(self, fullname: str) -> Thing | None:
        data = await self._get(INFO, {"id": fullname, "raw_json": "1"})
        children = _dig(data, "data", "children")
        if not isinstance(children, list) or not children:
            return None  # deleted, removed, or in a private subreddit
        thing = children[0].get("data") if isinstance(children[0], Mapping) else None
        return thing if isinstance(thing, Mapping) else None

    def _raise_errors(self, data: Any) -> None:
        errors = _dig(data, "json", "errors")
        if not isinstance(errors, list) or not errors:
            return
        first = errors[0] if isinstance(errors[0], list) else [str(errors[0])]
        code, message = str(first[0]), str(first[1]) if len(first) > 1 else ""
        said = f"{code}: {message}".strip(": ")
        if code == "RATELIMIT":
            raise ReplyFailedError(self.account.name, COMMENT, f"{said}; not posted")
        if code in _GONE:
            problem = f"the post to answer is gone or closed ({said}); not posted"
            raise ReplyRejectedError(self.account.name, COMMENT, problem)
        if code in ("USER_REQUIRED", "INVALID_PERMISSION"):
            raise ReplyRefusedError(self.account.name, COMMENT, f"{said}; replying needs {NEEDS}")
        raise ReplyRejectedError(self.account.name, COMMENT, f"the reply was refused ({said})")


def clean(text: Any) -> str:
    """Reddit text as written: raw_json=1 asks Reddit not to escape &, < and >, but older
    items and some endpoints still carry entities, and unescaping plain text twice is harmless."""
    return html.unescape(text) if isinstance(text, str) else ""


def _post(thing: Thing) -> Post:
    title = clean(thing.get("title"))
    body = clean(thing.get("body") if "body" in thing else thing.get("selftext"))
    created = thing.get("created_utc")
    at = datetime.fromtimestamp(created, UTC) if isinstance(created, int | float) else None
    return Post(
        remote_id=str(thing.get("name") or ""),
        url=WEB + str(thing.get("permalink") or ""),
        author=str(thing.get("author") or "[deleted]"),
        text=f"{title}\n\n{body}".strip() if title else body,
        created_at=at,
    )


def _dig(data: Any, *path: str) -> Any:
    for step in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(step)
    return data
