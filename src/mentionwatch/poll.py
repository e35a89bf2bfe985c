"""Poll every enabled account concurrently; commit each account's results atomically.

Fetching is fetch.py's (in this process, or in worker processes for many accounts: workers.py);
storing happens here, in this process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mentionwatch.config import Config
from mentionwatch.errors import MentionwatchError, SourceError
from mentionwatch.fetch import Fetched, fetch_account
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.store import DecideAll, Store
from mentionwatch.store.alerts import AlertPlanner
from mentionwatch.store.leases import LeaseLostError
from mentionwatch.store_pool import StorePool
from mentionwatch.timeutil import utcnow
from mentionwatch.workers import fetch_in_workers, worker_count

log = logging.getLogger("mentionwatch.poll")
# A group of accounts is committed at the latest after this many, or this long: other writers
# (`done` in another terminal) never wait long for the lock, and progress is shown as it goes.
GROUP_ACCOUNTS = 50
GROUP_SECONDS = 0.25


@dataclass(frozen=True)
class PollResult:
    account: str
    platform: str
    new_mentions: int = 0
    newly_answered: int = 0
    still_open: int = 0
    new_replies: int = 0
    error: str | None = None
    seconds: float = 0.0
    # The platform asked not to be polled before this time; its mentions were not asked.
    not_before: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class PollHooks:
    """How the CLI follows a run; the core itself never prints."""

    started: Callable[[Account], None] = lambda account: None
    finished: Callable[[PollResult], None] = lambda result: None


def run_poll(
    config: Config,
    store: Store,
    *,
    accounts: Sequence[str] = (),
    hooks: PollHooks | None = None,
    http: Http | None = None,
    clock: Callable[[], datetime] | None = None,
    workers: int | None = None,
) -> list[PollResult]:
    """Poll the chosen accounts: in worker processes when there are many, else in this one."""
    # Looked up at call time, so that a test that freezes utcnow freezes polls too.
    now = clock or utcnow
    hooks = hooks or PollHooks()
    planner = alert_planner(config)
    with _no_cycle_collection():
        chosen = chosen_accounts(config, accounts)
        count = worker_count(workers or config.settings.workers, len(chosen)) if not http else 0
        # PostgreSQL pollers claim accounts one at a time through leases: never a fixed split.
        if count and store.dialect == "sqlite":
            return _poll_in_workers(config, store, chosen, hooks, now, count, planner)
        return asyncio.run(poll_all(config, store, accounts, hooks, http, now, planner))


def alert_planner(config: Config) -> AlertPlanner | None:
    """What decides the alerts a poll queues; None without [[notify]] targets."""
    if not config.notify:
        return None
    from mentionwatch.notify.events import EventPlanner

    return EventPlanner(config, config.notify)


def _poll_in_workers(
    config: Config,
    store: Store,
    chosen: Sequence[Account],
    hooks: PollHooks,
    clock: Callable[[], datetime],
    count: int,
    planner: AlertPlanner | None,
) -> list[PollResult]:
    by_name = {a.name: a for a in chosen}
    results: dict[str, PollResult] = {}
    decide = config.ruleset.outcomes if config.rules else None
    cursors = {a.name: store.cursors(a.name) for a in chosen}
    # Accounts are committed in groups: whatever the workers sent while the last ones were being
    # stored, up to a limit of accounts and time. Each stays atomic (a savepoint), and the CLI
    # hears of an account only once it is committed.
    with store.grouped() as commit:
        uncommitted: list[PollResult] = []
        opened = time.monotonic()

        def flush() -> None:
            nonlocal opened
            commit()
            for result in uncommitted:
                hooks.finished(result)
            uncommitted.clear()
            opened = time.monotonic()

        def store_one(fetched: Fetched) -> None:
            account = by_name[fetched.account]
            result = store_fetched(store, account, fetched, clock, decide, planner)
            results[fetched.account] = result
            uncommitted.append(result)
            if len(uncommitted) >= GROUP_ACCOUNTS or time.monotonic() - opened >= GROUP_SECONDS:
                flush()

        fetch_in_workers(config.settings, chosen, cursors, count, clock, hooks.started,
                         store_one, flush)  # fmt: skip
        flush()
    return [results[a.name] for a in chosen]


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while polling.

    A poll holds every parsed page until its account is stored: millions of objects, none in
    a cycle (reference counting frees them), that each collection walks again. Even run every
    50,000 allocations, collections took ~1 s of a 13 s 100,000-mention poll. The few cycles
    a poll makes (exceptions, asyncio internals) wait until it ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def poll_all(
    config: Config,
    store: Store,
    names: Sequence[str],
    hooks: PollHooks,
    http: Http | None,
    clock: Callable[[], datetime],
    planner: AlertPlanner | None = None,
) -> list[PollResult]:
    chosen = chosen_accounts(config, names)
    client = http or Http.from_settings(config.settings)
    decide = config.ruleset.outcomes if config.rules else None
    async with client:
        if store.dialect == "postgresql":
            return await _poll_leased(config, chosen, store, client, hooks, clock, decide, planner)
        tasks = [
            poll_account(account, store, client, hooks, clock, decide, planner=planner)
            for account in chosen
        ]
        return list(await asyncio.gather(*tasks))


def poller_name() -> str:
    """Who holds a lease, as `mentionwatch pollers` shows it: the machine and the process."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def _poll_leased(
    config: Config,
    chosen: Sequence[Account],
    store: Store,
    http: Http,
    hooks: PollHooks,
    clock: Callable[[], datetime],
    decide: DecideAll | None,
    planner: AlertPlanner | None,
) -> list[PollResult]:
    """PostgreSQL: keep up to `concurrency` accounts in flight, claiming free ones as room
    opens, so N pollers split the accounts.

    Claims come in batches (as many as there is room for, in one statement), and only as room
    opens: a poller never holds an account it is not polling yet, which another poller could
    be polling meanwhile. An account another poller holds, or one polled already in this round
    (pollers started together share a round), is left alone; a dead poller's account is taken
    over once its lease expires.
    """
    holder = poller_name()
    store.lease_holder, store.lease_length = holder, config.settings.lease
    by_name = {account.name: account for account in chosen}
    names = list(by_name)
    store.add_leases(names)
    round_start = store.begin_round(names)
    results: dict[str, PollResult] = {}
    # The store's round trips run on threads of their own, each with its own connection
    # (store_pool): while this poller waits on the database its fetches go on, and one
    # account's round trips never wait for another's.
    with StorePool(store, config.settings.db_connections) as pool:
        stored = pool.submit

        async def poll_leased(name: str) -> None:
            account = by_name[name]
            renewing = asyncio.create_task(_keep_renewing(store.lease_length, name, stored))
            try:
                hooks.started(account)
                cursors = await stored(Store.cursors, name)
                fetched = await fetch_account(account, cursors, http, clock)
                result = await stored(store_fetched, account, fetched, clock, decide, planner)
                results[name] = result
                hooks.finished(result)
            finally:
                renewing.cancel()
                await stored(Store.release, holder, name)

        room = min(len(names), config.settings.concurrency)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = room - len(running)
                claimed = await stored(Store.claim, holder, names, round_start, free)
                log.debug("%s claimed %d, %d in flight", holder, len(claimed), len(running))
                running.update(asyncio.create_task(poll_leased(name)) for name in claimed)
                if not running:
                    break
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a store failure ends the poll, as it does on SQLite
        finally:
            # Before the store threads stop: the others' releases still go through them.
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
    return [results[name] for name in names if name in results]


