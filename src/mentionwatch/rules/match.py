"""Compile parsed expressions into one fast Python function per set of expressions.

A mention is prepared once (`Subject`: its folded words as a set and as a spaced string, its
tags, link domains), then every expression is a chain of set lookups and substring tests
generated as Python source, so 20 rules cost about one function call. Expressions that need
a word first ask whether the mention has any of the words that could start a match at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mentionwatch.rules.parse import (
    SPECIAL,
    And,
    Field,
    Node,
    Not,
    Or,
    Regex,
    Tag,
    Words,
    fold,
)

_WORD = re.compile(r"\w+")
_URL_HOST = re.compile(r"https?://(?:[^\s/@]*@)?([^\s/?#:]+)", re.IGNORECASE)
# ASCII text splits into words on bytes: every byte that is not [A-Za-z0-9_] becomes a space,
# the same words as \w+ finds, about four times faster (most posts are ASCII).
_ASCII_WORDS = bytes(c if chr(c).isalnum() or c == 95 else 32 for c in range(128)) + bytes(
    range(128, 256)
)
_NONE: frozenset[str] = frozenset()
# `kind:mention` means anything that addresses the account, as `list` shows them.
_ADDRESSING = ("mention", "reply", "quote")


class Subject:
    """One mention, prepared for matching: `present` holds the expressions' words it has;
    the spaced words, tags and link domains are only worked out when a test asks."""

    __slots__ = ("present", "folded", "tokens", "words", "raw", "author", "platform",
                 "account", "kind", "lang", "_spaced", "_tags", "_domains")  # fmt: skip

    def __init__(
        self,
        vocabulary: _Vocabulary,
        text: str,
        title: str,
        author: str,
        platform: str,
        account: str,
        kind: str,
        lang: str,
    ) -> None:
        raw = f"{title}\n{text}" if title else text
        folded = raw.casefold()
        if folded.isascii():
            tokens = folded.encode("ascii").translate(_ASCII_WORDS).split()
            self.tokens: list[bytes] | None = tokens
            self.words: list[str] | None = None
            found = vocabulary.ascii.intersection(tokens)
            self.present: set[str] | frozenset[str] = (
                {vocabulary.decoded[w] for w in found} if found else _NONE
            )
        else:
            folded = fold(folded)
            self.tokens = None
            self.words = _WORD.findall(folded)
            self.present = vocabulary.words.intersection(self.words)
        self.folded = folded
        self.raw = raw
        self.author = fold(author.lstrip("@")) if author else ""
        self.platform = platform
        self.account = account.casefold()
        self.kind = kind
        self.lang = lang.lower()
        self._spaced: str | None = None
        self._tags: frozenset[str] | None = None
        self._domains: tuple[str, ...] | None = None

    def spaced(self) -> str:
        """The words with one space around each: a phrase is a substring of it."""
        if self._spaced is None:
            if self.tokens is not None:
                joined = b" ".join(self.tokens).decode("ascii")
            else:
                joined = " ".join(self.words or ())
            self._spaced = f" {joined} "
        return self._spaced

    def tags(self) -> frozenset[str]:
        if self._tags is None:
            self._tags = _tags(self.folded)
        return self._tags

    def domains(self) -> tuple[str, ...]:
        if self._domains is None:
            self._domains = _domains(self.raw) if "://" in self.raw else ()
        return self._domains


@dataclass(frozen=True)
class _Vocabulary:
    """Every word some expression tests, as text and as ASCII bytes."""

    words: frozenset[str]
    ascii: frozenset[bytes]
    decoded: dict[bytes, str]


def _vocabulary(words: set[str]) -> _Vocabulary:
    ascii_words = {w.encode("ascii"): w for w in words if w.isascii()}
    return _Vocabulary(frozenset(words), frozenset(ascii_words), ascii_words)


def _tags(folded: str) -> frozenset[str]:
    tokens = set(SPECIAL.findall(folded))
    # `@dana@example.social` is also `@dana`, as people write it on its own server.
    tokens.update("@" + t.split("@")[1] for t in list(tokens) if t.startswith("@") and "@" in t[1:])
    return frozenset(tokens)


def _domains(raw: str) -> tuple[str, ...]:
    return tuple(host.lower().removeprefix("www.").rstrip(".") for host in _URL_HOST.findall(raw))


Matcher = Callable[[Subject], list[int]]


@dataclass(frozen=True)
class Compiled:
    """Which of the expressions a mention matches, in their order."""

    vocabulary: _Vocabulary
    matcher: Matcher

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
        return Subject(self.vocabulary, text, title, author, platform, account, kind, lang)

    def __call__(self, subject: Subject) -> list[int]:
        return self.matcher(subject)


def _cost(node: Node) -> int:
    """Rough price of a test, so that AND tries the cheap parts first and stops early."""
    if isinstance(node, Field):
        return 3 if node.name in ("has", "domain") else 0
    if isinstance(node, Words):
        return 1 if len(node.words) == 1 else 2
    if isinstance(node, Tag):
        return 3
    if isinstance(node, Regex):
        return 4
    if isinstance(node, Not):
        return _cost(node.child)
    return max(_cost(c) for c in node.children)


class _Generator:
    def __init__(self) -> None:
        self.constants: dict[str, object] = {}
        self.words: set[str] = set()

    def constant(self, value: object) -> str:
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def source(self, node: Node) -> str:
        if isinstance(node, Words):
            self.words.update(node.words)
            tests = [f"{w!r} in p" for w in dict.fromkeys(node.words)]
            if len(node.words) > 1:
                tests.append(f"{' ' + ' '.join(node.words) + ' '!r} in s.spaced()")
            return "(" + " and ".join(tests) + ")"
        if isinstance(node, Tag):
            first = _WORD.findall(node.token)[:1]
            self.words.update(first)
            return f"({first[0]!r} in p and {node.token!r} in s.tags())"
        if isinstance(node, Field):
            return self.field(node)
        if isinstance(node, Regex):
            search = f"{self.constant(node.pattern)}.search(s.raw) is not None"
            literal = required_literal(node.pattern)
            if not literal:
                return f"({search})"
            if node.pattern.flags & re.IGNORECASE:
                if not literal.isascii():
                    return f"({search})"
                return f"({literal.casefold()!r} in s.folded and {search})"
            return f"({literal!r} in s.raw and {search})"
        if isinstance(node, Not):
            return f"(not {self.source(node.child)})"
        if isinstance(node, Or):
            plain = [c for c in node.children if isinstance(c, Words) and len(c.words) == 1]
            if len(plain) < 2:
                return "(" + " or ".join(self.source(c) for c in node.children) + ")"
            words = frozenset(c.words[0] for c in plain)
            self.words.update(words)
            rest = [self.source(c) for c in node.children if c not in plain]
            return "(" + " or ".join([f"not p.isdisjoint({self.constant(words)})", *rest]) + ")"
        ordered = sorted(node.children, key=_cost)
        return "(" + " and ".join(self.source(c) for c in ordered) + ")"

    def field(self, node: Field) -> str:
        value = repr(node.value)
        if node.name == "kind" and node.value == "mention":
            return f"(s.kind in {_ADDRESSING!r})"
        if node.name in ("author", "platform", "account", "kind"):
            return f"(s.{node.name} == {value})"
        if node.name == "lang":
            return f"(s.lang == {value} or s.lang.startswith({node.value + '-'!r}))"
        if node.name == "has":
            return "(len(s.domains()) > 0)"
        dotted = repr("." + node.value)
        return f"any(d == {value} or d.endswith({dotted}) for d in s.domains())"


def required_literal(pattern: re.Pattern[str]) -> str:
    """The longest plain text every match of `pattern` contains, or "" (a cheap pre-test:
    a case-insensitive regex is slow to search, a substring test is not)."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        items = list(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # an implementation detail of `re`: without it, no pre-test
        return ""
    best, run = "", ""
    for op, arg in [*items, (None, None)]:
        if str(op) == "LITERAL":
            run += chr(arg)
            continue
        best, run = max(best, run, key=len), ""
    return best


