"""The RSS/Atom feed source against feeds served from 127.0.0.1 and read from disk."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.fetched import Batch
from mentionwatch.http import Http
from mentionwatch.models import Account, Kind, State
from mentionwatch.sources.feed import SOURCE, FeedSource
from mentionwatch.sources.registry import PLATFORMS
from tests.conftest import FakeClock, run
from tests.fakes import check_online, poll_through_store, with_source

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SINCE = datetime(2026, 11, 1, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "alerts.atom"
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


def alert_entry(n: int, day: int, title: str, real_url: str, summary: str) -> str:
    redirect = (
        f"https://www.google.com/url?rct=j&amp;sa=t&amp;url={real_url}&amp;ct=ga&amp;usg=x{n}"
    )
    return f"""
  <entry>
    <id>tag:google.com,2013:googlealerts/feed:{n}</id>
    <title type="html">{title}</title>
    <link href="{redirect}"></link>
    <published>2026-11-{day:02d}T10:00:00Z</published>
    <updated>2026-11-{day:02d}T10:00:00Z</updated>
    <content type="html">{summary}</content>
    <author><name></name></author>
  </entry>"""


def alerts_feed(*entries: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:google.com,2005:reader/user/1/state/com.google/alerts/2</id>
  <title>Google Alert - ExampleCo</title>
  <link href="https://www.google.com/alerts/feeds/1/2" rel="self"></link>
  <updated>2026-11-20T10:00:00Z</updated>{"".join(entries)}
</feed>"""


def rss_feed(*items: str) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Example News</title><link>https://news.example.com/</link>
  <description>Links</description>{"".join(items)}
