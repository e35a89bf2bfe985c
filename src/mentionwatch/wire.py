"""One HTTP exchange on a host's kept connections: the request, redirects, decoding.

httpx's client adds five layers per request on top of httpcore (auth and redirect flows, a
cookie jar, event hooks, its own request and response models) and then its transport copies
everything into httpcore's models and back: together ~40% of a poll's CPU per request, for
features `poll` never uses. Here a request goes to a connection (http11.py) as it is, and only
what mentionwatch relies on is kept, as httpx does it: redirects followed (at most 20; the
Authorization header never follows a redirect to another origin, except from http to https on
the same host), gzip and deflate bodies decoded, the size cap checked as the body arrives.

The caller (http.py) maps the connections' errors (timeouts, network and protocol errors) to its
own.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from mentionwatch.connections import HostConnections

MAX_REDIRECTS = 20
_REDIRECTS = (301, 302, 303, 307, 308)
_DEFAULT_PORTS = {"http": 80, "https": 443}
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


class TooLarge(Exception):
    """The body passed the size cap."""


class BadBody(Exception):
    """The body could not be decoded as its Content-Encoding says, or a redirect was bad."""


@dataclass
class Request:
    method: str
    url: str
    # Lower-cased name -> (name as sent, value): later settings replace earlier ones.
    headers: dict[str, tuple[str, str]]
    body: bytes = b""


def text(value: Any) -> str:
    """A query or form value as httpx writes it (JSON-style booleans, None as empty)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def with_params(url: str, params: Params | None) -> str:
    """`url` with `params` added to its query; a name given in both takes the new values."""
    if not params:
        return url
    items = params.items() if isinstance(params, Mapping) else params
    given: dict[str, list[str]] = {}
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        given.setdefault(key, []).extend(text(v) for v in values)
    rest, hash_, fragment = url.partition("#")
    base, _, query = rest.partition("?")
    merged: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        merged.setdefault(key, []).append(value)
    merged.update(given)
    pairs = [(key, value) for key, values in merged.items() for value in values]
    return f"{base}?{urlencode(pairs)}{hash_}{fragment}"


def form(data: Mapping[str, Any]) -> bytes:
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, text(v)) for v in values)
    return urlencode(pairs).encode()


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def _target(url: str) -> tuple[str, str]:
    """What the request line asks for (path and query), and the Host header."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target, parts.netloc.rpartition("@")[2]


class _Inflate:
    """One Content-Encoding step: gzip, or deflate (zlib-wrapped or raw, as httpx takes it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._first = name == "deflate"
        self._step = zlib.decompressobj(zlib.MAX_WBITS | 16 if name == "gzip" else zlib.MAX_WBITS)

    def decode(self, data: bytes, final: bool) -> bytes:
        try:
            out = self._step.decompress(data)
        except zlib.error:
            if not self._first:
                raise BadBody(f"the body is not valid {self.name} data") from None
            self._step = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._step.decompress(data)
        self._first = False
        return out + self._step.flush() if final else out


def _decoders(encoding: str) -> list[_Inflate]:
    """The steps that undo `Content-Encoding`, last applied first; identity, and what httpx
    would not decode either without optional packages, pass as they are."""
    names = [e.strip().lower() for e in encoding.split(",")]
    steps = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}
    return [_Inflate(steps[n]) for n in reversed(names) if n in steps]


def _decode(steps: list[_Inflate], data: bytes, final: bool = False) -> bytes:
    try:
        for step in steps:
            data = step.decode(data, final)
    except zlib.error:
        raise BadBody("the body is not valid compressed data") from None
    return data


async def exchange(
    pools: Callable[[str], HostConnections],
    request: Request,
    timeouts: Mapping[str, float],
    max_body: int,
) -> tuple[int, dict[str, str], bytes]:
    """Send `request` (following redirects): status, headers (lower-cased names, repeated ones
    joined with ", " as httpx does) and the decoded body; `pools(host)` is a host's pool."""
    method, url, headers, body = request.method, request.url, dict(request.headers), request.body
    for _ in range(MAX_REDIRECTS + 1):
        origin = _origin(url)
        target, host = _target(url)
        sent = [(b"Host", host.encode("ascii"))]
        sent += [(name.encode(), value.encode()) for name, value in headers.values()]
        if body:
            sent.append((b"Content-Length", str(len(body)).encode()))
        pool = pools(origin[1])
        connection = pool.take(origin)
        try:
            response = await connection.request(method, target, sent, body, timeouts)
            found = _headers(response.headers)
            location = found.get("location")
            if response.status in _REDIRECTS and location:
                method, url, body, headers = _redirected(
                    response.status, method, url, location, body, headers
                )
                continue
            steps = _decoders(found.get("content-encoding", ""))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.chunks():
                if steps:
                    chunk = _decode(steps, chunk)
                size += len(chunk)
                if size > max_body:
                    raise TooLarge
                chunks.append(chunk)
            if steps:
                chunks.append(_decode(steps, b"", final=True))
                if size + len(chunks[-1]) > max_body:
                    raise TooLarge
        finally:
            # Kept only if its response was read to the end (a redirect's body is not read).
            pool.give_back(connection)
        return response.status, found, b"".join(chunks)
    raise BadBody(f"more than {MAX_REDIRECTS} redirects")


def _headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        try:
            shown = value.decode("ascii")
        except UnicodeDecodeError:
            try:
                shown = value.decode("utf-8")
            except UnicodeDecodeError:
                shown = value.decode("latin-1")
        found[key] = f"{found[key]}, {shown}" if key in found else shown
    return found


def _redirected(
    status: int,
    method: str,
    url: str,
    location: str,
    body: bytes,
    headers: dict[str, tuple[str, str]],
) -> tuple[str, str, bytes, dict[str, tuple[str, str]]]:
    """The request a redirect asks for, as httpx makes it."""
    target = urljoin(url, location.strip())
    if urlsplit(target).scheme.lower() not in _DEFAULT_PORTS:
        raise BadBody("a redirect to a location that is no http(s) address")
    if "#" in url and "#" not in target:
        target += "#" + url.partition("#")[2]
    after = method
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        after = "GET"
    headers = dict(headers)
    old, new = _origin(url), _origin(target)
    https_upgrade = old[1] == new[1] and old[::2] == ("http", 80) and new[::2] == ("https", 443)
    if old != new and not https_upgrade:
        headers.pop("authorization", None)
    if after != method and after == "GET":
        body = b""
        headers.pop("content-type", None)
    return after, target, body, headers
