"""The search language: text to a tree, every mistake an ExpressionError with its column.

    expr  := and ("OR" and)*
    and   := unary (["AND"] unary)*          implicit AND binds tighter than OR
    unary := ("NOT" | "-") unary | atom
    atom  := "(" expr ")" | "phrase" | /regex/flags | field:value | word

Parsing is cheap and imports nothing heavy: the config parses every expression at load, so
that a mistake stops the load; `match` compiles the tree into a matcher only when one is used.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple, Protocol

from mentionwatch.models import Kind

FIELDS = ("text", "author", "platform", "account", "kind", "lang", "has", "domain")
KINDS = tuple(kind.value for kind in Kind)
_WORD = re.compile(r"\w+")
# Hashtags and handles as one token: `#rust`, `@dana`, `@dana@example.social`.
SPECIAL = re.compile(r"[#@]\w(?:[\w.@-]*\w)?")
# Combining marks, which accent folding drops (compiled on first use: ~1 ms).
_MARKS = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_MAX_DEPTH = 50
_STOP = frozenset(' \t\r\n\f\v()"')


class ExpressionError(ValueError):
    """A mistake in an expression; `column` is 1-based, the message says it already."""

    def __init__(self, problem: str, column: int) -> None:
        self.problem = problem
        self.column = column
        super().__init__(f"{problem} at column {column}")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: `CAFÉ`, `Café` and `cafe` all fold to `cafe`."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    bare = re.sub(_MARKS, "", unicodedata.normalize("NFKD", folded))
    # Casefold again: NFKD makes capitals of letters casefold leaves alone (ℌ -> H, 𝚨 -> Α).
    return unicodedata.normalize("NFC", bare).casefold()


def fold_long(text: str) -> str:
    """`fold`, quicker on a long text (a poll's texts joined) with few kinds of character
    beyond ASCII: a regex steps through every character, `str.replace` runs in C."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    kinds = [unicodedata.normalize("NFKD", ch) for ch in beyond_ascii(folded)]
    bare = unicodedata.normalize("NFKD", folded)
    marks = [ch for ch in beyond_ascii("".join(kinds)) if re.fullmatch(_MARKS, ch)]
    if len(marks) > FEW:
        bare = re.sub(_MARKS, "", bare)
    else:
        for mark in marks:
            bare = bare.replace(mark, "")
    bare = unicodedata.normalize("NFC", bare)
    return bare.casefold() if any(k.casefold() != k for k in kinds) else bare


_ASCII = bytes(range(128))
# Past this many kinds of character to take out, one regex pass beats a replace each.
FEW = 24


def beyond_ascii(text: str) -> set[str]:
    """The characters of `text` beyond ASCII, found in C (the UTF-8 without its ASCII bytes)."""
    rest = text.encode("utf-8", "surrogatepass").translate(None, _ASCII)
    return set(rest.decode("utf-8", "surrogatepass"))


class Fields(Protocol):
    """What the rules read of a fetched mention (fetched.Mention has it)."""

    @property
    def text(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def lang(self) -> str: ...


# -- the tree ------------------------------------------------------------------------------


# The tree's nodes are NamedTuples: a frozen dataclass costs ~1 ms to define, and every
# command that loads a config with keywords or rules defines these (`list` among them).


class Words(NamedTuple):
    """A word or a phrase: folded words that must follow each other, whatever punctuation
    separates them. `typed` is the text as written, for platform searches."""

    words: tuple[str, ...]
    typed: str
    quoted: bool = False


class Tag(NamedTuple):
    """A #hashtag or an @handle, folded, matched as one token."""

    token: str
    typed: str


class Field(NamedTuple):
    name: str  # one of FIELDS except "text", which parses to Words/Tag
    value: str  # normalised for matching (folded; `author` without a leading @)
    typed: str


class Regex(NamedTuple):
    pattern: re.Pattern[str]
    typed: str


class Not(NamedTuple):
    child: Node


class And(NamedTuple):
    children: tuple[Node, ...]


class Or(NamedTuple):
    children: tuple[Node, ...]


Node = Words | Tag | Field | Regex | Not | And | Or


# -- lexing --------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "(", ")", "OR", "AND", "NOT", "-", "atom"
    column: int
    node: Node | None = None


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, col))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise ExpressionError("unclosed quote", col)
            tokens.append(_Token("atom", col, _phrase(text[i + 1 : end], col)))
            i = end + 1
        elif ch == "/":
            regex, i = _regex(text, i)
            tokens.append(_Token("atom", col, regex))
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(_Token("-", col))
            i += 1
        else:
            j = i
            while j < n and text[j] not in _STOP:
                j += 1
            bare = text[i:j]
            if bare in ("OR", "AND", "NOT"):
                tokens.append(_Token(bare, col))
                i = j
                continue
            node, i = _bare(text, i, j)
            tokens.append(_Token("atom", col, node))
    return tokens


def _phrase(typed: str, col: int, quoted: bool = True) -> Words:
    words = tuple(_WORD.findall(fold(typed)))
    if not words:
        what = "an empty phrase" if quoted and not typed.strip() else repr(typed)
        raise ExpressionError(f"{what} has no letters or digits to match", col)
    return Words(words, typed, quoted)


