"""HTTP/1.1 connections on h11 (http11.py): TLS, keep-alive, framing, timeouts and errors."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import trustme
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.http import Http
from mentionwatch.models import Account
from tests.conftest import run


def test_https_verifies_the_server_certificate() -> None:
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

        async def fetch(context: ssl.SSLContext) -> object:
            async with Http(ssl_context=context, retries=0) as http:
                return (await http.for_account(account).get(server.url_for("/hello"))).json()

        assert run(fetch(trusted)) == {"ok": True}
        with pytest.raises(SourceError, match=r"connection failed \(ConnectError\)"):
            run(fetch(ssl.create_default_context()))  # an untrusted CA is refused
    finally:
        server.stop()


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


Script = list[bytes]  # what the server sends for each request, connection after connection


@dataclass
class Scripted:
    base: str
    scripts: list[Script] = field(default_factory=list)
    opened: int = 0
    hung_up: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    """A server that answers each request with the next bytes of its connection's script (b"":
    never), and hangs up when the script is done. Connections get the scripts in turn; `opened`
    counts them."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = Scripted(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            scripts = server.scripts
            script = scripts[server.opened] if server.opened < len(scripts) else []
            server.opened += 1
            with conn:
                for answer in script:
                    seen = b""
                    while b"\r\n\r\n" not in seen:
                        data = conn.recv(65536)
                        if not data:
                            return
                        seen += data
                    if not answer:  # no answer at all, until the test is over
                        stop.wait()
                        return
                    conn.sendall(answer)
            server.hung_up.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    listener.close()


def fetch_all(urls: list[str], timeout: float = 5.0) -> list[object]:
    account = Account(name="brand", platform="mastodon", server="http://unused")

    async def go() -> list[object]:
        async with Http(retries=0, timeout=timeout) as http:
            fetcher = http.for_account(account)
            return [(await fetcher.get(url)).json() for url in urls]

    return run(go())


_CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b"5\r\n{\"n\":\r\n2\r\n 1\r\n1\r\n}\r\n0\r\n\r\n")  # fmt: skip
_SIZED = b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"n": 2}'


@pytest.mark.parametrize(
    ("connection_scripts", "connections"),
    [
        # Chunks, then a sized body: both read whole, the connection kept for the second.
        ([[_CHUNKED, _SIZED]], 1),
        # No length: the body ends where the connection does, so it cannot be kept.
        ([[b'HTTP/1.1 200 OK\r\n\r\n{"n": 1}'], [b'HTTP/1.1 200 OK\r\n\r\n{"n": 2}']], 2),
    ],
    ids=["chunked-then-sized", "ends-with-the-connection"],
)
def test_bodies_are_read_as_framed_and_connections_kept_only_when_they_can_be(
    scripted: Scripted, connection_scripts: list[Script], connections: int
) -> None:
    scripted.scripts += connection_scripts
    assert fetch_all([f"{scripted.base}/a", f"{scripted.base}/b"]) == [{"n": 1}, {"n": 2}]
    assert scripted.opened == connections


def test_a_response_head_of_80_kb_is_read(scripted: Scripted) -> None:
    policy = b"Content-Security-Policy: " + b"a" * 80_000 + b"\r\n"
    scripted.scripts.append([b"HTTP/1.1 200 OK\r\n" + policy + _SIZED.split(b"\r\n", 1)[1]])
    assert fetch_all([f"{scripted.base}/a"]) == [{"n": 2}]


def test_an_informational_response_is_skipped(scripted: Scripted) -> None:
    scripted.scripts.append([b"HTTP/1.1 100 Continue\r\n\r\n"
                    b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{"n": 1}'])  # fmt: skip
    assert fetch_all([f"{scripted.base}/a"]) == [{"n": 1}]


@pytest.mark.parametrize(
    "answer",
    [b"HTTP/1.1 200 OK\r\nContent-Le", b"NOT HTTP AT ALL\r\n\r\n"],
    ids=["cut-in-the-headers", "garbage"],
)
def test_a_broken_response_is_a_protocol_error(scripted: Scripted, answer: bytes) -> None:
    scripted.scripts.append([answer])
    with pytest.raises(SourceError, match=r"connection failed \(RemoteProtocolError\)"):
        fetch_all([f"{scripted.base}/a"])


def test_a_server_that_never_answers_times_out(scripted: Scripted) -> None:
    scripted.scripts.append([b""])
    with pytest.raises(SourceError, match=r"timed out after 1 attempts"):
        fetch_all([f"{scripted.base}/a"], timeout=0.2)


def test_a_keep_alive_connection_the_server_closed_is_not_reused(scripted: Scripted) -> None:
    keep_alive = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 8\r\n\r\n"
    # Each connection answers one request and is then closed by the server.
    scripted.scripts += [[keep_alive + b'{"n": 1}'], [keep_alive + b'{"n": 2}']]
    account = Account(name="brand", platform="mastodon", server="http://unused")

    async def twice() -> list[object]:
        async with Http(retries=0) as http:
            fetcher = http.for_account(account)
            first = (await fetcher.get(f"{scripted.base}/a")).json()
            while not scripted.hung_up.is_set():
                await asyncio.sleep(0.01)
            # As between two requests of a real poll, the event loop runs and reads the end.
            await asyncio.sleep(0.05)
            second = (await fetcher.get(f"{scripted.base}/b")).json()
            return [first, second]

    assert run(twice()) == [{"n": 1}, {"n": 2}]
    assert scripted.opened == 2


def test_a_link_to_another_scheme_is_refused() -> None:
    with pytest.raises(SourceError, match=r"connection failed \(UnsupportedProtocol\)"):
        fetch_all(["ftp://127.0.0.1/next-page"])
