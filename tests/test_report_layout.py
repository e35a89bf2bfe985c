"""The HTML report keeps its Mention column on the page, however long a link in a mention is.

The layout itself is checked in a browser (a headless Chromium screenshot at 1000 px, see the
issue's notes); this test holds the structure and the rules that layout relies on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.history import NOW, add, at, build, freeze, mention, mw_split
from tests.test_report_export import Page

UNBROKEN = (
    "https://www.google.com/url?rct=j&sa=t&url=https://news.example.com/" + "x" * 180
)  # unbroken, under the 280-character excerpt


def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Page]:
    freeze(monkeypatch, NOW)
    config, _ = build(tmp_path)
    long = mention("long", at(20, 9), text=f"Read this: {UNBROKEN} now")._replace(url=UNBROKEN)
    add(config, "brand", "mastodon", [long])
    code, out, err = mw_split(config, "export", "--format", "html", "--all")
    assert code == 0, err
    return out, Page(out)


def css_rules(html: str) -> dict[str, str]:
    """Selector -> declarations of the page's one style sheet."""
    sheet = html.split("<style>", 1)[1].split("</style>", 1)[0]
    return {sel.strip(): body.strip() for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", sheet)}


def test_the_mentions_table_has_fixed_columns_and_wraps_long_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html, page = report(tmp_path, monkeypatch)
    rules = css_rules(html)
    assert "table-layout: fixed" in rules["table.mentions"]
    assert "width: 100%" in rules["table.mentions"]
    assert "overflow-wrap: anywhere" in rules["p, table.mentions td"]
    # Every column but Mention has a width; Mention takes the rest of the page.
    tables = [attrs for tag, attrs in page.tags if tag == "table"]
    assert tables[-1].get("class") == "mentions"
    cols = [str(attrs.get("class")) for tag, attrs in page.tags if tag == "col"]
    assert cols == ["id", "age", "sla", "where", "author", "mention"]
    for name in cols[:-1]:
        assert re.search(rf"col\.{name} \{{ width: [\d.]+em; \}}", html), name
    assert not any(sel.startswith("col.mention") for sel in rules)
    # The summary tables keep their natural layout: their headers must not break mid-word.
    assert "overflow-wrap" not in rules.get("th, td", "")
    mentions = page.tables[-1]
    assert mentions[0] == ["ID", "Age", "SLA", "Where", "Author", "Mention"]
    assert any(row[-1].startswith(f"Read this: {UNBROKEN}") for row in mentions[1:])
