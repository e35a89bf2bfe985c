"""What sources fetch: mentions, the replies that may answer them, the batches they come in,
and, for accounts that keep them, their raw payloads as the JSON the store keeps.

Apart from `models` so that commands which only read the store never load these (nor orjson).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

import orjson

from mentionwatch.models import Account, Kind


class Mention(NamedTuple):
    """A post that addresses the account and may need an answer.

    A NamedTuple: a poll builds one per mention, and a frozen dataclass's checked assignments
    cost 2.4 us of each, a tuple's 0.7 us; it is also what worker processes pickle fastest.
    """

    remote_id: str
    url: str
    author: str
    text: str
    created_at: datetime
    kind: Kind = Kind.MENTION
    # Flat-thread platforms (GitHub issues) only: a later reply anywhere in the thread answers.
    thread_id: str | None = None
    title: str = ""
    # The payload as JSON text when the account keeps raw payloads (`keep_raw`), else "".
    raw: str = ""
    # What replying needs and the row lacks (Bluesky cid and thread root, Mastodon visibility
    # and mentioned accounts...): a small JSON object, kept whatever `keep_raw` says; "" if none.
    context: str = ""
    lang: str = ""  # the post's language where the platform says ("de", "pt-BR")


@dataclass(frozen=True)
class Post:
    """One post of a mention's thread, as `show --thread` and the inbox show it."""

    remote_id: str
    url: str
    author: str
    text: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class Reply:
    """A post by the account (or a responder) that may answer a mention."""

    remote_id: str
    url: str
    author: str
    created_at: datetime
    parent_id: str | None = None
    thread_id: str | None = None
    raw: str = ""


T = TypeVar("T")


@dataclass(frozen=True)
class Batch(Generic[T]):
    """What one source call fetched, and the cursor that covers exactly those items."""

    items: Sequence[T]
    cursor: str | None
    # Set when the platform asked not to be polled yet (GitHub's X-Poll-Interval), so the
    # listing was not asked this run: the earliest time it may be asked again.
    not_before: datetime | None = None


def kept(account: Account, payload: Any) -> str:
    """The payload to store: serialised now, so that the parsed page can be freed at once."""
    return raw_json(payload) if account.keep_raw else ""


def raw_json(payload: Mapping[str, Any]) -> str:
    """The payload as compact JSON; orjson is ~10x faster than json.dumps at this (~2 KB each).

    orjson takes the plain JSON types a parsed response is made of; anything else (ints over
    64 bits, non-string keys, dates, subclasses) goes to json.dumps, whose output it matches.
    """
    try:
        return orjson.dumps(payload, option=_ORJSON_PLAIN).decode()
    except TypeError:
        import json  # only for payloads orjson refuses; commands that only read never need it

        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


_ORJSON_PLAIN = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
