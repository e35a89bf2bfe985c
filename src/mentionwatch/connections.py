"""A host's open HTTP connections, kept for the next request: httpcore's connections, no pool.

httpcore's connection pool queues requests and enforces its own limits, and for that, on every
request and again on every response, it walks all its connections (and, for each idle one, all
of them once more) and makes a request record, an event and a cancellation shield: ~15% of a
poll's CPU for each request. mentionwatch already bounds what a host sees before a request
reaches here (one slot a request, `per_host` per host: http.py), so a host's connections need
only be kept: a request takes an idle one that can serve its origin, else opens one, and gives
it back when its response has been read. Opening, TLS, HTTP/1.1 and keep-alive stay httpcore's
(`AsyncHTTPConnection`, public API), as does the test whether an idle connection still serves:
expired, or closed by the server (network.py tells). A redirect to another host is sent within
the first host's slot, so the other host sees at most as many connections as requests were
redirected to it at once.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import httpcore

# httpx's default: an idle connection older than this is closed, not reused.
KEEPALIVE_SECONDS = 5.0


class HostConnections:
    """The connections to one host; as many at once as requests are in flight there."""

    def __init__(self, ssl_context: ssl.SSLContext, backend: httpcore.AsyncNetworkBackend) -> None:
        self._ssl_context = ssl_context
        self._backend = backend
        self._idle: list[httpcore.AsyncHTTPConnection] = []
        self._open: set[httpcore.AsyncHTTPConnection] = set()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        connection = await self._take(request.url.origin)
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            self._open.discard(connection)
            await connection.aclose()
            raise
        stream = _GivenBack(response, connection, self)
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=stream,
            extensions=response.extensions,
        )

    async def _take(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        # The most recently used first: it is the least likely to have been closed meanwhile.
        for index in range(len(self._idle) - 1, -1, -1):
            connection = self._idle[index]
            if connection.has_expired() or connection.is_closed():
                del self._idle[index]
                self._open.discard(connection)
                await connection.aclose()
            elif connection.can_handle_request(origin) and connection.is_idle():
                del self._idle[index]
                return connection
        connection = httpcore.AsyncHTTPConnection(
            origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=KEEPALIVE_SECONDS,
            network_backend=self._backend,
        )
        self._open.add(connection)
        return connection

    def _give_back(self, connection: httpcore.AsyncHTTPConnection) -> None:
        if connection.is_idle():
            self._idle.append(connection)
        else:  # the server said Connection: close, or the body was not read to its end
            self._open.discard(connection)

    async def aclose(self) -> None:
        connections, self._idle = list(self._open), []
        self._open.clear()
        for connection in connections:
            await connection.aclose()


class _GivenBack:
    """A response's body; closing it hands the connection back for the next request."""

    def __init__(
        self,
        response: httpcore.Response,
        connection: httpcore.AsyncHTTPConnection,
        owner: HostConnections,
    ) -> None:
        self._response = response
        self._connection = connection
        self._owner = owner
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_stream():
            yield chunk

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._response.aclose()
        finally:
            self._owner._give_back(self._connection)
