"""`export --format markdown|html`: the stats summary and the waiting mentions, hostile text inert.

The Markdown is rendered by a real CommonMark parser with GFM tables (markdown-it-py, which
rich already depends on), so "escaped" means what a reader of the rendered report sees.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from mentionwatch.fetched import Mention
from tests.history import NOW, add, at, build, freeze, mw_split

EVIL_ACCOUNT = "evil|<b>co</b>"
EXTRA = f"""
[[accounts]]
name = "{EVIL_ACCOUNT}"
platform = "feed"
url = "https://feeds.example/alerts.atom"
"""
SCRIPT = "<script>alert(1)</script>"
HOSTILE_TEXT = (
    f"{SCRIPT} | col | [bold red]fake[/bold red] \x1b[31mred\x1b[0m \x07bell "
    "[click](javascript:alert(2)) ![img](http://evil.example/x.png) <b>*bold*</b> &amp; `code`"
)
HOSTILE = [
    Mention(
        "h1",
        "javascript:alert(3)",
        "attacker|x",
        HOSTILE_TEXT,
        at(20, 13, 30),
        title="**Title** <img src=x onerror=alert(1)>",
    ),
    Mention(
        "h2",
        'https://example.com/a b"onmouseover="alert(4)',
        "- list <i>",
        "# heading\n1. item",
        at(20, 13, 40),
    ),
]
# What each hostile mention's last cell must read, once rendered, before its link.
VISIBLE = [
    "**Title** <img src=x onerror=alert(1)>: "
    + HOSTILE_TEXT.replace("\x1b[31m", "").replace("\x1b[0m", "").replace("\x07", ""),
    "# heading 1. item",
]


class Page(HTMLParser):
    """Every tag with its attributes, and every table as rows of cell texts."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def names(self) -> set[str]:
        return {tag for tag, _ in self.tags}

    def links(self) -> list[str]:
        return [str(attrs.get("href")) for tag, attrs in self.tags if tag == "a"]


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    freeze(monkeypatch, NOW)
    config, ids = build(tmp_path, EXTRA)
    add(config, EVIL_ACCOUNT, "feed", HOSTILE)
    return config, ids


def markdown_page(config: Path, *args: str) -> tuple[str, Page]:
    code, out, err = mw_split(config, "export", "--format", "markdown", *args)
    assert code == 0, err
    html = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(out)
    return out, Page(html)


def html_page(config: Path, *args: str) -> tuple[str, Page]:
    code, out, err = mw_split(config, "export", "--format", "html", *args)
    assert code == 0, err
    return out, Page(out)


def assert_inert(page: Page) -> None:
    """Nothing a mention or an account name says became markup, and every link is http(s)."""
    assert page.names() <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p",
                            "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td",
                            "a"}  # fmt: skip
    assert all(link.startswith(("https://", "http://")) for link in page.links())
    text = "".join(page.text)
    assert "\x1b" not in text and "\x07" not in text


@pytest.mark.parametrize("render", [markdown_page, html_page], ids=["markdown", "html"])
def test_report_summary_has_a_row_per_account_and_the_known_figures(
    hostile: tuple[Path, dict[str, int]], render: object
) -> None:
    config, _ = hostile
    _, page = render(config)  # type: ignore[operator]
    summary, times, mentions = page.tables
    assert summary[0][:4] == ["Account", "Received", "Answered", "Dismissed"]
    rows = {r[0]: r for r in summary[1:]}
    assert list(rows) == ["brand", "ceo", EVIL_ACCOUNT, "support", "all"]
    assert rows["all"][1:8] == ["16", "8", "1", "6", "1", "53%", "75%"]
    assert rows["support"][1:8] == ["4", "3", "0", "1", "0", "75%", "67%"]
    assert rows[EVIL_ACCOUNT][1:5] == ["2", "0", "0", "2"]
    assert ["support", "business", "3", "2h", "4h 24m"] == [
        r for r in times if r[:2] == ["support", "business"]
    ][0][:5]
    assert all(len(r) == len(summary[0]) for r in summary)
    # The waiting mentions, oldest first, each with its SLA on its own clock.
    assert mentions[0] == ["ID", "Age", "SLA", "Where", "Author", "Mention"]
    assert [r[2] for r in mentions[1:]] == [
        "overdue by 6h (business hours)", "overdue by 1h", "overdue by 30m", "overdue by 20m",
        "10m left", "45m left",
    ]  # fmt: skip
    assert all(len(r) == 6 for r in mentions)


@pytest.mark.parametrize("render", [markdown_page, html_page], ids=["markdown", "html"])
def test_report_shows_hostile_text_literally_and_links_only_to_http(
    hostile: tuple[Path, dict[str, int]], render: object
) -> None:
    config, _ = hostile
    _, page = render(config, "--account", EVIL_ACCOUNT)  # type: ignore[operator]
    assert_inert(page)
    mentions = page.tables[-1][1:]
    assert [r[3] for r in mentions] == [f"feed/{EVIL_ACCOUNT}"] * 2
    assert [r[4] for r in mentions] == ["attacker|x", "- list <i>"]
    # javascript: gets no link at all; the https link keeps its quote and space encoded.
    assert mentions[0][5] == VISIBLE[0]
    assert mentions[1][5] == VISIBLE[1] + " link"
    assert len(page.links()) == 1


def test_markdown_report_escapes_every_table_cell_and_the_link(
    hostile: tuple[Path, dict[str, int]],
) -> None:
    config, _ = hostile
    out, page = markdown_page(config, "--account", EVIL_ACCOUNT)
    assert page.links() == ["https://example.com/a%20b%22onmouseover=%22alert(4)"]
    assert SCRIPT not in out and "\\<script\\>" in out
    assert "evil\\|\\<b\\>co\\</b\\>" in out


def test_html_report_escapes_attributes_and_forbids_scripts_by_policy(
    hostile: tuple[Path, dict[str, int]],
) -> None:
    config, _ = hostile
    out, page = html_page(config, "--account", EVIL_ACCOUNT)
    assert SCRIPT not in out and "&lt;script&gt;" in out
    assert page.links() == ['https://example.com/a b"onmouseover="alert(4)']
    (anchor,) = [attrs for tag, attrs in page.tags if tag == "a"]
    assert "onmouseover" not in anchor and anchor["rel"] == "noopener noreferrer nofollow"
    policy = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert policy == ["default-src 'none'; style-src 'unsafe-inline'"]


def test_report_to_a_file_is_written_whole(
    hostile: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    config, _ = hostile
    target = tmp_path / "report.md"
    code, _, err = mw_split(config, "export", "-f", "markdown", "--overdue", "-o", str(target))
    assert code == 0 and "Wrote 4 mentions" in err
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# mentionwatch report\n") and text.endswith(
        "4 mentions. \\(bh\\): counted in business hours only.\n"
    )
    assert not (tmp_path / "report.md.partial").exists()
