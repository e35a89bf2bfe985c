"""A simulated Mastodon platform on loopback, run in its own process so it is never measured.

Each instance listens on its own loopback address (127.0.0.2, 127.0.0.3, ...), so clients
that limit requests per host see distinct hosts, as they would with real instances. Every
request waits the instance's latency (asyncio.sleep), then answers from pre-rendered JSON:
the server must cost next to nothing beside the client it serves.

Speaks the shapes mentionwatch and Mastodon.py use (https://docs.joinmastodon.org/methods/):
GET /api/v1/accounts/verify_credentials, /api/v1/notifications?types[]=mention with
max_id/since_id/min_id/limit and a Link header, /api/v1/accounts/:id/statuses,
/api/v1/instance and /api/v2/instance (Mastodon.py asks for the version), /api/v2/search.

Run: python -m benchmarks.server SPEC.json; prints one JSON line with each instance's URL
once every port listens, then serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

# Mastodon's caps on `limit`: 80 notifications, 40 statuses (docs.joinmastodon.org/methods/).
NOTIFICATIONS_CAP = 80
STATUSES_CAP = 40


@dataclass
class Listing:
    """A newest-first listing: item i has id `top - i`; bodies are pre-rendered JSON."""

    top: int
    bodies: list[bytes]
    cap: int  # the most one page holds, whatever `limit` asks
    # Mastodon links a next page after a full page only for statuses (records_continue?);
    # notifications link one after any non-empty page.
    next_only_when_full: bool = False

    def select(self, query: dict[str, str], page_size: int) -> tuple[int, int]:
        """The [start, end) slice a request with max_id/since_id/min_id/limit asks for.

        `page_size` is the page a request without `limit` gets.
        """
        limit = min(int(query.get("limit") or page_size), self.cap)
        count = len(self.bodies)
        start = 0
        if query.get("max_id"):
            start = max(self.top - int(query["max_id"]) + 1, 0)
        stop = count
        floor = query.get("since_id") or query.get("min_id")
        if floor:
            stop = min(max(self.top - int(floor), 0), count)
        start = min(start, stop)
        if query.get("min_id") and not query.get("max_id"):
            # min_id asks for the page just above it, not the newest page.
            return max(stop - limit, start), stop
        return start, min(start + limit, stop)


@dataclass
class SimAccount:
    token: str
    id: str
    acct: str
    notifications: Listing
    statuses: Listing


@dataclass
class Instance:
    host: str
    latency: float
    page_size: int
    accounts: dict[str, SimAccount] = field(default_factory=dict)
    port: int = 0
    requests: int = 0


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _account_json(acct_id: str, username: str, host: str, at: str) -> dict[str, Any]:
    return {
        "id": acct_id,
        "username": username,
        "acct": username,
        "display_name": username.title(),
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": at,
        "note": "<p>Just a person on the fediverse.</p>",
        "url": f"https://{host}/@{username}",
        "uri": f"https://{host}/users/{username}",
        "avatar": f"https://{host}/avatars/{acct_id}.png",
        "avatar_static": f"https://{host}/avatars/{acct_id}.png",
        "header": f"https://{host}/headers/{acct_id}.png",
        "header_static": f"https://{host}/headers/{acct_id}.png",
        "followers_count": 120,
        "following_count": 80,
        "statuses_count": 1500,
        "last_status_at": at[:10],
        "emojis": [],
        "fields": [],
    }


def _status_json(
    sid: int, at: str, author: dict[str, Any], host: str, text: str, reply_to: str | None
) -> dict[str, Any]:
    return {
        "id": str(sid),
        "created_at": at,
        "in_reply_to_id": reply_to,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://{host}/users/{author['username']}/statuses/{sid}",
        "url": f"https://{host}/@{author['username']}/{sid}",
        "replies_count": 0,
        "reblogs_count": 1,
        "favourites_count": 3,
        "edited_at": None,
        "content": f"<p>{text}</p>",
        "reblog": None,
        "application": {"name": "Web", "website": None},
        "account": author,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def build_account(number: int, host: str, mentions: int, statuses: int, now: float) -> SimAccount:
    """Account `number` with `mentions` mention notifications and `statuses` own posts.

    Mentions are one second apart going back from `now`, so any backfill of a day or more
    covers 80,000 of them; every other own post replies to one of the newest mentions.
    """
    acct = f"brand{number}"
    me = _account_json(str(number), acct, host, _time(now - 10**7))
    top = 10**9 * (number + 1)
    bodies = []
    for i in range(mentions):
        sid = top - i
        at = _time(now - i)
        fan = _account_json(str(7_000_000 + i % 997), f"fan{i % 997}", host, at)
        text = (
            f'<span class="h-card"><a href="https://{host}/@{acct}" class="u-url mention">'
            f"@<span>{acct}</span></a></span> is the export broken again? Asking for the "
            f"{i}th time &amp; still hopeful. #help"
        )
        status = _status_json(sid, at, fan, host, text, None)
        note = {"id": str(sid), "type": "mention", "created_at": at, "account": fan}
        note["status"] = status
        bodies.append(json.dumps(note, separators=(",", ":")).encode())
    own = []
    for i in range(statuses):
        sid = top + 10**8 - i
        parent = str(top - i // 2) if i % 2 == 0 and i // 2 < mentions else None
        text = "Thanks, looking into it!" if parent else "Release notes are out."
        own.append(_status_json(sid, _time(now - i * 30), me, host, text, parent))
    status_bodies = [json.dumps(s, separators=(",", ":")).encode() for s in own]
    return SimAccount(
        token=f"token-{number}",
        id=str(number),
        acct=acct,
        notifications=Listing(top, bodies, NOTIFICATIONS_CAP),
        statuses=Listing(top + 10**8, status_bodies, STATUSES_CAP, next_only_when_full=True),
    )


def build(spec: dict[str, Any]) -> list[Instance]:
    """Instances from a spec: {"instances": [{"accounts": [n, ...], "latency": s, ...}]}."""
    now = time.time()
    instances = []
    for index, entry in enumerate(spec["instances"]):
        host = f"127.0.0.{index + 2}"
        instance = Instance(host, float(entry["latency"]), int(entry["page_size"]))
        for number in entry["accounts"]:
            account = build_account(
                number, host, int(entry["mentions"]), int(entry["statuses"]), now
            )
            instance.accounts[account.token] = account
        instances.append(instance)
    return instances


def _response(status: int, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-RateLimit-Limit: 300\r\nX-RateLimit-Remaining: 299\r\n"
        "X-RateLimit-Reset: 2099-01-01T00:00:00.000Z\r\n"
        f"{extra}\r\n"
    )
    return head.encode() + body


def _page(instance: Instance, listing: Listing, path: str, query: dict[str, str]) -> bytes:
    start, end = listing.select(query, instance.page_size)
    body = b"[" + b",".join(listing.bodies[start:end]) + b"]"
    if start >= end:
        return _response(200, body)
    full = end - start == min(int(query.get("limit") or instance.page_size), listing.cap)
    # Like Mastodon, the links keep the request's filters and swap only the bounds.
    kept = [(k, v) for k, v in query.items() if k not in ("max_id", "since_id", "min_id")]
    base = f"http://{instance.host}:{instance.port}{path}?"
    newest, oldest = listing.top - start, listing.top - end + 1
    links = [f'<{base}{urlencode([*kept, ("min_id", str(newest))])}>; rel="prev"']
    if full or not listing.next_only_when_full:
        links.insert(0, f'<{base}{urlencode([*kept, ("max_id", str(oldest))])}>; rel="next"')
    link = f"Link: {', '.join(links)}\r\n"
    return _response(200, body, link)


def route(instance: Instance, target: str, headers: dict[str, str]) -> bytes:
    parts = urlsplit(target)
    path = parts.path
    query = dict(parse_qsl(parts.query))
    if path in ("/api/v1/instance", "/api/v2/instance"):
        info = {"uri": instance.host, "domain": instance.host, "version": "4.3.0"}
        return _response(200, json.dumps(info).encode())
    token = headers.get("authorization", "").removeprefix("Bearer ")
    account = instance.accounts.get(token)
    if account is None:
        return _response(401, b'{"error":"The access token is invalid"}')
    if path == "/api/v1/accounts/verify_credentials":
        me = _account_json(account.id, account.acct, instance.host, _time(0))
        return _response(200, json.dumps(me).encode())
    if path == "/api/v1/notifications":
        return _page(instance, account.notifications, path, query)
    if path == f"/api/v1/accounts/{account.id}/statuses":
        return _page(instance, account.statuses, path, query)
    if path == "/api/v2/search":
        return _response(200, b'{"accounts":[],"statuses":[],"hashtags":[]}')
    return _response(404, b'{"error":"Record not found"}')


async def handle(
    instance: Instance, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """HTTP/1.1 keep-alive, GET only: all the clients under test need."""
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            _method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            instance.requests += 1
            if instance.latency:
                await asyncio.sleep(instance.latency)
            writer.write(route(instance, target, headers))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except ConnectionError:
        return
    finally:
        writer.close()


async def serve(instances: list[Instance]) -> None:
    servers = []
    for instance in instances:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((instance.host, 0))
        instance.port = sock.getsockname()[1]

        async def on_connect(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: Instance = instance
        ) -> None:
            await handle(i, reader, writer)

        servers.append(await asyncio.start_server(on_connect, sock=sock, backlog=1024))
    ready = [f"http://{i.host}:{i.port}" for i in instances]
    sys.stdout.write(json.dumps({"urls": ready}) + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle_:
        spec = json.load(handle_)
    asyncio.run(serve(build(spec)))


if __name__ == "__main__":
    main()
