"""Untimed setup: simulator specs, mentionwatch configs, account lists and big databases."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mentionwatch.store import Store


@dataclass(frozen=True)
class SimAccount:
    """One simulated account as the clients see it: where it lives and its token."""

    number: int
    url: str

    @property
    def token(self) -> str:
        return f"token-{self.number}"

    @property
    def env(self) -> str:
        return f"BENCH_TOKEN_{self.number}"


def instance_spec(
    accounts: list[int], latency: float, mentions: int, statuses: int, page_size: int = 40
) -> dict[str, Any]:
    return {
        "accounts": accounts,
        "latency": latency,
        "mentions": mentions,
        "statuses": statuses,
        "page_size": page_size,
    }


def spread(count: int, instances: int) -> list[list[int]]:
    """Account numbers 1..count dealt round-robin over the instances."""
    return [list(range(i + 1, count + 1, instances)) for i in range(instances)]


def write_config(
    path: Path, accounts: list[SimAccount], db: Path | str, extra_account_keys: str = ""
) -> None:
    """A config with default [settings] apart from the database (a file or a postgresql:// URL);
    tokens come from env:NAME."""
    lines = ["[settings]", f'database = "{db}"', ""]
    for account in accounts:
        lines += [
            "[[accounts]]",
            f'name = "brand{account.number}"',
            'platform = "mastodon"',
            f'server = "{account.url}"',
            f'handle = "brand{account.number}"',
            f'token = "env:{account.env}"',
            extra_account_keys,
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    path.chmod(0o600)


def write_account_list(path: Path, accounts: list[SimAccount]) -> None:
    """What the comparison scripts read: each account's base URL and token."""
    path.write_text(json.dumps([{"url": a.url, "token": a.token} for a in accounts]))


def token_env(accounts: list[SimAccount]) -> dict[str, str]:
    return {a.env: a.token for a in accounts}


def build_database(path: Path, rows: int, open_rows: int) -> None:
    """`rows` stored mentions over 10 accounts, `open_rows` of them open, the rest answered.

    The schema comes from Store.open (so it is exactly what migrations make); the rows go in
    by plain SQL in one transaction, without a journal, because this is setup and not timed.
    Raw payloads are short stand-ins: they are never read by list or export.
    """
    Store.open(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(seconds=30 * rows)
    every = max(rows // max(open_rows, 1), 1)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    seen = now.strftime(stamp)

    def generate() -> Any:
        for i in range(rows):
            created = (start + timedelta(seconds=30 * i)).strftime(stamp)
            is_open = i % every == every - 1 and i // every < open_rows
            account = f"brand{i % 10}"
            url = f"https://social.example/@fan{i % 997}/{10**9 + i}"
            text = f"@{account} is the export broken again? Asking for the {i}th time."
            answered = None if is_open else created
            yield (
                account, "mastodon", str(10**9 + i), "mention", url, f"fan{i % 997}", text,
                created, seen, "open" if is_open else "answered", answered,
                None if is_open else url + "#reply", None if is_open else account,
                f'{{"id":"{10**9 + i}","type":"mention"}}',
            )  # fmt: skip

    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO mentions (account, platform, remote_id, kind, url, author, text, "
        "created_at, first_seen_at, state, answered_at, answered_url, answered_by, raw) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        generate(),
    )
    db.execute("COMMIT")
    db.close()
