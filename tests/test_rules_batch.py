"""A poll's mentions decided together (Compiled.masks, one scan over them all) decide exactly
what deciding each one alone does: the table of the language, and random texts."""

from __future__ import annotations

import random
import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch.rules import Rule, RuleSet, parse, scan
from mentionwatch.rules.match import Compiled, compile_all
from mentionwatch.rules.parse import fold, fold_long
from mentionwatch.rules.scan import view
from tests.test_rules_language import CASES, Post, _post

# Enough mentions that the batch scans them joined rather than one by one.
FILLER = [Post(f"filler number {i}, nothing to see") for i in range(10)]


def _one_by_one(compiled: Compiled, posts: list[Post]) -> list[int]:
    return [
        compiled.mask(p.text, p.title, p.author, p.platform, p.account, p.kind, p.lang)
        for p in posts
    ]


def _together(compiled: Compiled, posts: list[Post], platform: str, account: str) -> list[int]:
    return compiled.masks(posts, platform, account)


def test_every_case_of_the_table_is_decided_the_same_in_a_batch() -> None:
    compiled = compile_all([parse(case.expr) for case in CASES])
    posts = [_post(item) for case in CASES for item in (*case.hits, *case.misses)]
    by_place: dict[tuple[str, str], list[int]] = {}
    for i, post in enumerate(posts):
        by_place.setdefault((post.platform, post.account), []).append(i)
    for (platform, account), where in by_place.items():
        batch = [posts[i] for i in where] + [
            Post(f.text, platform=platform, account=account) for f in FILLER
        ]
        together = _together(compiled, batch, platform, account)
        assert together == _one_by_one(compiled, batch)
    # And each case still means what the table says, decided together.
    for index, case in enumerate(CASES):
        hits, misses = [_post(i) for i in case.hits], [_post(i) for i in case.misses]
        for post in hits + misses:
            batch = [post, *(Post(f.text, platform=post.platform, account=post.account)
                             for f in FILLER)]  # fmt: skip
            mask = _together(compiled, batch, post.platform, post.account)[0]
            assert bool(mask >> index & 1) == (post in hits), f"{case.expr!r} on {post}"


