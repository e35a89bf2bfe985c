"""Many texts' signals at once: one Aho-Corasick pass over all of them joined (rules.match).

Splitting each text into words in Python was most of what matching cost beside storing: here
the texts are joined, folded with one `bytes.translate` (ASCII) or one `fold` (the others),
and ahocorasick_rs (Rust) finds every word and literal of the expressions in one pass.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence

from mentionwatch.rules.parse import fold

# ASCII text to its words on bytes: A-Z to a-z (an ASCII text's casefold), every byte that
# is not [a-z0-9_] to a space; the same words as \w+ finds in the folded text.
LOWER_WORDS = bytes(
    c + 32
    if 65 <= c <= 90
    else c
    if c < 128 and (chr(c).isalnum() or c == 95)
    else 32
    if c < 128
    else c
    for c in range(256)
)
# Worked-out answers kept per pair of integers; past this many the cache starts again.
CACHE_LIMIT = 50_000

# A scan joins the texts with " \x01 " (a text's own \x01 is a space first), and its table
# makes that \x01 a byte no ASCII text has, nor any UTF-8: the separator it looks for.
_JOIN = " \x01 "
_SEPARATOR = b"\xff"
_SCAN = LOWER_WORDS[:1] + _SEPARATOR + LOWER_WORDS[2:]
# What `_WORD` splits on besides ASCII: the bytes table does ASCII, this the rest.
_NOT_WORD_BEYOND_ASCII = re.compile(r"[^\w\x00-\x7f]+")


def _joined(raws: Sequence[str]) -> str:
    joined = " " + _JOIN.join(raws) + " "
    if joined.count("\x01") != len(raws) - 1:  # some text has its own \x01
        joined = " " + _JOIN.join(raw.replace("\x01", " ") for raw in raws) + " "
    return joined


class Scanner:
    """The signals of many texts in one Aho-Corasick pass over them all, joined."""

    def __init__(self, words: dict[str, int], literals: dict[str, int]) -> None:
        """`words` (folded) and `literals` (as `LOWER_WORDS` folds them) to their bits."""
        import ahocorasick_rs

        # Words with a space each side (the folded text has one around every word), literals
        # as they are, and last the separator: each match of it moves on to the next text.
        patterns = [f" {w} ".encode() for w in words]
        patterns += [literal.encode() for literal in literals]
        self.bits = [*words.values(), *literals.values(), 0]
        self.separator = len(patterns)
        self.automaton = ahocorasick_rs.BytesAhoCorasick([*patterns, _SEPARATOR])
        self.pieces = _Pieces(self.bits)
        self.all_literals = sum(literals.values())

    def ascii_signals(self, raws: Sequence[str]) -> list[int]:
        """For ASCII texts ("" for any other): folded to words by one translate of them all."""
        return self._walk(_joined(raws).encode("ascii").translate(_SCAN), len(raws))

    def unicode_signals(self, raws: Sequence[str]) -> list[int]:
        """For the other texts: folded together, then what is not a word a space (as `_WORD`
        splits); literals say nothing here, so all their bits are set."""
        folded = _NOT_WORD_BEYOND_ASCII.sub(" ", fold(_joined(raws)))
        found = self._walk(folded.encode().translate(_SCAN), len(raws))
        return [pm | self.all_literals for pm in found]

    def _walk(self, joined: bytes, count: int) -> list[int]:
        found = self.automaton.find_matches_as_indexes(joined, overlapping=True)
        # Matches come in the order they end, so a text's all come before its separator.
        if self.separator < 256:
            # Without a Python step per match: the pattern numbers as bytes, cut at each
            # separator, each text's piece (mostly b"") to its bits through a cache.
            numbers = bytes(map(operator.itemgetter(0), found))
            return list(map(self.pieces.__getitem__, numbers.split(bytes([self.separator]))))
        pms = [0] * count
        bits, separator, at = self.bits, self.separator, 0
        for pattern, _, _ in found:
            if pattern == separator:
                at += 1
            else:
                pms[at] |= bits[pattern]
        return pms


class _Pieces(dict[bytes, int]):
    """The pattern numbers a text matched (one byte each) -> its signal bits."""

    def __init__(self, bits: list[int]) -> None:
        super().__init__()
        self.bits = bits

    def __missing__(self, numbers: bytes) -> int:
        pm = 0
        for number in numbers:
            pm |= self.bits[number]
        if len(self) >= CACHE_LIMIT:
            self.clear()
        self[numbers] = pm
        return pm
