"""A host's open HTTP connections, kept for the next request.

mentionwatch bounds what a host sees before a request reaches here (one slot a request,
`per_host` per host: http.py), so a host's connections need only be kept: a request takes an
idle one that can serve its origin, else opens one, and gives it back when its response has
been read. A connection the server closed, one past its keep-alive, and one whose response was
not read to its end are closed instead of kept. A redirect to another host is sent within the
first host's slot, so the other host sees at most as many connections as requests were
redirected to it at once.

httpcore's pool did the same, but walked all its connections on every request and response,
and made a request record, an event and a cancellation shield each time: ~15% of a poll's CPU.
"""

from __future__ import annotations

import ssl

from mentionwatch.http11 import Connection, Origin

# httpx's default: an idle connection older than this is closed, not reused.
KEEPALIVE_SECONDS = 5.0


class HostConnections:
    """The connections to one host; as many at once as requests are in flight there."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context
        self._idle: list[Connection] = []
        self._busy: set[Connection] = set()

    def take(self, origin: Origin) -> Connection:
        """An idle connection to `origin`, or a new one (it connects as it sends)."""
        # The most recently used first: it is the least likely to have been closed meanwhile.
        for index in range(len(self._idle) - 1, -1, -1):
            connection = self._idle[index]
            if not connection.usable():
                del self._idle[index]
                connection.close()
            elif connection.origin == origin:
                del self._idle[index]
                self._busy.add(connection)
                return connection
        connection = Connection(origin, self._ssl_context, KEEPALIVE_SECONDS)
        self._busy.add(connection)
        return connection

    def give_back(self, connection: Connection) -> None:
        """Kept for the next request if its response was read to the end and it stays open."""
        self._busy.discard(connection)
        if connection.usable():
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for connection in [*self._idle, *self._busy]:
            connection.close()
        self._idle, self._busy = [], set()
