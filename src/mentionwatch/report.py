"""Ages, SLA status and the terminal rendering of stored mentions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.text import strip_controls
from mentionwatch.timeutil import format_duration

if TYPE_CHECKING:
    from rich.table import Table

    from mentionwatch.business import Calendar

OK, DUE_SOON, BREACHED = "ok", "due soon", "breached"


@dataclass(frozen=True)
class Sla:
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
        return {name: now - threshold(sla_for(config, name)) for name in accounts}, None
    targets = [sla_for(config, name) for name in ("", *config.by_name)]  # "": the default
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
            if sla_status(m, sla_for(config, m.account), now)[0] in wanted:
                yield m


def record(mention: StoredMention, sla: Sla, now: datetime) -> dict[str, Any]:
    """The flat form every machine-readable output shares (json, jsonl, csv)."""
    waiting = mention.state in (State.OPEN, State.SNOOZED)
    status, left = sla_status(mention, sla, now) if waiting else ("", timedelta(0))
    response = mention.response_time
    return {
        "id": mention.id,
        "account": strip_controls(mention.account),
        "platform": strip_controls(mention.platform),
        "kind": strip_controls(mention.kind),
        "state": str(mention.state),
        "author": strip_controls(mention.author),
        "title": strip_controls(mention.title),
        "text": strip_controls(mention.text),
        "url": strip_controls(mention.url),
        "created_at": mention.created_at.isoformat(),
        "age_seconds": int((now - mention.created_at).total_seconds()),
        "sla_seconds": int(sla.target.total_seconds()),
        "sla_status": status,
        "sla_left_seconds": int(left.total_seconds()) if waiting else None,
        "snoozed_until": mention.snoozed_until.isoformat() if mention.snoozed_until else None,
        "answered_at": mention.answered_at.isoformat() if mention.answered_at else None,
        "answered_url": strip_controls(mention.answered_url or "") or None,
        "answered_by": strip_controls(mention.answered_by or "") or None,
        "response_seconds": int(response.total_seconds()) if response is not None else None,
        "sla_clock": "business hours" if sla.calendar else "wall clock",
        "sla_due_at": sla.due(mention.created_at).isoformat() if waiting else None,
    }


def mention_detail(m: StoredMention, config: Config, now: datetime) -> Table:
    """The `show` view: every field, full text, cleaned of control sequences."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    rows: list[tuple[str, str]] = [
        ("ID", str(m.id)),
        ("State", str(m.state)),
        ("Platform", m.platform),
        ("Account", m.account),
        ("Kind", m.kind),
        ("Author", m.author),
        (
            "Posted",
            f"{m.created_at:%Y-%m-%d %H:%M} UTC ({format_duration(now - m.created_at)} ago)",
        ),
        ("URL", m.url),
    ]
    sla = sla_for(config, m.account)
    if m.state in (State.OPEN, State.SNOOZED):
        status, left = sla_status(m, sla, now)
        rows.append(("SLA", f"{status}, {sla_label(status, left, bool(sla.calendar))}, "
                     f"due {sla.due(m.created_at):%Y-%m-%d %H:%M} UTC"))  # fmt: skip
    if sla.calendar:
        rows.append(("Business hours", sla.calendar.describe()))
    if m.snoozed_until:
        rows.append(("Snoozed until", f"{m.snoozed_until:%Y-%m-%d %H:%M} UTC"))
    if m.answered_at and m.response_time is not None:
        by = m.answered_by or "?"
        after = format_duration(m.response_time)
        if sla.calendar:
            business = format_duration(sla.elapsed(m.created_at, m.answered_at))
            after += f" ({business} in business hours)"
        rows.append(("Answered", f"{m.answered_at:%Y-%m-%d %H:%M} UTC by {by}, after {after}"))
        if m.answered_url:
            rows.append(("Answer", m.answered_url))
    if m.title:
        rows.append(("Title", m.title))
    rows.append(("Text", m.text))
    for label, value in rows:
        grid.add_row(Text(label), Text(strip_controls(value)))
    return grid
