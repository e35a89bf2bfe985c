"""`stats`: every figure checked against the hand-built week in tests/history.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.history import NOW, add, at, build, freeze, mention, mw, mw_split

H, M = 3600, 60


@pytest.fixture
def week(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, int]]:
    freeze(monkeypatch, NOW)
    return build(tmp_path)


def stats_json(config: Path, *args: str) -> dict[str, Any]:
    code, out, err = mw_split(config, "stats", "--json", *args)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def groups(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["group"]: g for g in document["groups"]}


def test_stats_json_reports_every_figure_of_a_known_week(week: tuple[Path, dict[str, int]]) -> None:
    config, ids = week
    document = stats_json(config, "--since", "7d")
    assert document["since"] == "2026-11-13T15:00:00+00:00"
    assert document["until"] == "2026-11-20T15:00:00+00:00"
    assert document["by"] is None and document["groups"] == []
    assert document["timezone"] == "Europe/Berlin"
    assert document["business_hours"] == {"support": "Mon-Fri 09:00-18:00 Europe/Berlin"}
    total = document["total"]
    assert {k: total[k] for k in ("received", "answered", "dismissed", "open", "snoozed")} == {
        "received": 14, "answered": 8, "dismissed": 1, "open": 4, "snoozed": 1,
    }  # fmt: skip
    # Dismissed mentions needed no answer: 8 answered of 13 that did.
    assert total["response_rate"] == pytest.approx(8 / 13)
    # Late: m4 (2h on a 1h SLA) and s3 (5h business on a 4h SLA).
    assert total["answered_within_sla"] == 0.75
    # Wall: 5m 10m 20m 45m 1h30m 2h 6h 17h; p90 interpolates between the two slowest.
    assert total["response_seconds"] == {
        "count": 8, "median": (45 * M + 90 * M) / 2, "p90": (6 * H * 7 + 17 * H * 3) / 10,
        "mean": 12525, "quickest": 5 * M, "slowest": 17 * H,
    }  # fmt: skip
    # On the SLA's clock: s1 17h -> 2h, s2 1h30m on a holiday -> 0s, s3 6h -> 5h.
    assert total["business_response_seconds"] == {
        "count": 8, "median": (20 * M + 45 * M) / 2, "p90": (2 * H * 7 + 5 * H * 3) / 10,
        "mean": 4650, "quickest": 0, "slowest": 5 * H,
    }  # fmt: skip
    assert total["oldest_waiting"] == {
        "id": ids["s4"], "account": "support", "platform": "github",
        "created_at": "2026-11-19T14:00:00+00:00", "age_seconds": 25 * H,
        "business_age_seconds": 10 * H, "sla_status": "breached",
    }  # fmt: skip
    assert [(b["bucket"], b["count"]) for b in document["histogram"]] == [
        ("< 5m", 1), ("5-15m", 2), ("15-30m", 1), ("30m-1h", 1), ("1-2h", 0), ("2-4h", 2),
        ("4-8h", 1), ("8-24h", 0), ("1-3d", 0), ("> 3d", 0),
    ]  # fmt: skip


def test_stats_by_account_gives_business_times_only_to_the_account_with_a_calendar(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    by = groups(stats_json(config, "--since", "7d", "--by", "account"))
    assert list(by) == ["brand", "ceo", "support"]
    brand, ceo, support = by["brand"], by["ceo"], by["support"]
    assert (brand["received"], brand["answered"], brand["dismissed"], brand["open"],
            brand["snoozed"]) == (8, 4, 1, 2, 1)  # fmt: skip
    assert brand["response_rate"] == pytest.approx(4 / 7)
    assert brand["answered_within_sla"] == 0.75
    assert brand["response_seconds"] == {
        "count": 4, "median": (20 * M + 45 * M) / 2, "p90": (45 * M * 3 + 2 * H * 7) / 10,
        "mean": (5 + 20 + 45 + 120) * M / 4, "quickest": 5 * M, "slowest": 2 * H,
    }  # fmt: skip
    assert brand["business_response_seconds"] is None
    assert brand["oldest_waiting"]["id"] == ids["m7"]  # m8 is snoozed, m6 is younger
    assert brand["oldest_waiting"]["business_age_seconds"] is None
    assert brand["oldest_waiting"]["sla_status"] == "breached"

    assert (ceo["received"], ceo["answered"], ceo["open"], ceo["response_rate"]) == (2, 1, 1, 0.5)
    assert ceo["response_seconds"]["median"] == ceo["response_seconds"]["p90"] == 10 * M
    assert ceo["oldest_waiting"]["id"] == ids["c2"]
    assert ceo["oldest_waiting"]["sla_status"] == "ok"

    assert (support["received"], support["answered"], support["open"]) == (4, 3, 1)
    assert support["answered_within_sla"] == pytest.approx(2 / 3)
    assert support["response_seconds"] == {
        "count": 3, "median": 6 * H, "p90": (6 * H * 2 + 17 * H * 8) / 10,
        "mean": (90 * M + 6 * H + 17 * H) / 3, "quickest": 90 * M, "slowest": 17 * H,
    }  # fmt: skip
    assert support["business_response_seconds"] == {
        "count": 3, "median": 2 * H, "p90": (2 * H * 2 + 5 * H * 8) / 10,
        "mean": 7 * H / 3, "quickest": 0, "slowest": 5 * H,
    }  # fmt: skip
    assert support["oldest_waiting"]["business_age_seconds"] == 10 * H


def test_stats_by_platform_adds_up_the_accounts_on_each_platform(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    by = groups(stats_json(config, "--since", "7d", "--by", "platform"))
    assert list(by) == ["github", "mastodon"]
    mastodon = by["mastodon"]
    assert (mastodon["received"], mastodon["answered"], mastodon["dismissed"],
            mastodon["open"], mastodon["snoozed"]) == (10, 5, 1, 3, 1)  # fmt: skip
    assert mastodon["response_rate"] == pytest.approx(5 / 9)
    assert mastodon["answered_within_sla"] == 0.8
    assert mastodon["response_seconds"]["median"] == 20 * M
    assert mastodon["response_seconds"]["p90"] == (45 * M * 4 + 2 * H * 6) / 10
    assert mastodon["oldest_waiting"]["id"] == ids["m7"]
    assert by["github"]["received"] == 4 and by["github"]["oldest_waiting"]["id"] == ids["s4"]


def test_stats_by_day_counts_days_in_the_settings_timezone(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    document = stats_json(config, "--since", "7d", "--by", "day")
    # m4 came at 23:30 UTC on Tuesday: 00:30 on Wednesday in Berlin.
    assert [(d["day"], d["received"], d["answered"]) for d in document["daily"]] == [
        ("2026-11-13", 0, 0), ("2026-11-14", 0, 0), ("2026-11-15", 0, 0), ("2026-11-16", 3, 3),
        ("2026-11-17", 1, 1), ("2026-11-18", 4, 3), ("2026-11-19", 3, 1), ("2026-11-20", 3, 0),
    ]  # fmt: skip
    by = groups(document)
    assert list(by) == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]
    assert (by["2026-11-18"]["received"], by["2026-11-18"]["dismissed"]) == (4, 1)
    assert by["2026-11-17"]["response_seconds"]["slowest"] == 45 * M
    # Each day's oldest waiting is among that day's mentions; the snoozed m8 is not waiting.
    assert by["2026-11-19"]["oldest_waiting"]["id"] == ids["s4"]
    assert by["2026-11-20"]["oldest_waiting"]["id"] == ids["m7"]
    assert by["2026-11-16"]["oldest_waiting"] is None


def test_stats_filters_by_account_and_platform(week: tuple[Path, dict[str, int]]) -> None:
    config, _ = week
    support = stats_json(config, "--since", "7d", "--account", "support")
    assert support["total"]["received"] == 4
    assert support["business_hours"] == {"support": "Mon-Fri 09:00-18:00 Europe/Berlin"}
    mastodon = stats_json(config, "--since", "7d", "--platform", "mastodon")
    assert mastodon["total"]["received"] == 10
    assert mastodon["total"]["business_response_seconds"] is None
    assert mastodon["business_hours"] == {}


def test_a_short_window_still_names_the_oldest_waiting_mention_received_before_it(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    document = stats_json(config, "--since", "1h", "--by", "account")
    assert document["total"]["received"] == 2  # m6 at 14:10 and c2 at 14:45
    assert document["total"]["response_seconds"] is None
    assert document["total"]["oldest_waiting"]["id"] == ids["s4"]
    by = groups(document)
    # support received nothing in the last hour but still has a mention waiting since Thursday.
    assert list(by) == ["brand", "ceo", "support"]
    assert by["support"]["received"] == 0 and by["support"]["response_rate"] is None
    assert by["support"]["oldest_waiting"]["id"] == ids["s4"]
    assert by["brand"]["oldest_waiting"]["id"] == ids["m7"]  # received at 13:00, before the hour


def test_oldest_waiting_is_the_first_received_whatever_each_business_clock_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = build(tmp_path, history=False)
    # 17:59 on Friday in Berlin, a minute before support closes; brand on Saturday morning.
    add(config, "support", "github", [mention("late-friday", at(20, 16, 59))])
    add(config, "brand", "mastodon", [mention("saturday", at(21, 9))])
    freeze(monkeypatch, at(23, 8))  # Monday 09:00 in Berlin, as support opens
    oldest = stats_json(config, "--since", "7d")["total"]["oldest_waiting"]
    # One business minute against 47 wall-clock hours: the oldest is still Friday's.
    assert (oldest["account"], oldest["age_seconds"]) == ("support", 63 * H + M)
    assert (oldest["business_age_seconds"], oldest["sla_status"]) == (60, "ok")


def test_a_mention_waiting_only_outside_business_hours_has_a_business_age_of_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = build(tmp_path, history=False)
    add(config, "support", "github", [mention("weekend", at(21, 10))])
    freeze(monkeypatch, at(22, 12))
    oldest = stats_json(config, "--since", "7d")["total"]["oldest_waiting"]
    assert (oldest["age_seconds"], oldest["business_age_seconds"]) == (26 * H, 0)
    code, output = mw(config, "stats", "--since", "7d")
    assert code == 0 and re.search(r"#1 support, 1d 2h, 0s \(bh\), ok", output)


def test_stats_in_a_terminal_draws_the_histogram_and_the_daily_sparklines(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, ids = week
    code, output = mw(config, "stats", "--since", "7d")
    assert code == 0, output
    assert "Mentions received in the last 7d" in output
    oldest = rf"#{ids['s4']} support, 1d 1h, 10h \(bh\), breached"
    assert re.search(r"all\s+14\s+8\s+1\s+4\s+1\s+62%\s+75%\s+" + oldest, output)
    bars = {label: (len(bar), int(n)) for label, bar, n in
            re.findall(r"^\s*(< 5m|5-15m|15-30m|2-4h|4-8h|1-2h)\s+(█*)\s+(\d+)\s*$", output,
                       re.MULTILINE)}  # fmt: skip
    assert {label: n for label, (_, n) in bars.items()} == {
        "< 5m": 1,
        "5-15m": 2,
        "15-30m": 1,
        "1-2h": 0,
        "2-4h": 2,
        "4-8h": 1,
    }
    assert bars["2-4h"][0] == 2 * bars["4-8h"][0] > 0 and bars["1-2h"][0] == 0
    # Received per Berlin day from Nov 13: 0 0 0 3 1 4 3 3; answered: 0 0 0 3 1 3 1 0.
    assert re.search(r"received\s+▁▁▁▆▄█▆▆\s+Nov 13 - Nov 20, peak 4", output)
    assert re.search(r"answered\s+▁▁▁█▄█▄▁\s+peak 3", output)
    assert "Business hours (support: Mon-Fri 09:00-18:00 Europe/Berlin)" in output
    assert re.search(r"all\s+business\s+8\s+32m 30s\s+2h 54m", output)
    assert re.search(r"all\s+wall\s+8\s+1h 7m\s+9h 18m", output)


def test_stats_by_account_in_a_terminal_has_a_row_per_account_and_a_total(
    week: tuple[Path, dict[str, int]],
) -> None:
    config, _ = week
    code, output = mw(config, "stats", "--since", "7d", "--by", "account")
    assert code == 0, output
    assert re.search(r"^Account\s+Received", output, re.MULTILINE)
    for row in (r"brand\s+8\s+4\s+1\s+2\s+1\s+57%\s+75%", r"ceo\s+2\s+1\s+0\s+1\s+0\s+50%\s+100%",
                r"support\s+4\s+3\s+0\s+1\s+0\s+75%\s+67%", r"all\s+14\s+8"):  # fmt: skip
        assert re.search(row, output), row
    assert re.search(r"support\s+business\s+3\s+2h\s+4h 24m", output)
    assert not re.search(r"brand\s+business", output)


def test_stats_of_an_empty_database_has_no_times_and_no_histogram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    config, _ = build(tmp_path, history=False)
    total = stats_json(config)["total"]
    assert total["received"] == 0 and total["response_rate"] is None
    assert total["response_seconds"] is None and total["oldest_waiting"] is None
    code, output = mw(config, "stats")
    assert code == 0 and "Response times" not in output and "█" not in output


def test_stats_refuses_a_window_that_is_not_a_duration(week: tuple[Path, dict[str, int]]) -> None:
    code, output = mw(week[0], "stats", "--since", "lately")
    assert code == 2 and "--since" in output
