"""Compile parsed expressions into one fast Python function per set of expressions.

The function is generated as Python source: it folds a mention's text once into the set of
the expressions' words it contains, then tests each expression as set lookups and substring
tests, working out phrases, tags and link domains only when a test needs them. Expressions
that need a word are skipped at once for a mention that has none of their words.
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
# `kind:mention` means anything that addresses the account, as `list` shows them.
_ADDRESSING = ("mention", "reply", "quote")


def _has_domain(domains: tuple[str, ...], domain: str) -> bool:
    """`domain` or a subdomain of it, never `example.com.evil.net`."""
    dotted = "." + domain
    return any(d == domain or d.endswith(dotted) for d in domains)


def _spaced(tokens: list[bytes] | None, words: list[str] | None) -> bytes:
    """The words (UTF-8) with one space around each: a phrase is a substring of it."""
    joined = b" ".join(tokens) if tokens is not None else " ".join(words or ()).encode()
    return b" " + joined + b" "


def _tags(folded: str) -> frozenset[str]:
    tokens = set(SPECIAL.findall(folded))
    # `@dana@example.social` is also `@dana`, as people write it on its own server.
    tokens.update("@" + t.split("@")[1] for t in list(tokens) if t.startswith("@") and "@" in t[1:])
    return frozenset(tokens)


def _domains(raw: str) -> tuple[str, ...]:
    if "://" not in raw:
        return ()
    return tuple(host.lower().removeprefix("www.").rstrip(".") for host in _URL_HOST.findall(raw))


Subject = tuple[str, str, str, str, str, str, str]
Matcher = Callable[[str, str, str, str, str, str, str], list[int]]


@dataclass(frozen=True)
class Compiled:
    """Which of the expressions a mention matches, in their order."""

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
        """The fields of a mention that expressions look at, in the matcher's order."""
        return (text, title, author, platform, account, kind, lang)

    def __call__(self, subject: Subject) -> list[int]:
        return self.matcher(*subject)


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


# Worked out once per mention, on first use, inside the generated function.
_SPACED = "(sp if sp is not None else (sp := _spaced(tokens, words)))"
_TAGS = "(tg if tg is not None else (tg := _tags(folded)))"
_DOMAINS = "(dm if dm is not None else (dm := _domains(raw)))"
_FIELD_VALUES = {
    "author": "au",
    "platform": "platform",
    "account": "ac",
    "kind": "kind",
    "lang": "lg",
}


class _Generator:
    def __init__(self) -> None:
        self.constants: dict[str, object] = {}
        self.words: set[str] = set()
        self.fields: set[str] = set()

    def constant(self, value: object) -> str:
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def source(self, node: Node) -> str:
        if isinstance(node, Words):
            self.words.update(node.words)
            tests = [f"{w.encode()!r} in p" for w in dict.fromkeys(node.words)]
            if len(node.words) > 1:
                tests.append(f"{(' ' + ' '.join(node.words) + ' ').encode()!r} in {_SPACED}")
            return "(" + " and ".join(tests) + ")"
        if isinstance(node, Tag):
            first = _WORD.findall(node.token)[:1]
            self.words.update(first)
            return f"({first[0].encode()!r} in p and {node.token!r} in {_TAGS})"
        if isinstance(node, Field):
            return self.field(node)
        if isinstance(node, Regex):
            search = f"{self.constant(node.pattern)}.search(raw) is not None"
            literal = required_literal(node.pattern)
            if not literal:
                return f"({search})"
            if node.pattern.flags & re.IGNORECASE:
                if not literal.isascii():
                    return f"({search})"
                return f"({literal.casefold()!r} in folded and {search})"
            return f"({literal!r} in raw and {search})"
        if isinstance(node, Not):
            return f"(not {self.source(node.child)})"
        if isinstance(node, Or):
            plain = [c for c in node.children if isinstance(c, Words) and len(c.words) == 1]
            if len(plain) < 2:
                return "(" + " or ".join(self.source(c) for c in node.children) + ")"
            words = frozenset(c.words[0].encode() for c in plain)
            self.words.update(c.words[0] for c in plain)
            rest = [self.source(c) for c in node.children if c not in plain]
            return "(" + " or ".join([f"not p.isdisjoint({self.constant(words)})", *rest]) + ")"
        ordered = sorted(node.children, key=_cost)
        return "(" + " and ".join(self.source(c) for c in ordered) + ")"

    def field(self, node: Field) -> str:
        value = repr(node.value)
        if node.name in ("has", "domain"):
            # Substring pre-tests: most posts have no link, and few this domain.
            if node.name == "has":
                return f"('://' in raw and len({_DOMAINS}) > 0)"
            test = f"_has_domain({_DOMAINS}, {value})"
            return f"({value} in folded and {test})" if node.value.isascii() else f"({test})"
        self.fields.add(node.name)
        name = _FIELD_VALUES[node.name]
        if node.name == "kind" and node.value == "mention":
            return f"({name} in {_ADDRESSING!r})"
        if node.name == "lang":
            return f"({name} == {value} or {name}.startswith({node.value + '-'!r}))"
        return f"({name} == {value})"


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
    """One generated function returning the indexes of the expressions a mention matches.

    It takes the mention's fields and does everything inline: the folded words once (as a
    set of the expressions' words present), then each expression as set lookups, with
    phrases, tags and link domains worked out only when a test needs them. No object is
    built per mention: at 20 rules this is what keeps matching small beside storing.
    """
    gen = _Generator()
    body: list[str] = []
    for index, node in enumerate(nodes):
        condition = gen.source(node)
        if triggers(node) is not None:
            # Most mentions have none of the words a rule needs: an empty set turns them away.
            condition = f"p and {condition}"
        body += [f"    if {condition}:", f"        hit.append({index})"]
    prelude = [
        "def match(text, title, author, platform, account, kind, lang):",
        "    raw = title + '\\n' + text if title else text",
        "    folded = raw.casefold()",
        "    if folded.isascii():",
        "        tokens = folded.encode('ascii').translate(_ASCII_WORDS).split()",
        "        words = None",
        "        p = VB.intersection(tokens)",
        "    else:",
        "        folded = _fold(folded)",
        "        tokens = None",
        "        words = _WORD.findall(folded)",
        "        p = {w.encode() for w in VW.intersection(words)}",
        "    sp = tg = dm = None",
        "    hit = []",
    ]
    if "author" in gen.fields:
        prelude.append("    au = author.lstrip('@').casefold()")
        prelude.append("    au = au if au.isascii() else _fold(au)")
    if "account" in gen.fields:
        prelude.append("    ac = account.casefold()")
    if "lang" in gen.fields:
        prelude.append("    lg = lang.lower()")
    source = "\n".join([*prelude, *body, "    return hit"])
    namespace: dict[str, object] = {
        **gen.constants,
        # The expressions' words, as the ASCII path's bytes (and UTF-8 for the others).
        "VB": frozenset(w.encode() for w in gen.words),
        "VW": frozenset(gen.words),
        "_ASCII_WORDS": _ASCII_WORDS,
        "_WORD": _WORD,
        "_fold": fold,
        "_spaced": _spaced,
        "_tags": _tags,
        "_domains": _domains,
        "_has_domain": _has_domain,
    }
    exec(compile(source, "<mentionwatch rules>", "exec"), namespace)
    matcher: Matcher = namespace["match"]  # type: ignore[assignment]
    return Compiled(matcher)
