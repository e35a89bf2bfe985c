"""The concurrent floor: `poll`'s own HTTP client and limits, fetching and parsing, storing nothing.

The same `Http` (pools, per-host limits, retries, quota tracking) that `poll` builds from the same
config, the same requests per account, in the same order (verify_credentials, then the mention
notifications beside the account's statuses, as `poll` reads Mastodon's two listings, each paged
by its Link header), all accounts at once, pages parsed with
orjson and the cyclic collector paused, as in `poll`. `poll` ÷ this is mentionwatch's own cost:
building, checking and storing mentions, and its bookkeeping per request.

Run: python -m benchmarks.concurrent_floor CONFIG.toml (tokens from the environment, as for poll).
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
from pathlib import Path
from typing import Any

import orjson

from mentionwatch.config import load
from mentionwatch.http import AccountFetcher, Http
from mentionwatch.models import Account

# What mentionwatch asks for (sources/mastodon.py): the most each endpoint returns.
NOTIFICATIONS_PAGE, STATUSES_PAGE = 80, 40
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


async def account_requests(http: Http, account: Account) -> int:
    fetcher = http.for_account(account)
    auth = {"Authorization": f"Bearer {account.secrets['token']}"}
    base = account.server.rstrip("/")
    me = orjson.loads(
        (await fetcher.get(f"{base}/api/v1/accounts/verify_credentials", headers=auth)).body
    )
    mentions = [("types[]", "mention"), ("limit", str(NOTIFICATIONS_PAGE))]
    own = [("exclude_reblogs", "true"), ("limit", str(STATUSES_PAGE))]
    total, _ = await asyncio.gather(
        listing(fetcher, f"{base}/api/v1/notifications", mentions, auth),
        listing(fetcher, f"{base}/api/v1/accounts/{me['id']}/statuses", own, auth),
    )
    return total


async def listing(
    fetcher: AccountFetcher, url: str, params: list[tuple[str, str]], headers: dict[str, str]
) -> int:
    count = 0
    response = await fetcher.get(url, params=params, headers=headers)
    while True:
        page: list[Any] = orjson.loads(response.body)
        if not page:
            return count
        count += len(page)
        following = _NEXT.search(response.headers.get("link", ""))
        if following is None:
            return count
        response = await fetcher.get(following.group(1), headers=headers)


async def main_async(config_path: Path) -> int:
    config = load(config_path).with_secrets()
    s = config.settings
    http = Http(
        timeout=s.timeout.total_seconds(),
        retries=s.retries,
        max_wait=s.max_wait.total_seconds(),
        concurrency=s.concurrency,
        per_host=s.per_host,
    )
    async with http:
        counts = await asyncio.gather(*(account_requests(http, a) for a in config.accounts))
    return sum(counts)


def main() -> None:
    gc.disable()  # as `poll` does
    print(asyncio.run(main_async(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
