"""What a rule's generated test looks at in a text, and the cheap pre-tests a regex allows.

The views (`spaced`, `tags`, `domains`) are worked out at most once per text, on first use,
by the tests rules.match generates; the pre-tests let a case-insensitive regex, slow to
search, be skipped for a text that lacks a plain piece every match contains.
"""

from __future__ import annotations

import re
from typing import Any

from mentionwatch.rules.parse import SPECIAL, Field, Node, Not, Regex, Tag, Words
from mentionwatch.rules.scan import LOWER_WORDS

_WORD = re.compile(r"\w+")
_URL_HOST = re.compile(r"https?://(?:[^\s/@]*@)?([^\s/?#:]+)", re.IGNORECASE)


def cost(node: Node) -> int:
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
        return cost(node.child)
    return max(cost(c) for c in node.children)


def has_domain(domains: tuple[str, ...], domain: str) -> bool:
    """`domain` or a subdomain of it, never `example.com.evil.net`."""
    dotted = "." + domain
    for d in domains:  # a loop, not any(): most texts have one link or two
        if d == domain or d.endswith(dotted):
            return True
    return False


def spaced(folded: str) -> bytes:
    """The folded text's words (UTF-8), one space around each: a phrase is a substring."""
    if folded.isascii():
        words = folded.encode("ascii").translate(LOWER_WORDS).split()
        return b" " + b" ".join(words) + b" "
    return (" " + " ".join(_WORD.findall(folded)) + " ").encode()


def tags(folded: str) -> frozenset[str]:
    tokens = set(SPECIAL.findall(folded))
    # `@dana@example.social` is also `@dana`, as people write it on its own server.
    tokens.update("@" + t.split("@")[1] for t in list(tokens) if t.startswith("@") and "@" in t[1:])
    return frozenset(tokens)


def domains(raw: str) -> tuple[str, ...]:
    at = raw.find("://")
    if at < 0:
        return ()
    # Every link starts at most 5 characters ("https") before its "://": the regex, slow to
    # step through a text, starts there.
    hosts = _URL_HOST.findall(raw, max(0, at - 5))
    return tuple([host.lower().removeprefix("www.").rstrip(".") for host in hosts])


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


def word_part(literal: str) -> str:
    """`literal` as an ASCII text folds to words (lower case, every other character a space),
    trimmed: present in every ASCII text that contains the literal in any case, so its absence
    rules the literal out. "" when that says too little to be worth a test."""
    if not literal.isascii():
        return ""  # /ſ/i matches "s": a non-ASCII literal says nothing about ASCII texts
    part = literal.encode("ascii").translate(LOWER_WORDS).strip()
    return part.decode() if len(part.replace(b" ", b"")) >= 3 else ""


def required_texts(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """Texts (lower-cased) of which every match of `pattern` contains one, or (): a cheap
    pre-test, as a case-insensitive regex is slow to search and a substring test is not.
    `/example-?co/i` gives ("example-co", "exampleco"): `example.com` passes neither."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        items = list(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # an implementation detail of `re`: without it, no pre-test
        return ()
    best: tuple[str, ...] = ()
    run = [""]  # the ways the current run of plain items can be spelt
    for op, arg in [*items, (None, None)]:
        choices = _spellings(str(op), arg)
        if choices is not None and len(run) * len(choices) <= _MAX_SPELLINGS:
            run = [r + c for r in run for c in choices]
            continue
        if min(map(len, run)) > min(map(len, best), default=0):
            best = tuple(sorted(set(run)))
        run = list(choices) if choices is not None else [""]
    best = tuple(t.lower() for t in best)
    if min(map(len, best), default=0) < 3 or not all(t.isascii() for t in best):
        return ()  # /ſ/i matches "s": a non-ASCII text says nothing about ASCII ones
    return best


_MAX_SPELLINGS = 16


def _spellings(op: str, arg: Any) -> list[str] | None:
    """The texts one parsed regex item matches, when it matches only a few plain ones."""
    if op == "LITERAL":
        return [chr(arg)]
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, sub = arg
        sub = list(sub)
        if (low, high) == (0, 1) and len(sub) == 1 and str(sub[0][0]) == "LITERAL":
            return ["", chr(sub[0][1])]
    if op == "IN" and len(arg) <= 4 and all(str(o) == "LITERAL" for o, _ in arg):
        return [chr(a) for _, a in arg]
    return None
