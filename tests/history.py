"""A hand-built week of mentions where every response-time figure is known in advance.

The clock stands at Friday 2026-11-20 15:00 UTC (16:00 in Berlin, where November is UTC+1).
"support" works Mon-Fri 09:00-18:00 Berlin time, i.e. 08:00-17:00 UTC, and Wednesday
2026-11-18 is its holiday; "brand" and "ceo" count every hour.

  id   account  created (UTC)    outcome                        wall     SLA clock
  m1   brand    Mon 16 10:00     answered 10:05                 5m       5m
  m2   brand    Mon 16 11:00     answered 11:20 by alice        20m      20m
  m3   brand    Tue 17 09:00     answered 09:45                 45m      45m
  m4   brand    Tue 17 23:30     answered Wed 01:30             2h       2h    (SLA 1h: late)
  m5   brand    Wed 18 10:00     dismissed
  m6   brand    Fri 20 14:10     open: due soon, 10m left
  m7   brand    Fri 20 13:00     open: breached, overdue by 1h
  m8   brand    Thu 19 10:00     snoozed until Sat 21 10:00
  c1   ceo      Wed 18 12:00     answered 12:10                 10m      10m
  c2   ceo      Fri 20 14:45     open: ok, 45m left
  s1   support  Thu 19 16:00     answered Fri 20 09:00          17h      2h    (1h Thu, 1h Fri)
  s2   support  Wed 18 07:00     answered Wed 18 08:30          1h 30m   0s    (holiday)
  s3   support  Mon 16 12:00     answered Mon 16 18:00          6h       5h    (SLA 4h: late)
  s4   support  Thu 19 14:00     open: breached by 6h (bh)      25h      10h   (3h Thu, 7h Fri)

m4 arrives at 00:30 on Wednesday in Berlin, so `--by day` (in [settings] timezone) counts it
on Wednesday although it is Tuesday in UTC.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mentionwatch.fetched import Mention, Reply
from mentionwatch.models import State
from mentionwatch.store import MentionFilter, Store
from mentionwatch.timeutil import utcnow

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
runner = CliRunner()
# Set by conftest's `backend` fixture to a fresh PostgreSQL database when a test runs there.
DATABASE: str | None = None


def database(default: Path) -> Path | str:
    """Where a test's database is: `default` (a SQLite file), or this run's PostgreSQL URL."""
    return DATABASE or default


CONFIG = """\
[settings]
database = "{db}"
timezone = "Europe/Berlin"

[[accounts]]
name = "brand"
platform = "mastodon"
server = "https://mastodon.example"
handle = "brand"
sla = "1h"

[[accounts]]
name = "ceo"
platform = "mastodon"
server = "https://mastodon.example"
handle = "ceo"

[[accounts]]
name = "support"
platform = "github"
handle = "exampleco-bot"
sla = "4h"
business_hours = "Mon-Fri 09:00-18:00"
holidays = ["2026-11-18"]
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def mention(rid: str, created: datetime, text: str = "", author: str = "fan") -> Mention:
    return Mention(
        remote_id=rid,
        url=f"https://example.social/@{author}/{rid}",
        author=author,
        text=text or f"hello from {rid}",
        created_at=created,
    )


def reply(parent: str, created: datetime, author: str = "brand") -> Reply:
    return Reply(f"re-{parent}", f"https://example.social/@{author}/re-{parent}", author,
                 created, parent_id=parent)  # fmt: skip


# account, platform, mentions, replies
HISTORY: list[tuple[str, str, list[Mention], list[Reply]]] = [
    (
        "brand",
        "mastodon",
        [
            mention("m1", at(16, 10)),
            mention("m2", at(16, 11)),
            mention("m3", at(17, 9)),
            mention("m4", at(17, 23, 30)),
            mention("m5", at(18, 10)),
            mention("m6", at(20, 14, 10)),
            mention("m7", at(20, 13)),
            mention("m8", at(19, 10)),
        ],
        [
            reply("m1", at(16, 10, 5)),
            reply("m2", at(16, 11, 20), "alice"),
            reply("m3", at(17, 9, 45)),
            reply("m4", at(18, 1, 30)),
        ],
    ),
    (
        "ceo",
        "mastodon",
        [mention("c1", at(18, 12)), mention("c2", at(20, 14, 45))],
        [reply("c1", at(18, 12, 10), "ceo")],
    ),
    (
        "support",
        "github",
        [
            mention("s1", at(19, 16)),
            mention("s2", at(18, 7)),
            mention("s3", at(16, 12)),
            mention("s4", at(19, 14)),
        ],
        [
            reply("s1", at(20, 9), "exampleco-bot"),
            reply("s2", at(18, 8, 30), "exampleco-bot"),
            reply("s3", at(16, 18), "exampleco-bot"),
        ],
    ),
]


def freeze(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    """Stop the clock at `now` for every module that reads it, however the CLI is split.

    Every module is imported first: one imported lazily while the clock is stopped would keep
    the stopped clock after the test. Freezing again within a test moves the clock.
    """
    import mentionwatch

    for info in pkgutil.walk_packages(mentionwatch.__path__, "mentionwatch."):
        if info.name != "mentionwatch.__main__":
            importlib.import_module(info.name)

    def stopped() -> datetime:
        return now

    stopped.frozen = True  # type: ignore[attr-defined]
    for name, module in list(sys.modules.items()):
        clock = getattr(module, "utcnow", None)
        if name.startswith("mentionwatch") and (clock is utcnow or hasattr(clock, "frozen")):
            monkeypatch.setattr(module, "utcnow", stopped)


def ids(store: Store) -> dict[str, int]:
    """Remote id -> local id of every stored mention."""
    return {m.remote_id: m.id for m in store.mentions(MentionFilter(states=()), NOW)}


def build(tmp_path: Path, extra: str = "", history: bool = True) -> tuple[Path, dict[str, int]]:
    """Write the config and the database of the week above; returns the config and the ids.

    `extra` is appended to the config; `history=False` leaves the database empty.
    """
    db = database(tmp_path / "history.db")
    config = tmp_path / "history.toml"
    config.write_text(CONFIG.format(db=db) + extra, encoding="utf-8")
    config.chmod(0o600)
    with Store.open(db) as store:
        if not history:
            return config, {}
        for account, platform, mentions, replies in HISTORY:
            store.save_poll(account, platform, mentions, replies, {}, NOW)
        found = ids(store)
        store.set_state([found["m5"]], State.DISMISSED, at(18, 11))
        store.set_state([found["m8"]], State.SNOOZED, at(19, 11), until=at(21, 10))
    return config, found


def add(config: Path, account: str, platform: str, mentions: Iterable[Mention]) -> None:
    """Store more mentions in the history's database."""
    from mentionwatch.config import database_path, load

    with Store.open(database_path(None, load(config))) as store:
        store.save_poll(account, platform, list(mentions), [], {}, NOW)


def mw(config: Path, *args: str) -> tuple[int, str]:
    """Run the CLI; stdout and stderr together, as a user at a terminal would read them."""
    result = runner.invoke(app(), ["--config", str(config), *args])
    return result.exit_code, result.output


def mw_split(config: Path, *args: str) -> tuple[int, str, str]:
    """Run the CLI; exit code, stdout and stderr apart."""
    result = runner.invoke(app(), ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def app() -> typer.Typer:
    from mentionwatch.cli import app

    return app