def _term(typed: str, col: int) -> Words | Tag:
    if typed[:1] in "#@" and len(typed) > 1:
        found = SPECIAL.match(fold(typed))
        if found is None:
            raise ExpressionError(f"{typed!r} needs a letter or digit after {typed[0]!r}", col)
        return Tag(found.group(), typed)
    return _phrase(typed, col, quoted=False)


def _regex(text: str, start: int) -> tuple[Regex, int]:
    i, n = start + 1, len(text)
    while i < n and text[i] != "/":
        i += 2 if text[i] == "\\" else 1
    if i >= n:
        raise ExpressionError("unclosed regex (no closing /)", start + 1)
    pattern = text[start + 1 : i].replace("\\/", "/")
    j = i + 1
    flags = 0
    while j < n and text[j] not in _STOP:
        flag = _REGEX_FLAGS.get(text[j])
        if flag is None:
            raise ExpressionError(f"unknown regex flag {text[j]!r} (known: i, m, s, x)", j + 1)
        flags |= flag
        j += 1
    if not pattern:
        raise ExpressionError("empty regex", start + 1)
    try:
        compiled = re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ExpressionError(f"invalid regex ({exc})", start + 1) from None
    return Regex(compiled, text[start:j]), j


def _bare(text: str, start: int, end: int) -> tuple[Node, int]:
    """A word, or `field:value` (the value may be "quoted")."""
    bare = text[start:end]
    col = start + 1
    name, colon, value = bare.partition(":")
    if not colon or not name.isalpha() or value.startswith("//"):
        return _term(bare, col), end  # "10:30", "https://example.com" are words
    if name.lower() not in FIELDS:
        known = ", ".join(f"{f}:" for f in FIELDS)
        raise ExpressionError(f"unknown field {name + ':'!r} (known: {known})", col)
    name = name.lower()
    if not value and end < len(text) and text[end] == '"':
        close = text.find('"', end + 1)
        if close < 0:
            raise ExpressionError("unclosed quote", end + 1)
        value, end = text[end + 1 : close], close + 1
        if name == "text":
            return _phrase(value, col), end
    elif name == "text" and value:
        return _term(value, col), end
    if not value.strip():
        raise ExpressionError(f"{name}: needs a value", col)
    return _field(name, value.strip(), col), end


def _field(name: str, value: str, col: int) -> Field:
    typed = value
    if name == "author":
        value = fold(value.lstrip("@"))
    elif name == "platform":
        from mentionwatch.sources.registry import PLATFORMS

        value = value.lower()
        if value not in PLATFORMS:
            known = ", ".join(sorted(PLATFORMS))
            raise ExpressionError(f"platform:{typed}: unknown platform (known: {known})", col)
    elif name == "kind":
        value = value.lower()
        if value not in KINDS:
            raise ExpressionError(f"kind:{typed}: unknown kind (known: {', '.join(KINDS)})", col)
    elif name == "has":
        value = value.lower()
        if value not in ("link", "links"):
            raise ExpressionError(f"has:{typed}: only has:link is known", col)
        value = "link"
    elif name == "account":
        value = value.casefold()
    elif name in ("lang", "domain"):
        value = value.lower().removeprefix("www.") if name == "domain" else value.lower()
    return Field(name, value, typed)


# -- parsing -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[_Token], length: int) -> None:
        self.tokens = tokens
        self.at = 0
        self.end = length + 1
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def column(self) -> int:
        token = self.peek()
        return token.column if token else self.end

    def expr(self) -> Node:
        children = [self.conjunction()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.at += 1
            children.append(self.conjunction())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def conjunction(self) -> Node:
        children = [self.unary()]
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.at += 1
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise ExpressionError("expected a word, a phrase or '(' here", self.end)
        if token.kind in ("NOT", "-", "(") and self.depth >= _MAX_DEPTH:
            raise ExpressionError(f"nested more than {_MAX_DEPTH} deep", token.column)
        if token.kind in ("NOT", "-"):
            self.at += 1
            self.depth += 1
            child = self.unary()
            self.depth -= 1
            return child.child if isinstance(child, Not) else Not(child)
        if token.kind == "(":
            self.at += 1
            self.depth += 1
            inner = self.expr()
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != ")":
                raise ExpressionError("unclosed '('", token.column)
            self.at += 1
            return inner
        if token.kind == "atom" and token.node is not None:
            self.at += 1
            return token.node
        if token.kind in ("OR", "AND"):
            raise ExpressionError(f"{token.kind} needs something on both sides", token.column)
        raise ExpressionError("unexpected ')'", token.column)


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> Node:
    """The tree of an expression; raises ExpressionError naming the problem and its column."""
    tokens = _lex(text)
    if not tokens:
        raise ExpressionError("empty expression", 1)
    parser = _Parser(tokens, len(text))
    node = parser.expr()
    token = parser.peek()
    if token is not None:
        raise ExpressionError("unexpected ')'", token.column)
    return node


def searchable(node: Node) -> bool:
    """Whether every way of matching needs a word, phrase or tag, which a search can be asked
    for: a keyword must be, or its platform search could not be narrowed at all."""
    if isinstance(node, Words | Tag):
        return True
    if isinstance(node, And):
        return any(searchable(c) for c in node.children)
    if isinstance(node, Or):
        return all(searchable(c) for c in node.children)
    return False
