"""httpcore on plain asyncio streams (network.py): TLS, closed keep-alive connections, errors."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator

import httpcore
import pytest
import trustme
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.network import AsyncioStream
from tests.conftest import run


def test_https_through_the_asyncio_backend_verifies_the_server_certificate() -> None:
    ca = trustme.CA()
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ssl)
    server = HTTPServer(host="localhost", port=0, ssl_context=server_ssl)
    server.expect_request("/hello").respond_with_json({"ok": True})
    server.start()
    account = Account(name="brand", platform="mastodon", server="https://unused")
    try:
        trusted = ssl.create_default_context()
        ca.configure_trust(trusted)

        streams: list[AsyncioStream] = []
        real = AsyncioStream.start_tls

        async def start_tls(
            stream: AsyncioStream, ssl_context: ssl.SSLContext,
            server_hostname: str | None = None, timeout: float | None = None,
        ) -> httpcore.AsyncNetworkStream:  # fmt: skip
            streams.append(stream)
            return await real(stream, ssl_context, server_hostname, timeout)

        async def fetch(context: ssl.SSLContext) -> object:
            async with Http(ssl_context=context, retries=0) as http:
                return (await http.for_account(account).get(server.url_for("/hello"))).json()

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AsyncioStream, "start_tls", start_tls)
            assert run(fetch(trusted)) == {"ok": True}
        # httpcore ran on the asyncio backend (network.py), and spoke TLS through it.
        assert streams and streams[0].get_extra_info("ssl_object").version().startswith("TLS")
        with pytest.raises(SourceError, match=r"connection failed \(ConnectError\)"):
            run(fetch(ssl.create_default_context()))  # an untrusted CA is refused
    finally:
        server.stop()


@pytest.fixture
def closing_server() -> Iterator[tuple[str, list[int], threading.Event]]:
    """Answers each connection's first request with keep-alive, then hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[int] = []
    stop, hung_up = threading.Event(), threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                connections.append(1)
                conn.recv(65536)
                body = b'{"n": %d}' % len(connections)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Connection: keep-alive\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))  # fmt: skip
            hung_up.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/", connections, hung_up
    stop.set()
    thread.join()
    listener.close()


def test_a_keep_alive_connection_the_server_closed_is_not_reused(
    closing_server: tuple[str, list[int], threading.Event],
) -> None:
    url, connections, hung_up = closing_server

    account = Account(name="brand", platform="mastodon", server="http://unused")

    async def twice() -> list[object]:
        async with Http(retries=0) as http:
            fetcher = http.for_account(account)
            first = (await fetcher.get(url)).json()
            while not hung_up.is_set():
                await asyncio.sleep(0.01)
            # As between two requests of a real poll, the event loop runs and reads the end.
            await asyncio.sleep(0.05)
            second = (await fetcher.get(url)).json()
            return [first, second]

    assert run(twice()) == [{"n": 1}, {"n": 2}]
    assert len(connections) == 2


def test_a_refused_connection_is_a_source_error_after_the_retries() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]  # closed again at once: nothing listens there
    account = Account(name="brand", platform="mastodon", server="http://unused")
    sleeps: list[float] = []

    async def nap(seconds: float) -> None:
        sleeps.append(seconds)

    async def fetch() -> None:
        async with Http(retries=2, sleep=nap) as http:
            await http.for_account(account).get(f"http://127.0.0.1:{port}/api/v1/notifications")

    with pytest.raises(SourceError, match=r"connection failed \(ConnectError\) after 3 attempts"):
        run(fetch())
    assert len(sleeps) == 2
