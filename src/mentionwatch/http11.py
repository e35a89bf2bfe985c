"""One HTTP/1.1 connection: h11 (the protocol library under httpx) on asyncio streams.

httpcore's connection classes cost ~350 us of CPU a request on top of h11, measured on the
simulated instances (~600 us against ~260 us for the same requests on eight kept connections):
anyio locks, each of which gives the event loop an extra turn, a cancellation shield and trace
hooks per request, and a network-stream layer. mentionwatch already gives each connection one
request at a time (connections.py), so a connection here is only h11's state machine, the
socket, the timeouts and keep-alive; h11 still parses, frames and decides whether the
connection can serve another request.

Errors keep httpcore's names, so messages read as before ("connection failed (ConnectError)").
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Mapping

import h11

READ_SIZE = 64 * 1024
# As httpcore: h11's own default (16 KB) refuses the header blocks some APIs send.
MAX_HEAD = 100 * 1024
Origin = tuple[str, str, int]  # scheme, host, port
Headers = list[tuple[bytes, bytes]]


class TransportError(Exception):
    """The request got no (complete) answer."""


class ConnectError(TransportError):
    """No connection: the request never reached the server, so sending it again is safe."""


class UnsupportedProtocol(ConnectError):
    """An address that is not http or https."""


class ReadError(TransportError):
    pass


class WriteError(TransportError):
    pass


class RemoteProtocolError(TransportError):
    """The server broke HTTP/1.1, or closed the connection before the response ended."""


class LocalProtocolError(TransportError):
    """A request h11 will not send (a bad header, say)."""


class Timeout(TransportError):
    pass


class ConnectTimeout(Timeout, ConnectError):
    pass


class ReadTimeout(Timeout):
    pass


class WriteTimeout(Timeout):
    pass


class Connection:
    """A connection to one origin, serving one request at a time, kept alive between them."""

    def __init__(self, origin: Origin, ssl_context: ssl.SSLContext, keepalive: float) -> None:
        self.origin = origin
        self._ssl_context = ssl_context
        self._keepalive = keepalive
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._idle_since: float | None = None
        self._closed = False

    def usable(self) -> bool:
        """Idle, not past its keep-alive, and not closed by the server meanwhile (the event
        loop reads the end of a closed connection as it comes)."""
        if self._closed or self._idle_since is None or self._reader is None:
            return False
        if time.monotonic() - self._idle_since > self._keepalive:
            return False
        return not (self._reader.at_eof() or self._reader.exception())

    async def request(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        timeouts: Mapping[str, float],
    ) -> Response:
        """Send the request and read the response's head; the body follows from the Response."""
        self._idle_since = None
        if self._writer is None:
            await self._connect(timeouts["connect"])
        try:
            data = self._h11.send(h11.Request(method=method, target=target, headers=headers))
            if body:
                data = (data or b"") + (self._h11.send(h11.Data(data=body)) or b"")
            data = (data or b"") + (self._h11.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError as exc:
            self.close()
            raise LocalProtocolError(str(exc)) from None
        await self._write(data, timeouts["write"])
        while True:
            event = await self._next(timeouts["read"])
            if isinstance(event, h11.Response):
                return Response(self, event.status_code, list(event.headers), timeouts["read"])
            # InformationalResponse (100 Continue and the like) precedes the real one.

    async def _connect(self, timeout: float) -> None:
        scheme, host, port = self.origin
        if scheme not in ("http", "https"):
            raise UnsupportedProtocol(f"unsupported address scheme {scheme!r}")
        tls = self._ssl_context if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None,
                    limit=READ_SIZE,
                )  # fmt: skip
        except TimeoutError:
            raise ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from None

    async def _write(self, data: bytes, timeout: float) -> None:
        assert self._writer is not None
        try:
            self._writer.write(data)
            if self._writer.transport.get_write_buffer_size():
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
        except TimeoutError:
            self.close()
            raise WriteTimeout("timed out sending the request") from None
        except OSError as exc:
            self.close()
            raise WriteError(str(exc) or type(exc).__name__) from None

    async def _next(self, timeout: float) -> object:
        """The next event of the response, reading from the socket as h11 needs."""
        assert self._reader is not None
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                self.close()
                raise RemoteProtocolError(str(exc)) from None
            if isinstance(event, h11.ConnectionClosed):
                self.close()
                raise RemoteProtocolError("the server closed the connection mid-response")
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(timeout):
                    data = await self._reader.read(READ_SIZE)
            except TimeoutError:
                self.close()
                raise ReadTimeout("timed out reading the response") from None
            except OSError as exc:
                self.close()
                raise ReadError(str(exc) or type(exc).__name__) from None
            self._h11.receive_data(data)

    async def body(self, timeout: float) -> AsyncIterator[bytes]:
        while True:
            event = await self._next(timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
                    self._h11.start_next_cycle()
                    self._idle_since = time.monotonic()
                else:  # Connection: close, or a response that ends where the connection does
                    self.close()
                return

    def close(self) -> None:
        # Not waiting for the close to complete: a peer that never answers a TLS close_notify
        # must not hold up the poll.
        self._closed = True
        self._idle_since = None
        if self._writer is not None:
            self._writer.close()


class Response:
    """A response's status and headers (names lower-cased by h11); its body, read once."""

    def __init__(
        self, connection: Connection, status: int, headers: Headers, timeout: float
    ) -> None:
        self.connection = connection
        self.status = status
        self.headers = headers
        self._timeout = timeout

    def chunks(self) -> AsyncIterator[bytes]:
        return self.connection.body(self._timeout)