async def _keep_renewing(
    length: timedelta, account: str, stored: Callable[..., Awaitable[bool]]
) -> None:
    """A long poll (a big backfill) keeps its lease: renewed every third of its length."""
    every = max(length.total_seconds() / 3, 0.5)
    while True:
        await asyncio.sleep(every)
        if not await stored(Store.renew, account):
            return


def chosen_accounts(config: Config, names: Sequence[str]) -> list[Account]:
    return [a for a in config.accounts if a.enabled and (not names or a.name in names)]


def store_fetched(
    store: Store,
    account: Account,
    fetched: Fetched,
    clock: Callable[[], datetime],
    decide: DecideAll | None = None,
    planner: AlertPlanner | None = None,
) -> PollResult:
    """Commit one account's fetch atomically, record the run, and say what changed; `decide`
    is the inbox rules, applied to each new mention in the same transaction, and `planner`
    queues the alerts the account's mentions raise (the outbox), in that transaction too."""
    saved = None
    error = fetched.error
    if error is None or fetched.partial:
        # Before this save the stored cursors are still the old ones: none means first poll.
        first_poll = planner is not None and "mentions" not in store.cursors(account.name)
        try:
            saved = store.save_poll(account.name, account.platform, fetched.mentions,
                                    fetched.replies, fetched.cursors, clock(), decide,
                                    planner=planner, first_poll=first_poll)  # fmt: skip
        except LeaseLostError as exc:  # another poller has the account now: it stores it
            error = str(exc)
    elif planner is not None:
        # The platform failed, but SLAs run on: due-soon and breached alerts still go out.
        store.queue_waiting_alerts(account.name, planner, clock())
    store.record_run(account.name, account.platform, fetched.started, clock(), error, saved)
    return PollResult(
        account=account.name,
        platform=account.platform,
        new_mentions=saved.new_mentions if saved else 0,
        newly_answered=saved.newly_answered if saved else 0,
        still_open=saved.still_open if saved else 0,
        new_replies=saved.new_replies if saved else 0,
        error=error,
        seconds=fetched.seconds,
        not_before=fetched.not_before,
    )


