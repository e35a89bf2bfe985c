"""Mastodon pages decoded straight into the few fields a poll reads (msgspec), the fast path.

A notification is ~3 KB of JSON of which a poll reads a dozen fields. Decoding a page into
these structs skips the rest in C: ~2.5 us per notification instead of ~10 us for orjson's
dicts, and then no checked dict walk per field (~20 us per mention together). The structs
only take the plain shapes Mastodon documents: whatever they refuse (a missing or null field,
an int id, a page that is no list, invalid JSON), or whatever a field's check below refuses,
makes the caller read that page the checked way (mastodon.py), which says what is wrong in a
SourceError naming the account, the endpoint and the field. So both ways take exactly the same
pages and make the same entries (tests/test_mastodon_typed.py holds them to that).

Accounts that keep raw payloads (`keep_raw`) always read pages the checked way: they need the
whole payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import msgspec

from mentionwatch.fetched import Mention, Reply, raw_json
from mentionwatch.models import Kind
from mentionwatch.post_html import html_to_text
from mentionwatch.sources.base import Entry
from mentionwatch.sources.mastodon_api import id_key
from mentionwatch.timeutil import parse_timestamp

T = TypeVar("T")


class Unchecked(Exception):
    """An item outside the fast path: its page is read the checked way instead."""


# gc=False: these hold only strings, None and each other (no cycles), so the cyclic collector
# need not track the ~100,000 of them a big first poll builds.
class _Author(msgspec.Struct, gc=False):
    acct: str
    id: str | None = None


class _Mentioned(msgspec.Struct, gc=False):
    acct: str | None = None


class Status(msgspec.Struct, gc=False):
    id: str
    created_at: str
    account: _Author
    url: str | None = None
    uri: str | None = None
    content: str | None = None
    spoiler_text: str | None = None
    visibility: str | None = None
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    mentions: list[_Mentioned] | None = None
    language: str | None = None


class Notification(msgspec.Struct, gc=False):
    id: str
    created_at: str
    status: Status


class Search(msgspec.Struct, gc=False):
    statuses: list[Status]


_NOTIFICATIONS = msgspec.json.Decoder(list[Notification])
_STATUSES = msgspec.json.Decoder(list[Status])
_SEARCH = msgspec.json.Decoder(Search)


def notifications(body: bytes) -> list[Notification] | None:
    """A notifications page, or None when it is not plainly what Mastodon documents."""
    return _decode(_NOTIFICATIONS, body)


def statuses(body: bytes) -> list[Status] | None:
    return _decode(_STATUSES, body)


def search(body: bytes) -> list[Status] | None:
    found = _decode(_SEARCH, body)
    return None if found is None else found.statuses


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T | None:
    try:
        decoded = decoder.decode(body)
        # msgspec checks the UTF-8 of the strings it keeps, not of those it skips, where the
        # checked way refuses the page. isascii() is free, and true of most pages.
        if not body.isascii():
            body.decode()
    except (msgspec.DecodeError, UnicodeDecodeError):  # ValidationError is a DecodeError
        return None
    return decoded


def key(value: str) -> int:
    if not value:
        raise Unchecked  # the checked way says the field is no id
    return id_key(value)


def time_of(value: str) -> datetime:
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError):
        raise Unchecked from None


def notification_entry(notification: Notification, me: str) -> Entry[Mention]:
    status = notification.status
    at = time_of(notification.created_at)
    replying_to = status.in_reply_to_account_id
    kind = Kind.REPLY if replying_to is not None and replying_to == me else Kind.MENTION
    # The notification is about the status, so the two times are usually one string.
    created = at if status.created_at == notification.created_at else None
    return Entry(key(notification.id), at, mention(status, kind, created))


def keyword_entry(status: Status, me: str) -> Entry[Mention | None]:
    at = time_of(status.created_at)
    if status.account.id is None:
        raise Unchecked  # the checked way says the field is null
    value = None if status.account.id == me else mention(status, Kind.KEYWORD, at)
    return Entry(key(status.id), at, value)


def status_entry(status: Status) -> Entry[Reply | None]:
    at = time_of(status.created_at)
    if status.in_reply_to_id is None:
        return Entry(key(status.id), at, None)
    reply = Reply(
        remote_id=status.id,
        url=web_address(status),
        author=status.account.acct,
        created_at=at,
        parent_id=status.in_reply_to_id,
    )
    return Entry(key(status.id), at, reply)


def mention(status: Status, kind: Kind, created: datetime | None) -> Mention:
    text = html_to_text(status.content or "")
    warning = (status.spoiler_text or "").strip()
    if warning:
        # As the checked way: the content warning is what readers see first.
        text = f"CW: {warning}\n\n{text}".strip()
    return Mention(
        remote_id=status.id,
        url=web_address(status),
        author=status.account.acct,
        text=text,
        created_at=created or time_of(status.created_at),
        kind=kind,
        context=raw_json(reply_context(status)),
        lang=status.language or "",
    )


def reply_context(status: Status) -> dict[str, object]:
    """mastodon_reply.status_context, from the struct."""
    context: dict[str, object] = {
        "visibility": status.visibility or "",
        "mentions": [m.acct for m in status.mentions or () if m.acct],
    }
    if status.spoiler_text:
        context["cw"] = status.spoiler_text
    return context


def web_address(status: Status) -> str:
    url = status.url or status.uri
    if url is None or not url.startswith(("https://", "http://")):
        raise Unchecked  # the checked way says there is no web address
    return url
