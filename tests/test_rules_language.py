"""The search language, case by case: every expression against texts it must and must not match."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch.rules import ExpressionError, parse
from mentionwatch.rules.match import compile_all
from mentionwatch.rules.pretest import required_texts


@dataclass(frozen=True)
class Post:
    text: str
    title: str = ""
    author: str = "someone"
    platform: str = "mastodon"
    account: str = "brand-mastodon"
    kind: str = "mention"
    lang: str = ""


@dataclass(frozen=True)
class Case:
    expr: str
    hits: list[str | Post] = field(default_factory=list)
    misses: list[str | Post] = field(default_factory=list)


def _post(item: str | Post) -> Post:
    return item if isinstance(item, Post) else Post(item)


CASES = [
    # words: case-insensitive, whole words
    Case("refund", ["I want a refund", "REFUND now", "Refund?"], ["refunds please", "prefund"]),
    Case("ExampleCo", ["love exampleco", "EXAMPLECO!"], ["ExampleCorp", "example co"]),
    Case("co2", ["our co2 output"], ["co20", "co 2"]),
    Case("snake_case", ["use snake_case names"], ["snake case"]),
    # implicit AND, explicit AND
    Case("export broken", ["the export is broken", "broken export"], ["export works", "broken"]),
    Case("export AND broken", ["broken again, the export"], ["export only"]),
    # OR
    Case("refund OR cancel", ["refund me", "cancel it"], ["nothing here"]),
    Case("a OR b OR c", ["c"], ["d"]),
    Case("or", ["this or that"], ["order"]),  # lower-case "or" is a word
    # precedence: AND binds tighter than OR
    Case("refund now OR cancel", ["refund now", "cancel"], ["refund later"]),
    Case("refund (now OR today)", ["refund today"], ["refund later", "today"]),
    Case("(refund OR cancel) (now OR today)", ["cancel now"], ["cancel", "now"]),
    Case("refund OR cancel -test", ["refund test", "cancel"], ["cancel test"]),
    # NOT and -word
    Case("export -broken", ["export works"], ["export broken", "broken export"]),
    Case("export NOT broken", ["export fine"], ["export BROKEN"]),
    Case("-spam", ["hello"], ["buy spam"]),
    Case("NOT NOT hello", ["hello"], ["bye"]),
    Case("export -(broken OR slow)", ["export ok"], ["export slow", "export broken"]),
    Case('-"not broken" broken', ["it is broken"], ["it is not broken"]),
    Case("e-mail", ["send an e-mail", "e mail me", "E.MAIL"], ["email"]),  # a dash inside a word
    # phrases, across punctuation
    Case(
        '"not broken"', ["it's not broken", "not, broken", "not -- broken!"], ["not really broken"]
    ),
    Case('"free crypto"', ["FREE CRYPTO here", "free...crypto"], ["crypto free", "freecrypto"]),
    Case('"worst"', ["the worst!"], ["worsted"]),
    Case('"example.com"', ["visit example.com today", "example com"], ["examplecom"]),
    Case('"customer service" bad', ["bad customer-service"], ["customer bad service"]),
    Case('"a b c"', ["x a b c y"], ["a b", "a c b"]),
    Case("text:refund", ["refund"], ["refunded"]),
    Case('text:"new release"', ["our new release"], ["new big release"]),
    # Unicode: case folding and accents
    Case("café", ["CAFÉ open", "cafe open", "Café."], ["caf open"]),
    Case("CAFE", ["un café noir"], ["cafes"]),
    Case("straße", ["STRASSE", "Straße"], ["strasse2"]),
    Case("ÉCOLE", ["école", "Ecole"], ["ecoles"]),
    Case("naïve", ["so naive"], ["nave"]),
    Case("mañana", ["MANANA"], ["mana"]),
    Case("東京", ["我在 東京 上班"], ["京都"]),
    Case("Привет", ["ПРИВЕТ мир"], ["привет2"]),
    Case("ﬁne", ["fine by me"], ["fin"]),  # compatibility ligature folds to "fi"
    # hashtags and handles as words
    Case("#rust", ["I love #Rust", "#rust."], ["rust only", "#rustlang"]),
    Case("rust", ["I love #rust"], ["#rustlang"]),
    Case("@dana", ["hi @Dana", "hi @dana@example.social"], ["dana", "@danaB"]),
    Case("@dana@example.social", ["cc @dana@example.social"], ["@dana", "@dana@other.social"]),
    Case("#help -#spam", ["#help me"], ["#help #spam"]),
    # regular expressions
    Case("/example-?co/i", ["ExampleCo", "example-co rocks"], ["example co"]),
    Case("/Example/", ["Example"], ["example"]),
    Case(r"/\bv\d+\.\d+\b/", ["upgrade to v2.10 now"], ["version two"]),
    Case("/^urgent/im", ["hi\nURGENT: help"], ["not urgent"]),
    Case("/a\\/b/", ["a/b"], ["ab"]),
    Case("refund /\\d{3,}/", ["refund order 12345"], ["refund order 12"]),
    # fields
    Case("author:dana", [Post("x", author="Dana"), Post("x", author="@dana")], [Post("x")]),
    Case(
        "author:@bigcustomer@example.social OR author:journalist.bsky.social",
        [
            Post("x", author="bigcustomer@example.social"),
            Post("x", author="journalist.bsky.social"),
        ],
        [Post("x", author="bigcustomer")],
    ),
    Case("platform:bluesky", [Post("x", platform="bluesky")], [Post("x")]),
    Case("account:Brand-Mastodon", [Post("x")], [Post("x", account="other")]),
    Case("kind:keyword", [Post("x", kind="keyword")], [Post("x")]),
    Case(
        "kind:mention",
        [Post("x"), Post("x", kind="reply"), Post("x", kind="quote")],
        [Post("x", kind="keyword")],
    ),
    Case("kind:reply", [Post("x", kind="reply")], [Post("x")]),
    Case("lang:de", [Post("x", lang="de"), Post("x", lang="DE-at")], [Post("x", lang="en")]),
    Case("lang:pt-br", [Post("x", lang="pt-BR")], [Post("x", lang="pt")]),
    Case("has:link", ["see https://example.com/x", "http://a.b"], ["no link here", "example.com"]),
    Case(
        "domain:example.com",
        ["at https://www.example.com/a", "https://shop.example.com", "HTTPS://EXAMPLE.COM"],
        ["https://example.com.evil.net/x", "https://notexample.com", "example.com"],
    ),
    Case(
        'has:link (giveaway OR "free crypto")',
        ["giveaway! https://x.example/a", "free crypto http://x.example"],
        ["giveaway today", "https://x.example free stuff"],
    ),
    Case(
        "kind:keyword -author:bot (refund OR broken)",
        [Post("refund", kind="keyword")],
        [Post("refund", kind="keyword", author="bot"), Post("refund")],
    ),
    Case("platform:mastodon OR platform:bluesky", [Post("x")], [Post("x", platform="reddit")]),
    Case('author:"dana"', [Post("x", author="dana")], [Post("x")]),
    # the title counts as text
    Case("launch", [Post("body", title="Our launch")], [Post("body", title="other")]),
    # the complaints rule
    Case(
        '(refund OR broken OR cancel OR "worst" OR scam) -"not broken"',
        ["I want a refund", "Worst. Service. Ever.", "is this a scam?"],
        ["it's not broken, just slow", "love it"],
    ),
    # words next to URLs and punctuation
    Case("slow", ["(slow)", "slow,", '"slow"', "so…slow"], ["slowly"]),
    Case("10:30", ["meet at 10:30"], ["10 31"]),
    Case("https://example.com/pricing", ["see https://example.com/pricing!"], ["example pricing"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.expr for c in CASES])
def test_expression_matches_exactly_what_it_should(case: Case) -> None:
    compiled = compile_all([parse(case.expr)])
    for item in case.hits:
        post = _post(item)
        subject = compiled.subject(post.text, post.title, post.author, post.platform,
                                   post.account, post.kind, post.lang)  # fmt: skip
        assert compiled(subject) == [0], f"{case.expr!r} should match {post}"
    for item in case.misses:
        post = _post(item)
        subject = compiled.subject(post.text, post.title, post.author, post.platform,
                                   post.account, post.kind, post.lang)  # fmt: skip
        assert compiled(subject) == [], f"{case.expr!r} should not match {post}"


def test_the_table_has_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60


def test_several_expressions_compile_into_one_matcher_that_reports_each() -> None:
    compiled = compile_all([parse(e) for e in ("refund", "#help", "author:dana", "/x{3}/")])
    subject = compiled.subject("refund #help xxx", author="dana")
    assert compiled(subject) == [0, 1, 2, 3]
    assert compiled(compiled.subject("nothing")) == []


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('refund "worst', "unclosed quote at column 8"),
        ("(a OR b", "unclosed '(' at column 1"),
        ("a OR b)", "unexpected ')' at column 7"),
        ("a OR", "expected a word, a phrase or '(' here at column 5"),
        ("OR a", "OR needs something on both sides at column 1"),
        ("a AND OR b", "OR needs something on both sides at column 7"),
        ("", "empty expression at column 1"),
        ("   ", "empty expression at column 1"),
        ("-", "'-' has no letters or digits to match at column 1"),
        ('a ""', "an empty phrase has no letters or digits to match at column 3"),
        ("/[a/", "invalid regex (unterminated character set at position 0) at column 1"),
        ("x /abc", "unclosed regex (no closing /) at column 3"),
        ("/abc/q", "unknown regex flag 'q' (known: i, m, s, x) at column 6"),
        ("auther:bob", "unknown field 'auther:'"),
        ("author:", "author: needs a value at column 1"),
        ("platform:myspace", "platform:myspace: unknown platform"),
        ("kind:dm", "kind:dm: unknown kind"),
        ("has:image", "has:image: only has:link is known"),
        ("#", "'#' has no letters or digits to match at column 1"),
        ("a NOT", "expected a word, a phrase or '(' here at column 6"),
        ("(" * 60 + "a" + ")" * 60, "nested more than 50 deep"),
    ],
)
def test_a_mistake_is_named_with_its_column(expr: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(expr)
    assert message in str(caught.value)


def test_regex_pre_test_texts_are_only_what_every_match_contains() -> None:
    import re

    assert required_texts(re.compile("Example-?co", re.I)) == ("example-co", "exampleco")
    assert required_texts(re.compile("ab|cd")) == ()
    assert required_texts(re.compile(r"\d+ items")) == (" items",)
    assert required_texts(re.compile(r"v[12]\.\d")) == ("v1.", "v2.")
    assert required_texts(re.compile(r"v\d+")) == ()  # "v" is too short to help
    assert required_texts(re.compile(r"colou?r [ab]x")) == ("color ax", "color bx", "colour ax",
                                                            "colour bx")  # fmt: skip
    assert required_texts(re.compile("café", re.I)) == ()  # non-ASCII: no pre-test


_ALPHABET = st.sampled_from(
    list('abcXYZ é()"/-:#@\\*+?[]{}^$|.,;!\t\n') + ["OR", "AND", "NOT", "author:", "has:",
    "domain:", "kind:", "lang:", "platform:", "text:", "account:", "/i", '"', "(?"]
)  # fmt: skip


@settings(max_examples=800, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map("".join) | st.text(max_size=40))
def test_the_parser_raises_nothing_but_expression_errors(text: str) -> None:
    try:
        node = parse(text)
    except ExpressionError as exc:
        assert exc.column >= 1
        return
    # Whatever parses also compiles and runs.
    compiled = compile_all([node])
    compiled(compiled.subject(text, author="x", lang="en"))
