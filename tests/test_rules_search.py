"""What each platform's search is sent for a set of expressions (sources/search.py).

The fake-server tests in tests/test_source_*.py show these queries on the wire and the local
check removing what a looser search let through; this table pins the translation itself.
"""

from __future__ import annotations

import pytest

from mentionwatch.sources.search import REDDIT, X, keyword_conjuncts, keyword_query, plain_terms

EXPRESSIONS = [
    "ExampleCo",
    '"Acme Planner"',
    "Acme Planner",
    "example-co",
    '(refund OR broken OR cancel OR "worst" OR scam) -"not broken"',
    'has:link (giveaway OR "free crypto")',
    "exampleco -author:examplebot lang:de",
    "/example-?co/i exampleco",
    "#help OR @dana",
    "a (b OR c) (d OR e)",
    "exampleco -(spam OR promo)",
    "exampleco domain:example.com",
]

# expression -> (X, Reddit, one conjunctive search per alternative as (terms, fields))
EXPECTED: dict[str, tuple[str, str, list[tuple[str, tuple[tuple[str, str], ...]]]]] = {
    "ExampleCo": ("ExampleCo", "ExampleCo", [("ExampleCo", ())]),
    '"Acme Planner"': ('"Acme Planner"', '"Acme Planner"', [('"Acme Planner"', ())]),
    "Acme Planner": ("Acme Planner", "Acme Planner", [("Acme Planner", ())]),
    "example-co": ('"example-co"', '"example-co"', [('"example-co"', ())]),
    '(refund OR broken OR cancel OR "worst" OR scam) -"not broken"': (
        '(refund OR broken OR cancel OR worst OR scam) -"not broken"',
        '(refund OR broken OR cancel OR worst OR scam) NOT "not broken"',
        [("refund", ()), ("broken", ()), ("cancel", ()), ("worst", ()), ("scam", ())],
    ),
    'has:link (giveaway OR "free crypto")': (
        'has:links (giveaway OR "free crypto")',
        'giveaway OR "free crypto"',
        [("giveaway", ()), ('"free crypto"', ())],
    ),
    "exampleco -author:examplebot lang:de": (
        "exampleco -from:examplebot lang:de",
        "exampleco NOT author:examplebot",
        [("exampleco", (("lang", "de"),))],
    ),
    "/example-?co/i exampleco": ("exampleco", "exampleco", [("exampleco", ())]),
    "#help OR @dana": ("#help OR @dana", "#help OR @dana", [("#help", ()), ("@dana", ())]),
    "a (b OR c) (d OR e)": (
        "a (b OR c) (d OR e)",
        "a (b OR c) (d OR e)",
        [("a b d", ()), ("a b e", ()), ("a c d", ()), ("a c e", ())],
    ),
    "exampleco -(spam OR promo)": ("exampleco", "exampleco", [("exampleco", ())]),
    "exampleco domain:example.com": (
        "exampleco url:example.com",
        "exampleco",
        [("exampleco", (("domain", "example.com"),))],
    ),
}


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_each_platform_is_sent_the_part_of_the_expression_it_supports(expression: str) -> None:
    x, reddit, conjunctive = EXPECTED[expression]
    assert keyword_query(expression, X) == x
    assert keyword_query(expression, REDDIT) == reddit
    found = [(plain_terms(c), c.fields) for c in keyword_conjuncts(expression)]
    assert found == conjunctive


def test_an_and_of_many_alternatives_searches_fewer_of_its_parts_not_all_combinations() -> None:
    expression = "(a OR b OR c) (d OR e OR f) (g OR h)"
    found = keyword_conjuncts(expression)
    assert 0 < len(found) <= 8
    # Every alternative still has a word from the first group: a superset, never empty.
    assert all(c.terms for c in found)
