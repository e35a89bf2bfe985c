"""A PostgreSQL poller's store threads, each with a connection of its own.

A poller stores each account in a dozen round trips to the database (claim, cursors, the
save's statements, the run, the release). On one connection they queue behind each other: with
the database 7 ms away, 200 accounts took 24 s of round trips one after another while their
fetches were long done. Each thread here has its own connection, so the accounts' round trips
overlap; every call is still one transaction on one connection, exactly as when several
pollers share the database.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from mentionwatch.errors import StoreError
from mentionwatch.store import Store

log = logging.getLogger("mentionwatch.poll")
T = TypeVar("T")


class StorePool:
    """`run(call, *args)` calls `call(store, *args)` on one of the threads, with its store."""

    def __init__(self, store: Store, size: int) -> None:
        """At most `size` threads and connections (`[settings] db_connections`), the poll's
        own among them; the others are opened as the calls come."""
        self.store = store
        self.executor = ThreadPoolExecutor(max(size, 1), thread_name_prefix="mentionwatch-store")
        self._local = threading.local()
        self._opening = threading.Lock()
        self._own_taken = False
        # The poll's own connection, also for threads that could not open one of their own
        # (the server's connection limit): one transaction at a time on it.
        self._own = threading.Lock()
        self._opened: list[Store] = []

    def submit(self, call: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`call(store, *args)` on a store thread, for the running event loop to await."""
        return asyncio.get_running_loop().run_in_executor(self.executor, self.run, call, *args)

    def run(self, call: Callable[..., T], *args: Any) -> T:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = self._connection()
        if store is self.store:
            with self._own:
                return call(store, *args)
        return call(store, *args)

    def _connection(self) -> Store:
        with self._opening:
            if not self._own_taken:
                self._own_taken = True
                return self.store
        try:
            other = self.store.another()
        except StoreError as exc:
            log.warning("%s; this poller's store threads share its one connection", exc)
            return self.store
        with self._opening:
            self._opened.append(other)
        return other

    def close(self) -> None:
        """Wait for the calls under way, then close the connections this pool opened."""
        self.executor.shutdown(wait=True)
        for store in self._opened:
            store.close()
        self._opened.clear()

    def __enter__(self) -> StorePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
