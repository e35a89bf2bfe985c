"""A host's kept connections (connections.py), against a real keep-alive HTTP/1.1 server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mentionwatch import connections
from mentionwatch.http import Http
from mentionwatch.models import Account
from tests.conftest import run

ACCOUNT = Account(name="brand", platform="mastodon", server="http://unused")


@dataclass
class Seen:
    """What the server saw: connections opened and closed, and the most open at once."""

    opened: int = 0
    closed: int = 0
    most_open: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self) -> None:
        with self.lock:
            self.opened += 1
            self.most_open = max(self.most_open, self.opened - self.closed)

    def close(self) -> None:
        with self.lock:
            self.closed += 1


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive unless a response says otherwise

        def setup(self) -> None:
            super().setup()
            seen.open()

        def finish(self) -> None:
            super().finish()
            seen.close()

        def do_GET(self) -> None:
            if self.path.startswith("/slow"):
                time.sleep(0.1)
            if self.path.startswith("/hangup"):
                # Headers promise a body that never comes: the connection cannot be reused.
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"{")
                self.close_connection = True
                return
            body = json.dumps(
                {"path": self.path, "port": self.connection.getsockname()[1]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if self.path.startswith("/close"):
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def settle(seen: Seen, closed: int) -> None:
    """Wait (a little) for the server's side of closed connections to catch up."""
    deadline = time.monotonic() + 2
    while seen.closed < closed and time.monotonic() < deadline:
        time.sleep(0.01)


def test_requests_one_after_another_share_one_connection(server: tuple[str, Seen]) -> None:
    base, seen = server

    async def fetch() -> list[object]:
        async with Http(retries=0) as http:
            fetcher = http.for_account(ACCOUNT)
            return [(await fetcher.get(f"{base}/n/{n}")).json()["path"] for n in range(5)]

    assert run(fetch()) == [f"/n/{n}" for n in range(5)]
    assert seen.opened == 1
    settle(seen, 1)
    assert seen.closed == 1  # closed when the client closes


def test_requests_at_once_open_no_more_connections_than_per_host(
    server: tuple[str, Seen],
) -> None:
    base, seen = server

    async def fetch() -> list[str]:
        async with Http(retries=0, per_host=3) as http:
            fetcher = http.for_account(ACCOUNT)
            pages = await asyncio.gather(*(fetcher.get(f"{base}/slow/{n}") for n in range(12)))
            return [page.json()["path"] for page in pages]

    assert run(fetch()) == [f"/slow/{n}" for n in range(12)]
    assert seen.opened == 3  # three at once, each reused for three more
    assert seen.most_open == 3


def test_a_response_that_closes_its_connection_is_not_reused(server: tuple[str, Seen]) -> None:
    base, seen = server

    async def fetch() -> list[str]:
        async with Http(retries=0) as http:
            fetcher = http.for_account(ACCOUNT)
            paths = [(await fetcher.get(f"{base}/close/1")).json()["path"]]
            paths += [(await fetcher.get(f"{base}/n/{n}")).json()["path"] for n in range(2)]
            return paths

    assert run(fetch()) == ["/close/1", "/n/0", "/n/1"]
    assert seen.opened == 2


def test_a_connection_that_failed_mid_body_is_dropped_and_the_retry_opens_another(
    server: tuple[str, Seen],
) -> None:
    base, seen = server

    async def fetch() -> str:
        async with Http(retries=0) as http:
            fetcher = http.for_account(ACCOUNT)
            with pytest.raises(Exception, match="connection failed"):
                await fetcher.get(f"{base}/hangup")
            return str((await fetcher.get(f"{base}/n/1")).json()["path"])

    assert run(fetch()) == "/n/1"
    assert seen.opened == 2


def test_an_idle_connection_past_its_keep_alive_is_closed_not_reused(
    server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, seen = server
    monkeypatch.setattr(connections, "KEEPALIVE_SECONDS", 0.05)

    async def fetch() -> None:
        async with Http(retries=0) as http:
            fetcher = http.for_account(ACCOUNT)
            await fetcher.get(f"{base}/n/1")
            await asyncio.sleep(0.15)
            await fetcher.get(f"{base}/n/2")
            settle(seen, 1)  # the expired one was closed as the second request looked
            assert seen.closed == 1

    run(fetch())
    assert seen.opened == 2


def test_one_host_on_two_ports_gets_each_request_to_its_own_port(
    server: tuple[str, Seen],
) -> None:
    base, seen = server
    with ThreadingHTTPServer(("127.0.0.1", 0), _Port) as other:
        thread = threading.Thread(target=other.serve_forever, daemon=True)
        thread.start()
        port = other.server_address[1]

        async def fetch() -> list[object]:
            async with Http(retries=0) as http:
                fetcher = http.for_account(ACCOUNT)
                urls = [f"{base}/a", f"http://127.0.0.1:{port}/b", f"{base}/c"]
                return [(await fetcher.get(url)).json()["port"] for url in urls]

        try:
            found = run(fetch())
        finally:
            other.shutdown()
            thread.join()
    first = int(base.rsplit(":", 1)[1])
    assert found == [first, port, first]
    assert seen.opened == 1  # the first port's connection was kept across the other's


class _Port(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"port": self.connection.getsockname()[1]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass
