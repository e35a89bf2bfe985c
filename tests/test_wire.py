"""Requests on kept connections (wire.py), against real loopback servers: what httpx did for us."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mentionwatch.errors import SourceError
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.sources.base import Response as Answer
from mentionwatch.wire import with_params
from tests.conftest import run

ACCOUNT = Account(name="brand", platform="mastodon", server="http://unused")
AUTH = {"Authorization": "Bearer s3cr3t"}


@pytest.fixture
def other_server() -> Iterator[HTTPServer]:
    """A second origin (another port) to be redirected to."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def get(url: str, headers: dict[str, str] | None = None, max_body: int = 1_000_000) -> Answer:
    async def go() -> Answer:
        async with Http(retries=0, max_body=max_body) as http:
            return await http.for_account(ACCOUNT).get(url, headers=headers)

    return run(go())


def echo(request: Request) -> Response:
    """What the server got: path, query, the headers that matter, the body."""
    seen = {
        "path": request.path,
        "query": request.query_string.decode(),
        "auth": request.headers.get("Authorization"),
        "host": request.headers.get("Host"),
        "agent": request.headers.get("User-Agent"),
        "method": request.method,
        "body": request.get_data(as_text=True),
        "type": request.headers.get("Content-Type"),
    }
    return Response(json.dumps(seen), content_type="application/json")


def test_a_redirect_on_the_same_origin_is_followed_with_the_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new?x=1"}
    )
    httpserver.expect_request("/new").respond_with_handler(echo)
    seen = get(httpserver.url_for("/old"), AUTH).json()
    assert seen["path"] == "/new" and seen["query"] == "x=1"
    assert seen["auth"] == "Bearer s3cr3t"
    assert seen["host"] == urlsplit(httpserver.url_for("/")).netloc
    assert seen["agent"].startswith("mentionwatch/")


def test_a_redirect_to_another_origin_never_carries_the_token(
    httpserver: HTTPServer, other_server: HTTPServer
) -> None:
    other_server.expect_request("/landing").respond_with_handler(echo)
    target = other_server.url_for("/landing")
    httpserver.expect_request("/away").respond_with_data(
        "", status=302, headers={"Location": target}
    )
    seen = get(httpserver.url_for("/away"), AUTH).json()
    assert seen["path"] == "/landing" and seen["auth"] is None
    assert seen["host"] == urlsplit(target).netloc


def test_a_post_answered_with_303_is_fetched_with_get_and_no_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/submit", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/done"}
    )
    httpserver.expect_request("/done").respond_with_handler(echo)
    httpserver.expect_request("/form", method="POST").respond_with_handler(echo)

    async def go() -> tuple[object, object]:
        async with Http(retries=0) as http:
            fetcher = http.for_account(ACCOUNT)
            redirected = await fetcher.post(httpserver.url_for("/submit"), json_body={"a": "é"})
            form = await fetcher.post(httpserver.url_for("/form"), data={"q": "a b", "n": "2"})
            return redirected.json(), form.json()

    redirected, form = run(go())
    assert isinstance(redirected, dict) and isinstance(form, dict)
    assert redirected["method"] == "GET" and redirected["body"] == ""
    assert form["body"] == "q=a+b&n=2" and form["type"] == "application/x-www-form-urlencoded"


def test_endless_redirects_fail_the_account_with_a_clear_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )
    with pytest.raises(SourceError, match="more than 20 redirects"):
        get(httpserver.url_for("/loop"))


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        # Raw deflate (no zlib header), as some servers send it.
        ("deflate", lambda data: zlib.compress(data)[2:-4]),
    ],
)
def test_compressed_bodies_are_decoded(
    httpserver: HTTPServer, encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    body = json.dumps([{"id": str(n), "text": "x" * 50} for n in range(200)]).encode()
    httpserver.expect_request("/page").respond_with_data(
        pack(body), headers={"Content-Encoding": encoding}, content_type="application/json"
    )
    assert get(httpserver.url_for("/page")).body == body


def test_the_size_cap_counts_the_decoded_body(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"0" * 200_000)  # ~200 bytes on the wire
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(SourceError, match="larger than 100000 bytes"):
        get(httpserver.url_for("/bomb"), max_body=100_000)


def test_a_body_that_is_not_what_its_encoding_says_is_a_clear_error(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/bad").respond_with_data(
        b"plain", headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(SourceError, match="not valid gzip data"):
        get(httpserver.url_for("/bad"))


def test_repeated_headers_are_joined_as_httpx_joined_them(httpserver: HTTPServer) -> None:
    headers = [
        ("Link", '<https://a.example/1>; rel="next"'),
        ("Link", '<https://a.example/0>; rel="prev"'),
    ]
    httpserver.expect_request("/links").respond_with_response(Response("{}", headers=headers))
    assert get(httpserver.url_for("/links")).headers["link"] == (
        '<https://a.example/1>; rel="next", <https://a.example/0>; rel="prev"'
    )


def test_params_join_the_query_and_replace_names_given_again() -> None:
    assert with_params("https://a.example/x", [("types[]", "mention"), ("limit", 80)]) == (
        "https://a.example/x?types%5B%5D=mention&limit=80"
    )
    assert with_params("https://a.example/x?limit=1&q=a", {"limit": 2, "on": True}) == (
        "https://a.example/x?limit=2&q=a&on=true"
    )
    assert with_params("https://a.example/x#top", {"q": "a b", "n": None}) == (
        "https://a.example/x?q=a+b&n=#top"
    )
    assert with_params("https://a.example/x?keep=1", None) == "https://a.example/x?keep=1"


def test_requests_never_search_for_a_missing_module(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request imports nothing: an import of a missing module searches sys.path again each
    time (httpcore, which requests no longer go through, tried sniffio for every lock it made,
    several a request, a third of a 200-account poll's CPU before http.py stopped it)."""
    import importlib.abc
    import importlib.machinery
    import sys
    from types import ModuleType

    searched: list[str] = []

    class Watch(importlib.abc.MetaPathFinder):
        def find_spec(
            self, name: str, path: object = None, target: ModuleType | None = None
        ) -> importlib.machinery.ModuleSpec | None:
            searched.append(name)
            return None  # the usual finders go on as before

    httpserver.expect_request("/ping").respond_with_data("pong")

    async def go() -> None:
        async with Http(retries=0) as http:
            for _ in range(2):  # the first request may import what it needs once
                await http.for_account(ACCOUNT).get(httpserver.url_for("/ping"))
            monkeypatch.setattr(sys, "meta_path", [Watch(), *sys.meta_path])
            for _ in range(5):
                await http.for_account(ACCOUNT).get(httpserver.url_for("/ping"))

    run(go())
    assert searched == []
