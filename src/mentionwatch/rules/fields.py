"""The field tests of the search language (`author:`, `platform:`, `account:`, `kind:`,
`lang:`): one bit each, worked out once per author, kind and language on one account."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from itertools import repeat

from mentionwatch.rules.parse import Fields, fold
from mentionwatch.rules.scan import CACHE_LIMIT

# `kind:mention` means anything that addresses the account, as `list` shows them.
_ADDRESSING = ("mention", "reply", "quote")
# The fields of a mention a test reads; platform and account are one poll's.
_READS = ("author", "kind", "lang")


def passes(name: str, value: str, seen: str) -> bool:
    """Whether a field whose value is `seen` passes the test `name:value`."""
    if name == "author":
        return fold(seen.lstrip("@")) == value
    if name == "platform":
        return seen == value
    if name == "account":
        return seen.casefold() == value
    if name == "kind":
        return seen in _ADDRESSING if value == "mention" else seen == value
    lang = seen.lower()
    return lang == value or lang.startswith(value + "-")


class _Bits(dict[str, int]):
    """One field's values -> the bits of the tests on that field they pass."""

    def __init__(self, tests: list[tuple[str, str, int]]) -> None:
        super().__init__()
        self.tests = tests

    def __missing__(self, seen: str) -> int:
        found = sum(bit for name, value, bit in self.tests if passes(name, value, seen))
        if len(self) >= CACHE_LIMIT:  # bounded, as the other caches: hostile authors cost time
            self.clear()
        self[seen] = found
        return found


class FieldBits:
    """A mention's field bits, shifted above its signal bits, on one platform and account.

    Every test reads one field, so a mention's bits are those of its author, its kind and
    its language OR-ed: a lookup each, of the fields some test reads (a tuple of all three
    as one key cost more to build and hash than the three lookups).
    """

    def __init__(
        self, fields: dict[tuple[str, str], int], shift: int, platform: str, account: str
    ) -> None:
        by_field: dict[str, list[tuple[str, str, int]]] = {}
        self.constant = 0
        for (name, value), bit in fields.items():
            if name in _READS:
                by_field.setdefault(name, []).append((name, value, bit << shift))
            elif passes(name, value, platform if name == "platform" else account):
                self.constant |= bit << shift
        self.lookups = [
            (name, operator.attrgetter(name), _Bits(tests)) for name, tests in by_field.items()
        ]

    def of(self, author: str, kind: str, lang: str) -> int:
        seen = {"author": author, "kind": kind, "lang": lang}
        found = self.constant
        for name, _, bits in self.lookups:
            found |= bits[seen[name]]
        return found

    def of_each(self, mentions: Sequence[Fields]) -> list[int]:
        """`of` each of many mentions' fields: a column of lookups a field, OR-ed."""
        columns: list[Iterator[int]] = [
            map(bits.__getitem__, map(get, mentions)) for _, get, bits in self.lookups
        ]
        if self.constant or not columns:
            columns.append(repeat(self.constant, len(mentions)))
        found = columns[0]
        for column in columns[1:]:
            found = map(operator.or_, found, column)
        return list(found)
