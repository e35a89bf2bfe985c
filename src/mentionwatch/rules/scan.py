"""Many texts' signals at once: one Aho-Corasick pass over all of them joined (rules.match).

Splitting each text into words in Python was most of what matching cost beside storing: here
the texts are joined, folded with one `bytes.translate` (ASCII) or one `fold_long` (the
others), and ahocorasick_rs (Rust) finds every pattern the expressions need in one pass.
What the pass costs is mostly the matches it hands back (a Python tuple each), so the
patterns are chosen to match rarely: a phrase is found whole, not word by word.
"""

from __future__ import annotations

import functools
import operator
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TypeVar

from mentionwatch.rules.parse import FEW, beyond_ascii, fold, fold_long

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
T = TypeVar("T")
# Worked-out answers kept per integer; past this many the cache starts again.
CACHE_LIMIT = 50_000

# A scan joins the texts with " \x01 ", and its table keeps that \x01, the one byte besides
# words and spaces: the separator it looks for. A text's own \x01 shows as one separator too
# many, and that scan is done again with the text's \x01 a space.
_JOIN = " \x01 "
_SCAN = LOWER_WORDS[:1] + b"\x01" + LOWER_WORDS[2:]
# The patterns of a link (`://` folds to three spaces): `pretest.domains` finds only these.
_LINKS = ("http   ", "https   ")
_DFA_UP_TO = 3000
# Texts a chunk of a big batch: the first chunk's folding is the part nothing overlaps.
_CHUNK = 4096
# Gaps between a phrase's words (in spaces) a scan tells apart; past them, a phrase may be.
_GAPS = 4
# What `\w` splits on besides ASCII: the bytes table does ASCII, this the rest.
_NOT_WORD_BEYOND_ASCII = re.compile(r"[^\w\x00-\x7f]+")
_NOT_WORD = re.compile(r"\W")


def patterns(
    words: dict[str, int],
    phrases: dict[tuple[str, ...], tuple[int, int]],
    literals: dict[str, int],
    link: int,
) -> dict[str, int]:
    """What a scan looks for in the folded words, each to the bits it sets: a word with a
    space each side, a literal as it is, a link's scheme. A phrase is there when its words
    follow each other one space apart, and may be when the first few do and then the next
    after a longer gap (`"a b"` in `a, b`), or a gap longer than _GAPS: never a match a word,
    where phrase words are often common ones (a match costs more than the pass itself)."""
    found: dict[str, int] = {}

    def add(pattern: str, bits: int) -> None:
        found[pattern] = found.get(pattern, 0) | bits

    for word, bit in words.items():
        add(f" {word} ", bit)
    for phrase, (there, maybe) in phrases.items():
        add(" " + " ".join(phrase) + " ", there)
        for k in range(1, len(phrase)):
            start = " " + " ".join(phrase[:k])
            for gap in range(2, _GAPS + 1):
                add(start + " " * gap + phrase[k] + " ", maybe)
            add(start + " " * (_GAPS + 1), maybe)
    for part, bits in literals.items():
        add(part, bits)
    for scheme in _LINKS if link else ():
        add(scheme, link)
    return found


def view(text: str) -> str:
    """The words of a text beyond ASCII as a scan sees them: `fold`ed, then each character
    that is not a word character a space (ASCII ones by the table, with ASCII capitals)."""
    folded = _fold_by_character(text)
    others = [ch for ch in beyond_ascii(folded) if _NOT_WORD.match(ch)]
    if len(others) > FEW:
        folded = _NOT_WORD_BEYOND_ASCII.sub(" ", folded)
    else:
        for ch in others:
            folded = folded.replace(ch, " ")
    return folded.encode("utf-8", "surrogatepass").translate(_SCAN).decode("utf-8", "surrogatepass")


def _fold_by_character(text: str) -> str:
    """`fold(text)` but for ASCII capitals: a `str.replace` for each kind of character beyond
    ASCII by its own fold, where a poll's texts hold few kinds. That is `fold` of the whole
    when the result is NFC (nothing composes across characters: the fold of each is NFC, and
    no cased letter composes with a mark `fold` keeps); else, or past FEW kinds, fold_long."""
    found, folds = text, {}
    for ch in beyond_ascii(text):
        if (folded := _fold_one(ch)) != ch:
            folds[ch] = folded
    if len(folds) > FEW or any(ch in folds for f in folds.values() for ch in f):
        return fold_long(text)
    for ch, folded in folds.items():
        found = found.replace(ch, folded)
    return found if unicodedata.is_normalized("NFC", found) else fold_long(text)


@functools.lru_cache(maxsize=4096)
def _fold_one(ch: str) -> str:
    return fold(ch)


