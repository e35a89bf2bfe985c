"""Fetching in worker processes, so that a poll of many accounts uses every core.

Fetching costs CPU per request (HTTP parsing, JSON, building mentions): one process of Python
tops out at one core long before the network is busy. Each worker is forked with its share of the
accounts, runs them concurrently on its own event loop and HTTP client, and sends each account's
`Fetched` back as it completes; the parent alone writes to the store (SQLite has one writer), in
the order the accounts finish. An account stays in one worker, and so does every account of one
host, so the per-host limit still bounds what one server sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from multiprocessing.connection import Connection, wait
from urllib.parse import urlsplit

from mentionwatch.config import Settings
from mentionwatch.fetch import Fetched, fetch_account, prepare
from mentionwatch.http import Http
from mentionwatch.models import Account

# Below this many accounts per worker, forking and shipping results back costs more than the
# second core saves (benchmarks/RESULTS.md).
MIN_ACCOUNTS_PER_WORKER = 8
MAX_WORKERS = 8


def worker_count(configured: int | None, accounts: int) -> int:
    """How many processes to fetch in: 0 means in this process."""
    wanted = configured if configured is not None else min(os.cpu_count() or 1, MAX_WORKERS)
    count = min(wanted, accounts // MIN_ACCOUNTS_PER_WORKER)
    return count if count >= 2 else 0


def shares(accounts: Sequence[Account], workers: int) -> list[list[Account]]:
    """Accounts split into `workers` shares of about equal size, every host in one share."""
    by_host: dict[str, list[Account]] = {}
    for account in accounts:
        host = urlsplit(account.server).hostname or account.server or account.name
        by_host.setdefault(host, []).append(account)
    split: list[list[Account]] = [[] for _ in range(workers)]
    for group in sorted(by_host.values(), key=len, reverse=True):
        min(split, key=len).extend(group)
    return [share for share in split if share]


def fetch_in_workers(
    settings: Settings,
    accounts: Sequence[Account],
    cursors: Mapping[str, Mapping[str, str]],
    workers: int,
    clock: Callable[[], datetime],
    on_started: Callable[[Account], None],
    on_fetched: Callable[[Fetched], None],
    on_idle: Callable[[], None] = lambda: None,
) -> None:
    """Fetch every account in worker processes; `on_fetched` runs here as each one completes,
    and `on_idle` whenever nothing is left to hand over, before this process waits again."""
    # fork: the workers start in milliseconds with the config, secrets and imports in memory
    # (spawn would import everything again); they never touch the parent's database handle.
    context = multiprocessing.get_context("fork")
    prepare(accounts)
    by_name = {a.name: a for a in accounts}
    pending: dict[Connection, set[str]] = {}
    processes = []
    groups = shares(accounts, workers)
    concurrency = max(settings.concurrency // len(groups), settings.per_host)
    for share in groups:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker,
            args=(settings, share, {a.name: cursors.get(a.name, {}) for a in share},
                  concurrency, clock, send),
            daemon=True,
        )  # fmt: skip
        process.start()
        send.close()
        processes.append(process)
        pending[receive] = {a.name for a in share}
    try:
        while pending:
            ready_now = wait(list(pending), timeout=0)
            if not ready_now:
                on_idle()
            for ready in ready_now or wait(list(pending)):
                assert isinstance(ready, Connection)
                try:
                    kind, payload = ready.recv()
                except EOFError:
                    _lost(pending.pop(ready), clock, on_fetched)
                    continue
                if kind == "started":
                    on_started(by_name[payload])
                else:
                    pending[ready].discard(payload.account)
                    on_fetched(payload)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join()


def _lost(
    names: set[str],
    clock: Callable[[], datetime],
    on_fetched: Callable[[Fetched], None],
) -> None:
    """A worker that died before reporting these accounts: each one fails, the rest go on."""
    now = clock()
    for name in sorted(names):
        on_fetched(Fetched(name, now, error=f"{name}: the worker process fetching it died"))


def _worker(
    settings: Settings,
    share: Sequence[Account],
    cursors: Mapping[str, Mapping[str, str]],
    concurrency: int,
    clock: Callable[[], datetime],
    send: Connection,
) -> None:
    # The parent decides when a poll stops (Ctrl-C, `watch` on SIGTERM) and ends its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.disable()
    try:
        asyncio.run(_fetch_share(settings, share, cursors, concurrency, clock, send))
    finally:
        with contextlib.suppress(OSError):
            send.close()
        # Straight out: no atexit handlers or finalisers of the parent's objects (its database
        # connection, its terminal) run in a forked copy.
        os._exit(0)


async def _fetch_share(
    settings: Settings,
    share: Sequence[Account],
    cursors: Mapping[str, Mapping[str, str]],
    concurrency: int,
    clock: Callable[[], datetime],
    send: Connection,
) -> None:
    async def one(account: Account) -> None:
        send.send(("started", account.name))
        send.send(("fetched", await fetch_account(account, cursors[account.name], http, clock)))

    async with Http.from_settings(
        settings, concurrency=concurrency or settings.concurrency
    ) as http:
        await asyncio.gather(*(one(account) for account in share))
