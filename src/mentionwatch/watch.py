"""`watch`: poll, deliver alerts, sleep; again, until told to stop (for systemd or a container).

The poll lock is held only for a cycle's poll and delivery, so `list`, `done` and the other
commands work in between, and a cron `poll` on the same database waits its turn.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mentionwatch.config import Config
from mentionwatch.errors import LockedError
from mentionwatch.models import Account
from mentionwatch.poll import PollResult, run_poll
from mentionwatch.store import Store
from mentionwatch.store.lock import poll_lock
from mentionwatch.timeutil import utcnow

if TYPE_CHECKING:  # notify is loaded only when alerts are configured
    from mentionwatch.notify.deliver import Outcome

JITTER = 0.1  # up to 10% added to each interval, so that many watchers do not poll in step
BACKOFF_CAP = 3600.0  # a failing account is retried at least hourly


@dataclass(frozen=True)
class Cycle:
    number: int
    results: list[PollResult]
    outcomes: list[Outcome]
    next_in: float
    waiting: int  # accounts not due this cycle (backing off, or a platform's minimum interval)
    note: str = ""


@dataclass
class Schedule:
    """When each account is due next: its interval, jittered; doubled per failure, capped."""

    every: float
    rand: Callable[[], float] = random.random
    due_at: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def due(self, accounts: Sequence[Account], now: float) -> list[Account]:
        return [a for a in accounts if self.due_at.get(a.name, 0.0) <= now]

    def record(self, account: Account, ok: bool, now: float) -> None:
        from mentionwatch.sources.registry import PLATFORMS

        spec = PLATFORMS.get(account.platform)
        interval = max(self.every, spec.min_interval if spec else 0.0)
        if ok:
            self.failures.pop(account.name, None)
        else:
            self.failures[account.name] = self.failures.get(account.name, 0) + 1
            doubled = interval * 2 ** min(self.failures[account.name], 20)
            interval = max(min(doubled, BACKOFF_CAP), interval)
        self.due_at[account.name] = now + interval * (1 + JITTER * self.rand())

    def next_in(self, accounts: Sequence[Account], now: float) -> float:
        times = [self.due_at.get(a.name, now) for a in accounts]
        return max(min(times, default=now + self.every) - now, 0.0)


def run_watch(
    config: Config,
    db_path: Path | str,
    names: Sequence[str],
    every: float,
    *,
    once: bool,
    stop: threading.Event,
    on_cycle: Callable[[Cycle], None],
    lock_timeout: float = 60.0,
    password: str | None = None,
) -> None:
    """Cycles until `stop` is set (by SIGTERM/SIGINT) or, with `once`, after one."""
    accounts = [a for a in config.accounts if a.enabled and (not names or a.name in names)]
    schedule = Schedule(every)
    number = 0
    while not stop.is_set():
        number += 1
        due = schedule.due(accounts, time.monotonic())
        results: list[PollResult] = []
        outcomes: list[Outcome] = []
        note = ""
        try:
            # SQLite: the poll lock, per cycle. PostgreSQL: pollers share accounts by leases.
            lock = poll_lock(db_path, lock_timeout) if isinstance(db_path, Path) else nullcontext()
            with lock, Store.open(db_path, password=password) as store:
                if due:
                    results = run_poll(config, store, accounts=[a.name for a in due])
                if config.notify:
                    from mentionwatch.notify.deliver import deliver_pending

                    outcomes = deliver_pending(store, config, utcnow())
        except LockedError:
            note = "another poll holds the database; trying again next cycle"
        finished = time.monotonic()
        ok = {r.account: r.ok for r in results}
        for account in due:
            if account.name in ok:
                schedule.record(account, ok[account.name], finished)
        wait = schedule.next_in(accounts, finished) if accounts and not note else every
        on_cycle(Cycle(number, results, outcomes, wait, len(accounts) - len(due), note))
        if once:
            return
        stop.wait(wait)