EXPRESSIONS = [
    "refund",
    '"not broken"',
    '(refund OR broken OR cancel OR "worst" OR scam) -"not broken"',
    "café OR straße OR 東京",
    "#help -#spam",
    "@dana",
    "/example-?co/i",
    "/Example/",
    "has:link (giveaway OR airdrop)",
    "domain:example.com",
    "-refund",
    "lang:de OR author:dana",
    '"a b" OR e-mail',
    "/colou?r [ab]x/i",
    '"would be nice" -"not be"',
    "hello OR /fine/i",
]
PIECES = (
    ["refund", "REFUND", "broken", "not", "Not", "worst", "scam", "café", "CAFE", "straße",
     "STRASSE", "東京", "#help", "#spam", "@dana", "@Dana@example.social", "ExampleCo",
     "example-co", "Example", "giveaway", "https://example.com/x", "http://shop.example.com",
     "https://example.com.evil.net", "a", "b", "e", "mail", "ﬁne", " ", ", ", "...", "\n", "\x00",
     "\x01", "\xff", "\uffff", "Colour AX", "color bx", "colr", "K", "“", "”", "é", "–", "_",
     "://", "x", "would", "be", "nice", "would be nice", "HTTPS://EXAMPLE.COM/y",
     "httpſ://example.com", "hxxp://example.com", "http:/", "ﬁ", "\u0301", "\u0653", "ا", "한",
     "\ud800", "ℌello", "HELLO", "𝚨", "fıne", "FINE", "ı"]
)  # fmt: skip
_PIECES = st.sampled_from(PIECES)
_TEXT = st.lists(_PIECES, max_size=12).map("".join) | st.text(max_size=30)
_POST = st.builds(
    Post,
    text=_TEXT,
    title=st.sampled_from(["", "", "Refund title", "Café"]),
    author=st.sampled_from(["dana", "@Dana", "erin"]),
    lang=st.sampled_from(["", "de", "DE-at", "en"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_POST, min_size=1, max_size=30))
def test_random_mentions_are_decided_the_same_together_as_alone(posts: list[Post]) -> None:
    compiled = compile_all([parse(e) for e in EXPRESSIONS])
    assert _together(compiled, posts, "mastodon", "brand") == _one_by_one(compiled, posts)


def test_a_batch_of_many_chunks_searched_on_a_second_thread_decides_as_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Past two chunks the searches run on a thread of their own while the texts beyond
    # ASCII and the field bits are worked out: the chunks must join up in order.
    rnd = random.Random(17)
    posts = [
        Post(
            "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 9))),
            author=rnd.choice(["dana", "@Dana", "erin"]),
            lang=rnd.choice(["", "de", "en"]),
        )
        for _ in range(3 * scan._CHUNK + 5)
    ]
    # A text of its own \x01 in the middle of a later chunk: that chunk is searched again.
    posts[2 * scan._CHUNK + 3] = Post("refund \x01 https://example.com/x")
    compiled = compile_all([parse(e) for e in EXPRESSIONS])
    searching: set[str] = set()
    search = scan.Scanner._search

    def _search(self: scan.Scanner, joined: str) -> list[str]:
        searching.add(threading.current_thread().name)
        return search(self, joined)

    monkeypatch.setattr(scan.Scanner, "_search", _search)
    together = _together(compiled, posts, "mastodon", "brand")
    assert together == _one_by_one(compiled, posts)
    assert any(name.startswith("mentionwatch-scan") for name in searching)


def test_outcomes_of_a_poll_are_each_mentions_outcome_in_order() -> None:
    rules = RuleSet(
        [
            Rule(
                "complaints",
                "refund OR broken",
                parse("refund OR broken"),
                priority=0,
                tags=("complaint",),
            ),  # fmt: skip
            Rule("spam", "has:link giveaway", parse("has:link giveaway"), dismiss="spam"),
            Rule("german", "lang:de", parse("lang:de"), tags=("de",)),
        ]
    )
    posts = [
        Post("a refund please"),
        Post("giveaway https://x.example/a"),
        Post("Café fermé, refund", lang="de"),
        *FILLER,
        Post("broken again", lang="de-AT"),
    ]
    found = rules.outcomes(posts, "mastodon", "brand")
    alone = [rules.outcome(p.text, p.title, p.author, "mastodon", "brand", p.kind, p.lang)
             for p in posts]  # fmt: skip
    assert found == alone
    assert [o.rules for o in found[:3]] == [("complaints",), ("spam",), ("complaints", "german")]
    assert found[-1].tags == ("complaint", "de")
    assert found[3].rules == ()


def test_more_words_than_a_byte_can_number_are_still_found_in_a_batch() -> None:
    # 300 words: the scan's pattern numbers no longer fit a byte, so it walks the matches.
    compiled = compile_all([parse(" OR ".join(f"w{i}" for i in range(300))), parse("w299 w7")])
    posts = [Post(f"say w{i * 37 % 300}, w7 and w299") for i in range(12)] + [Post("nothing")]
    assert _together(compiled, posts, "mastodon", "brand") == [3] * 12 + [0]
    assert _one_by_one(compiled, posts) == [3] * 12 + [0]


def test_a_phrase_is_found_whole_and_across_any_punctuation_but_never_across_two_mentions(
) -> None:  # fmt: skip
    compiled = compile_all([parse('"would be nice"')])
    posts = [
        Post("it would be nice"),
        Post("Would... be -- NICE!"),
        Post("would be, nice"),
        Post("would!!!!!! be nice"),  # a gap longer than a scan tells apart
        Post("it would"),  # the next mention goes on "be nice": not one phrase
        Post("be nice"),
        Post("would be nicer"),
        Post("would nice be"),
        *FILLER,
    ]
    expected = [1, 1, 1, 1] + [0] * (len(posts) - 4)
    assert _together(compiled, posts, "mastodon", "brand") == expected
    assert _one_by_one(compiled, posts) == expected


def test_a_link_is_any_http_or_https_url_in_any_case() -> None:
    compiled = compile_all([parse("has:link"), parse("domain:example.com")])
    posts = [
        Post("see HTTPS://Shop.EXAMPLE.com/x"),
        Post("see http://example.com"),
        Post("see httpſ://example.com"),  # re's IGNORECASE: ſ is an s
        Post("see ftp://example.com and example.com"),
        Post("see http ://example.com"),
        *FILLER,
    ]
    expected = [3, 3, 3, 0, 0] + [0] * len(FILLER)
    assert _together(compiled, posts, "mastodon", "brand") == expected
    assert _one_by_one(compiled, posts) == expected


_MANY_MARKS = "".join(chr(c) for c in range(0x300, 0x340))  # more kinds than a replace each
_MANY_SIGNS = "".join(chr(c) for c in range(0x2010, 0x2050))  # dashes, quotes, bullets


@settings(max_examples=300, deadline=None)
@given(_TEXT | st.sampled_from(["é" + _MANY_MARKS + "x", "a" + _MANY_SIGNS + "b"]))
def test_a_long_text_folds_to_what_fold_makes_of_it(text: str) -> None:
    assert fold_long(text) == fold(text)
    assert fold_long(text * 3 + _MANY_MARKS) == fold(text * 3 + _MANY_MARKS)


# What folding each kind of character alone gets wrong (its fold composes with the next, or
# more kinds than a replace each), and what it gets right.
_HARD = [
    "a" + _MANY_SIGNS + "b é–x",
    "é" + _MANY_MARKS + "x",
    "\u0627\u0653 x",  # alef, then madda above: one letter, composed
    "\u1100\u1161 x",  # Hangul jamo: one syllable, composed
    "\u304b\u3099",  # か and a voicing mark: が
    "ℌello 𝚨 ﬁne Straße İstanbul",
    "x\u0301\u0327y",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXT, max_size=4).map(" ".join) | st.sampled_from(_HARD))
