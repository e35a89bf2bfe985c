"""Which alerts a poll raises: `new`, `due-soon` and `breached`, per target (no I/O)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.notify.settings import NotifyTarget
from mentionwatch.sla import BREACHED, DUE_SOON, mention_sla, sla_for, sla_status
from mentionwatch.store.alerts import QueuedAlert

NEW, SOON, LATE = "new", "due-soon", "breached"


class EventPlanner:
    """The store's AlertPlanner for a config's `[[notify]]` targets."""

    def __init__(self, config: Config, targets: Sequence[NotifyTarget]) -> None:
        self.config = config
        self.targets = tuple(targets)

    def waiting_cutoff(self, account: str, now: datetime) -> datetime | None:
        """Business time never outruns the wall clock: younger mentions cannot be due yet."""
        entry = self.config.by_name.get(account)
        platform = entry.platform if entry else ""
        wanted = [
            t for t in self.targets
            if t.wants(SOON, account, platform) or t.wants(LATE, account, platform)
        ]  # fmt: skip
        if not wanted:
            return None
        sla = sla_for(self.config, account)
        target = sla.target
        # A rule may give a mention a shorter target than its account's.
        shortest = self.config.ruleset.shortest_sla if self.config.rules else None
        if shortest is not None and shortest < target:
            target = shortest
        return now - target * sla.warn_at

    def plan(
        self,
        new: Sequence[StoredMention],
        waiting: Sequence[StoredMention],
        first_poll: bool,
        now: datetime,
    ) -> Iterator[QueuedAlert]:
        for mention in new:
            for target in self.targets:
                if target.wants(NEW, mention.account, mention.platform):
                    yield QueuedAlert(mention.id, mention.account, NEW, target.name, first_poll)
        # A first poll's old mentions are summed up in one line per account, not listed.
        backfilled = {m.id for m in new} if first_poll else set()
        for mention in waiting:
            if mention.state is not State.OPEN:
                continue
            status = sla_status(mention, mention_sla(self.config, mention), now)[0]
            for target in self.targets:
                event = _event_for(target, mention, status)
                if event is not None:
                    yield QueuedAlert(
                        mention.id, mention.account, event, target.name, mention.id in backfilled
                    )


def _event_for(target: NotifyTarget, mention: StoredMention, status: str) -> str | None:
    """The most urgent event the mention reached that the target listens to."""
    account, platform = mention.account, mention.platform
    if status == BREACHED and target.wants(LATE, account, platform):
        return LATE
    if status in (DUE_SOON, BREACHED) and target.wants(SOON, account, platform):
        return SOON
    return None
