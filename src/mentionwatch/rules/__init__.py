"""Inbox rules and keyword watches: what the config's expressions decide about a mention.

The search language itself is `rules.parse` (parsed at config load) and `rules.match`
(compiled on first use, so commands that never match, like `list`, never build a matcher).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

from mentionwatch.models import PRIORITIES
from mentionwatch.rules.parse import ExpressionError, Fields, Node, parse

if TYPE_CHECKING:
    from mentionwatch.rules.match import Compiled

__all__ = ["PRIORITIES", "ExpressionError", "Fields", "Outcome", "Rule", "RuleSet", "parse"]

NORMAL = PRIORITIES["normal"]


class Rule(NamedTuple):
    """One `[[rules]]` entry, its expression parsed."""

    name: str
    match: str
    node: Node
    priority: int | None = None
    sla: timedelta | None = None
    tags: tuple[str, ...] = ()
    dismiss: str | None = None


class Outcome(NamedTuple):
    """What every matching rule together decided about one mention."""

    priority: int = NORMAL
    sla: timedelta | None = None
    tags: tuple[str, ...] = ()
    dismissed: str | None = None  # the reason, when a rule dismisses it on arrival
    dismissed_by: str | None = None  # that rule's name
    rules: tuple[str, ...] = ()  # every rule that matched, in config order


NOTHING = Outcome()


class _Combined(dict[int, Outcome]):
    """The outcome of each combination of matching rules (bit i: rule i), worked out once."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        super().__init__()
        self.rules = rules
        self[0] = NOTHING

    def __missing__(self, mask: int) -> Outcome:
        found = self[mask] = combine([r for i, r in enumerate(self.rules) if mask >> i & 1])
        return found


class _ByKey(dict[int, Outcome | None]):
    """A mention's integer (rules.match) -> its outcome, or None when only its text can tell."""

    def __init__(self, rules: RuleSet) -> None:
        super().__init__()
        self.rules = rules

    def __missing__(self, key: int) -> Outcome | None:
        mask = self.rules.compiled.decided[key]
        if len(self) >= 50_000:
            self.clear()
        found = self[key] = None if mask is None else self.rules._combined[mask]
        return found


class RuleSet:
    """The config's rules; `outcome` is what storing a mention records about it."""

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        self.rules = tuple(rules)
        self._combined = _Combined(self.rules)
        self._by_key = _ByKey(self)

    def __bool__(self) -> bool:
        return bool(self.rules)

    @functools.cached_property
    def compiled(self) -> Compiled:
        from mentionwatch.rules.match import compile_all

        return compile_all([rule.node for rule in self.rules])

    @functools.cached_property
    def shortest_sla(self) -> timedelta | None:
        """The shortest SLA any rule sets: the lower bound queries on waiting time start from."""
        slas = [rule.sla for rule in self.rules if rule.sla is not None]
        return min(slas) if slas else None

    def outcome(
        self,
        text: str,
        title: str = "",
        author: str = "",
        platform: str = "",
        account: str = "",
        kind: str = "",
        lang: str = "",
    ) -> Outcome:
        """What the rules decide about a mention with these fields."""
        if not self.rules:
            return NOTHING
        return self._combined[self.compiled.mask(text, title, author, platform, account,
                                                 kind, lang)]  # fmt: skip

    def outcomes(self, mentions: Sequence[Fields], platform: str, account: str) -> list[Outcome]:
        """`outcome` of each of one account's fetched mentions, decided together: what a poll
        stores (far cheaper a mention than one at a time, see rules.match)."""
        if not self.rules:
            return [NOTHING] * len(mentions)
        return self.compiled.decide(mentions, platform, account, self._by_key,
                                    self._combined.__getitem__)  # fmt: skip


def combine(matched: Sequence[Rule]) -> Outcome:
    """Highest priority and shortest SLA win, tags add up, the first dismissing rule wins."""
    priorities = [r.priority for r in matched if r.priority is not None]
    slas = [r.sla for r in matched if r.sla is not None]
    tags = tuple(dict.fromkeys(tag for r in matched for tag in r.tags))
    dismissing = next((r for r in matched if r.dismiss is not None), None)
    return Outcome(
        priority=min(priorities) if priorities else NORMAL,
        sla=min(slas) if slas else None,
        tags=tags,
        dismissed=dismissing.dismiss if dismissing else None,
        dismissed_by=dismissing.name if dismissing else None,
        rules=tuple(r.name for r in matched),
    )


@functools.lru_cache(maxsize=256)
def keyword_watch(keywords: tuple[str, ...]) -> Compiled:
    """The matcher of an account's keywords (validated at config load); any one may match."""
    from mentionwatch.rules.match import compile_all

    return compile_all([parse(k) for k in keywords])


def matches_keywords(
    keywords: tuple[str, ...],
    text: str,
    title: str,
    author: str,
    platform: str,
    account: str,
    kind: str,
    lang: str,
) -> bool:
    """Whether a search hit really matches one of the keywords (the server's search is looser)."""
    return bool(keyword_watch(keywords).matcher(text, title, author, platform, account, kind, lang))
