"""A big poll's new mentions staged on two cores (store/inserts.py) are stored exactly as the
row-by-row path stores them: the same rows, ids, rules' decisions, answers and counts.

The threshold is lowered so that a few hundred mentions take the staged path; everything
else is the real thing: a forked child, its scratch file, the attach and the copy.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mentionwatch.fetched import Mention, Reply
from mentionwatch.models import Kind
from mentionwatch.rules import Rule, RuleSet, parse
from mentionwatch.store import SaveResult, Store, inserts

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)
RULES = RuleSet(
    [
        Rule("urgent", "refund", parse("refund"), priority=0, tags=("billing",)),
        Rule("spam", "giveaway", parse("giveaway"), dismiss="spam"),
    ]
)


def batch(count: int) -> list[Mention]:
    """Newest first, as sources page; some ask for refunds, some are spam, one is naive."""
    found = []
    for i in range(count):
        words = ("refund please", "free giveaway", "hello there")[i % 3]
        at = T0 + timedelta(minutes=count - i)
        found.append(
            Mention(
                remote_id=f"m{i}",
                url=f"https://example.social/@fan/m{i}",
                author=f"fan{i % 7}",
                text=f"{words} #{i}",
                created_at=at.replace(tzinfo=None) if i == 5 else at,
                kind=Kind.REPLY if i % 4 else Kind.MENTION,
                thread_id=None,
                context='{"visibility":"public"}' if i % 2 else "",
                lang="de" if i % 5 == 0 else "",
            )
        )
    return found


def answer(rid: str, parent: str, minutes: int) -> Reply:
    return Reply(
        remote_id=rid,
        url=f"https://example.social/@brand/{rid}",
        author="brand",
        created_at=T0 + timedelta(days=1, minutes=minutes),
        parent_id=parent,
    )


def first_and_second_poll(location: Path) -> tuple[list[SaveResult], list[Any]]:
    """An earlier poll stored some mentions and replies; then a big one arrives that repeats
    those, holds two of the account's own posts and is answered in places."""
    mentions = batch(300)
    with Store.open(location) as store:
        early = store.save_poll(
            "brand", "mastodon", mentions[250:], [answer("own1", "x", 0)], {}, T0
        )
        # "own1" (stored earlier) and "own2" (in this poll) are the account's own posts.
        own = [mentions[0]._replace(remote_id="own1"), mentions[1]._replace(remote_id="own2")]
        replies = [answer("own2", "y", 1), answer("r1", "m3", 2), answer("r2", "m290", 3)]
        big = store.save_poll(
            "brand", "mastodon", [*own, *mentions], replies, {"mentions": "c9"}, NOW,
            RULES.outcomes,
        )  # fmt: skip
        rows = store.db.execute("SELECT * FROM mentions ORDER BY id").fetchall()
        assert store.cursors("brand") == {"mentions": "c9"}
    return [early, big], [tuple(row) for row in rows]


@pytest.fixture
def staged_from(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[int]]:
    """Lower the threshold; the list this returns fills with the parent's stagings."""

    def lower(threshold: int) -> list[int]:
        monkeypatch.setattr(inserts, "BULK_MIN", threshold)
        calls: list[int] = []
        real = inserts.staged

        def counted(db: sqlite3.Connection, mentions: Any, rows: Any) -> Any:
            calls.append(len(mentions))
            return real(db, mentions, rows)

        monkeypatch.setattr(inserts, "staged", counted)
        return calls

    return lower


def test_staged_and_row_by_row_store_the_same_rows(
    tmp_path: Path, staged_from: Callable[[int], list[int]]
) -> None:
    plain = first_and_second_poll(tmp_path / "plain.db")
    calls = staged_from(100)
    staged = first_and_second_poll(tmp_path / "staged.db")
    assert calls == [302]  # the early poll (50) was stored row by row
    assert staged == plain
    results, rows = staged
    assert results[1].new_mentions == 250  # 300 less the 50 stored before; no own post
    assert results[1].dismissed == 83  # every "giveaway" of the 250
    assert results[1].newly_answered == 2  # m3 (new) and m290 (stored before)
    states = {row[3]: row for row in rows}  # remote_id
    assert "own1" not in states and "own2" not in states
    ids = [row[3] for row in rows[50:]]
    assert ids == [f"m{i}" for i in range(249, -1, -1)]  # the new ones, oldest first


