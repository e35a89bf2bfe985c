"""`list` by SLA state, and how it shows time left or overdue, with and without a calendar."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.history import NOW, add, at, build, freeze, mention, mw, mw_split


@pytest.fixture
def week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    freeze(monkeypatch, NOW)
    return build(tmp_path)


def listed(config: Path, *args: str) -> list[int]:
    code, out, err = mw_split(config, "list", "--jsonl", *args)
    assert code == 0, err
    return [json.loads(line)["id"] for line in out.splitlines()]


def row(output: str, mention_id: int) -> str:
    """The table line of one mention (its first line: id, age, SLA, where, author, text)."""
    found = re.search(rf"^\s*{mention_id}\s.*$", output, re.MULTILINE)
    assert found, output
    return found.group(0)


def test_list_state_breached_and_overdue_show_only_mentions_past_their_sla(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    assert listed(config, "--state", "breached") == [ids["s4"], ids["m7"]]
    assert listed(config, "--overdue") == [ids["s4"], ids["m7"]]
    assert listed(config, "--overdue", "--account", "brand") == [ids["m7"]]


def test_list_state_due_soon_and_ok_split_the_rest_of_the_waiting_mentions(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    assert listed(config, "--state", "due-soon") == [ids["m6"]]  # 50m of 1h, warn at 45m
    assert listed(config, "--state", "ok") == [ids["c2"]]
    assert listed(config, "--state", "breached", "--state", "due-soon") == [
        ids["s4"],
        ids["m7"],
        ids["m6"],
    ]
    assert listed(config, "--state", "breached", "--limit", "1") == [ids["s4"]]


def test_list_shows_overdue_by_and_time_left_in_business_hours_where_a_calendar_is_set(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    code, output = mw(config, "list")
    assert code == 0, output
    assert re.search(r"10h \(bh\)\s+overdue by 6h\s+github/support", row(output, ids["s4"]))
    assert re.search(r"2h\s+overdue by 1h\s+mastodon/brand", row(output, ids["m7"]))
    assert re.search(r"50m\s+10m left\s+mastodon/brand", row(output, ids["m6"]))
    assert re.search(r"15m\s+45m left\s+mastodon/ceo", row(output, ids["c2"]))
    assert "(bh): age and SLA count business hours only" in output


def test_list_without_a_calendar_shows_wall_clock_ages_and_no_business_note(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, _ = week
    code, output = mw(config, "list", "--account", "brand")
    assert code == 0, output
    assert "(bh)" not in output and "business" not in output


def test_list_breached_counts_business_hours_over_a_weekend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = build(tmp_path, history=False)
    add(config, "support", "github", [mention("friday", at(20, 16, 30))])  # 17:30 Berlin
    add(config, "brand", "mastodon", [mention("saturday", at(21, 9))])
    freeze(monkeypatch, at(23, 8, 10))  # Monday 09:10 in Berlin: 40 business minutes later
    code, output = mw(config, "list")
    assert code == 0, output
    assert re.search(r"40m \(bh\)\s+3h 20m left\s+github/support", row(output, 1))
    assert re.search(r"1d 23h\s+overdue by 1d 22h\s+mastodon/brand", row(output, 2))
    assert listed(config, "--state", "breached") == [2]
    assert listed(config, "--state", "ok") == [1]
    record = json.loads(mw_split(config, "list", "--json", "--account", "support")[1])[0]
    assert (record["sla_status"], record["sla_clock"]) == ("ok", "business hours")
    assert record["sla_left_seconds"] == 3 * 3600 + 20 * 60
    assert record["sla_due_at"] == "2026-11-23T11:30:00+00:00"


def test_list_overdue_keeps_mentions_of_an_account_removed_from_the_config(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    add(config, "retired", "mastodon", [mention("left-behind", at(20, 13, 30))])
    shown = listed(config)
    assert len(shown) == 5  # plain `list` shows it, breached on the default 1h SLA
    assert listed(config, "--overdue") == [ids["s4"], ids["m7"], max(shown)]
