"""`digest --per-assignee`: each assignee's own digest, sent to their address from `[users]`.

A person's digest is the plain digest of the mentions assigned to them (what waits, and what
was answered), recorded with them as its audience: each person has their own once-a-day guard
and their own "since", so alice's going out (or failing) never holds back bob's. Mentions
assigned to nobody are in no one's; `run` counts them so the caller can say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from mentionwatch import digest as core
from mentionwatch.config import Config
from mentionwatch.digest.settings import DigestSettings
from mentionwatch.errors import DeliveryError, RecipientRefusedError
from mentionwatch.models import State
from mentionwatch.store import MentionFilter, Store


@dataclass(frozen=True)
class Person:
    user: str
    address: str  # "" when [users] has none for this assignee
    waiting: int


@dataclass(frozen=True)
class PersonResult:
    person: Person
    result: core.RunResult | None = None  # None when nothing was built (see `problem`)
    problem: str = ""  # why their digest was not sent; "" when it was, or was not due


@dataclass(frozen=True)
class Round:
    results: list[PersonResult] = field(default_factory=list)
    unassigned: int = 0  # waiting mentions assigned to nobody: in no one's digest
    # A failure that is not about one address (connection, TLS, login): the rest not tried.
    stopped: str = ""
    untried: tuple[Person, ...] = ()

    @property
    def failed(self) -> list[PersonResult]:
        return [r for r in self.results if r.problem]


# A person's deliverer (their settings say where), or None to preview.
Deliverers = Callable[[Person, DigestSettings], core.Deliver] | None


def people(store: Store, config: Config, now: datetime) -> tuple[list[Person], int]:
    """Each user in [users] and each assignee with a mention waiting, by name; and how many
    waiting mentions are assigned to nobody."""
    counts: Counter[str | None] = Counter(
        m.assignee for m in store.mentions(MentionFilter(states=(State.OPEN,)), now)
    )
    unassigned = counts.pop(None, 0)
    names = sorted(set(config.users) | {name for name in counts if name})
    return [Person(n, config.users.get(n, ""), counts.get(n, 0)) for n in names], unassigned


def run(
    store: Store,
    config: Config,
    settings: DigestSettings,
    *,
    now: datetime,
    channel: str,
    deliverers: Deliverers,
    if_any: bool = False,
    force: bool = False,
) -> Round:
    """Build (and deliver, unless `deliverers` is None) every person's digest in turn."""
    everyone, unassigned = people(store, config, now)
    results: list[PersonResult] = []
    for index, person in enumerate(everyone):
        if channel != "stdout" and not person.address:
            problem = f'no address in [users] (add {person.user} = "ADDRESS" in {config.path})'
            results.append(PersonResult(person, problem=problem))
            continue
        own = replace(
            settings,
            to=(person.address,) if person.address else (),
            assignees=(person.user,),
            unassigned=False,
        )
        deliver = None if deliverers is None else deliverers(person, own)
        try:
            result = core.run(store, config, own, now=now, channel=channel, deliver=deliver,
                              if_any=if_any, force=force)  # fmt: skip
        except DeliveryError as exc:
            # A refused address is that person's problem; sendmail fails fast and may be
            # about one address too. Anything else (the server is down, TLS, the login)
            # would fail for everyone after them alike: stop, and say who was not tried.
            if isinstance(exc, RecipientRefusedError) or channel == "sendmail":
                problem = str(exc).removeprefix("digest not sent: ")
                results.append(PersonResult(person, problem=problem))
                continue
            return Round(results, unassigned, str(exc), tuple(everyone[index:]))
        results.append(PersonResult(person, result))
    return Round(results, unassigned)