def test_a_failed_child_leaves_this_process_to_stage_its_half(
    tmp_path: Path, staged_from: Callable[[int], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = first_and_second_poll(tmp_path / "plain.db")
    staged_from(100)
    parent = os.getpid()
    written: list[int] = []
    real = inserts._write_file

    def only_here(path: Path, rows: Any) -> None:
        if os.getpid() != parent:
            raise OSError("no space left on device")
        written.append(1)
        real(path, rows)

    monkeypatch.setattr(inserts, "_write_file", only_here)
    assert first_and_second_poll(tmp_path / "staged.db") == plain
    assert written == [1]


def test_a_save_that_fails_after_staging_leaves_nothing_behind(
    tmp_path: Path, staged_from: Callable[[int], list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = staged_from(10)
    folders = set(Path(tempfile.gettempdir()).glob("mentionwatch-*"))
    forked: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)

    def broken(*args: Any) -> int:
        raise RuntimeError("disk went away")

    with Store.open(tmp_path / "m.db") as store:
        monkeypatch.setattr(Store, "_match_answers", broken)
        with pytest.raises(RuntimeError):
            store.save_poll("brand", "mastodon", batch(40), [], {"mentions": "c1"}, NOW)
        assert calls == [40]
        assert store.db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 0
        assert store.cursors("brand") == {}
        # Detached and dropped, and no child left: the next save starts clean.
        assert [row[1] for row in store.db.execute("PRAGMA database_list")] == ["main", "temp"]
        assert not store.db.execute("SELECT name FROM temp.sqlite_master").fetchall()
        assert len(forked) == 1
        with pytest.raises(ChildProcessError):  # already waited for
            os.waitpid(forked[0], os.WNOHANG)
        monkeypatch.undo()
        staged_from(10)
        assert store.save_poll("brand", "mastodon", batch(40), [], {}, NOW).new_mentions == 40
    assert set(Path(tempfile.gettempdir()).glob("mentionwatch-*")) == folders


def test_inside_an_open_group_a_big_poll_is_stored_row_by_row(
    tmp_path: Path, staged_from: Callable[[int], list[int]]
) -> None:
    calls = staged_from(10)
    with Store.open(tmp_path / "m.db") as store, Store.open(tmp_path / "m.db") as other:

        def committed() -> int:
            return int(other.db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])

        with store.grouped() as commit:
            store.save_poll("other", "mastodon", batch(3), [], {}, NOW)
            # The group's transaction is open: SQLite attaches nothing inside one.
            assert store.save_poll("brand", "mastodon", batch(40), [], {}, NOW).new_mentions == 40
            assert calls == [] and committed() == 0
            commit()
            # Committed: the next big one is staged again, and the group commits with it,
            # since the staged rows can be detached only then.
            assert store.save_poll("third", "mastodon", batch(40), [], {}, NOW).new_mentions == 40
            assert calls == [40] and committed() == 83
            names = [row[1] for row in store.db.execute("PRAGMA database_list")]
            assert names == ["main", "temp"]  # detached
            assert store.save_poll("fourth", "mastodon", batch(40), [], {}, NOW).new_mentions == 40
            assert calls == [40, 40]
        assert committed() == 123


@pytest.mark.parametrize("refusal", ["no temporary folder", "no process to fork"])
def test_when_it_cannot_stage_a_big_poll_is_stored_row_by_row(
    tmp_path: Path,
    staged_from: Callable[[int], list[int]],
    monkeypatch: pytest.MonkeyPatch,
    refusal: str,
) -> None:
    plain = first_and_second_poll(tmp_path / "plain.db")
    calls = staged_from(100)
    if refusal == "no temporary folder":
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    else:

        def refused() -> int:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", refused)
    assert first_and_second_poll(tmp_path / "staged.db") == plain
    assert calls == [302]  # it tried
