"""The fast way of reading Mastodon pages (msgspec structs) must read exactly what the checked
way (orjson dicts, a SourceError naming the field) reads, or step aside for it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch.errors import SourceError
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.sources import mastodon_typed as typed
from mentionwatch.sources.base import Entry, Response
from mentionwatch.sources.mastodon import NOTIFICATIONS, SEARCH, STATUSES, MastodonSource
from tests.test_source_mastodon import ME, notification, status

Checked = Callable[[MastodonSource, Any], list[Entry[Any]]]


@pytest.fixture(scope="module")
def source() -> Iterator[MastodonSource]:
    http = Http()  # never asked to send anything: these tests read bodies
    account = Account(name="brand", platform="mastodon", server="https://m.example")
    yield MastodonSource(account, http.for_account(account))


def response(body: bytes, endpoint: str) -> Response:
    return Response(200, {}, body, "https://m.example" + endpoint, endpoint, "brand")


def checked_notifications(source: MastodonSource, data: Any) -> list[Entry[Any]]:
    items = source.api.list_of(NOTIFICATIONS, data)
    return [source._notification_entry(n, ME) for n in items]


def checked_statuses(source: MastodonSource, data: Any) -> list[Entry[Any]]:
    return [source._status_entry(s) for s in source.api.list_of(STATUSES, data)]


def checked_search(source: MastodonSource, data: Any) -> list[Entry[Any]]:
    found = source.api.list_of(SEARCH, source.api.field(SEARCH, data, "statuses"))
    return [source._keyword_entry(s, ME) for s in found]


READERS: dict[str, tuple[Callable[[bytes], list[Any] | None], Callable[[Any], Any], Checked]] = {
    NOTIFICATIONS: (
        typed.notifications, lambda n: typed.notification_entry(n, ME), checked_notifications
    ),
    STATUSES: (typed.statuses, typed.status_entry, checked_statuses),
    SEARCH: (typed.search, lambda s: typed.keyword_entry(s, ME), checked_search),
}  # fmt: skip


def both_ways(
    source: MastodonSource, endpoint: str, body: bytes
) -> tuple[list[Entry[Any]] | None, list[Entry[Any]] | str]:
    """(fast entries or None, checked entries or the checked way's error)."""
    decode, entry, checked = READERS[endpoint]
    fast = source._typed(decode, entry, response(body, endpoint))
    try:
        slow: list[Entry[Any]] | str = checked(source, source.api.json(response(body, endpoint)))
    except SourceError as exc:
        slow = str(exc)
    return fast, slow


# Each field as Mastodon sends it (first), or as a broken or unusual server might.
_ODD: st.SearchStrategy[Any] = st.sampled_from([None, 7, True, "", [], {}, 2**70, "x"])
_TIMES = ["2026-11-30T12:00:00.000Z", "2026-11-30T13:00:00+01:00", "2026-11-30T12:00:00",
          " 2026-11-30T12:00:00z ", "yesterday", "2026-02-30T00:00:00Z",
          "0001-01-01T00:00:00+01:00", "2026-11-30T12:00:00.123456789Z"]  # fmt: skip
_URLS = ["https://m.example/@a/1", "http://m.example/@a/1", "ftp://x", ""]
_ACCTS = ["alice@other.example", "brand", ""]
_IDS = ["109876543210000099", "1", "01HXYZ", ME, "", 12]
_CONTENT = ["<p>Hi <a href=\"https://ex.co/x\">here</a> &amp; &#39;there&#39;</p>", "",
            "<p>a<br>b</p>", "<script>x</script>", "&lt;b&gt;"]  # fmt: skip


def _maybe(draw: st.DrawFn, values: list[Any]) -> Any:
    """A field's value: mostly the usual one, sometimes another of `values`, an odd one, or
    none at all (KeyError: left out). About half the items are ones both ways read."""
    roll = draw(st.integers(0, 39))
    if roll == 0:
        return draw(_ODD)
    if roll == 1:
        return KeyError
    return draw(st.sampled_from(values)) if roll < 5 else values[0]


@st.composite
def statuses(draw: st.DrawFn) -> dict[str, Any]:
    post = status(1)
    post["account"]["id"] = _maybe(draw, ["2001", ME])
    post["account"]["acct"] = _maybe(draw, _ACCTS)
    mentioned = st.lists(st.fixed_dictionaries({"acct": st.sampled_from(_ACCTS)}), max_size=2)
    post["mentions"] = _maybe(draw, [[], *draw(st.lists(mentioned, max_size=2))])
    for name, values in (
        ("id", _IDS), ("created_at", _TIMES), ("url", _URLS), ("uri", _URLS),
        ("content", _CONTENT), ("spoiler_text", ["", " CW ", "spoilers"]),
        ("visibility", ["public", "direct", ""]), ("in_reply_to_id", [None, "5"]),
        ("in_reply_to_account_id", [None, ME, "2001"]), ("account", [post["account"]]),
        ("language", ["en", None, "pt-BR", ""]),
    ):  # fmt: skip
        post[name] = _maybe(draw, values)
    if isinstance(post["account"], dict):
        post["account"] = {k: v for k, v in post["account"].items() if v is not KeyError}
    return {k: v for k, v in post.items() if v is not KeyError}


@st.composite
def notifications(draw: st.DrawFn) -> dict[str, Any]:
    post = draw(statuses())
    item = notification(1, status(1))
    item["id"] = _maybe(draw, _IDS)
    # Usually the status's own time, as Mastodon sends it.
    item["created_at"] = _maybe(draw, [post.get("created_at"), *_TIMES])
    item["status"] = _maybe(draw, [post])
    return {k: v for k, v in item.items() if v is not KeyError}


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


@settings(max_examples=400, deadline=None)
@given(st.lists(notifications(), max_size=3))
def test_notification_pages_read_alike_or_the_checked_way(
    source: MastodonSource, page: list[dict[str, Any]]
) -> None:
    fast, slow = both_ways(source, NOTIFICATIONS, body(page))
    assert fast is None or fast == slow


@settings(max_examples=300, deadline=None)
@given(st.lists(statuses(), max_size=3))
def test_status_and_search_pages_read_alike_or_the_checked_way(
    source: MastodonSource, page: list[dict[str, Any]]
) -> None:
    fast, slow = both_ways(source, STATUSES, body(page))
    assert fast is None or fast == slow
    fast, slow = both_ways(source, SEARCH, body({"statuses": page}))
    assert fast is None or fast == slow


@pytest.mark.parametrize(
    ("endpoint", "page"),
    [
        (NOTIFICATIONS, b'{"error": "Record not found"}'),
        (NOTIFICATIONS, b"<html>502</html>"),
        (NOTIFICATIONS, b'[{"id": "1", "created_at": "2026-11-30T12:00:00Z", "x": "\xff"}]'),
        (SEARCH, b'{"accounts": [], "hashtags": []}'),
        (STATUSES, b'[{"id": "1", "created_at": "2026-11-30T12:00:00Z", "n": NaN}]'),
    ],
)
def test_pages_the_fast_way_refuses_are_read_the_checked_way(
    source: MastodonSource, endpoint: str, page: bytes
) -> None:
    decode, entry, _ = READERS[endpoint]
    assert source._typed(decode, entry, response(page, endpoint)) is None


def test_pages_as_mastodon_sends_them_take_the_fast_way(source: MastodonSource) -> None:
    posts = [
        status(3, spoiler_text="food", content='<p>Lunch? <a href="https://ex.co/m">menu</a></p>'),
        status(2, in_reply_to_id="1", in_reply_to_account_id=ME),
        status(1, acct="brand", account_id=ME),
    ]
    pages = {
        NOTIFICATIONS: [notification(10 + i, p) for i, p in enumerate(posts)],
        STATUSES: posts,
        SEARCH: {"accounts": [], "statuses": posts, "hashtags": []},
    }
    for endpoint, page in pages.items():
        fast, slow = both_ways(source, endpoint, orjson.dumps(page))
        assert fast is not None and fast == slow
        assert len(fast) == 3
    fast, _ = both_ways(source, NOTIFICATIONS, orjson.dumps(pages[NOTIFICATIONS]))
    assert fast is not None and fast[0].value is not None
    assert fast[0].value.text == "CW: food\n\nLunch? menu (https://ex.co/m)"
