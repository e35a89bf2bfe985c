"""Compile parsed expressions into a matcher that decides a whole poll's mentions at once.

A mention is first reduced to one integer: its signal bits, one per word of the expressions
found in its folded text (exact), two per phrase (there; maybe there, other punctuation
between its words), one per literal a regex or `domain:` needs (maybe there), one for a
link (maybe); above them its field bits, one per field test it passes (`author:`, `lang:`,
...). Most expressions are decided by those bits alone, and the answer for each integer is
worked out once (`_Decided`). Only what the bits cannot decide runs a generated test on the
text itself, one loop a test over the mentions that need it.

For a batch (`Compiled.masks`, what a poll stores), the signals of all the texts come from
one pass over them joined (rules.scan), not from splitting each text into words in Python.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from itertools import groupby
from typing import Any, TypeVar, cast

from mentionwatch.rules.fields import FieldBits
from mentionwatch.rules.parse import Field, Fields, Node, Not, Or, Regex, Tag, Words, fold
from mentionwatch.rules.pretest import (
    cost,
    domains,
    has_domain,
    required_literal,
    required_texts,
    spaced,
    tags,
    word_part,
)
from mentionwatch.rules.scan import CACHE_LIMIT, LOWER_WORDS, Scanner, patterns

_WORD = re.compile(r"\w+")
_TEXT, _TITLE = operator.attrgetter("text"), operator.attrgetter("title")
Subject = tuple[str, str, str, str, str, str, str]
T = TypeVar("T")
# A generated test: of the mentions `where` (indexes into texts and integers), those it passes.
Test = Callable[[Sequence[int], Sequence[str], Sequence[int]], list[int]]


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
        self.phrases: dict[tuple[str, ...], tuple[int, int]] = {}  # -> (there, maybe there)
        self.literals: dict[str, int] = {}  # word part of a literal -> the bits it sets
        self._groups: dict[tuple[str, ...], int] = {}  # word parts -> "one of them" bit
        self.fields: dict[tuple[str, str], int] = {}  # (name, value) -> its field bit
        self.link = 0
        self.constants: dict[str, object] = {}
        self._next = 0
        sources = [self._source(node) for node in self.nodes]
        self.all_literals = sum(self._groups.values())
        # A text beyond ASCII holds what an ASCII literal matches as its folded words do,
        # except "i": /i/i matches "ı", which folds to itself (parse.fold); so a scan can
        # tell all other literals there too.
        self.dotless = sum(b for parts, b in self._groups.items() if any("i" in p for p in parts))
        self.tests = self._compile(sources)
        self.shift = self._next  # field bits start here in a mention's one integer

    def _bit(self) -> int:
        bit = 1 << self._next
        self._next += 1
        return bit

    def word(self, word: str) -> int:
        if word not in self.words:
            self.words[word] = self._bit()
        return self.words[word]

    def phrase(self, words: tuple[str, ...]) -> tuple[int, int]:
        if words not in self.phrases:
            self.phrases[words] = (self._bit(), self._bit())
        return self.phrases[words]

    def literal(self, *texts: str) -> int:
        """The bit for "the folded words hold one of `texts`'" (a pre-test for ASCII texts)."""
        parts = tuple(sorted({word_part(t) for t in texts}))
        if not parts or "" in parts:
            return 0
        if parts not in self._groups:
            self._groups[parts] = bit = self._bit()
            for part in parts:
                self.literals[part] = self.literals.get(part, 0) | bit
        return self._groups[parts]

    def regex_bit(self, pattern: re.Pattern[str]) -> int:
        texts = required_texts(pattern)
        return self.literal(*texts) if texts else self.literal(required_literal(pattern))

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
            if len(node.words) == 1:
                return f"(pm & {self.word(node.words[0])})"
            there, maybe = self.phrase(node.words)
            phrase = (" " + " ".join(node.words) + " ").encode()
            return f"(pm & {there} or pm & {maybe} and {phrase!r} in {_SPACED})"
        if isinstance(node, Tag):
            bit = self.word(_WORD.findall(node.token)[0])
            return f"(pm & {bit} and {node.token!r} in {_TAGS})"
        if isinstance(node, Regex):
            bit = self.regex_bit(node.pattern)
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
        ordered = sorted(node.children, key=cost)
        return "(" + " and ".join(self._source(c) for c in ordered) + ")"

    def _compile(self, sources: list[str]) -> list[Test]:
        # One loop a test over the mentions it is asked about, the expression inline: a
        # function call a mention cost more than the test itself.
        lines = []
        for index, source in enumerate(sources):
            views = [v for v in ("fo", "sp", "tg", "dm", "lo") if f"({v} if" in source]
            lines += [
                f"def test{index}(where, raws, keys):",
                "    passed = []",
                "    for i in where:",
                "        raw, key = raws[i], keys[i]",
                f"        pm = key & {(1 << self._next) - 1}",
                f"        fa = key >> {self._next}" if "fa &" in source else "",
                f"        {' = '.join(views)} = None" if views else "",
                f"        if {source}:",
                "            passed.append(i)",
                "    return passed",
            ]
        namespace: dict[str, Any] = dict(self.constants, _fold=fold, _spaced=spaced, _tags=tags,
                                         _domains=domains, _has_domain=has_domain)  # fmt: skip
        exec(compile("\n".join(lines), "<mentionwatch rules>", "exec"), namespace)
        return [namespace[f"test{i}"] for i in range(len(sources))]

    # -- what the bits alone say -----------------------------------------------------------

    def decide(self, node: Node, pm: int, fa: int) -> int:
        """_YES, _NO, or _MAYBE when only the text itself can tell."""
        if isinstance(node, Words):
            if len(node.words) == 1:
                return _YES if pm & self.words[node.words[0]] else _NO
            there, maybe = self.phrases[node.words]
            return _YES if pm & there else _MAYBE if pm & maybe else _NO
        if isinstance(node, Tag):
            return _MAYBE if pm & self.words[_WORD.findall(node.token)[0]] else _NO
        if isinstance(node, Regex):
            bit = self.regex_bit(node.pattern)
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

    def signals_of(self, raw: str) -> int:
        """The signal bits of one text, splitting it into words (a batch scans them all)."""
        pm = self.link if self.link and "://" in raw else 0
        if raw.isascii():
            folded = raw.encode("ascii").translate(LOWER_WORDS)
            for part, bits in self.literals.items():
                if part.encode("ascii") in folded:
                    pm |= bits
            found = [w.decode("ascii") for w in folded.split()]
        else:
            found = _WORD.findall(fold(raw))
            pm |= self.all_literals
        for w in set(found).intersection(self.words):
            pm |= self.words[w]
        if self.phrases:
            joined = " " + " ".join(found) + " "
            for words, (there, _) in self.phrases.items():
                if " " + " ".join(words) + " " in joined:
                    pm |= there
        return pm


class _Decided(dict[int, int | None]):
    """A mention's integer -> the expressions it matches, or None when only its text can tell
    some (`explain` says what the bits decide and which expressions need the text)."""

    def __init__(self, plan: _Plan) -> None:
        super().__init__()
        self.plan = plan
        self.signals = (1 << plan.shift) - 1
        self._explained: dict[int, tuple[int, tuple[int, ...]]] = {}

    def __missing__(self, key: int) -> int | None:
        yes, maybe = self.explain(key)
        if len(self) >= CACHE_LIMIT:
            self.clear()
        found = self[key] = None if maybe else yes
        return found

    def explain(self, key: int) -> tuple[int, tuple[int, ...]]:
        """(expressions that match, expressions only the text can decide)."""
        found = self._explained.get(key)
        if found is None:
            pm, fa = key & self.signals, key >> self.plan.shift
            yes, maybe = 0, []
            for index, node in enumerate(self.plan.nodes):
                answer = self.plan.decide(node, pm, fa)
                if answer == _YES:
                    yes |= 1 << index
                elif answer == _MAYBE:
                    maybe.append(index)
            if len(self._explained) >= CACHE_LIMIT:
                self._explained.clear()
            found = self._explained[key] = (yes, tuple(maybe))
        return found


class Compiled:
    """Which of the expressions a mention matches, one mention or a poll's at a time."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.plan = _Plan(nodes)
        self.decided = _Decided(self.plan)
        self._fields_of: dict[tuple[str, str], FieldBits] = {}
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
        key = self.plan.signals_of(raw)
        if self.plan.fields:
            key |= self._field_bits(platform, account).of(author, kind, lang)
        found = self.decided[key]
        return found if found is not None else self._finish([0], [raw], [key])[0]

    def masks(self, mentions: Sequence[Fields], platform: str, account: str) -> list[int]:
        """`mask` of each of many mentions found on one account (what a poll stores)."""
        return self.decide(mentions, platform, account, self.decided, int)

    def decide(
        self,
        mentions: Sequence[Fields],
        platform: str,
        account: str,
        answers: Mapping[int, T | None],
        answer: Callable[[int], T],
    ) -> list[T]:
        """What `answers` (a mention's integer -> an answer, None when only its text can
        tell) says of each mention, else `answer` of its mask: RuleSet.outcomes maps
        integers straight to outcomes, one lookup a mention."""
        if not self.plan.nodes or not mentions:
            return [answer(0)] * len(mentions)
        raws = list(map(_TEXT, mentions))
        if any(map(_TITLE, mentions)):
            raws = [m.title + "\n" + m.text if m.title else m.text for m in mentions]
        fields = self._field_bits(platform, account) if self.plan.fields else None
        keys, bits = self._signals(raws, lambda: fields.of_each(mentions) if fields else None)
        if bits is not None:
            keys = list(map(operator.or_, keys, bits))
        found = list(map(answers.__getitem__, keys))
        todo, at = [], -1
        with suppress(ValueError):  # list.index finds the few a test decides in C
            while True:
                todo.append(at := found.index(None, at + 1))
        for i, mask in zip(todo, self._finish(todo, raws, keys), strict=True):
            found[i] = answer(mask)
        return cast(list[T], found)  # no None left

    def _signals(self, raws: Sequence[str], meanwhile: Callable[[], T]) -> tuple[list[int], T]:
        """Each text's signal bits, and `meanwhile()`, done while a big batch is searched."""
        plan = self.plan
        if not plan.shift:
            return [0] * len(raws), meanwhile()  # only field tests
        if len(raws) < 8:
            # Too few for a pass over them all.
            return list(map(plan.signals_of, raws)), meanwhile()
        if self._scanner is None:
            found = patterns(plan.words, plan.phrases, plan.literals, plan.link)
            self._scanner = Scanner(found, plan.dotless)
        return self._scanner.signals(raws, meanwhile)

    def _field_bits(self, platform: str, account: str) -> FieldBits:
        known = self._fields_of.get((platform, account))
        if known is None:
            if len(self._fields_of) >= CACHE_LIMIT:
                self._fields_of.clear()
            known = FieldBits(self.plan.fields, self.plan.shift, platform, account)
            self._fields_of[(platform, account)] = known
        return known

    def _finish(self, todo: list[int], raws: Sequence[str], keys: Sequence[int]) -> list[int]:
        """The masks of the mentions `todo`, whose bits alone cannot tell: by the tests."""
        masks = dict.fromkeys(todo, 0)
        asked: dict[int, list[int]] = {}  # expression -> the mentions its test decides
        for key, group in groupby(sorted(todo, key=keys.__getitem__), keys.__getitem__):
            where = list(group)
            yes, maybe = self.decided.explain(key)
            for i in where:
                masks[i] = yes
            for index in maybe:
                asked.setdefault(index, []).extend(where)
        for index, where in asked.items():
            bit = 1 << index
            for i in self.plan.tests[index](where, raws, keys):
                masks[i] |= bit
        return list(masks.values())


def compile_all(nodes: Sequence[Node]) -> Compiled:
    """The matcher of these expressions: which of them each mention matches."""
    return Compiled(nodes)
