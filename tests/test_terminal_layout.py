"""`list`, `show` and `stats` laid out for 80 and 140 columns: no link, header or date split."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
from rich.cells import cell_len
from rich.console import Console, RenderableType

from mentionwatch.config import Config, load
from mentionwatch.models import StoredMention
from mentionwatch.render.detail import mention_detail
from mentionwatch.render.listing import Row, lay_out, list_row, mention_list
from mentionwatch.render.stats import render
from mentionwatch.stats import compute
from mentionwatch.store import MentionFilter, Store
from mentionwatch.text import one_line
from tests.history import NOW, add, at, build, mention

# Too long to sit under the excerpt at 80 columns, short enough at 140.
LONG_URL = "https://forum.example.org/t/exampleco-for-a-studio/4412?p=2"
HUGE_URL = "https://news.example.com/" + "a-very-long-slug-" * 12 + "?utm_source=alerts"
LONG_AUTHOR = "someone.with.a.rather.long.handle@mastodon.example.social"
WIDTHS = (80, 140)


def rendered(
    renderable: RenderableType, width: int, *, styled: bool = False, soft_wrap: bool = False
) -> str:
    """What a terminal `width` columns wide receives, printed the way the CLI prints it."""
    screen = io.StringIO()
    colors: Literal["truecolor"] | None = "truecolor" if styled else None
    console = Console(file=screen, width=width, force_terminal=styled, color_system=colors,
                      highlight=False, emoji=False)  # fmt: skip
    console.print(renderable, soft_wrap=soft_wrap, crop=False)
    return screen.getvalue()


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Config, list[StoredMention]]:
    """The week's waiting mentions, plus one with a long link and author and long text."""
    config, _ = build(tmp_path)
    long = mention("long", at(20, 9), text="Is ExampleCo worth it? " * 12, author=LONG_AUTHOR)
    add(config, "brand", "mastodon", [long._replace(url=LONG_URL)])
    loaded = load(config)
    with Store.open(tmp_path / "history.db") as store:
        return loaded, list(store.mentions(MentionFilter(), NOW))


def listed(config: Config, mentions: list[StoredMention], width: int) -> list[str]:
    text = mention_list(mentions, config, NOW, width, styled=False)
    return rendered(text, width, soft_wrap=True).splitlines()  # as `list` prints it


@pytest.mark.parametrize("width", WIDTHS)
def test_list_never_splits_a_link_and_every_line_fits(
    stored: tuple[Config, list[StoredMention]], width: int
) -> None:
    config, mentions = stored
    lines = listed(config, mentions, width)
    for m in mentions:
        assert sum(m.url in line for line in lines) == 1, (m.url, lines)
    assert all(cell_len(line) <= width for line in lines), lines
    # The long link does not fit under the excerpt at 80: it gets a line of its own.
    (own,) = [line for line in lines if LONG_URL in line]
    assert own.strip() == LONG_URL
    excerpt_at = lines[0].index("Mention / link")
    assert (own.index(LONG_URL) == excerpt_at) is (width == 140), (own, excerpt_at)


def test_a_link_longer_than_the_screen_is_one_whole_line_from_the_margin(tmp_path: Path) -> None:
    config, _ = build(tmp_path, history=False)
    huge = mention("huge", at(20, 10))._replace(url=HUGE_URL)
    add(config, "brand", "mastodon", [huge, mention("short", at(20, 11))])
    with Store.open(tmp_path / "history.db") as store:
        mentions = list(store.mentions(MentionFilter(), NOW))
    for width in WIDTHS:
        lines = listed(load(config), mentions, width)
        assert HUGE_URL in lines  # the whole line is the link: the terminal wraps it, we don't
        # The huge one does not push the others' links out from under their excerpts.
        (short,) = [line for line in lines if line.endswith("/@fan/short")]
        header = next(line for line in lines if line.startswith("ID  "))
        assert short.index("https://") == header.index("Mention / link")


@pytest.mark.parametrize("width", WIDTHS)
def test_list_header_is_whole_and_the_mention_is_the_widest_column(
    stored: tuple[Config, list[StoredMention]], width: int
) -> None:
    config, mentions = stored
    header = listed(config, mentions, width)[0]
    assert re.fullmatch(r"ID  Age +SLA +Where +Author +Mention / link", header), header
    widths = lay_out([list_row(m, config, NOW) for m in mentions], width).widths
    assert widths[-1] == max(widths) and widths[-1] >= width // 3, widths


def test_list_at_140_columns_shows_whole_what_fits(
    stored: tuple[Config, list[StoredMention]],
) -> None:
    config, mentions = stored
    lines = listed(config, mentions, 140)
    for m in mentions:
        if m.remote_id != "long":
            assert any(f"  {m.text}" in line and m.author in line for line in lines), m.text
    # Full SLA labels and platform/account where the screen has room.
    assert any("overdue by 1h" in line and "mastodon/brand" in line for line in lines)


def test_list_at_80_columns_uses_compact_age_and_sla_not_a_narrow_excerpt(
    stored: tuple[Config, list[StoredMention]],
) -> None:
    config, mentions = stored
    lines = listed(config, mentions, 80)
    m7 = next(m for m in mentions if m.remote_id == "m7")
    (row,) = [line for line in lines if re.match(rf"\s*{m7.id}\s", line)]
    assert "1h late" in row and "overdue by" not in row
    excerpt_at = lines[0].index("Mention / link")
    assert 80 - excerpt_at >= 30, lines[0]


