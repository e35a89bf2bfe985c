"""What each platform's search is sent for a keyword expression: the part it can search for.

Server side where possible, exact locally always: a query sent here may find more than the
expression (never less, as far as the platform's search is word-based), and poll.py checks
every hit against the whole expression. What cannot be sent (a regex, a NOT the platform has
no syntax for, fields it cannot filter on) is left out, which only widens the search.

Two shapes: platforms with boolean search (X, Reddit) get one query string; the others (Bluesky,
Hacker News, Mastodon, GitHub) get one conjunctive query per OR alternative, since their search
ANDs every word.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from mentionwatch.rules.parse import And, Field, Node, Not, Or, Regex, Tag, Words, parse

# AND of more alternatives than this is searched for fewer of its parts (still a superset).
MAX_QUERIES = 8


@dataclass(frozen=True)
class Conjunct:
    """Terms that must all appear, and field filters the platform may apply."""

    terms: tuple[Words | Tag, ...] = ()
    fields: tuple[tuple[str, str], ...] = field(default=())

    def field(self, name: str) -> str | None:
        return next((v for n, v in self.fields if n == name), None)

    def merge(self, other: Conjunct) -> Conjunct:
        names = {n for n, _ in self.fields}
        extra = tuple((n, v) for n, v in other.fields if n not in names)
        terms = tuple(dict.fromkeys((*self.terms, *other.terms)))
        return Conjunct(terms, self.fields + extra)


_CONJUNCT_FIELDS = ("author", "lang", "domain")


def conjuncts(node: Node) -> list[Conjunct]:
    """OR alternatives, each an AND of terms: their union holds every match of `node`."""
    if isinstance(node, Words | Tag):
        return [Conjunct((node,))]
    if isinstance(node, Field) and node.name in _CONJUNCT_FIELDS:
        return [Conjunct(fields=((node.name, node.typed.lstrip("@")),))]
    if isinstance(node, Or):
        parts = [conjuncts(child) for child in node.children]
        if any(Conjunct() in part for part in parts):
            return [Conjunct()]  # one alternative matches anything: so does the OR
        return list(dict.fromkeys(c for part in parts for c in part))
    if isinstance(node, And):
        found = [Conjunct()]
        for part in sorted((conjuncts(c) for c in node.children), key=len):
            product = list(dict.fromkeys(a.merge(b) for a in found for b in part))
            if len(product) > MAX_QUERIES and all(c.terms for c in found):
                continue  # leaving a part out only widens the search
            found = product
        return found
    return [Conjunct()]  # a regex, a NOT, a field the search cannot filter on: anything


def _typed(term: Words | Tag, *, quote: bool = True) -> str:
    if isinstance(term, Tag):
        return term.typed
    if len(term.words) > 1 and quote:
        return '"' + term.typed.replace('"', "") + '"'
    return term.typed


def plain_terms(conjunct: Conjunct, *, quote: bool = True) -> str:
    """The terms as the platform gets them: words as typed, phrases in quotes."""
    return " ".join(_typed(t, quote=quote) for t in conjunct.terms)


@functools.lru_cache(maxsize=256)
def keyword_conjuncts(keyword: str) -> tuple[Conjunct, ...]:
    """The conjunctive queries of a keyword (validated at config load, so it parses)."""
    return tuple(c for c in conjuncts(parse(keyword)) if c.terms)


# -- boolean platforms ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dialect:
    """How a platform spells boolean search."""

    or_: str  # " OR "
    negate: Callable[[str], str]  # of a single term
    fields: dict[str, Callable[[str], str]]  # field name -> operator text for its value


def boolean_query(node: Node, dialect: Dialect) -> str | None:
    """The query that finds at least every match of `node`, or None when it is "anything"."""
    if isinstance(node, Words | Tag):
        return _typed(node)
    if isinstance(node, Field):
        spell = dialect.fields.get(node.name)
        if spell is None:
            return None
        return spell(node.typed.lstrip("@") if node.name == "author" else node.typed)
    if isinstance(node, Regex):
        return None
    if isinstance(node, Not):
        child = node.child
        if isinstance(child, Words | Tag):
            return dialect.negate(_typed(child))
        if isinstance(child, Field) and child.name in dialect.fields:
            inner = boolean_query(child, dialect)
            return dialect.negate(inner) if inner else None
        return None  # a NOT of a group is left to the local check
    parts = [boolean_query(child, dialect) for child in node.children]
    if isinstance(node, Or):
        if any(p is None for p in parts):
            return None
        return "(" + dialect.or_.join(p for p in parts if p) + ")"
    kept = [p for p in parts if p is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else " ".join(kept)


def _quoted(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) else value


X = Dialect(
    or_=" OR ",
    negate=lambda term: f"-{term}",
    fields={
        "author": lambda v: f"from:{v.split('@')[0]}",
        "lang": lambda v: f"lang:{v.lower()}",
        "has": lambda v: "has:links",
        "domain": lambda v: f"url:{_quoted(v)}",
    },
)

REDDIT = Dialect(
    or_=" OR ",
    negate=lambda term: f"NOT {term}",
    fields={"author": lambda v: f"author:{v.removeprefix('u/')}"},
)


@functools.lru_cache(maxsize=256)
def keyword_query(keyword: str, dialect: Dialect) -> str:
    """One boolean query for a keyword; the keyword as typed if nothing could be translated."""
    query = boolean_query(parse(keyword), dialect)
    if query and query.startswith("(") and query.endswith(")") and _balanced(query[1:-1]):
        query = query[1:-1]
    return query or keyword


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0
