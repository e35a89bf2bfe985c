"""The one backfill rule, in the sweep every source shares: the horizon binds a listing only
until it has a floor; after that the floor rules, however old it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mentionwatch.sources.base import Page, SweepState, sweep_newest_first
from tests.conftest import run

NOW = datetime(2026, 11, 1, tzinfo=UTC)
# Item n was posted n days ago; the listing is newest first, two items a page.
LISTING = list(range(1, 11))


async def page(token: str | None, floor: object) -> Page[int]:
    start = int(token or 0)
    chunk = LISTING[start : start + 2]
    return Page(chunk, str(start + 2) if start + 2 < len(LISTING) else None)


def sweep(cursor: str | None, horizon: datetime) -> tuple[list[int], SweepState]:
    batch = run(
        sweep_newest_first(
            page,
            key=lambda n: -n,  # newer items sort higher
            time_of=lambda n: NOW - timedelta(days=n),
            cursor=cursor,
            horizon=horizon,
            max_pages=10,
        )
    )
    return list(batch.items), SweepState.decode(batch.cursor)


def test_a_listing_without_a_floor_stops_at_the_horizon_and_keeps_where_it_stopped() -> None:
    items, state = sweep(None, NOW - timedelta(days=3, hours=12))
    assert items == [1, 2, 3]
    assert state.floor == -1


def test_a_quiet_first_sweep_still_leaves_a_floor() -> None:
    items, state = sweep(None, NOW)
    assert items == []
    assert state.floor == -1  # the newest item seen: the next run asks only for newer ones


def test_a_listing_with_a_floor_ignores_the_horizon() -> None:
    items, _ = sweep(SweepState(floor=-6).encode(), NOW)
    assert items == [1, 2, 3, 4, 5]


def test_a_capped_first_sweep_fills_its_gap_down_to_the_horizon_only() -> None:
    capped = SweepState(top=-1, resume="2").encode()  # stopped after the first page
    items, state = sweep(capped, NOW - timedelta(days=4, hours=12))
    assert items == [3, 4]
    assert state.floor == -1 and state.resume is None
