"""`responders` and `ignore_authors` end to end: config, a real `poll` of a fake platform, the
store, then `list` and `stats`.

The fake platform is registered like a built-in one (a module exporting SOURCE and a line in
PLATFORMS), so config validation, the poll runner and the store all run for real.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from mentionwatch.fetched import Batch, Mention, Reply
from mentionwatch.models import Account
from mentionwatch.sources.base import Fetcher
from mentionwatch.sources.registry import PLATFORMS, PlatformSpec
from tests.history import NOW, at, database, freeze, mention, mw_split

MENTIONS = [
    mention("q1", at(20, 10), "@brand is the export broken?", author="fan"),
    mention("q2", at(20, 10, 5), "Daily digest of brand mentions", author="SomeBot"),
    mention("q3", at(20, 10, 10), "Proud of the @brand team today", author="Alice"),
    mention("q4", at(20, 10, 15), "@brand release notes are out", author="brand"),
    mention("q5", at(20, 11), "@brand thanks!", author="fan2"),
    mention("q6", at(20, 12), "@brand hello?", author="fan3"),
]
REPLIES = [
    Reply("r1", "https://team.example/alice/r1", "alice", at(20, 10, 15), parent_id="q1"),
    Reply("r5", "https://team.example/brand/r5", "brand", at(20, 11, 40), parent_id="q5"),
]


class TeamSource:
    """Every call returns the same posts, as a platform would before any cursor moved."""

    platform = "teamfake"

    def __init__(self, account: Account, fetcher: Fetcher) -> None:
        self.account = account

    async def mentions(self, cursor: str | None, since: datetime) -> Batch[Mention]:
        return Batch([m for m in MENTIONS if m.created_at >= since], "mentions-cursor")

    async def replies(self, cursor: str | None, since: datetime) -> Batch[Reply]:
        return Batch([r for r in REPLIES if r.created_at >= since], "replies-cursor")

    async def whoami(self) -> str:
        return "brand"


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    freeze(monkeypatch, NOW)
    module = types.ModuleType("mentionwatch.sources.teamfake")
    module.SOURCE = TeamSource  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    spec = PlatformSpec("teamfake", "teamfake", "https://team.example", needs_handle=True)
    monkeypatch.setitem(PLATFORMS, "teamfake", spec)
    config = tmp_path / "team.toml"
    db = database(tmp_path / "team.db")
    config.write_text(
        # The poll runner's own clock keeps real time: a long backfill makes that moot.
        f'[settings]\ndatabase = "{db}"\nsla = "30m"\nbackfill = "3650d"\n\n'
        '[[accounts]]\nname = "team"\nplatform = "teamfake"\nhandle = "brand"\n'
        'responders = ["@Alice"]\nignore_authors = ["@somebot"]\n',
        encoding="utf-8",
    )
    code, out, err = mw_split(config, "poll")
    assert code == 0, out + err
    yield config


def stored(config: Path) -> dict[str, dict[str, object]]:
    code, out, err = mw_split(config, "list", "--all", "--jsonl")
    assert code == 0, err
    records = (json.loads(line) for line in out.splitlines())
    return {str(r["url"]).rsplit("/", 1)[-1]: r for r in records}


def test_bots_responders_and_the_account_itself_are_never_mentions(team: Path) -> None:
    # q2 is by an ignored bot, q3 by a responder, q4 by the account: matched case-insensitively.
    assert sorted(stored(team)) == ["q1", "q5", "q6"]


def test_a_reply_by_a_responder_answers_the_mention_like_one_by_the_account(team: Path) -> None:
    mentions = stored(team)
    assert (mentions["q1"]["state"], mentions["q1"]["answered_by"]) == ("answered", "alice")
    assert mentions["q1"]["response_seconds"] == 15 * 60
    assert (mentions["q5"]["state"], mentions["q5"]["answered_by"]) == ("answered", "brand")
    assert mentions["q6"]["state"] == "open"


def test_stats_count_the_team_answers_and_leave_out_the_noise(team: Path) -> None:
    code, out, err = mw_split(team, "stats", "--json", "--since", "1d")
    assert code == 0, err
    total = json.loads(out)["total"]
    assert (total["received"], total["answered"], total["open"]) == (3, 2, 1)
    assert total["response_seconds"]["quickest"] == 15 * 60
    assert total["response_seconds"]["slowest"] == 40 * 60
    assert total["answered_within_sla"] == 0.5  # 15m within 30m, 40m not


def test_polling_again_stores_nothing_twice(team: Path) -> None:
    code, out, err = mw_split(team, "poll")
    assert code == 0, out + err
    assert len(stored(team)) == 3
