"""SLA clocks: targets, deadlines and the state of a waiting mention (no I/O, no Rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.timeutil import format_duration

if TYPE_CHECKING:
    from mentionwatch.business_hours import Calendar

OK, DUE_SOON, BREACHED = "ok", "due soon", "breached"


class Sla(NamedTuple):
    target: timedelta
    warn_at: float
    calendar: Calendar | None = None

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Time that counts against the target: business time when the account has a calendar."""
        if self.calendar is None:
            return end - start
        return self.calendar.business_time_between(start, end)

    def due(self, created: datetime) -> datetime:
        """The deadline of a mention received at `created`."""
        if self.calendar is None:
            return created + self.target
        return self.calendar.add_business_time(created, self.target)


def sla_for(config: Config, account: str) -> Sla:
    """The account's target; mentions of accounts since removed from the config get the default."""
    entry = config.by_name.get(account)
    if entry is None:
        return Sla(config.settings.sla, config.settings.warn_at, config.settings.calendar)
    return Sla(entry.sla, entry.warn_at, entry.calendar)


def mention_sla(config: Config, mention: StoredMention) -> Sla:
    """The mention's own clock: its account's, with the target a rule set when one did."""
    base = sla_for(config, mention.account)
    if mention.sla_override is None:
        return base
    return Sla(mention.sla_override, base.warn_at, base.calendar)


def _targets(config: Config, name: str) -> list[Sla]:
    """The account's SLA and, when rules set a shorter one, that too (for cut-offs)."""
    base = sla_for(config, name)
    shortest = config.ruleset.shortest_sla if config.rules else None
    if shortest is None or shortest >= base.target:
        return [base]
    return [base, Sla(shortest, base.warn_at, base.calendar)]


def sla_cutoffs(
    config: Config, now: datetime, accounts: Sequence[str], threshold: Callable[[Sla], timedelta]
) -> tuple[dict[str, datetime], timedelta | None]:
    """Wall-clock cut-offs for mentions that may have waited past `threshold` of their SLA.

    Business time never outruns the wall clock, so this is a safe first cut that keeps the query
    on its index; each mention's own clock is checked after it. Named accounts get one cut-off
    each (`due_before`); otherwise one for all, the most lenient (`older_than`), so that mentions
    of accounts since removed from the config (on the default SLA) are not dropped.
    """
    if accounts:
        return {
            name: now - min(threshold(t) for t in _targets(config, name)) for name in accounts
        }, None
    # "": the default, for mentions of accounts since removed from the config.
    targets = [t for name in ("", *config.by_name) for t in _targets(config, name)]
    return {}, min(threshold(target) for target in targets)


def sla_status(mention: StoredMention, sla: Sla, now: datetime) -> tuple[str, timedelta]:
    """Status and time left (negative when overdue) for an open mention, on the SLA's clock."""
    age = sla.elapsed(mention.created_at, now)
    left = sla.target - age
    if left <= timedelta(0):
        return BREACHED, left
    if age >= sla.target * sla.warn_at:
        return DUE_SOON, left
    return OK, left


def sla_label(status: str, left: timedelta, business: bool = False) -> str:
    """Like "20m left" or "overdue by 2h 5m"; `business`: the time counts business hours only."""
    if status == BREACHED:
        label = f"overdue by {format_duration(-left)}"
    else:
        label = f"{format_duration(left)} left"
    return f"{label} (business hours)" if business else label


def sla_filter(
    mentions: Iterable[StoredMention],
    config: Config,
    now: datetime,
    wanted: frozenset[str],
    keep: frozenset[State] = frozenset(),
) -> Iterator[StoredMention]:
    """Mentions in a `keep` state, and waiting ones whose SLA status (on each account's own
    clock) is one of `wanted`."""
    for m in mentions:
        if m.state in keep:
            yield m
        elif m.state in (State.OPEN, State.SNOOZED):
            if sla_status(m, mention_sla(config, m), now)[0] in wanted:
                yield m
