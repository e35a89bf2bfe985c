"""Replying on Bluesky: an app.bsky.feed.post record with reply refs and facets; the thread.

API: https://docs.bsky.app/docs/advanced-guides/posts (replies: `reply.root` and
`reply.parent`, each {uri, cid}; facets index UTF-8 bytes), com.atproto.repo.createRecord,
app.bsky.feed.getPosts, app.bsky.feed.getPostThread, com.atproto.identity.resolveHandle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mentionwatch.errors import ReplyRefusedError, SourceError
from mentionwatch.fetched import Post, Reply, kept
from mentionwatch.models import Account, StoredMention
from mentionwatch.sources.base import LengthCheck, ReplyRequest, reply_refusal
from mentionwatch.sources.bluesky_api import Xrpc, xrpc_error
from mentionwatch.sources.bluesky_text import post_text, web_url
from mentionwatch.sources.reply_text import URL, graphemes, utf8_span
from mentionwatch.timeutil import parse_timestamp

CREATE_RECORD = "com.atproto.repo.createRecord"
LIST_RECORDS = "com.atproto.repo.listRecords"
GET_POSTS = "app.bsky.feed.getPosts"
GET_THREAD = "app.bsky.feed.getPostThread"
RESOLVE_HANDLE = "com.atproto.identity.resolveHandle"
POST = "app.bsky.feed.post"
LIMIT = 300  # graphemes, app.bsky.feed.post's maxGraphemes
PARENTS = 20  # how far up getPostThread looks
NEEDS = "an app password (Settings → Privacy and security → App passwords)"
# The handle syntax the app's rich-text parser accepts: at least one dot, no trailing one.
_MENTION = re.compile(r"(?:^|(?<=[\s(]))@(([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z]+)")


def post_context(item: Any) -> dict[str, Any]:
    """What a reply to this post view needs: its cid and the thread's root ref."""
    if not isinstance(item, Mapping):
        return {}
    cid, uri = item.get("cid"), item.get("uri")
    record = item.get("record") if isinstance(item.get("record"), Mapping) else {}
    reply = record.get("reply") if isinstance(record, Mapping) else None
    root = reply.get("root") if isinstance(reply, Mapping) else None
    if not (isinstance(root, Mapping) and root.get("uri") and root.get("cid")):
        root = {"uri": uri, "cid": cid}  # a post that replies to nothing is its thread's root
    if not (isinstance(cid, str) and cid):
        return {}
    return {"cid": cid, "root": {"uri": str(root["uri"]), "cid": str(root["cid"])}}


