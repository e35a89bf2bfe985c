"""Replying on Mastodon: post a status in reply, count it as the server does, read the thread.

API: https://docs.joinmastodon.org/methods/statuses/#create (Idempotency-Key: the server
returns the first status for a repeated key, for an hour), /methods/instance/#v2 (limits),
/methods/statuses/#context (ancestors), /methods/apps/#verify_credentials (scopes).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from mentionwatch.errors import ReplyRefusedError
from mentionwatch.fetched import Post, Reply, kept
from mentionwatch.models import Account, StoredMention
from mentionwatch.post_html import html_to_text
from mentionwatch.sources.base import LengthCheck, ReplyRequest, reply_refusal
from mentionwatch.sources.mastodon_api import Api
from mentionwatch.sources.reply_text import count_with_links, graphemes, with_handles

POST_STATUS = "/api/v1/statuses"
INSTANCE = "/api/v2/instance"
STATUS = "/api/v1/statuses/:id"
CONTEXT = "/api/v1/statuses/:id/context"
APP = "/api/v1/apps/verify_credentials"
# Widest first: a reply is never more visible than what it answers.
VISIBILITIES = ("public", "unlisted", "private", "direct")
WRITE_SCOPES = frozenset({"write", "write:statuses"})
NEEDS = "a token with the write:statuses scope"
# Mastodon counts a remote mention "@user@domain" as "@user".
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@\w+)@[\w.-]+\w")


def status_context(status: dict[str, Any]) -> dict[str, Any]:
    """What a reply to `status` needs (kept with the mention at poll time)."""
    listed = status.get("mentions")
    # Only replying reads these: a server sending something else loses them, not the mention.
    listed = listed if isinstance(listed, list) else []
    mentions = [m.get("acct") for m in listed if isinstance(m, dict)]
    context: dict[str, Any] = {
        "visibility": str(status.get("visibility") or ""),
        "mentions": [str(acct) for acct in mentions if acct],
    }
    if status.get("spoiler_text"):
        context["cw"] = str(status["spoiler_text"])
    return context


class MastodonReplies:
    """Mixed into MastodonSource, which provides the account and its Api."""

    account: Account
    api: Api
    reply_limit: int = 500
    link_length: int = 23
    _fetched: tuple[int, dict[str, Any]] | None = None  # the context prepare_reply looked up

    def _context(self, mention: StoredMention) -> dict[str, Any]:
        if self._fetched is not None and self._fetched[0] == mention.id:
            return self._fetched[1]
        return dict(mention.context)

    async def prepare_reply(self, mention: StoredMention, text: str = "") -> None:
        response = await self.api.get(INSTANCE, INSTANCE, [], ok=(200, 404))
        if response.status == 200:
            data = self.api.json(response)
            statuses = (data.get("configuration") or {}).get("statuses") or {}
            limit = statuses.get("max_characters")
            per_url = statuses.get("characters_reserved_per_url")
            self.reply_limit = limit if isinstance(limit, int) and limit > 0 else self.reply_limit
            self.link_length = per_url if isinstance(per_url, int) else self.link_length
        if not self._context(mention).get("visibility"):
            # Stored before mentions kept their context: ask the server what the post is.
            status = await self._status(mention)
            self._fetched = (mention.id, status_context(status))

    def reply_text(self, mention: StoredMention, text: str) -> str:
        """The author's @acct and the other mentioned accounts first, as Mastodon's app does."""
        handles = [mention.author, *self._context(mention).get("mentions", [])]
        return with_handles(text, [h for h in handles if not self._is_me(h)])

    def check_reply(self, mention: StoredMention, text: str) -> LengthCheck:
        countable = _REMOTE_MENTION.sub(r"\1", text)
        count = count_with_links(countable, self.link_length)
        cw = str(self._context(mention).get("cw") or "")
        return LengthCheck(count + (graphemes(cw) if cw else 0), self.reply_limit)

    def reply_request(self, mention: StoredMention, text: str, key: str) -> ReplyRequest:
        context = self._context(mention)
        body: dict[str, Any] = {
            "status": text,
            "in_reply_to_id": mention.remote_id,
            "visibility": _no_wider(str(context.get("visibility") or "")),
        }
        if context.get("cw"):
            body["spoiler_text"] = str(context["cw"])  # as Mastodon's app does: the CW carries over
        return ReplyRequest(
            "POST", self.api.base + POST_STATUS, body, headers={"Idempotency-Key": key}
        )

    async def post_reply(self, mention: StoredMention, text: str, key: str) -> Reply:
        request = self.reply_request(mention, text, key)
        response = await self.api.post(
            POST_STATUS, POST_STATUS, dict(request.body), dict(request.headers),
            ok=(200, 400, 401, 403, 404, 422),
        )  # fmt: skip
        if response.status != 200:
            raise reply_refusal(
                self.account, POST_STATUS, response.status, _error_text(response.body), NEEDS
            )
        status = self.api.object_at(POST_STATUS, self.api.json(response))
        return Reply(
            remote_id=str(self.api.field(POST_STATUS, status, "id")),
            url=str(status.get("url") or status.get("uri") or ""),
            author=str(self.api.field(POST_STATUS, status, "account", "acct")),
            created_at=self.api.time_at(POST_STATUS, status, "created_at"),
            parent_id=str(status.get("in_reply_to_id") or mention.remote_id),
            raw=kept(self.account, status),
        )

    async def find_reply(
        self, mention: StoredMention, text: str, key: str, since: datetime
    ) -> Reply | None:
        # The same Idempotency-Key: a status that was created comes back instead of a second.
        return await self.post_reply(mention, text, key)

    async def thread(self, mention: StoredMention) -> list[Post]:
        path = f"/api/v1/statuses/{quote(mention.remote_id, safe='')}/context"
        response = await self.api.get(CONTEXT, path, [])
        ancestors = self.api.list_of(
            CONTEXT, self.api.field(CONTEXT, self.api.json(response), "ancestors")
        )
        return [self._post(CONTEXT, self.api.object_at(CONTEXT, s)) for s in ancestors]

    async def reply_access(self) -> str:
        response = await self.api.get(APP, APP, [], ok=(200, 401, 403))
        if response.status != 200:
            raise reply_refusal(self.account, APP, response.status, "", NEEDS)
        scopes = self.api.json(response).get("scopes")
        if not isinstance(scopes, list):
            return "replying: the server does not list the token's scopes (needs write:statuses)"
        if not WRITE_SCOPES & {str(s) for s in scopes}:
            raise ReplyRefusedError(
                self.account.name, APP,
                f"the token's scopes ({' '.join(map(str, scopes))}) do not allow replying: "
                "create one with write:statuses",
            )  # fmt: skip
        return "can reply (write:statuses)"

    async def _status(self, mention: StoredMention) -> dict[str, Any]:
        path = f"/api/v1/statuses/{quote(mention.remote_id, safe='')}"
        response = await self.api.get(STATUS, path, [], ok=(200, 404))
        if response.status == 404:
            raise reply_refusal(self.account, STATUS, 404, "", NEEDS)
        return self.api.object_at(STATUS, self.api.json(response))

    def _post(self, endpoint: str, status: dict[str, Any]) -> Post:
        return Post(
            remote_id=str(self.api.field(endpoint, status, "id")),
            url=str(status.get("url") or status.get("uri") or ""),
            author=str(self.api.field(endpoint, status, "account", "acct")),
            text=html_to_text(str(status.get("content") or "")),
            created_at=self.api.time_at(endpoint, status, "created_at"),
        )

    def _is_me(self, acct: str) -> bool:
        me = self.account.handle.lower().lstrip("@")
        host = (urlsplit(self.api.base).hostname or "").lower()
        local = me.split("@", 1)[0]
        acct = acct.lower().lstrip("@")
        return acct in {me, local, f"{local}@{host}"}


def _no_wider(visibility: str) -> str:
    """The mention's own visibility; unknown ones get the narrowest, never a wider one."""
    return visibility if visibility in VISIBILITIES else "direct"


def _error_text(body: bytes) -> str:
    import json

    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    return str(data.get("error") or "") if isinstance(data, dict) else ""
