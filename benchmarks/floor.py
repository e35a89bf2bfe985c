"""The floor: a minimal script that only downloads and parses what `poll` downloads.

Plain httpx, one request after another, nothing stored. Same endpoints, same page size and the
same Link-header paging as mentionwatch, and parsed the way `poll` parses (orjson, with the
cyclic garbage collector paused), so the difference is only what mentionwatch does with the data.

Run: python -m benchmarks.floor ACCOUNTS.json (a list of {"url", "token"}).
"""

from __future__ import annotations

import gc
import json
import sys
from typing import Any

import httpx
import orjson

# What mentionwatch asks for (sources/mastodon.py): the most each endpoint returns.
NOTIFICATIONS_PAGE, STATUSES_PAGE = 80, 40


def next_url(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return link.get("url") if link else None


def fetch_all(client: httpx.Client, url: str, params: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    response = client.get(url, params=params)
    while True:
        page = orjson.loads(response.content)
        if not page:
            return items
        items.extend(page)
        following = next_url(response)
        if following is None:
            return items
        response = client.get(following)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        accounts = json.load(handle)
    total = 0
    gc.disable()  # as `poll` does (poll._no_cycle_collection)
    with httpx.Client(timeout=30) as client:
        for account in accounts:
            client.headers["Authorization"] = f"Bearer {account['token']}"
            base = account["url"]
            me = orjson.loads(client.get(f"{base}/api/v1/accounts/verify_credentials").content)
            mentions = {"types[]": "mention", "limit": str(NOTIFICATIONS_PAGE)}
            total += len(fetch_all(client, f"{base}/api/v1/notifications", mentions))
            own = {"exclude_reblogs": "true", "limit": str(STATUSES_PAGE)}
            fetch_all(client, f"{base}/api/v1/accounts/{me['id']}/statuses", own)
    print(total)


if __name__ == "__main__":
    main()
