"""A keyword search through the poll's own fetch step, where hits meet their whole expression.

`fetch_account` is what `mentionwatch poll` runs for each account (in this process or a
worker): the source's search, then the local check of every hit against the keyword that found
it. Platform tests use it to show what the server was sent and what the local check removed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from mentionwatch.fetch import fetch_account
from mentionwatch.fetched import Mention
from mentionwatch.http import Http
from mentionwatch.models import Account
from mentionwatch.timeutil import utcnow
from tests.conftest import run


def fetched_mentions(
    make_http: Callable[..., Http],
    account: Account,
    clock: Callable[[], datetime] = utcnow,
    *,
    replies_may_fail: bool = False,
) -> list[Mention]:
    """The mentions one poll of `account` would store (a first poll, backfilling ten years)."""
    wide = account._replace(backfill=timedelta(days=3650))

    async def go() -> list[Mention]:
        async with make_http() as http:
            fetched = await fetch_account(wide, {}, http, clock)
        if not replies_may_fail:
            assert fetched.error is None, fetched.error
        return list(fetched.mentions)

    return run(go())