async def poll_account(
    account: Account,
    store: Store,
    http: Http,
    hooks: PollHooks,
    clock: Callable[[], datetime],
    decide: DecideAll | None = None,
    *,
    planner: AlertPlanner | None = None,
) -> PollResult:
    hooks.started(account)
    fetched = await fetch_account(account, store.cursors(account.name), http, clock)
    result = store_fetched(store, account, fetched, clock, decide, planner)
    hooks.finished(result)
    return result


def check_credentials(config: Config, *, replying: bool = False) -> dict[str, tuple[bool, str]]:
    """Ask each enabled account's platform who its credential belongs to: (ok, who or why).

    With `replying`, also whether it may post (one more call where the platform can tell).
    For `config check --online`: one quick try each (a retry, a short wait), and every
    message redacted like a poll's, since some quote the server.
    """
    return asyncio.run(_check_all(config, replying))


async def _check_all(config: Config, replying: bool) -> dict[str, tuple[bool, str]]:
    from mentionwatch.sources.registry import PLATFORMS

    async def one(http: Http, account: Account) -> tuple[str, tuple[bool, str]]:
        fetcher = http.for_account(account)
        try:
            source = PLATFORMS[account.platform].load()(account, fetcher)
            who = await source.whoami()
            if replying:
                who += f"; {await _reply_access(source)}"
            return account.name, (True, who)
        except MentionwatchError as exc:
            return account.name, (False, fetcher.redact(str(exc)))
        except Exception as exc:  # one broken account must not hide the others' answers
            return account.name, (False, fetcher.redact(f"{type(exc).__name__}: {exc}"))

    async with Http.from_settings(config.settings, retries=1, max_wait=5) as http:
        enabled = [a for a in config.accounts if a.enabled]
        return dict(await asyncio.gather(*(one(http, a) for a in enabled)))


async def _reply_access(source: object) -> str:
    """Whether replying will work: a read-only credential still polls, so it is no failure."""
    check = getattr(source, "reply_access", None)
    if check is None:
        return "replies in the browser (no posting API)"
    try:
        said: str = await check()
        return said
    except MentionwatchError as exc:
        problem = exc.problem if isinstance(exc, SourceError) else str(exc)
        return f"cannot reply: {problem}"
