"""What a user would write instead: a sequential Mastodon.py script over every account.

It fetches what `poll` fetches (who am I, mention notifications, own statuses), page by page
with fetch_next, one account after another, keeping everything in memory.

Run: python -m benchmarks.mastodon_py ACCOUNTS.json (a list of {"url", "token"}).
Mastodon.py is not a dependency of mentionwatch; the benchmark installs it when missing.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mastodon import Mastodon

# The same pages as mentionwatch asks for: the most each endpoint returns.
NOTIFICATIONS_PAGE, STATUSES_PAGE = 80, 40


def fetch_all(api: Mastodon, page: Any) -> list[Any]:
    items: list[Any] = []
    while page:
        items.extend(page)
        page = api.fetch_next(page)
    return items


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        accounts = json.load(handle)
    total = 0
    for account in accounts:
        api = Mastodon(access_token=account["token"], api_base_url=account["url"])
        me = api.account_verify_credentials()
        mentions = fetch_all(api, api.notifications(types=["mention"], limit=NOTIFICATIONS_PAGE))
        fetch_all(api, api.account_statuses(me["id"], exclude_reblogs=True, limit=STATUSES_PAGE))
        total += len(mentions)
    print(total)


if __name__ == "__main__":
    main()