def test_the_words_a_scan_sees_beyond_ascii_are_the_words_of_the_folded_text(text: str) -> None:
    text = text.replace("\x01", " ")  # a scan's separator: a text's own is a space first
    assert view(text).split() == re.findall(r"\w+", fold(text))


def test_capitals_that_only_decomposing_makes_are_folded_too() -> None:
    # NFKD turns "ℌ" into "H", which casefold (done first) had left alone.
    compiled = compile_all([parse("hello"), parse("ℌello")])
    posts = [Post("ℌello there"), Post("HELLO"), Post("𝐡ello"), Post("help"), *FILLER]
    expected = [3, 3, 3, 0] + [0] * len(FILLER)
    assert _together(compiled, posts, "mastodon", "brand") == expected
    assert _one_by_one(compiled, posts) == expected


def test_a_regex_literal_rules_texts_beyond_ascii_out_unless_it_has_an_i() -> None:
    # /fine/i matches "fıne" (re's dotless i), which folds to itself: its pre-test cannot rule
    # a text beyond ASCII out; /exampleco/i's can ("exampleco" is in any text it matches).
    compiled = compile_all([parse("/fine/i"), parse("/exampleco/i")])
    assert compiled.plan.dotless == compiled.plan.regex_bit(re.compile("fine", re.I))
    posts = [Post("fıne café"), Post("ExampleCo café"), Post("EXAMPLEcO"), Post("café"), *FILLER]
    expected = [1, 2, 2, 0] + [0] * len(FILLER)
    assert _together(compiled, posts, "mastodon", "brand") == expected
    assert _one_by_one(compiled, posts) == expected
