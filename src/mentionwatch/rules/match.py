"""Compile parsed expressions into a matcher that decides a whole poll's mentions at once.

A mention is first reduced to two integers: `signals`, one bit per word of the expressions
found in its folded text (exact), per literal a regex or `domain:` needs (maybe there), and
for "://" (maybe a link); and `fields`, one bit per field test it passes (`author:`, `lang:`,
...). Most expressions are decided by those bits alone, and the answer for each pair of
integers is worked out once (`_Decided`). Only what the bits cannot decide (a phrase whose
words are all there, a regex whose literal is, a link's domain) runs a generated test on the
text itself.

For a batch (`Compiled.masks`, what a poll stores), the signals of all the texts come from
one pass over them joined (rules.scan), not from splitting each text into words in Python.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from itertools import compress, count, repeat
from typing import Any

from mentionwatch.rules.parse import (
    Field,
    Node,
    Not,
    Or,
    Regex,
    Tag,
    Words,
    fold,
)
from mentionwatch.rules.pretest import (
    domains,
    has_domain,
    required_literal,
    required_texts,
    spaced,
    tags,
    word_part,
)
from mentionwatch.rules.scan import CACHE_LIMIT, LOWER_WORDS, Scanner

_WORD = re.compile(r"\w+")
# `kind:mention` means anything that addresses the account, as `list` shows them.
_ADDRESSING = ("mention", "reply", "quote")
_FIELD_NAMES = ("author", "platform", "account", "kind", "lang")
Subject = tuple[str, str, str, str, str, str, str]
Matcher = Callable[[str, str, str, str, str, str, str], list[int]]


def _cost(node: Node) -> int:
    """Rough price of a test, so that AND tries the cheap parts first and stops early."""
    if isinstance(node, Field):
        return 3 if node.name in ("has", "domain") else 0
    if isinstance(node, Words):
        return 0 if len(node.words) == 1 else 2
    if isinstance(node, Tag):
        return 3
    if isinstance(node, Regex):
        return 4
    if isinstance(node, Not):
        return _cost(node.child)
    return max(_cost(c) for c in node.children)


# Worked out once per evaluation, on first use, inside a generated test.
_FOLDED = "(fo if fo is not None else (fo := _fold(raw)))"
_SPACED = f"(sp if sp is not None else (sp := _spaced({_FOLDED})))"
_TAGS = f"(tg if tg is not None else (tg := _tags({_FOLDED})))"
_DOMAINS = "(dm if dm is not None else (dm := _domains(raw)))"
_LOWER = "(lo if lo is not None else (lo := raw.lower()))"

# Three-valued answers while deciding from the bits alone.
_NO, _YES, _MAYBE = 0, 1, 2


class _Plan:
    """The bits the expressions need, and the generated test of each expression."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.nodes = tuple(nodes)
        self.words: dict[str, int] = {}  # folded word -> its signal bit
        self.literals: dict[str, int] = {}  # word part of a literal -> its signal bit
        self.fields: dict[tuple[str, str], int] = {}  # (name, value) -> its field bit
        self.link = 0
        self.constants: dict[str, object] = {}
        self._next = 0
        sources = [self._source(node) for node in self.nodes]
        self.all_literals = sum(self.literals.values())
        self.tests = self._compile(sources)

    def _bit(self) -> int:
        bit = 1 << self._next
        self._next += 1
        return bit

    def word(self, word: str) -> int:
        if word not in self.words:
            self.words[word] = self._bit()
        return self.words[word]

    def literal(self, text: str) -> int:
        """The bit for "the folded words hold `text`'s" (a pre-test for ASCII texts)."""
        part = word_part(text)
        if not part:
            return 0
        if part not in self.literals:
            self.literals[part] = self._bit()
        return self.literals[part]

    def field(self, name: str, value: str) -> int:
        if (name, value) not in self.fields:
            self.fields[(name, value)] = 1 << len(self.fields)
        return self.fields[(name, value)]

    def link_bit(self) -> int:
        if not self.link:
            self.link = self._bit()
        return self.link

    def constant(self, value: object) -> str:
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    # -- the exact test of an expression, given its signals and fields ---------------------

    def _source(self, node: Node) -> str:
        if isinstance(node, Words):
            mask = 0
            for w in node.words:
                mask |= self.word(w)
            if len(node.words) == 1:
                return f"(pm & {mask})"
            phrase = (" " + " ".join(node.words) + " ").encode()
            return f"(pm & {mask} == {mask} and {phrase!r} in {_SPACED})"
        if isinstance(node, Tag):
            first = _WORD.findall(node.token)[:1]
            bit = self.word(first[0])
            return f"(pm & {bit} and {node.token!r} in {_TAGS})"
        if isinstance(node, Regex):
            bit = self.literal(required_literal(node.pattern))
            search = f"{self.constant(node.pattern)}.search(raw) is not None"
            texts = required_texts(node.pattern)
            if texts:
                # A regex search costs far more than these; no use beyond ASCII (/s/i finds ſ).
                found = " or ".join(f"{t!r} in {_LOWER}" for t in texts)
                search = f"(not raw.isascii() or {found}) and {search}"
            return f"(pm & {bit} and {search})" if bit else f"({search})"
        if isinstance(node, Field):
            if node.name == "has":
                return f"(pm & {self.link_bit()} and len({_DOMAINS}) > 0)"
            if node.name == "domain":
                link, bit = self.link_bit(), self.literal(node.value)
                pre = f"pm & {link} and pm & {bit}" if bit else f"pm & {link}"
                return f"({pre} and _has_domain({_DOMAINS}, {node.value!r}))"
            return f"(fa & {self.field(node.name, node.value)})"
        if isinstance(node, Not):
            return f"(not {self._source(node.child)})"
        if isinstance(node, Or):
            return "(" + " or ".join(self._source(c) for c in node.children) + ")"
        ordered = sorted(node.children, key=_cost)
        return "(" + " and ".join(self._source(c) for c in ordered) + ")"

    def _compile(self, sources: list[str]) -> list[Callable[[str, int, int], bool]]:
        lines = []
        for index, source in enumerate(sources):
            lines += [
                f"def test{index}(raw, pm, fa):",
                "    fo = sp = tg = dm = lo = None",
                f"    return bool({source})",
            ]
        namespace: dict[str, Any] = {
            **self.constants,
            "_fold": fold,
            "_spaced": spaced,
            "_tags": tags,
            "_domains": domains,
            "_has_domain": has_domain,
        }
        exec(compile("\n".join(lines), "<mentionwatch rules>", "exec"), namespace)
        return [namespace[f"test{i}"] for i in range(len(sources))]

    # -- what the bits alone say -----------------------------------------------------------

    def decide(self, node: Node, pm: int, fa: int) -> int:
        """_YES, _NO, or _MAYBE when only the text itself can tell."""
        if isinstance(node, Words):
            mask = 0
            for w in node.words:
                mask |= self.words[w]
            if pm & mask != mask:
                return _NO
            return _YES if len(node.words) == 1 else _MAYBE
        if isinstance(node, Tag):
            return _MAYBE if pm & self.words[_WORD.findall(node.token)[0]] else _NO
        if isinstance(node, Regex):
            bit = self.literal(required_literal(node.pattern))
            return _NO if bit and not pm & bit else _MAYBE
        if isinstance(node, Field):
            if node.name in ("has", "domain"):
                if not pm & self.link:
                    return _NO
                bit = self.literal(node.value) if node.name == "domain" else 0
                return _NO if bit and not pm & bit else _MAYBE
            return _YES if fa & self.fields[(node.name, node.value)] else _NO
        if isinstance(node, Not):
            inner = self.decide(node.child, pm, fa)
            return inner if inner == _MAYBE else _YES - inner
        answers = [self.decide(c, pm, fa) for c in node.children]
        settled, unsettled = (_YES, _NO) if isinstance(node, Or) else (_NO, _YES)
        if settled in answers:
            return settled
        return _MAYBE if _MAYBE in answers else unsettled

    # -- a mention's integers --------------------------------------------------------------

    def fields_of(self, author: str, platform: str, account: str, kind: str, lang: str) -> int:
        fa = 0
        au = fold(author.lstrip("@")) if any(n == "author" for n, _ in self.fields) else ""
        for (name, value), bit in self.fields.items():
            if name == "author":
                ok = au == value
            elif name == "platform":
                ok = platform == value
            elif name == "account":
                ok = account.casefold() == value
            elif name == "kind":
                ok = kind in _ADDRESSING if value == "mention" else kind == value
            else:
                lg = lang.lower()
                ok = lg == value or lg.startswith(value + "-")
            if ok:
                fa |= bit
        return fa

    def signals_of(self, raw: str) -> int:
        """The signal bits of one text, splitting it into words (the batch uses `_Scanner`)."""
        pm = self.link if self.link and "://" in raw else 0
        if raw.isascii():
            folded = raw.encode("ascii").translate(LOWER_WORDS)
            for part, bit in self.literals.items():
                if part.encode("ascii") in folded:
                    pm |= bit
            found = {w.decode("ascii") for w in folded.split()}
        else:
            found = set(_WORD.findall(fold(raw)))
            pm |= self.all_literals
        for w in found.intersection(self.words):
            pm |= self.words[w]
        return pm


