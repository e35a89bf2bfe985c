"""Working as a team, on both backends: who acts, history, assignment, notes, racing changes,
and `db copy` between a SQLite file and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mentionwatch.config import acting_user, load
from mentionwatch.store import MentionFilter, Store
from tests.history import NOW, at, build, freeze, mention, mw_split

CONFIG = """\
[settings]
database = "{db}"
{extra}
[users]
alice = "alice@example.com"
bob = "bob@example.com"

[[accounts]]
name = "brand"
platform = "mastodon"
server = "https://mastodon.example"
handle = "brand"
"""


def team_config(tmp_path: Path, db: Path | str, user: str = "", name: str = "c.toml") -> Path:
    extra = f'user = "{user}"\n' if user else ""
    path = tmp_path / name
    path.write_text(CONFIG.format(db=db, extra=extra), encoding="utf-8")
    return path


@pytest.fixture
def seeded(db_location: Path | str, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    freeze(monkeypatch, NOW)
    found = [mention("a", at(20, 10)), mention("b", at(20, 11)), mention("c", at(20, 12))]
    with Store.open(db_location) as store:
        store.save_poll("brand", "mastodon", found, [], {}, NOW)
        return {m.remote_id: m.id for m in store.mentions(MentionFilter(states=()), NOW)}


def listed(config: Path, *args: str) -> list[str]:
    code, out, err = mw_split(config, "list", "--jsonl", *args)
    assert code == 0, err
    return [str(json.loads(line)["url"]).rsplit("/", 1)[-1] for line in out.splitlines()]


def test_the_acting_user_is_the_setting_then_the_environment_then_the_os_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MENTIONWATCH_USER", "from-env")
    assert acting_user(load(team_config(tmp_path, tmp_path / "m.db", user="carol"))) == "carol"
    assert acting_user(load(team_config(tmp_path, tmp_path / "m.db"))) == "from-env"
    monkeypatch.delenv("MENTIONWATCH_USER")
    import getpass

    assert acting_user(load(team_config(tmp_path, tmp_path / "m.db"))) == getpass.getuser()


def test_assignment_selects_mine_theirs_and_nobodys(
    seeded: dict[str, int], db_location: Path | str, tmp_path: Path
) -> None:
    alice = team_config(tmp_path, db_location, user="alice", name="alice.toml")
    bob = team_config(tmp_path, db_location, user="bob", name="bob.toml")
    code, out, err = mw_split(alice, "assign", str(seeded["a"]), str(seeded["c"]), "bob")
    assert code == 0 and f"Assigned #{seeded['a']}, #{seeded['c']} to bob." in err
    assert listed(bob, "--mine") == ["a", "c"]
    assert listed(alice, "--mine") == []
    assert listed(alice, "--assignee", "bob") == ["a", "c"]
    assert listed(alice, "--unassigned") == ["b"]
    code, out, err = mw_split(alice, "assign", str(seeded["a"]), "bob")
    assert f"#{seeded['a']} was already assigned to bob." in err
    code, out, err = mw_split(bob, "unassign", str(seeded["a"]))
    assert code == 0 and listed(bob, "--mine") == ["c"]
    code, out, err = mw_split(bob, "export", "--format", "json", "--assignee", "bob")
    assert code == 0 and [r["assignee"] for r in json.loads(out)] == ["bob"]
    code, out, err = mw_split(bob, "assign", "999", "bob")
    assert code == 2 and "no mention with id 999" in err


def test_notes_and_every_manual_change_are_shown_with_who_and_when(
    seeded: dict[str, int], db_location: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = team_config(tmp_path, db_location, user="alice", name="alice.toml")
    bob = team_config(tmp_path, db_location, user="bob", name="bob.toml")
    mid = str(seeded["b"])
    assert mw_split(alice, "note", mid, "Customer is on the \x1b[31mbeta\x1b[0m plan")[0] == 0
    assert mw_split(alice, "assign", mid, "bob")[0] == 0
    freeze(monkeypatch, at(20, 15, 5))
    assert mw_split(bob, "snooze", mid, "--for", "1h")[0] == 0
    freeze(monkeypatch, at(20, 15, 10))
    assert mw_split(bob, "done", mid)[0] == 0
    code, out, err = mw_split(alice, "show", mid)
    assert code == 0, err
    assert "Assigned to  bob" in out
    assert "alice: Customer is on the beta plan" in out and "\x1b" not in out
    history = out.split("History")[1]
    order = ["alice: noted", "alice: assigned to bob", "bob: snoozed", "bob: done"]
    positions = [history.index(step) for step in order]
    assert positions == sorted(positions)
    code, out, err = mw_split(alice, "export", "--format", "csv", "--all")
    assert code == 0 and "alice at 2026-11-20T15:00:00+00:00: Customer is on the beta plan" in out


def test_the_later_of_two_changes_says_what_it_found(
    seeded: dict[str, int], db_location: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = team_config(tmp_path, db_location, user="alice", name="alice.toml")
    bob = team_config(tmp_path, db_location, user="bob", name="bob.toml")
    mid = seeded["a"]
    assert mw_split(alice, "dismiss", str(mid))[0] == 0
    freeze(monkeypatch, at(20, 15, 2))
    code, out, err = mw_split(bob, "dismiss", str(mid))
    assert code == 0 and f"#{mid} was already dismissed by alice 2m ago." in err


def test_racing_processes_change_a_mention_once_and_the_loser_says_so(
    seeded: dict[str, int], db_location: Path | str, tmp_path: Path
) -> None:
    config = team_config(tmp_path, db_location)
    mid = str(seeded["c"])
    command = [sys.executable, "-m", "mentionwatch", "--config", str(config), "dismiss", mid]
    racers = [
        subprocess.Popen(command, env={**os.environ, "MENTIONWATCH_USER": who},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for who in ("alice", "bob")
    ]  # fmt: skip
    said = [r.communicate(timeout=60)[1] for r in racers]
    assert [r.returncode for r in racers] == [0, 0]
    winners = [s for s in said if s.startswith(f"Dismissed #{mid}")]
    losers = [s for s in said if "was already dismissed by" in s]
    assert len(winners) == 1 and len(losers) == 1, said
    winner = "alice" if said[0] in winners else "bob"
    assert f"already dismissed by {winner}" in losers[0]
    with Store.open(db_location) as store:
        assert [c.actor for c in store.history(int(mid))] == [winner]


def test_db_copy_moves_everything_keeping_ids_both_ways(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    config, ids = build(tmp_path)  # a SQLite week of history, with manual states
    assert mw_split(config, "note", str(ids["m6"]), "call them back")[0] == 0
    assert mw_split(config, "assign", str(ids["m7"]), "bob")[0] == 0
    before = mw_split(config, "list", "--all", "--jsonl")[1]
    code, out, err = mw_split(config, "db", "copy", "--to", pg_url)
    assert code == 0, err
    assert "14 mentions" in err and "counts checked" in err
    pg = tmp_path / "pg.toml"
    pg.write_text(config.read_text().replace(str(tmp_path / "history.db"), pg_url))
    assert mw_split(pg, "list", "--all", "--jsonl")[1] == before  # same ids, states, notes
    assert mw_split(pg, "done", str(ids["m6"]))[0] == 0  # `done 12` is the same mention
    with Store.open(pg_url) as store:
        assert store.get(ids["m6"], NOW).remote_id == "m6"
        # The sequences moved past the copied ids: a new mention gets a new one.
        store.save_poll("brand", "mastodon", [mention("new", at(20, 14))], [], {}, NOW)
        new = [m.id for m in store.mentions(MentionFilter(states=()), NOW) if m.remote_id == "new"]
        assert new[0] > max(ids.values())
    code, out, err = mw_split(config, "db", "copy", "--to", pg_url)
    assert code == 2 and "not empty" in err
    back = tmp_path / "back.db"
    code, out, err = mw_split(config, "--db", str(back), "db", "copy", "--from", pg_url)
    assert code == 0, err and "15 mentions" in err
    with Store.open(back) as store:
        assert store.get(ids["m7"], NOW).assignee == "bob"


def test_check_and_digest_select_by_assignee(
    seeded: dict[str, int], db_location: Path | str, tmp_path: Path
) -> None:
    alice = team_config(tmp_path, db_location, user="alice", name="alice.toml")
    with alice.open("a", encoding="utf-8") as handle:
        handle.write('\n[digest]\nto = ["team@example.com"]\n')
    assert mw_split(alice, "assign", str(seeded["a"]), "bob")[0] == 0
    # Every seeded mention is past its hour: check fails for bob's, passes for alice's (none).
    code, out, err = mw_split(alice, "check", "--assignee", "bob", "--json")
    assert code == 1 and [r["id"] for r in json.loads(out)] == [seeded["a"]]
    assert mw_split(alice, "check", "--mine")[0] == 0
    code, out, err = mw_split(alice, "check", "--unassigned", "--json")
    assert code == 1 and {r["id"] for r in json.loads(out)} == {seeded["b"], seeded["c"]}
    code, out, err = mw_split(alice, "digest", "--assignee", "bob")
    assert code == 0, err
    assert "OVERDUE (1)" in out and "@fan/a" in out and "@fan/b" not in out