</channel></rss>"""


TWO_ALERTS = alerts_feed(
    alert_entry(
        1,
        20,
        "&lt;b&gt;ExampleCo&lt;/b&gt; opens in Lisbon &amp;amp; Porto",
        "https://news.example.com/lisbon%3Fa%3D1%26b%3D2",
        "&lt;b&gt;ExampleCo&lt;/b&gt; will hire 80 engineers&amp;nbsp;...",
    ),
    alert_entry(
        2, 10, "Older &lt;b&gt;ExampleCo&lt;/b&gt; news", "https://blog.example.org/p", "x"
    ),
)


def feed_account(url: str, **kwargs: Any) -> Account:
    return Account(name="alerts", platform="feed", server="", options={"url": url}, **kwargs)


Call = Callable[[Account, str, str | None, datetime], Batch[Any]]


@pytest.fixture
def call(make_http: Callable[..., Http]) -> Call:
    def go(account: Account, method: str, cursor: str | None, since: datetime) -> Batch[Any]:
        result: Batch[Any] = with_source(
            make_http, account, lambda source: getattr(source, method)(cursor, since)
        )
        return result

    return go


def serve(server: HTTPServer, body: str, content_type: str = ATOM, **headers: str) -> str:
    server.expect_request("/alerts/feeds/1/2").respond_with_data(
        body, content_type=content_type, headers=headers
    )
    return server.url_for("/alerts/feeds/1/2")


def test_platform_registry_loads_this_source() -> None:
    assert PLATFORMS["feed"].load() is FeedSource
    assert SOURCE.platform == "feed"


def test_google_alerts_entries_become_plain_feed_mentions_with_real_urls(
    httpserver: HTTPServer, call: Call
) -> None:
    url = serve(httpserver, TWO_ALERTS)
    batch = call(feed_account(url), "mentions", None, SINCE)
    first, second = batch.items
    assert first.kind is Kind.FEED
    assert first.remote_id == "tag:google.com,2013:googlealerts/feed:1"
    # The google.com/url redirect is unwrapped, with the real URL's own query decoded once.
    assert first.url == "https://news.example.com/lisbon?a=1&b=2"
    assert first.title == "ExampleCo opens in Lisbon & Porto"
    assert first.text == "ExampleCo will hire 80 engineers ..."
    # Google Alerts leaves the author empty: the source site stands in, not the feed's
    # title (the same on every row).
    assert first.author == "news.example.com"
    assert first.created_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert second.url == "https://blog.example.org/p"
    json.dumps(first.raw)  # the raw payload must be storable as JSON
    accept = httpserver.log[0][0].headers["Accept"]
    assert "application/atom+xml" in accept


def test_conditional_get_sends_validators_and_not_modified_yields_nothing(
    httpserver: HTTPServer, call: Call
) -> None:
    etag, modified = '"v1"', "Fri, 20 Nov 2026 10:00:00 GMT"
    url = serve(httpserver, TWO_ALERTS, ETag=etag, **{"Last-Modified": modified})
    account = feed_account(url)
    first = call(account, "mentions", None, SINCE)
    assert len(first.items) == 2
    httpserver.clear()
    httpserver.expect_request(
        "/alerts/feeds/1/2", headers={"If-None-Match": etag, "If-Modified-Since": modified}
    ).respond_with_data("", status=304)
    second = call(account, "mentions", first.cursor, EPOCH)
    assert list(second.items) == []
    assert json.loads(second.cursor or "")["etag"] == etag
    assert json.loads(second.cursor or "")["modified"] == modified


def test_first_poll_skips_entries_older_than_the_backfill_horizon(
    httpserver: HTTPServer, call: Call
) -> None:
    url = serve(httpserver, TWO_ALERTS)
    batch = call(feed_account(url), "mentions", None, datetime(2026, 11, 15, tzinfo=UTC))
    assert [m.remote_id for m in batch.items] == ["tag:google.com,2013:googlealerts/feed:1"]
    # Later polls offer every entry again; the store keeps one row per remote id.
    again = call(feed_account(url), "mentions", batch.cursor, EPOCH)
    assert len(again.items) == 2


def test_entries_far_older_than_the_newest_seen_are_not_offered_again(
    httpserver: HTTPServer, call: Call
) -> None:
    url = serve(httpserver, TWO_ALERTS)
    cursor = json.dumps({"newest": "2026-12-15T00:00:00+00:00"})
    batch = call(feed_account(url), "mentions", cursor, EPOCH)
    # Nov 20 is within 30 days of Dec 15; Nov 10 is not (pruned mentions stay pruned).
    assert [m.created_at.day for m in batch.items] == [20]
    assert json.loads(batch.cursor or "")["newest"] == "2026-12-15T00:00:00+00:00"


def test_rss_items_without_guid_fall_back_to_link_then_to_a_stable_hash(
    httpserver: HTTPServer, call: Call
) -> None:
    body = rss_feed(
        "<item><title>ExampleCo on the front page</title>"
        "<link>https://example.com/front</link>"
        "<pubDate>Wed, 18 Nov 2026 21:07:47 +0000</pubDate>"
        "<description><![CDATA[<a href='https://example.com/c'>Comments</a>]]></description>"
        "</item>",
        "<item><title>Linkless ExampleCo note</title>"
        "<pubDate>Thu, 19 Nov 2026 08:00:00 +0000</pubDate></item>",
    )
    url = serve(httpserver, body, RSS)
    first = call(feed_account(url), "mentions", None, SINCE)
    linked, linkless = first.items
    assert linked.remote_id == "https://example.com/front" == linked.url
    assert linked.author == "example.com"  # no author: the site it links to
    assert linked.text == "Comments (https://example.com/c)"
    basis = "Linkless ExampleCo note\nThu, 19 Nov 2026 08:00:00 +0000"
    assert linkless.remote_id == "sha256:" + hashlib.sha256(basis.encode()).hexdigest()[:32]
    assert linkless.url == url  # no link anywhere: the feed itself
    second = call(feed_account(url), "mentions", first.cursor, EPOCH)
    assert [m.remote_id for m in second.items] == [m.remote_id for m in first.items]


def test_entry_without_a_date_is_dated_now(httpserver: HTTPServer, call: Call) -> None:
    item = "<item><guid>g-1</guid><title>ExampleCo</title><link>/posts/1</link></item>"
    url = serve(httpserver, rss_feed(item))
    before = datetime.now(UTC)
    (mention,) = call(feed_account(url), "mentions", None, before - timedelta(days=1)).items
    assert mention.remote_id == "g-1"  # the guid as written, not resolved against the URL
    assert mention.url == httpserver.url_for("/posts/1")
    assert before <= mention.created_at <= datetime.now(UTC)


def test_hostile_markup_arrives_as_inert_plain_text(httpserver: HTTPServer, call: Call) -> None:
    entry = alert_entry(
        3,
        18,
        "[red]pwned[/red] &lt;b&gt;ExampleCo&lt;/b&gt;",
        "https://spam.example.net/",
        "Win &lt;script&gt;alert(document.cookie)&lt;/script&gt;&lt;b "
        "onclick=&quot;steal()&quot;&gt;now&lt;/b&gt;",
    )
    url = serve(httpserver, alerts_feed(entry))
    (mention,) = call(feed_account(url), "mentions", None, SINCE).items
    # Rich markup is left as literal text for the renderer to escape; HTML is gone.
    assert mention.title == "[red]pwned[/red] ExampleCo"
    assert mention.text == "Win now"
    assert "script" not in mention.text and "steal" not in mention.text


def test_local_feed_file_is_read_from_disk_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: Call
) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "alerts.xml").write_text(TWO_ALERTS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    batch = call(feed_account("feeds/alerts.xml"), "mentions", None, SINCE)
    assert len(batch.items) == 2
    as_uri = (tmp_path / "feeds" / "alerts.xml").as_uri()
    assert len(call(feed_account(as_uri), "mentions", None, SINCE).items) == 2


def test_missing_local_file_is_a_source_error_naming_account_and_path(
    tmp_path: Path, call: Call
) -> None:
    missing = tmp_path / "nope.atom"
    with pytest.raises(SourceError) as caught:
        call(feed_account(str(missing)), "mentions", None, SINCE)
    assert caught.value.account == "alerts"
    assert str(missing) in str(caught.value)


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("<html><body>Sign in to continue</body></html>", "text/html"),
        ("not xml at all <<<", ATOM),
        ('{"error": "json, not a feed"}', "application/json"),
        ("", ATOM),
    ],
)
def test_a_body_that_is_not_a_feed_is_a_source_error_naming_account_and_feed(
    httpserver: HTTPServer, call: Call, body: str, content_type: str
) -> None:
    url = serve(httpserver, body, content_type)
    with pytest.raises(SourceError, match="not a readable RSS/Atom feed") as caught:
        call(feed_account(url), "mentions", None, SINCE)
    assert caught.value.account == "alerts"
    assert "/alerts/feeds/1/2" in caught.value.endpoint


def test_a_valid_feed_with_no_entries_is_simply_empty(httpserver: HTTPServer, call: Call) -> None:
    url = serve(httpserver, rss_feed())
    batch = call(feed_account(url), "mentions", None, SINCE)
    assert list(batch.items) == [] and batch.cursor is not None


def test_unavailable_feed_is_retried_after_its_retry_after(
    httpserver: HTTPServer, call: Call, clock: FakeClock
) -> None:
    httpserver.expect_oneshot_request("/alerts/feeds/1/2").respond_with_data(
        "busy", status=503, headers={"Retry-After": "5"}
    )
    url = serve(httpserver, TWO_ALERTS)
    assert len(call(feed_account(url), "mentions", None, SINCE).items) == 2
    assert clock.sleeps == [5.5]


def test_refused_private_feed_error_and_logs_never_show_the_url_key(
    httpserver: HTTPServer, call: Call, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/private.rss").respond_with_data("no", status=401)
    url = httpserver.url_for("/private.rss") + "?alert=s3cr3t-feed-key"
    caplog.set_level(logging.DEBUG, logger="mentionwatch.http")
    with pytest.raises(SourceError) as caught:
        call(feed_account(url), "mentions", None, SINCE)
    assert "s3cr3t-feed-key" not in str(caught.value)
    assert caught.value.endpoint.endswith("/private.rss")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("mentionwatch"))
    assert "/private.rss" in ours and "s3cr3t-feed-key" not in ours


def test_replies_are_always_empty_because_feeds_have_no_answers(call: Call) -> None:
    batch = call(feed_account("https://unused.example/feed"), "replies", "c", SINCE)
    assert list(batch.items) == [] and batch.cursor == "c"


def test_whoami_returns_the_feed_title(
    httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    url = serve(httpserver, TWO_ALERTS)

    async def whoami() -> str:
        async with make_http() as http:
            account = feed_account(url)
            return await SOURCE(account, http.for_account(account)).whoami()

    assert run(whoami()) == "Google Alert - ExampleCo"


def test_shipped_example_alerts_feed_parses_into_six_exampleco_mentions(call: Call) -> None:
    batch = call(feed_account(str(EXAMPLE)), "mentions", None, SINCE)
    assert len(batch.items) == 6
    assert all("ExampleCo" in m.title for m in batch.items)
    assert all(m.created_at.strftime("%Y-%m") == "2026-11" for m in batch.items)
    assert all(not m.url.startswith("https://www.google.com/") for m in batch.items)
    hostile = next(m for m in batch.items if "pwned" in m.title)
    assert hostile.title.startswith("[bold red]pwned[/bold red]")
    assert "<script" not in hostile.text and "document.cookie" not in hostile.text


def test_a_broken_feed_still_yields_the_entries_it_can_read(
    httpserver: HTTPServer, call: Call
) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>'
        "<item><guid>b-1</guid><title>ExampleCo &amp; <b>friends</title></item></channel>"
    )
    url = serve(httpserver, body, RSS)
    (mention,) = call(feed_account(url), "mentions", None, EPOCH).items
    assert mention.remote_id == "b-1"
    assert "ExampleCo" in mention.title


# End to end: source → store → state, and `config check --online`


def test_a_poll_stores_entries_as_open_mentions_and_an_unchanged_feed_adds_nothing(
    httpserver: HTTPServer, make_http: Callable[..., Http], tmp_path: Path
) -> None:
    etag = '"v1"'
    httpserver.expect_oneshot_request("/alerts/feeds/1/2").respond_with_data(
        TWO_ALERTS, content_type=ATOM, headers={"ETag": etag}
    )
    httpserver.expect_request(
        "/alerts/feeds/1/2", headers={"If-None-Match": etag}
    ).respond_with_data("", status=304)
    account = feed_account(httpserver.url_for("/alerts/feeds/1/2"), backfill=timedelta(days=3650))

    first, states = poll_through_store(account, make_http(), tmp_path / "mw.db")
    second, again = poll_through_store(account, make_http(), tmp_path / "mw.db")

    assert first.error is None and (first.new_mentions, first.still_open) == (2, 2)
    assert set(states.values()) == {State.OPEN}  # feeds have no replies: closed by hand
    assert second.error is None and (second.new_mentions, second.still_open) == (0, 2)
    assert again == states


def test_config_check_online_names_the_feed_by_its_title(httpserver: HTTPServer) -> None:
    url = serve(httpserver, TWO_ALERTS)
    assert check_online(feed_account(url)) == (True, "Google Alert - ExampleCo")
    assert len(httpserver.log) == 1
