"""Account leases on a real PostgreSQL server: claims in batches, takeovers, rounds, the clock.

`tests/test_pollers.py` runs whole `poll` processes against each other; these tests hold the
store's lease queries to their guarantees one step at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mentionwatch.store import Store
from mentionwatch.store import leases as lease_module
from mentionwatch.store.leases import LeaseLostError
from tests.history import at, mention

ACCOUNTS = [f"brand{n:03}" for n in range(40)]
LONG_AGO = datetime(2000, 1, 1).astimezone()


@pytest.fixture
def stores(pg_url: str) -> Iterator[list[Store]]:
    """Four pollers' connections to one database, each with its own holder name."""
    opened = [Store.open(pg_url) for _ in range(4)]
    for number, store in enumerate(opened):
        store.lease_holder = f"poller{number}"
    opened[0].add_leases(ACCOUNTS)
    yield opened
    for store in opened:
        store.close()


def holders(store: Store) -> dict[str, str | None]:
    return {lease.account: lease.holder for lease in store.leases()}


def test_a_claim_takes_up_to_its_limit_in_one_go_and_never_an_account_held(
    stores: list[Store],
) -> None:
    first, second = stores[0], stores[1]
    taken = first.claim("poller0", ACCOUNTS, LONG_AGO, 15)
    assert taken == ACCOUNTS[:15]
    rest = second.claim("poller1", ACCOUNTS, LONG_AGO, 100)
    assert rest == ACCOUNTS[15:]
    assert first.claim("poller0", ACCOUNTS, LONG_AGO, 5) == []
    held = holders(first)
    assert [held[name] for name in ACCOUNTS] == ["poller0"] * 15 + ["poller1"] * 25
    # Only accounts of the list asked about, and none for a claim with no room.
    assert first.claim("poller0", ACCOUNTS, LONG_AGO, 0) == []


def test_claims_work_alike_on_a_sqlite_file(tmp_path: Path) -> None:
    with Store.open(tmp_path / "m.db") as store:
        store.add_leases(ACCOUNTS)
        assert store.claim("me", ACCOUNTS, LONG_AGO, 3) == ACCOUNTS[:3]
        assert store.claim("me", ACCOUNTS[:4], LONG_AGO, 3) == [ACCOUNTS[3]]
        store.release("me", ACCOUNTS[0])
        assert holders(store)[ACCOUNTS[0]] is None and holders(store)[ACCOUNTS[1]] == "me"


def test_claimers_at_once_never_take_the_same_account(stores: list[Store]) -> None:
    """Four threads, one connection each, claiming small batches as fast as they can."""
    got: list[list[str]] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def claim_all(number: int) -> None:
        start.wait()
        while batch := stores[number].claim(f"poller{number}", ACCOUNTS, LONG_AGO, 3):
            got[number].extend(batch)

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [name for batch in got for name in batch]
    assert sorted(every) == ACCOUNTS  # each account once, none left over
    held = holders(stores[0])
    for number, batch in enumerate(got):
        assert all(held[name] == f"poller{number}" for name in batch)


def test_an_expired_lease_is_taken_over_and_its_old_holder_stores_nothing(
    stores: list[Store],
) -> None:
    dead, taker = stores[0], stores[1]
    dead.lease_length = timedelta(0)  # expires the moment it is taken
    assert dead.claim("poller0", ACCOUNTS, LONG_AGO, 1) == [ACCOUNTS[0]]
    assert taker.claim("poller1", ACCOUNTS, LONG_AGO, 1) == [ACCOUNTS[0]]
    now = at(20, 12)
    with pytest.raises(LeaseLostError, match="poller1 took the account over"):
        dead.save_poll(ACCOUNTS[0], "mastodon", [mention("late", at(20, 9))], [],
                       {"mentions": "dead-cursor"}, now)  # fmt: skip
    assert not dead.renew(ACCOUNTS[0])
    taker.save_poll(ACCOUNTS[0], "mastodon", [mention("m1", at(20, 10))], [],
                    {"mentions": "taker-cursor"}, now)  # fmt: skip
    # The dead poller's release finds the lease no longer its own and changes nothing.
    dead.release("poller0", ACCOUNTS[0])
    assert holders(taker)[ACCOUNTS[0]] == "poller1"
    taker.release("poller1", ACCOUNTS[0])
    assert taker.cursors(ACCOUNTS[0]) == {"mentions": "taker-cursor"}
    stored = [row[0] for row in taker.db.execute("SELECT remote_id FROM mentions")]
    assert stored == ["m1"]
    lease = next(lease for lease in taker.leases() if lease.account == ACCOUNTS[0])
    assert lease.holder is None and lease.polled_by == "poller1"


def test_an_account_polled_in_this_round_is_not_claimed_again(stores: list[Store]) -> None:
    first, second = stores[0], stores[1]
    round_start = first.begin_round(ACCOUNTS)
    assert second.begin_round(ACCOUNTS) == round_start  # started together: one round
    for name in first.claim("poller0", ACCOUNTS, round_start, 2):
        first.release("poller0", name)
    assert second.claim("poller1", ACCOUNTS[:2], round_start, 5) == []
    assert second.claim("poller1", ACCOUNTS[:3], round_start, 5) == [ACCOUNTS[2]]
    # A later round polls them again.
    later = first.lease_now() + timedelta(seconds=1)
    assert first.claim("poller0", ACCOUNTS[:2], later, 5) == ACCOUNTS[:2]


def test_lease_times_are_the_servers_not_this_machines(
    stores: list[Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = stores[0]
    monkeypatch.setattr(lease_module, "utcnow", lambda: LONG_AGO)
    server = store.db_now()
    assert abs(store.lease_now() - server) < timedelta(seconds=5)
    store.lease_length = timedelta(minutes=10)
    [name] = store.claim("poller0", ACCOUNTS, LONG_AGO, 1)
    lease = next(lease for lease in store.leases() if lease.account == name)
    assert lease.expires_at is not None
    assert abs(lease.expires_at - (server + timedelta(minutes=10))) < timedelta(seconds=5)
