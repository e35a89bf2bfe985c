"""Real alert receivers on 127.0.0.1: a webhook server for apprise's json:// and form://
targets and an ntfy-compatible endpoint, with scripted faults; and feeds for test accounts.

ntfy is faked as its documented JSON publishing API (https://docs.ntfy.sh/publish/#publish-as-json):
POST / with {"topic", "title", "message"}, answered with the stored message event.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests import history
from tests.mailserver import free_port

FAULTS = ("500", "hang")  # "refuse" is the server being down: see Receiver.down()


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Receiver:
    """Keeps every request; `accepted` are those answered 2xx (what a user would have seen)."""

    port: int
    kind: str = "webhook"  # or "ntfy"
    requests: list[Request] = field(default_factory=list)
    accepted: list[Request] = field(default_factory=list)
    faults: deque[str] = field(default_factory=deque)
    hang_seconds: float = 3.0
    release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                request = Request(self.path, dict(self.headers.items()), self.rfile.read(length))
                receiver.requests.append(request)
                fault = receiver.faults.popleft() if receiver.faults else None
                if fault == "hang":
                    receiver.release.wait(receiver.hang_seconds)
                    return  # the client has given up: close without an answer
                if fault == "500":
                    self._answer(500, b"<html><body>Internal Server Error</body></html>")
                    return
                receiver.accepted.append(request)
                self._answer(200, receiver._reply(request))

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: connections are refused until `up()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _reply(self, request: Request) -> bytes:
        if self.kind != "ntfy":
            return b'{"ok": true}'
        sent = request.json()
        event = {"id": f"m{len(self.accepted)}", "time": int(time.time()), "event": "message",
                 "topic": sent.get("topic"), "title": sent.get("title"),
                 "message": sent.get("message")}  # fmt: skip
        return json.dumps(event).encode()

    def wait_for(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count and time.monotonic() < deadline:
            time.sleep(0.05)


@contextmanager
def receiver(kind: str = "webhook") -> Iterator[Receiver]:
    found = Receiver(free_port(), kind)
    found.up()
    try:
        yield found
    finally:
        found.release.set()
        found.down()


def feed_entry(n: int, when: datetime, title: str, summary: str = "", url: str = "") -> str:
    link = url or f"https://news.example.com/story/{n}"
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""
  <entry>
    <id>tag:example.com,2026:feed:{n}</id>
    <title type="text">{_xml(title)}</title>
    <link href="{_xml(link)}"></link>
    <published>{stamp}</published>
    <updated>{stamp}</updated>
    <content type="text">{_xml(summary or title)}</content>
    <author><name>News {n}</name></author>
  </entry>"""


def write_feed(path: Path, *entries: str) -> None:
    updated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <id>tag:example.com,2026:feed</id>\n  <title>Test alerts</title>\n"
        f"  <updated>{updated}</updated>{''.join(entries)}\n</feed>\n",
        encoding="utf-8",
    )


def _xml(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text, {'"': "&quot;"})


def alert_config(tmp_path: Path, targets: str, settings: str = "") -> Path:
    """A config with one feed account (alerts.atom beside it, SLA 1h) and these targets."""
    path = tmp_path / "config.toml"
    db = history.database(tmp_path / "m.db")  # PostgreSQL when the test module runs on both
    path.write_text(
        f'[settings]\nsla = "1h"\ndatabase = "{db}"\n{settings}\n'
        '[[accounts]]\nname = "alerts"\nplatform = "feed"\nurl = "alerts.atom"\n'
        f'backfill = "30d"\n\n{targets}',
        encoding="utf-8",
    )
    path.chmod(0o600)
    if not (tmp_path / "alerts.atom").exists():
        write_feed(tmp_path / "alerts.atom")
    return path
