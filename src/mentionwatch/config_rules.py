"""`keywords` and `[[rules]]` of the config: every expression parsed at load, mistakes named.

Imported by `config` only when the file has keywords or rules, so that a config without them
never loads the search language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mentionwatch.errors import ConfigError
from mentionwatch.rules import PRIORITIES, ExpressionError, Rule, parse
from mentionwatch.rules.parse import And, Field, Node, Not, Or, searchable
from mentionwatch.timeutil import parse_duration

_RULE_KEYS = {"name", "match", "priority", "sla", "tags", "dismiss"}
_TAG = re.compile(r"[\w-]+")


def check_keywords(keywords: Sequence[str], where: str) -> None:
    """Each keyword parses, and has something a platform's search can be asked for."""
    for index, keyword in enumerate(keywords):
        try:
            node = parse(keyword)
        except ExpressionError as exc:
            raise ConfigError(f"{where}: keywords[{index}]: {exc}") from None
        if not searchable(node):
            raise ConfigError(
                f"{where}: keywords[{index}]: {keyword!r} gives the search nothing to look for: "
                "every alternative needs a word, phrase or #tag outside NOT (a regex or a field "
                "alone cannot be searched; put those in a [[rules]] match)"
            )


def parse_rules(raw: Any, path: Path, accounts: Iterable[str]) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ConfigError(f"{path}: 'rules' must be [[rules]] tables")
    rules: list[Rule] = []
    known = set(accounts)
    for index, entry in enumerate(raw):
        rule = _rule(entry, f"{path}: rules[{index}]")
        where = f"{path}: rule {rule.name!r}"
        if any(r.name == rule.name for r in rules):
            raise ConfigError(f"{path}: rules[{index}]: duplicate rule name {rule.name!r}")
        for name in _accounts_named(rule.node):
            if known and name not in {a.casefold() for a in known}:
                listed = ", ".join(sorted(known))
                raise ConfigError(
                    f"{where}: key 'match': account:{name}: no such account (known: {listed})"
                )
        rules.append(rule)
    return tuple(rules)


def _rule(entry: Mapping[str, Any], where: str) -> Rule:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: key 'name' is required (a non-empty string)")
    where = f"{where.rsplit(': ', 1)[0]}: rule {name!r}"
    for key in entry:
        if key not in _RULE_KEYS:
            raise ConfigError(
                f"{where}: unknown key {key!r} (known: {', '.join(sorted(_RULE_KEYS))})"
            )
    match = entry.get("match")
    if not isinstance(match, str) or not match.strip():
        raise ConfigError(f"{where}: key 'match' is required (an expression, see the README)")
    try:
        node = parse(match)
    except ExpressionError as exc:
        raise ConfigError(f"{where}: key 'match': {exc}") from None
    priority = _priority(entry, where)
    sla = None
    if "sla" in entry:
        try:
            sla = parse_duration(entry["sla"])
        except ValueError as exc:
            raise ConfigError(f"{where}: key 'sla': {exc}") from None
    tags = _tags(entry, where)
    dismiss = entry.get("dismiss")
    if dismiss is not None and (not isinstance(dismiss, str) or not dismiss.strip()):
        raise ConfigError(f"{where}: key 'dismiss' must be a reason, like dismiss = \"spam\"")
    if priority is None and sla is None and not tags and dismiss is None:
        raise ConfigError(f"{where}: does nothing: give it priority, sla, tags or dismiss")
    return Rule(name, match, node, priority, sla, tags, dismiss.strip() if dismiss else None)


def _priority(entry: Mapping[str, Any], where: str) -> int | None:
    if "priority" not in entry:
        return None
    value = entry["priority"]
    if not isinstance(value, str) or value.lower() not in PRIORITIES:
        raise ConfigError(f"{where}: key 'priority' must be one of high, normal, low")
    return PRIORITIES[value.lower()]


def _tags(entry: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = entry.get("tags", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ConfigError(f"{where}: key 'tags' must be a list of names, like [\"complaint\"]")
    for tag in value:
        if not _TAG.fullmatch(tag):
            raise ConfigError(
                f"{where}: key 'tags': {tag!r}: a tag is letters, digits, '-' and '_' only"
            )
    return tuple(dict.fromkeys(t.lower() for t in value))


def _accounts_named(node: Node) -> Iterable[str]:
    if isinstance(node, Field) and node.name == "account":
        yield node.value
    elif isinstance(node, Not):
        yield from _accounts_named(node.child)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _accounts_named(child)
