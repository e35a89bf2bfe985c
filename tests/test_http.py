"""The shared HTTP layer against a real loopback server: retries, limits, redaction."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.errors import RateLimitedError, SourceError
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.quota import parse_reset
from tests.conftest import FakeClock, run

TOKEN = "s3cr3t-token-value"


def account() -> Account:
    return Account(
        name="brand",
        platform="mastodon",
        server="http://unused",
        secrets={"token": TOKEN},
        secret_sources={"token": "env MASTODON_TOKEN"},
    )


def get(http: Http, url: str) -> tuple[int, object]:
    async def go() -> tuple[int, object]:
        async with http:
            response = await http.for_account(account()).get(
                url, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            return response.status, response.json()

    return run(go())


def test_server_errors_are_retried_with_backoff_then_succeed(
    httpserver: HTTPServer, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    httpserver.expect_ordered_request("/x").respond_with_data("oops", status=502)
    httpserver.expect_ordered_request("/x").respond_with_data("oops", status=503)
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": True})
    assert get(make_http(), httpserver.url_for("/x")) == (200, {"ok": True})
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0] * 0.5


def test_client_errors_other_than_429_are_never_retried(
    httpserver: HTTPServer, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    httpserver.expect_oneshot_request("/x").respond_with_json({"error": "nope"}, status=404)
    with pytest.raises(SourceError, match="HTTP 404"):
        get(make_http(), httpserver.url_for("/x"))
    assert clock.sleeps == []


def test_retry_after_seconds_is_honoured(
    httpserver: HTTPServer, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    httpserver.expect_ordered_request("/x").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request("/x").respond_with_json([])
    assert get(make_http(), httpserver.url_for("/x"))[0] == 200
    assert 7 <= clock.sleeps[0] <= 8


def test_reset_beyond_max_wait_stops_the_account_with_the_reset_time(
    httpserver: HTTPServer, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    reset = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(clock.now + 3600))
    httpserver.expect_request("/x").respond_with_data(
        "{}", status=429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    )
    with pytest.raises(RateLimitedError, match=r"rate limited until \d\d:\d\d UTC"):
        get(make_http(max_wait=60), httpserver.url_for("/x"))
    assert clock.sleeps == []


def test_spent_quota_makes_the_next_request_wait_for_the_reset(
    httpserver: HTTPServer, make_http: Callable[..., Http], clock: FakeClock
) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 30)}
    httpserver.expect_ordered_request("/a").respond_with_json({}, headers=headers)
    httpserver.expect_ordered_request("/b").respond_with_json({})
    httpserver.expect_ordered_request("/a").respond_with_json({})

    async def go() -> None:
        async with make_http() as http:
            fetcher = http.for_account(account())
            await fetcher.get(httpserver.url_for("/a"))
            await fetcher.get(httpserver.url_for("/b"))  # X counts each endpoint apart
            assert clock.sleeps == []
            await fetcher.get(httpserver.url_for("/a"))

    run(go())
    assert 30 <= clock.sleeps[0] <= 31


def test_refused_token_names_the_account_and_env_var_but_not_the_token(
    httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    httpserver.expect_request("/x").respond_with_json({"error": f"bad {TOKEN}"}, status=401)
    with pytest.raises(SourceError) as caught:
        get(make_http(), httpserver.url_for("/x") + f"?access_token={TOKEN}")
    message = str(caught.value)
    assert "token for account brand was refused (env MASTODON_TOKEN)" in message
    assert TOKEN not in message


def test_html_error_page_and_truncated_json_are_named_as_such(
    httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    httpserver.expect_ordered_request("/x").respond_with_data("<html>Bad gateway</html>")
    httpserver.expect_ordered_request("/x").respond_with_data('{"id": "1", "te')
    with pytest.raises(SourceError, match="got an HTML page"):
        get(make_http(), httpserver.url_for("/x"))
    with pytest.raises(SourceError, match="got invalid JSON"):
        get(make_http(), httpserver.url_for("/x"))


def test_oversized_body_is_refused(httpserver: HTTPServer, make_http: Callable[..., Http]) -> None:
    httpserver.expect_request("/x").respond_with_data(json.dumps(["x" * 5000]))
    with pytest.raises(SourceError, match="larger than 1000 bytes"):
        get(make_http(max_body=1000), httpserver.url_for("/x"))


def test_a_server_that_hangs_times_out_and_is_retried_a_bounded_number_of_times(
    httpserver: HTTPServer, make_http: Callable[..., Http]
) -> None:
    calls: list[float] = []

    def hang(request: Request) -> Response:
        calls.append(time.monotonic())
        time.sleep(0.5)
        return Response("{}")

    httpserver.expect_request("/x").respond_with_handler(hang)
    with pytest.raises(SourceError, match="timed out after 2 attempts"):
        get(make_http(timeout=0.1, retries=1), httpserver.url_for("/x"))
    assert calls, "the request reached the server"


def test_verbose_log_shows_requests_without_secrets(
    httpserver: HTTPServer, make_http: Callable[..., Http], caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/x").respond_with_json({})
    with caplog.at_level(logging.DEBUG, logger="mentionwatch.http"):
        get(make_http(), httpserver.url_for("/x") + f"?token={TOKEN}&limit=40")
    ours = " ".join(r.getMessage() for r in caplog.records if r.name == "mentionwatch.http")
    assert "GET" in ours and " 200 " in ours and "limit=40" in ours
    assert TOKEN not in ours


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", NOW + 30),  # Reddit: seconds until the reset
        ("1800000100", 1_800_000_100.0),  # GitHub, X, Bluesky: epoch
        ("2027-01-15T17:30:00.000Z", 1_800_034_200.0),  # Mastodon: ISO 8601
        ("Fri, 15 Jan 2027 17:30:00 GMT", 1_800_034_200.0),  # Retry-After: HTTP date
        ("soon", None),
    ],
)
def test_reset_headers_in_every_platform_format(value: str, expected: float | None) -> None:
    assert parse_reset(value, now=NOW) == expected
