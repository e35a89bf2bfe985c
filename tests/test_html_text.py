"""html_to_text's fast tokenizer must say exactly what HTMLParser says, or step aside."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch import post_html
from mentionwatch.post_html import _simple_parts, _TextExtractor, html_to_text


def parsed_by_htmlparser(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in lines).strip()


_TAGS = st.sampled_from(["p", "a", "span", "br", "BR", "A", "div", "script", "h1", "b"])
_VALUES = st.sampled_from(
    ['"https://ex.co/a"', "'https://ex.co/b?x=1&amp;y=2'", "https://ex.co/c", '"a<b"', "x=y", ""]
)
_ATTR = st.builds(
    lambda name, value: f" {name}={value}" if value else f" {name}",
    st.sampled_from(["href", "HREF", "class", "rel", "data-x", "9bad"]),
    _VALUES,
)
_TAG = st.builds(
    lambda close, tag, attrs, slash, space: f"<{close}{tag}{''.join(attrs)}{space}{slash}>",
    st.sampled_from(["", "/"]),
    _TAGS,
    st.lists(_ATTR, max_size=3),
    st.sampled_from(["", "/"]),
    st.sampled_from(["", " ", "\n"]),
)
_TEXT = st.sampled_from(
    ["hello", " @brand ", "ExampleCo", "&amp;", "&lt;b&gt;", "&#39;", "&nope", "a < b", "<",
     "<!-- c -->", "\n", "  ", "https://ex.co/a", "tail&", "\u00a0", "\x1c\u2003", "\r\n",
     # The references the fast path unescapes itself, and near misses that it must not.
     "&quot;", "&amp;lt;", "&#391;", "&&gt;", "&lt", "amp;", "&am", "p;", "&#x27;", "a>b"]
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(_TAG, _TEXT), max_size=12))
def test_fast_path_reads_markup_exactly_like_htmlparser(pieces: list[str]) -> None:
    markup = "".join(pieces)
    assert html_to_text(markup) == parsed_by_htmlparser(markup)


def test_fast_path_takes_the_markup_mastodon_sends() -> None:
    markup = '<p>Hi <a href="https://ex.co/x" rel="nofollow">ex.co/x</a><br/>bye &amp; thanks</p>'
    assert _simple_parts(markup) is not None


def test_mastodon_mention_markup_keeps_links_that_text_hides() -> None:
    markup = (
        '<p><span class="h-card"><a href="https://m.example/@brand" class="u-url mention">'
        '@<span>brand</span></a></span> see <a href="https://ex.co/x">here</a> &amp; '
        "<br/>thanks</p>"
    )
    assert html_to_text(markup) == "@brand see here (https://ex.co/x) &\nthanks"


def test_tags_read_once_are_remembered_within_a_bound() -> None:
    hostile = "".join(f'<span class="c{i}">x</span>' for i in range(post_html._KNOWN_MAX + 10))
    markup = f'<p>{hostile}<a href="https://ex.co/x">here</a></p>'

    assert html_to_text(markup) == parsed_by_htmlparser(markup)
    assert len(post_html._KNOWN) <= post_html._KNOWN_MAX
    # Tags read before the bound was reached and those read after it read alike.
    again = '<p><span class="c1">x</span><span class="c99999">y</span></p>'
    assert html_to_text(again) == "xy"


def test_a_quoted_value_holding_a_close_bracket_goes_to_htmlparser() -> None:
    markup = '<p><a title="a>b" href="https://ex.co/x">here</a></p>'

    assert _simple_parts(markup) is None
    assert html_to_text(markup) == "here (https://ex.co/x)"