class Scanner:
    """The signals of many texts in one Aho-Corasick pass over them all, joined."""

    def __init__(self, patterns: dict[str, int], beyond_ascii: int) -> None:
        """`patterns` (as the folded words show them) to their bits; `beyond_ascii`, the bits
        always set for a text that is not ASCII (pre-tests that say nothing about those)."""
        import ahocorasick_rs

        # Last the separator: each match of it moves on to the next text. The matches come
        # back as the patterns themselves (stored: no new object a match, where an index
        # costs a tuple and two integers, and collections of them, ~40% of the pass).
        texts = [*patterns, "\x01"]
        # A DFA: the crate picks a slower NFA past 100 patterns (115 ms instead of 39 for
        # the 16 MB of 100,000 texts, 105 patterns); its tables grow with the patterns, so
        # only up to a few thousand of them.
        dfa = ahocorasick_rs.Implementation.DFA if len(texts) <= _DFA_UP_TO else None
        self.automaton = ahocorasick_rs.AhoCorasick(texts, store_patterns=True,
                                                    implementation=dfa)  # fmt: skip
        self.pieces = _Pieces(patterns)
        self.beyond_ascii = beyond_ascii

    def signals(self, raws: Sequence[str], meanwhile: Callable[[], T]) -> tuple[list[int], T]:
        """The signal bits of each text, and what `meanwhile()` returns: the caller's work,
        done while a big batch's searches run on a second thread.

        The texts go in chunks, each searched on that thread while this one folds the next:
        the search runs without the GIL (it is Rust), folding and all else here cannot, so
        the two overlap on two cores.
        """
        # Each text not ASCII is "" in the ASCII scan (str * False), then scanned on its own
        # (with the empty ones: list.index finds those few in C, and "" scans to nothing).
        ascii_ = list(map(operator.mul, raws, map(str.isascii, raws)))
        which, at = [], -1
        with suppress(ValueError):
            while True:
                which.append(at := ascii_.index("", at + 1))
        if len(raws) < 2 * _CHUNK:
            pms = self._ascii_chunk(ascii_, self._search(self._folded(ascii_)))
            beyond = self.unicode_signals([raws[i] for i in which]) if which else []
            done = meanwhile()
        else:
            from concurrent.futures import ThreadPoolExecutor

            chunks = [ascii_[at : at + _CHUNK] for at in range(0, len(ascii_), _CHUNK)]
            with ThreadPoolExecutor(1, thread_name_prefix="mentionwatch-scan") as pool:
                searches = []
                for chunk in chunks:
                    searches.append(pool.submit(self._search, self._folded(chunk)))
                    # A finished search waits for the GIL to hand its matches back: let it.
                    time.sleep(0)
                beyond = self.unicode_signals([raws[i] for i in which]) if which else []
                done = meanwhile()
                pms = []
                for chunk, search in zip(chunks, searches, strict=True):
                    pms += self._ascii_chunk(chunk, search.result())
        for i, pm in zip(which, beyond, strict=True):
            pms[i] = pm
        return pms, done

    def _ascii_chunk(self, raws: Sequence[str], matched: list[str]) -> list[int]:
        found = self._bits(matched, len(raws))
        if found is None:  # some text has its own \x01
            cleaned = [raw.replace("\x01", " ") for raw in raws]
            return self._ascii_chunk(cleaned, self._search(self._folded(cleaned)))
        return found

    @staticmethod
    def _folded(raws: Sequence[str]) -> str:
        return _JOIN.join(["", *raws, ""]).encode("ascii").translate(_SCAN).decode("ascii")

    def _search(self, joined: str) -> list[str]:
        found: list[str] = self.automaton.find_matches_as_strings(joined, overlapping=True)
        return found

    def unicode_signals(self, raws: Sequence[str]) -> list[int]:
        """For the other texts: folded together, then what is not a word a space."""
        found = self._walk(view(_JOIN.join(["", *raws, ""])), len(raws))
        if found is None:
            return self.unicode_signals([raw.replace("\x01", " ") for raw in raws])
        return [pm | self.beyond_ascii for pm in found]

    def _walk(self, joined: str, count: int) -> list[int] | None:
        """Each text's bits, or None when the texts hold separators of their own. The texts
        are joined with a separator before the first and after the last too (an empty text
        each end: no copy of the whole to put a space there)."""
        return self._bits(self._search(joined), count)

    def _bits(self, found: list[str], count: int) -> list[int] | None:
        # Matches come in the order they end, so a text's all come before its separator.
        # Without a Python step per match: the matched patterns joined by \x02 (a byte no
        # pattern has), cut at each separator, each text's piece (mostly the one "\x02", a
        # cached string) to its bits through a cache.
        pieces = "\x02".join(found).split("\x01")
        if len(pieces) != count + 2:
            return None
        return list(map(self.pieces.__getitem__, pieces[1:-1]))


class _Pieces(dict[str, int]):
    """The patterns a text matched, each between two \x02 -> its signal bits."""

    def __init__(self, bits: dict[str, int]) -> None:
        super().__init__()
        self.bits = bits

    def __missing__(self, piece: str) -> int:
        pm = 0
        for pattern in piece.split("\x02"):
            pm |= self.bits.get(pattern, 0)
        if len(self) >= CACHE_LIMIT:
            self.clear()
        self[piece] = pm
        return pm