class BlueskyReplies:
    """Mixed into BlueskySource, which provides the account and its Xrpc session."""

    account: Account
    xrpc: Xrpc
    reply_limit: int = LIMIT
    _refs: tuple[int, dict[str, Any]] | None = None  # what prepare_reply found of the mention
    _dids: tuple[str, dict[str, str]] | None = None  # a reply's text and its @handles' DIDs

    async def prepare_reply(self, mention: StoredMention, text: str = "") -> None:
        """The post must still exist (the PDS would accept a reply to a deleted one)."""
        data = await self.xrpc.query(GET_POSTS, [("uris", mention.remote_id)])
        posts = data.get("posts") if isinstance(data, Mapping) else None
        if not posts:
            raise reply_refusal(self.account, GET_POSTS, 404, "", NEEDS)
        refs = dict(mention.context) if mention.context.get("cid") else post_context(posts[0])
        if not refs:
            raise SourceError(self.account.name, GET_POSTS, "unexpected payload: no 'cid'")
        self._refs = (mention.id, refs)
        if text:
            self._dids = (text, await self._resolve_mentions(text))

    def reply_text(self, mention: StoredMention, text: str) -> str:
        return text.strip()  # the reply refs say whom it answers; no @handle needed

    def check_reply(self, mention: StoredMention, text: str) -> LengthCheck:
        return LengthCheck(graphemes(text), self.reply_limit, "graphemes")

    def reply_request(self, mention: StoredMention, text: str, key: str) -> ReplyRequest:
        return self._request(mention, text, _now_text(), self._resolved(text))

    def _request(
        self, mention: StoredMention, text: str, created: str, dids: Mapping[str, str]
    ) -> ReplyRequest:
        refs = self._refs[1] if self._refs and self._refs[0] == mention.id else mention.context
        session = self.xrpc.session
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": created,
            "reply": {
                "root": dict(refs.get("root") or {}),
                "parent": {"uri": mention.remote_id, "cid": refs.get("cid", "")},
            },
        }
        if found := facets(text, dids):
            record["facets"] = found
        body = {"repo": session.did if session else "", "collection": POST, "record": record}
        return ReplyRequest("POST", f"{self.xrpc.pds}/xrpc/{CREATE_RECORD}", body)

    async def post_reply(self, mention: StoredMention, text: str, key: str) -> Reply:
        if self._dids is None or self._dids[0] != text:
            self._dids = (text, await self._resolve_mentions(text))
        created = _now_text()
        request = self._request(mention, text, created, self._resolved(text))
        response = await self.xrpc.procedure(CREATE_RECORD, request.body)
        if response.status != 200:
            error, message = xrpc_error(response)
            raise reply_refusal(
                self.account, CREATE_RECORD, response.status, f"{error} {message}", NEEDS
            )
        data = response.json()
        uri = data.get("uri") if isinstance(data, Mapping) else None
        if not isinstance(uri, str) or not uri.startswith("at://"):
            raise SourceError(self.account.name, CREATE_RECORD, "unexpected payload: no 'uri'")
        return self._reply(mention, uri, parse_timestamp(created), data)

    async def find_reply(
        self, mention: StoredMention, text: str, key: str, since: datetime
    ) -> Reply | None:
        """The account's newest post records (the PDS has them at once, unlike the AppView)."""
        session = await self.xrpc.ensure_session()
        params = [("repo", session.did), ("collection", POST), ("limit", 25)]
        data = await self.xrpc.query(LIST_RECORDS, params)
        for item in data.get("records") or () if isinstance(data, Mapping) else ():
            value = item.get("value") if isinstance(item, Mapping) else None
            if not isinstance(value, Mapping):
                continue
            parent = (value.get("reply") or {}).get("parent") or {}
            if parent.get("uri") == mention.remote_id and value.get("text") == text:
                created = parse_timestamp(str(value.get("createdAt")))
                if created >= since.replace(microsecond=0):
                    return self._reply(mention, str(item.get("uri")), created, item)
        return None

    async def thread(self, mention: StoredMention) -> list[Post]:
        params = [("uri", mention.remote_id), ("depth", 0), ("parentHeight", PARENTS)]
        data = await self.xrpc.query(GET_THREAD, params)
        node = (data.get("thread") or {}).get("parent") if isinstance(data, Mapping) else None
        posts: list[Post] = []
        while isinstance(node, Mapping):
            post = node.get("post")
            if isinstance(post, Mapping):  # notFoundPost / blockedPost have none: left out
                posts.append(self._thread_post(post))
            node = node.get("parent")
        return posts[::-1]

    async def reply_access(self) -> str:
        # App passwords have no scopes: a working login may post (unless it is a
        # read-only session the PDS refuses writes for, which only a post would show).
        session = await self.xrpc.ensure_session()
        if not session.did:
            raise ReplyRefusedError(self.account.name, CREATE_RECORD, "no DID in the session")
        return "can reply (app password)"

    def _resolved(self, text: str) -> dict[str, str]:
        return self._dids[1] if self._dids and self._dids[0] == text else {}

    async def _resolve_mentions(self, text: str) -> dict[str, str]:
        """@handle → DID for each mention in the text; unknown handles stay plain text."""
        dids: dict[str, str] = {}
        for match in _MENTION.finditer(text):
            handle = match.group(1).lower()
            if handle in dids:
                continue
            try:
                data = await self.xrpc.query(RESOLVE_HANDLE, [("handle", handle)])
            except SourceError:
                continue  # the app leaves an unresolvable handle unlinked too
            if isinstance(data, Mapping) and isinstance(data.get("did"), str):
                dids[handle] = data["did"]
        return dids

    def _reply(self, mention: StoredMention, uri: str, created: datetime, raw: Any) -> Reply:
        session = self.xrpc.session
        handle, did = (session.handle, session.did) if session else ("", "")
        return Reply(
            remote_id=uri,
            url=web_url(uri, handle, did),
            author=handle,
            created_at=created,
            parent_id=mention.remote_id,
            raw=kept(self.account, raw),
        )

    def _thread_post(self, post: Mapping[str, Any]) -> Post:
        author, record = _object(post.get("author")), _object(post.get("record"))
        handle, did = str(author.get("handle") or ""), str(author.get("did") or "")
        uri = str(post.get("uri") or "")
        try:
            created: datetime | None = parse_timestamp(str(record.get("createdAt")))
        except ValueError:
            created = None
        return Post(
            remote_id=uri,
            url=web_url(uri, handle, did) if uri else "",
            author=handle or did,
            text=post_text(str(record.get("text") or ""), record.get("facets")),
            created_at=created,
        )


def facets(text: str, dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rich-text facets for links and resolved @mentions, indexed by UTF-8 byte offsets."""
    found: list[tuple[int, dict[str, Any]]] = []
    for match in URL.finditer(text):
        start, end = utf8_span(text, match.start(), match.end())
        feature = {"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}
        found.append((start, _facet(start, end, feature)))
    for match in _MENTION.finditer(text):
        did = dids.get(match.group(1).lower())
        if did is None:
            continue
        start, end = utf8_span(text, match.start(), match.end())
        feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
        found.append((start, _facet(start, end, feature)))
    return [facet for _, facet in sorted(found, key=lambda pair: pair[0])]


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _facet(start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    return {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}


def _now_text() -> str:
    """createdAt as the app writes it: UTC, milliseconds, Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
