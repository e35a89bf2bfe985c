"""`check`: the exit code and one line a monitor reads, on the hand-built week of tests/history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.history import NOW, add, at, build, freeze, mention, mw_split


@pytest.fixture
def week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    freeze(monkeypatch, NOW)
    return build(tmp_path)


def test_check_exits_1_naming_the_most_overdue_breach(week: tuple[Path, dict[str, int]]) -> None:
    config, ids = week
    code, out, err = mw_split(config, "check")
    assert code == 1, err
    # s4 is 6 business hours over its 4h SLA; m7 only 1h over its 1h one.
    assert out == (
        "2 mentions waiting too long (2 past their SLA); "
        f"worst: #{ids['s4']} on github/support, overdue by 6h in business hours\n"
    )
    assert err == ""


def test_check_exits_0_silently_when_nothing_is_past_its_sla(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, _ = week
    # ceo's c2 waits 15m of 1h; its answered c1 does not count.
    assert mw_split(config, "check", "--account", "ceo") == (0, "", "")


def test_check_ignores_answered_dismissed_and_snoozed_mentions_until_the_snooze_ends(
    week: tuple[Path, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, ids = week
    code, out, _ = mw_split(config, "check", "--account", "brand", "--json")
    # m4 was answered late and m5 dismissed; m8 is snoozed until Saturday 10:00.
    assert code == 1 and [r["id"] for r in json.loads(out)] == [ids["m7"]]
    freeze(monkeypatch, at(21, 10))
    code, out, _ = mw_split(config, "check", "--account", "brand", "--json")
    assert code == 1 and [r["id"] for r in json.loads(out)] == [ids["m8"], ids["m7"], ids["m6"]]


def test_check_max_age_fails_on_a_mention_still_within_its_sla(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    code, out, _ = mw_split(config, "check", "--account", "ceo", "--max-age", "10m")
    assert code == 1
    assert out == (
        "1 mention waiting too long (1 older than 10m); "
        f"worst: #{ids['c2']} on mastodon/ceo, waiting 15m\n"  # its age, not when it came
    )
    assert mw_split(config, "check", "--account", "ceo", "--max-age", "16m")[0] == 0


def test_check_json_says_why_each_mention_breached(week: tuple[Path, dict[str, int]]) -> None:
    config, ids = week
    code, out, _ = mw_split(config, "check", "--max-age", "20m", "--json")
    assert code == 1
    why = {r["id"]: r["breached_by"] for r in json.loads(out)}
    assert why == {ids["s4"]: ["sla", "max_age"], ids["m7"]: ["sla", "max_age"],
                   ids["m6"]: ["max_age"]}  # fmt: skip
    code, out, _ = mw_split(config, "check", "--json")
    assert {r["id"]: r["breached_by"] for r in json.loads(out)} == {
        ids["s4"]: ["sla"], ids["m7"]: ["sla"]}  # fmt: skip


def test_check_no_sla_counts_age_alone(week: tuple[Path, dict[str, int]]) -> None:
    config, ids = week
    code, out, _ = mw_split(config, "check", "--max-age", "4h", "--no-sla", "--json")
    # Past their SLAs, but only s4 has waited 4h on the wall clock.
    ages = {r["id"]: r["breached_by"] for r in json.loads(out)}
    assert code == 1 and ages == {ids["s4"]: ["max_age"]}
    code, out, _ = mw_split(config, "check", "--max-age", "4h", "--no-sla")
    assert out.startswith("1 mention waiting too long (1 older than 4h); ")
    assert "past their SLA" not in out
    assert mw_split(config, "check", "--max-age", "30d", "--no-sla") == (0, "", "")
    code, _, err = mw_split(config, "check", "--no-sla")
    assert code == 2 and "--no-sla needs --max-age" in err


def test_check_max_age_and_sla_breaches_are_counted_together(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    code, out, _ = mw_split(config, "check", "--max-age", "20m")
    # s4 and m7 are past their SLA; they and m6 (50m) are older than 20m; c2 (15m) is not.
    assert code == 1
    assert out.startswith("3 mentions waiting too long (2 past their SLA, 3 older than 20m); ")
    assert f"worst: #{ids['s4']} " in out
    assert len(out.splitlines()) == 1


def test_check_json_prints_the_breaching_items_and_an_empty_list_when_all_is_well(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    code, out, _ = mw_split(config, "check", "--json")
    assert code == 1
    items = json.loads(out)
    assert [(r["id"], r["account"], r["sla_status"]) for r in items] == [
        (ids["s4"], "support", "breached"),
        (ids["m7"], "brand", "breached"),
    ]
    assert items[0]["sla_clock"] == "business hours" and items[0]["sla_left_seconds"] == -6 * 3600
    assert items[1]["sla_clock"] == "wall clock" and items[1]["sla_left_seconds"] == -3600
    code, out, _ = mw_split(config, "check", "--json", "--account", "ceo")
    assert (code, json.loads(out)) == (0, [])


def test_check_with_a_mistyped_account_fails_instead_of_passing(
    week: tuple[Path, dict[str, int]],
) -> None:
    code, out, err = mw_split(week[0], "check", "--account", "suport")
    assert code == 2 and out == ""  # a usage error, like list/export/stats --account
    assert "--account: no account named 'suport'" in err


def test_check_rejects_a_max_age_that_is_not_a_duration(week: tuple[Path, dict[str, int]]) -> None:
    code, _, err = mw_split(week[0], "check", "--max-age", "two hours")
    assert code == 2 and "--max-age" in err


def test_check_counts_business_hours_so_a_weekend_is_not_a_breach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = build(tmp_path, history=False)
    # 17:30 on Friday in Berlin: 30 business minutes before support closes for the weekend.
    add(config, "support", "github", [mention("friday", at(20, 16, 30))])
    freeze(monkeypatch, at(23, 11, 29))  # Monday 12:29 in Berlin: 30m + 3h29m = 3h59m
    assert mw_split(config, "check") == (0, "", "")
    code, out, _ = mw_split(config, "check", "--max-age", "1d")  # but 2d 18h on the wall clock
    assert code == 1 and "(1 older than 1d)" in out and "waiting 2d 18h" in out
    freeze(monkeypatch, at(23, 11, 31))
    code, out, _ = mw_split(config, "check")
    assert code == 1 and out.endswith(", overdue by 1m in business hours\n")


def test_check_treats_a_holiday_as_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = build(tmp_path, history=False)
    add(config, "support", "github", [mention("tuesday", at(17, 15))])  # 16:00 Berlin, 2h left
    freeze(monkeypatch, at(18, 16))  # all of Wednesday the 18th is a holiday
    assert mw_split(config, "check")[0] == 0
    freeze(monkeypatch, at(19, 10, 30))  # Thursday 11:30 Berlin: 2h Tuesday + 2h30m Thursday
    code, out, _ = mw_split(config, "check")
    assert code == 1 and out.endswith(", overdue by 30m in business hours\n")


def test_check_still_watches_mentions_of_an_account_removed_from_the_config(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    add(config, "retired", "mastodon", [mention("left-behind", at(20, 13, 30))])
    code, out, _ = mw_split(config, "check", "--json")
    # No longer configured: the default SLA (1h) applies, as `list` shows it.
    assert code == 1
    assert [r["account"] for r in json.loads(out)] == ["support", "brand", "retired"]


@pytest.mark.sqlite_only
def test_check_without_a_database_is_a_database_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    config, _ = build(tmp_path, history=False)
    (tmp_path / "history.db").unlink()
    code, out, err = mw_split(config, "check")
    assert code == 5 and out == "" and "no database yet" in err