class _Decided(dict[tuple[int, int], tuple[int, tuple[int, ...]]]):
    """(signals, fields) -> (expressions that match, expressions only the text can decide)."""

    def __init__(self, plan: _Plan) -> None:
        super().__init__()
        self.plan = plan

    def __missing__(self, key: tuple[int, int]) -> tuple[int, tuple[int, ...]]:
        pm, fa = key
        yes, maybe = 0, []
        for index, node in enumerate(self.plan.nodes):
            answer = self.plan.decide(node, pm, fa)
            if answer == _YES:
                yes |= 1 << index
            elif answer == _MAYBE:
                maybe.append(index)
        if len(self) >= CACHE_LIMIT:
            self.clear()
        found = self[key] = (yes, tuple(maybe))
        return found


class _FieldBits(dict[tuple[str, str, str], int]):
    """(author, kind, lang) -> field bits, on one platform and account."""

    def __init__(self, plan: _Plan, platform: str, account: str) -> None:
        super().__init__()
        self.plan, self.platform, self.account = plan, platform, account

    def __missing__(self, key: tuple[str, str, str]) -> int:
        author, kind, lang = key
        found = self[key] = self.plan.fields_of(author, self.platform, self.account, kind, lang)
        return found


class Compiled:
    """Which of the expressions a mention matches, one mention or a poll's at a time."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.plan = _Plan(nodes)
        self.decided = _Decided(self.plan)
        self._fields: dict[tuple[str, str, str, str, str], int] = {}
        self._fields_of: dict[tuple[str, str], _FieldBits] = {}
        self._scanner: Scanner | None = None

    def subject(
        self,
        text: str,
        title: str = "",
        author: str = "",
        platform: str = "",
        account: str = "",
        kind: str = "",
        lang: str = "",
    ) -> Subject:
        """The fields of a mention that expressions look at, in the matcher's order."""
        return (text, title, author, platform, account, kind, lang)

    def __call__(self, subject: Subject) -> list[int]:
        return self.matcher(*subject)

    def matcher(
        self,
        text: str,
        title: str = "",
        author: str = "",
        platform: str = "",
        account: str = "",
        kind: str = "",
        lang: str = "",
    ) -> list[int]:
        """The indexes of the expressions one mention matches, in order."""
        mask = self.mask(text, title, author, platform, account, kind, lang)
        return [i for i in range(len(self.plan.nodes)) if mask >> i & 1]

    def mask(
        self, text: str, title: str, author: str, platform: str, account: str, kind: str,
        lang: str,
    ) -> int:  # fmt: skip
        """The expressions one mention matches, as bits (1 << index)."""
        raw = title + "\n" + text if title else text
        fa = self._field_bits(author, platform, account, kind, lang)
        return self._finish(raw, self.plan.signals_of(raw), fa)

    def masks(
        self,
        texts: Sequence[str],
        titles: Sequence[str],
        authors: Sequence[str],
        kinds: Sequence[str],
        langs: Sequence[str],
        platform: str,
        account: str,
    ) -> list[int]:
        """`mask` of each of many mentions found on one account (what a poll stores)."""
        n = len(texts)
        if not self.plan.nodes or not n:
            return [0] * n
        raws: Sequence[str] = texts
        if any(titles):
            raws = [t + "\n" + x if t else x for t, x in zip(titles, texts, strict=True)]
        pms = self._signals(raws)
        if self.plan.fields:
            known = self._fields_of.get((platform, account))
            if known is None or len(known) >= CACHE_LIMIT:
                known = self._fields_of[(platform, account)] = _FieldBits(self.plan, platform,
                                                                          account)  # fmt: skip
            fas = list(map(known.__getitem__, zip(authors, kinds, langs, strict=True)))
        else:
            fas = [0] * n
        decided = list(map(self.decided.__getitem__, zip(pms, fas, strict=True)))
        masks = list(map(operator.itemgetter(0), decided))
        for i in compress(count(), map(operator.itemgetter(1), decided)):
            masks[i] = self._finish(raws[i], pms[i], fas[i])
        return masks

    def _signals(self, raws: Sequence[str]) -> list[int]:
        plan = self.plan
        if not plan.words and not plan.literals:
            if not plan.link:
                return [0] * len(raws)
            return [plan.link if "://" in raw else 0 for raw in raws]
        if len(raws) < 8:
            return list(map(plan.signals_of, raws))  # too few for a pass over them all
        if self._scanner is None:
            self._scanner = Scanner(plan.words, plan.literals)
        ascii_ = list(map(str.isascii, raws))
        # Each text not ASCII is "" in the ASCII scan (str * False), then scanned on its own.
        pms = self._scanner.ascii_signals(list(map(operator.mul, raws, ascii_)))
        if not all(ascii_):
            which = list(compress(count(), map(operator.not_, ascii_)))
            for i, pm in zip(which, self._scanner.unicode_signals([raws[i] for i in which]),
                             strict=True):  # fmt: skip
                pms[i] = pm
        if plan.link:
            for i in compress(count(), map(operator.contains, raws, repeat("://"))):
                pms[i] |= plan.link
        return pms

    def _field_bits(self, author: str, platform: str, account: str, kind: str, lang: str) -> int:
        if not self.plan.fields:
            return 0
        key = (author, platform, account, kind, lang)
        found = self._fields.get(key)
        if found is None:
            if len(self._fields) >= CACHE_LIMIT:
                self._fields.clear()
            found = self._fields[key] = self.plan.fields_of(*key)
        return found

    def _finish(self, raw: str, pm: int, fa: int) -> int:
        yes, maybe = self.decided[(pm, fa)]
        tests = self.plan.tests
        for index in maybe:
            if tests[index](raw, pm, fa):
                yes |= 1 << index
        return yes


def compile_all(nodes: Sequence[Node]) -> Compiled:
    """The matcher of these expressions: which of them each mention matches."""
    return Compiled(nodes)