def triggers(node: Node) -> frozenset[str] | None:
    """Words of which a mention must have one to match, or None when no such set exists."""
    if isinstance(node, Words):
        return frozenset(node.words[:1])
    if isinstance(node, Tag):
        return frozenset(_WORD.findall(node.token)[:1])
    if isinstance(node, And):
        found = [t for t in map(triggers, node.children) if t is not None]
        return min(found, key=len) if found else None
    if isinstance(node, Or):
        parts = [triggers(c) for c in node.children]
        if any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    return None


def compile_all(nodes: Sequence[Node]) -> Compiled:
    """One function returning the indexes of the expressions a subject matches, in order."""
    gen = _Generator()
    lines = ["def match(s):", "    p = s.present", "    hit = []"]
    for index, node in enumerate(nodes):
        condition = gen.source(node)
        if triggers(node) is not None:
            # Most mentions have none of the words a rule needs: an empty set turns them away.
            condition = f"p and {condition}"
        lines.append(f"    if {condition}:")
        lines.append(f"        hit.append({index})")
    lines.append("    return hit")
    namespace: dict[str, object] = dict(gen.constants)
    exec(compile("\n".join(lines), "<mentionwatch rules>", "exec"), namespace)
    matcher: Matcher = namespace["match"]  # type: ignore[assignment]
    return Compiled(_vocabulary(gen.words), matcher)
