"""Shown times are in the configured [settings] timezone, else the system's; data stays UTC."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mentionwatch.config import load
from mentionwatch.digest.model import collect
from mentionwatch.digest.render import render_html
from mentionwatch.digest.settings import DigestSettings
from mentionwatch.store import Store
from mentionwatch.timeutil import display_zone, format_time
from tests.history import NOW, at, build, database, freeze, mention, mw_split

TOKYO_CONFIG = """\
[settings]
database = "{db}"

[[accounts]]
name = "brand"
platform = "mastodon"
server = "https://mastodon.example"
handle = "brand"
"""


@pytest.fixture
def system_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local zone is Tokyo's (UTC+9, "JST") for the test, then back."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_format_time_shows_the_wall_clock_and_abbreviation_of_the_zone() -> None:
    berlin = display_zone("Europe/Berlin")
    assert format_time(at(20, 15), berlin) == "2026-11-20 16:00 CET"
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert format_time(summer, berlin) == "2026-07-01 14:00 CEST"
    # A zone without a letter abbreviation shows its offset, never a bare "-03".
    assert format_time(summer, display_zone("America/Sao_Paulo")) == "2026-07-01 09:00 UTC-03"
    assert format_time(summer, berlin, "%a %d %b, %H:%M") == "Wed 01 Jul, 14:00 CEST"


def test_format_time_without_a_configured_zone_uses_the_system_one(system_zone: None) -> None:
    assert display_zone("") is None
    assert format_time(at(20, 15), None) == "2026-11-21 00:00 JST"


def test_show_stats_and_digest_use_the_configured_timezone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_zone: None
) -> None:
    freeze(monkeypatch, NOW)
    config, ids = build(tmp_path)  # [settings] timezone = "Europe/Berlin": it beats the system
    code, out, err = mw_split(config, "show", str(ids["m7"]))
    assert code == 0, err
    assert "2026-11-20 14:00 CET (2h ago)" in out  # m7 came at 13:00 UTC
    assert "due 2026-11-20 15:00 CET" in out
    assert "UTC" not in out and "JST" not in out
    code, out, err = mw_split(config, "show", str(ids["m2"]))
    assert "2026-11-16 12:20 CET by alice" in out
    code, out, err = mw_split(config, "stats")
    assert code == 0, err
    assert "until 2026-11-20 16:00 CET" in out and "UTC" not in out
    code, out, err = mw_split(config, "digest", "--dry-run")
    assert code == 0, err
    assert "digest, Fri 20 Nov 2026 16:00 CET" in out
    with Store.open(database(tmp_path / "history.db")) as store:
        digest = collect(store, load(config), DigestSettings(), NOW, None)
    assert "Fri 20 Nov 2026, 16:00 CET</p>" in render_html(digest, "mw", "title")


def test_reports_show_the_zone_but_json_and_csv_stay_utc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    config, ids = build(tmp_path)
    for fmt in ("markdown", "html"):
        code, out, err = mw_split(config, "export", "--format", fmt, "--all")
        assert code == 0, err
        assert "until 2026-11-20 16:00 CET" in out and " UTC" not in out, fmt
    code, out, err = mw_split(config, "export", "--format", "json", "--all")
    by_id = {row["id"]: row for row in json.loads(out)}
    assert by_id[ids["m7"]]["created_at"] == "2026-11-20T13:00:00+00:00"
    code, out, err = mw_split(config, "export", "--format", "csv", "--all")
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(out))}
    assert rows[ids["m7"]]["created_at"] == "2026-11-20T13:00:00+00:00"


def test_without_a_configured_timezone_times_are_in_the_system_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_zone: None
) -> None:
    freeze(monkeypatch, NOW)
    db = database(tmp_path / "tokyo.db")
    config = tmp_path / "tokyo.toml"
    config.write_text(TOKYO_CONFIG.format(db=db), encoding="utf-8")
    config.chmod(0o600)
    with Store.open(db) as store:
        store.save_poll("brand", "mastodon", [mention("t1", at(20, 14))], [], {}, NOW)
    code, out, err = mw_split(config, "show", "1")
    assert code == 0, err
    assert "2026-11-20 23:00 JST (1h ago)" in out
    code, out, err = mw_split(config, "stats", "--since", "2d")
    assert "until 2026-11-21 00:00 JST" in out
    # Days count on the same clock: 20:00 UTC on the 19th is the 20th's early morning in Tokyo.
    with Store.open(db) as store:
        store.save_poll("brand", "mastodon", [mention("t2", at(19, 20))], [], {}, NOW)
    code, out, err = mw_split(config, "stats", "--by", "day", "--since", "2d", "--json")
    figures = json.loads(out)
    assert figures["timezone"] == "JST"
    assert [g["group"] for g in figures["groups"]] == ["2026-11-20"]


def test_show_thread_times_are_in_the_configured_timezone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentionwatch.fetched import Post
    from mentionwatch.render.thread import thread_view

    freeze(monkeypatch, NOW)
    config, ids = build(tmp_path)
    with Store.open(database(tmp_path / "history.db")) as store:
        m7 = store.get(ids["m7"], NOW)
    earlier = Post("p1", "https://example.social/@brand/p1", "brand", "our post", at(20, 12))
    view = thread_view([earlier], m7, load(config).zone).plain
    assert "brand  2026-11-20 13:00 CET" in view and "fan  2026-11-20 14:00 CET" in view
    assert "UTC" not in view
