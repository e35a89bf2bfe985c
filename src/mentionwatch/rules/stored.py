"""The rules against stored mentions: `rules test` and `rules apply`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from mentionwatch.config import Config
from mentionwatch.errors import UsageError
from mentionwatch.models import StoredMention
from mentionwatch.rules import ExpressionError, parse
from mentionwatch.store import Change, MentionFilter, Store


def matching(
    store: Store, expression: str, where: MentionFilter, now: datetime
) -> Iterator[StoredMention]:
    """The stored mentions `expression` matches, in `where`'s order; a bad one is a usage error."""
    from mentionwatch.rules.match import compile_all

    try:
        compiled = compile_all([parse(expression)])
    except ExpressionError as exc:
        raise UsageError(f"EXPRESSION: {exc}") from None
    unlimited = where._replace(limit=None)
    found = 0
    for m in store.mentions(unlimited, now):
        subject = compiled.subject(m.text, m.title, m.author, m.platform, m.account, m.kind,
                                   m.lang)  # fmt: skip
        if compiled(subject):
            yield m
            found += 1
            if where.limit is not None and found >= where.limit:
                return


def reapply(store: Store, config: Config, now: datetime) -> tuple[int, list[Change]]:
    """The config's rules again over every waiting mention (and every one a rule dismissed)."""
    return store.reapply(config.ruleset.outcome, now)