def test_list_says_once_what_every_row_shares(tmp_path: Path) -> None:
    config, _ = build(tmp_path, history=False)
    add(config, "brand", "mastodon", [mention(f"r{i}", at(20, 10 + i)) for i in range(3)])
    with Store.open(tmp_path / "history.db") as store:
        mentions = list(store.mentions(MentionFilter(), NOW))
    for width in WIDTHS:
        lines = listed(load(config), mentions, width)
        assert lines[0] == "Where: mastodon/brand   Author: fan"
        assert re.fullmatch(r"ID  Age +SLA +Mention / link", lines[1]), lines[1]
        assert not any("mastodon/brand" in line for line in lines[2:])


def test_list_on_a_terminal_links_the_url_and_the_excerpt_with_osc_8(
    stored: tuple[Config, list[StoredMention]],
) -> None:
    config, mentions = stored
    output = rendered(mention_list(mentions, config, NOW, 80, styled=True), 80, styled=True)
    links = re.findall(r"\x1b]8;id=[^;]*;([^\x1b]*)\x1b\\", output)
    assert LONG_URL in links
    assert links.count(LONG_URL) >= 2  # the excerpt and the link line itself
    # Plain output (a pipe) carries no escape at all.
    plain = rendered(mention_list(mentions, config, NOW, 80, styled=False), 80, styled=True)
    assert "\x1b" not in plain


def test_list_does_not_link_a_url_that_is_not_http(tmp_path: Path) -> None:
    config, _ = build(tmp_path, history=False)
    add(
        config, "brand", "mastodon", [mention("js", at(20, 10))._replace(url="javascript:alert(1)")]
    )
    with Store.open(tmp_path / "history.db") as store:
        mentions = list(store.mentions(MentionFilter(), NOW))
    output = rendered(mention_list(mentions, load(config), NOW, 80), 80, styled=True)
    assert "javascript:alert(1)" in output and "\x1b]8;id" not in output


@pytest.mark.parametrize("width", WIDTHS)
def test_show_never_wraps_its_link(stored: tuple[Config, list[StoredMention]], width: int) -> None:
    config, mentions = stored
    long = next(m for m in mentions if m.remote_id == "long")
    lines = rendered(mention_detail(long, config, NOW, width), width).splitlines()
    assert sum(LONG_URL in line for line in lines) == 1, lines
    text_lines = [line for line in lines if "Is ExampleCo" in line]
    assert len(text_lines) > 1  # the text still wraps, under its label
    short = next(m for m in mentions if m.remote_id == "m7")
    lines = rendered(mention_detail(short, config, NOW, width), width).splitlines()
    assert any(re.fullmatch(rf"URL +{re.escape(short.url)} *", line) for line in lines)


def stats_lines(tmp_path: Path, width: int, by: str | None) -> list[str]:
    config, _ = build(tmp_path)
    with Store.open(tmp_path / "history.db") as store:
        figures = compute(store, load(config), NOW, window=timedelta(days=7), by=by)
    return rendered(render(figures, width), width).splitlines()


@pytest.mark.parametrize("by", ["account", "day"])
@pytest.mark.parametrize("width", WIDTHS)
def test_stats_never_splits_a_header_or_a_date(tmp_path: Path, width: int, by: str) -> None:
    lines = stats_lines(tmp_path, width, by)
    assert all(cell_len(line) <= width for line in lines), lines
    words = {word for line in lines for word in line.split()}
    assert not words & {"Dismisse", "d", "Answere", "Respons", "e", "2026-11-"}, words
    title = by.capitalize()
    (volume,) = [line for line in lines if line.startswith(f"{title} ") and "Open" in line]
    (times,) = [line for line in lines if line.startswith(f"{title} ") and "Clock" in line]
    if width == 140:
        assert volume.split() == [title, *"Received Answered Dismissed Open Snoozed".split(),
                                  *"Response rate Within SLA Oldest waiting".split()]  # fmt: skip
        assert "Quickest" in times and "Slowest" in times
    else:  # short headers, explained once, and the oldest waiting below the table
        assert volume.split()[:3] == [title, "Recv.", "Ans."]
        assert any(line.startswith("Recv. received, Ans. answered") for line in lines)
        assert "Oldest waiting:" in lines
    if by == "day":
        days = [line.split()[0] for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)]
        assert "2026-11-19" in days and "2026-11-20" in days


def test_stats_becomes_a_line_a_group_when_even_short_headers_do_not_fit(
    tmp_path: Path,
) -> None:
    lines = stats_lines(tmp_path, 40, "account")
    assert all(cell_len(line) <= 40 for line in lines), lines
    assert not any(line.startswith(("Account ", "brand  ")) for line in lines)  # no table
    words = " ".join(lines).split()
    assert "Dismisse" not in words and "2026-11-" not in words
    joined = one_line(" ".join(lines))
    assert "brand: received 8, answered 4, dismissed 1, open 2, snoozed 1" in joined
    assert "response rate 57%, within SLA 75%, oldest waiting #" in joined


def _row(rid: str, priority: str) -> Row:
    return Row(id=rid, priority=priority, age=("1h", "1h"), sla=("ok", "ok"),
               where=("mastodon/brand", "brand"), author=f"fan{rid}", excerpt="hello",
               style="", url="", business=False)  # fmt: skip


def test_list_shows_a_priority_column_only_when_priorities_differ() -> None:
    mixed = lay_out([_row("1", "high"), _row("2", "")], 80)
    assert mixed.headers[:3] == ("ID", "Pri", "Age") and not any(
        "Priority" in s for s in mixed.shared
    )
    same = lay_out([_row("1", "high"), _row("2", "high")], 80)
    assert "Pri" not in same.headers and same.shared == ("Priority: high   Where: mastodon/brand",)
    normal = lay_out([_row("1", ""), _row("2", "")], 80)
    assert "Pri" not in normal.headers and normal.shared == ("Where: mastodon/brand",)
