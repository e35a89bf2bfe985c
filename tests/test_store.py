"""The store on both backends: exactly-once storage, answered detection, manual states, safety.

Tests taking `store` run on a SQLite file and on PostgreSQL (conftest's `db_location`).
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mentionwatch.errors import StoreError
from mentionwatch.fetched import Mention, Reply
from mentionwatch.models import State
from mentionwatch.store import MentionFilter, Store
from mentionwatch.store.migrations import MIGRATIONS

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def mention(rid: str, minutes: int = 0, **kw: object) -> Mention:
    return Mention(
        remote_id=rid,
        url=f"https://example.social/@fan/{rid}",
        author="fan",
        text=f"hello {rid}",
        created_at=T0 + timedelta(minutes=minutes),
        raw=f'{{"id": "{rid}"}}',
        **kw,  # type: ignore[arg-type]
    )


def reply(rid: str, parent: str | None, minutes: int, thread: str | None = None) -> Reply:
    return Reply(
        remote_id=rid,
        url=f"https://example.social/@brand/{rid}",
        author="brand",
        created_at=T0 + timedelta(minutes=minutes),
        parent_id=parent,
        thread_id=thread,
    )


@pytest.fixture
def store(db_location: Path | str) -> Iterator[Store]:
    with Store.open(db_location) as opened:
        yield opened


def save(store: Store, mentions: list[Mention], replies: list[Reply], minutes: int = 600) -> int:
    now = T0 + timedelta(minutes=minutes)
    return store.save_poll("brand", "mastodon", mentions, replies, {}, now).newly_answered


def open_ids(store: Store, now: datetime = T0 + timedelta(days=1)) -> list[str]:
    return [m.remote_id for m in store.mentions(MentionFilter(), now)]


def test_database_is_private_and_migrations_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    Store.open(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in db.execute("SELECT name FROM schema_migrations")]
    assert names == [name for name, _ in MIGRATIONS]
    assert names[0] == "0001_initial"
    Store.open(path).close()  # reopening runs nothing twice


def test_each_mention_is_stored_exactly_once(store: Store) -> None:
    first = store.save_poll("brand", "mastodon", [mention("1"), mention("2")], [], {}, T0)
    again = store.save_poll("brand", "mastodon", [mention("2"), mention("3")], [], {}, T0)
    assert (first.new_mentions, again.new_mentions) == (2, 1)
    assert open_ids(store) == ["1", "2", "3"]


def test_reply_after_its_mention_answers_it(store: Store) -> None:
    save(store, [mention("1", 0), mention("2", 5)], [])
    assert save(store, [], [reply("r1", "1", 30)]) == 1
    answered = next(store.mentions(MentionFilter(states=(State.ANSWERED,)), T0))
    assert answered.remote_id == "1"
    assert answered.response_time == timedelta(minutes=30)
    assert answered.answered_url == "https://example.social/@brand/r1"
    assert open_ids(store) == ["2"]


def test_reply_seen_before_its_mention_still_answers_it(store: Store) -> None:
    save(store, [], [reply("r1", "1", 30)])
    assert save(store, [mention("1", 0)], []) == 1
    assert open_ids(store) == []


def test_first_of_several_replies_gives_the_response_time(store: Store) -> None:
    save(store, [mention("1", 0)], [reply("late", "1", 90), reply("early", "1", 20)])
    m = next(store.mentions(MentionFilter(states=(State.ANSWERED,)), T0))
    assert m.response_time == timedelta(minutes=20)


def test_flat_thread_reply_answers_only_earlier_mentions_in_that_thread(store: Store) -> None:
    mentions = [
        mention("c1", 0, thread_id="o/r#1"),
        mention("c2", 60, thread_id="o/r#1"),
        mention("c3", 0, thread_id="o/r#2"),
    ]
    assert save(store, mentions, [reply("mine", None, 30, thread="o/r#1")]) == 1
    assert open_ids(store) == ["c3", "c2"]


def test_the_accounts_own_posts_are_never_mentions(store: Store) -> None:
    save(store, [], [reply("own", "x", 1)])
    save(store, [mention("own", 1)], [])
    assert open_ids(store) == []


def test_reopened_mention_is_not_closed_again_by_the_old_reply(store: Store) -> None:
    save(store, [mention("1", 0)], [reply("r1", "1", 30)])
    [mid] = [m.id for m in store.mentions(MentionFilter(states=()), T0)]
    store.set_state([mid], State.OPEN, T0 + timedelta(hours=2))
    assert save(store, [], [reply("r1", "1", 30)]) == 0
    assert open_ids(store) == ["1"]
    assert save(store, [], [reply("r2", "1", 180)]) == 1


def test_snoozed_mention_comes_back_when_the_time_is_up(store: Store) -> None:
    save(store, [mention("1")], [])
    [mid] = [m.id for m in store.mentions(MentionFilter(), T0)]
    store.set_state([mid], State.SNOOZED, T0, until=T0 + timedelta(hours=4))
    assert open_ids(store, T0 + timedelta(hours=1)) == []
    snoozed = MentionFilter(states=(State.SNOOZED,))
    assert [m.id for m in store.mentions(snoozed, T0 + timedelta(hours=1))] == [mid]
    assert open_ids(store, T0 + timedelta(hours=5)) == ["1"]


def test_states_interleave_in_time_order_across_a_limit(store: Store) -> None:
    """Each state is read as its own ordered arm; the arms must merge, not concatenate."""
    save(store, [mention(str(n), minutes=n) for n in range(8)], [])
    ids = {m.remote_id: m.id for m in store.mentions(MentionFilter(), T0)}
    now = T0 + timedelta(hours=2)
    store.set_state([ids["1"], ids["5"]], State.SNOOZED, T0, until=T0 + timedelta(hours=1))
    store.set_state([ids["3"]], State.SNOOZED, T0, until=T0 + timedelta(hours=9))
    store.set_state([ids["2"], ids["6"]], State.DISMISSED, T0)

    def picked(**kw: object) -> list[str]:
        return [m.remote_id for m in store.mentions(MentionFilter(**kw), now)]  # type: ignore[arg-type]

    # Expired snoozes (1, 5) count as open and sit among the open ones in time.
    assert picked() == ["0", "1", "4", "5", "7"]
    assert picked(limit=3) == ["0", "1", "4"]
    assert picked(limit=3, newest_first=True) == ["7", "5", "4"]
    assert picked(states=(State.SNOOZED,)) == ["3"]
    assert picked(states=(State.OPEN, State.DISMISSED), limit=4) == ["0", "1", "2", "4"]
    assert picked(states=()) == [str(n) for n in range(8)]
    assert picked(states=(), older_than=timedelta(minutes=116), limit=2, newest_first=True) == [
        "4",
        "3",
    ]


def test_done_records_a_manual_answer(store: Store) -> None:
    save(store, [mention("1")], [])
    [mid] = [m.id for m in store.mentions(MentionFilter(), T0)]
    store.set_state([mid], State.ANSWERED, T0 + timedelta(minutes=45))
    m = store.get(mid, T0)
    assert (m.state, m.answered_by, m.response_time) == (
        State.ANSWERED,
        "manual",
        timedelta(minutes=45),
    )


def test_filters_combine(store: Store) -> None:
    store.save_poll("a", "mastodon", [mention("1", 0), mention("2", 50)], [], {}, T0)
    store.save_poll("b", "feed", [mention("3", 0)], [], {}, T0)
    now = T0 + timedelta(hours=1)
    only_a = MentionFilter(accounts=("a",), older_than=timedelta(minutes=30))
    assert [m.remote_id for m in store.mentions(only_a, now)] == ["1"]
    feeds = MentionFilter(platforms=("feed",))
    assert [m.account for m in store.mentions(feeds, now)] == ["b"]
    overdue = MentionFilter(due_before={"a": now - timedelta(minutes=30)})
    assert [m.remote_id for m in store.mentions(overdue, now)] == ["1"]
    assert len(list(store.mentions(MentionFilter(limit=2), now))) == 2


def test_cursors_advance_with_their_data(store: Store) -> None:
    store.save_poll("brand", "mastodon", [mention("1")], [], {"mentions": "c1"}, T0)
    assert store.cursors("brand") == {"mentions": "c1"}
    with pytest.raises(StoreError), store.transaction() as db:
        db.execute("UPDATE cursors SET value = 'c2'")
        db.execute("INSERT INTO nowhere VALUES (1)")
    assert store.cursors("brand") == {"mentions": "c1"}


def test_grouped_transactions_stay_atomic_and_reach_others_only_when_committed(
    db_location: Path | str,
) -> None:
    with Store.open(db_location) as store, Store.open(db_location) as other:

        def seen() -> list[str]:
            return sorted(r[0] for r in other.db.execute("SELECT remote_id FROM mentions"))

        with store.grouped() as commit:
            store.save_poll("brand", "mastodon", [mention("1")], [], {"mentions": "c1"}, T0)
            with pytest.raises(StoreError), store.transaction() as db:  # one account fails
                db.execute("UPDATE cursors SET value = 'broken'")
                db.execute("INSERT INTO nowhere VALUES (1)")
            store.save_poll("brand", "mastodon", [mention("2")], [], {"mentions": "c2"}, T0)
            assert seen() == []  # nothing is committed yet
            commit()
            assert seen() == ["1", "2"]
            assert other.cursors("brand") == {"mentions": "c2"}  # the failed one left nothing
            store.save_poll("brand", "mastodon", [mention("3")], [], {}, T0)
        assert seen() == ["1", "2", "3"]  # the rest is committed as the group ends


def test_a_group_ended_by_an_error_keeps_only_what_it_had_committed(
    db_location: Path | str,
) -> None:
    with Store.open(db_location) as store:
        with pytest.raises(RuntimeError), store.grouped() as commit:
            store.save_poll("brand", "mastodon", [mention("1")], [], {}, T0)
            commit()
            store.save_poll("brand", "mastodon", [mention("2")], [], {}, T0)
            raise RuntimeError("the poll stops")
        assert open_ids(store) == ["1"]
        store.save_poll("brand", "mastodon", [mention("4")], [], {}, T0)  # plain again
    with Store.open(db_location) as reopened:
        assert open_ids(reopened) == ["1", "4"]


def test_corrupt_file_is_refused_without_being_changed(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="corrupt"):
        Store.open(path)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_database_from_a_newer_version_is_refused(db_location: Path | str) -> None:
    with Store.open(db_location) as store:
        store.db.execute("INSERT INTO schema_migrations VALUES ('9999_future', 'x')")
    with pytest.raises(StoreError, match="newer mentionwatch"):
        Store.open(db_location)


def test_every_migration_is_recorded_on_both_backends(db_location: Path | str) -> None:
    with Store.open(db_location) as store:
        names = [r[0] for r in store.db.execute("SELECT name FROM schema_migrations")]
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)
    Store.open(db_location).close()  # reopening runs nothing twice


def test_prune_keeps_open_mentions(store: Store) -> None:
    save(store, [mention("1", 0), mention("2", 0)], [reply("r", "1", 5)])
    assert store.prune(T0 + timedelta(days=1)) == 1
    assert open_ids(store) == ["2"]
