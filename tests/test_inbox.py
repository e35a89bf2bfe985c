"""The inbox, driven headless at 80x24 by Textual's pilot: keys in, the store and screen out."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable

from mentionwatch import config as config_mod
from mentionwatch.config import Config
from mentionwatch.fetched import Mention
from mentionwatch.inbox.app import InboxApp
from mentionwatch.inbox.queue import InboxFilter
from mentionwatch.inbox.screens import KeyHelp, Prompt
from mentionwatch.models import State
from mentionwatch.store import MentionFilter, Store
from mentionwatch.store.lock import poll_lock
from mentionwatch.timeutil import utcnow

NOW = utcnow()
HOSTILE = "[bold red]boom[/] \x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 :smile:"

Scenario = Callable[[InboxApp, Pilot[None]], Awaitable[None]]


def mention(rid: str, minutes_ago: int, author: str = "fan", text: str = "") -> Mention:
    return Mention(
        remote_id=rid,
        url=f"https://fake.example/@{author}/{rid}",
        author=author,
        text=text or f"hello from {rid}",
        created_at=NOW - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def db(db_location: Path | str) -> Iterator[Path | str]:
    """Three waiting mentions of `brand` (oldest first: a, b, c) and one of `other`; on a
    SQLite file, then on PostgreSQL."""
    path = db_location
    with Store.open(path) as store:
        store.save_poll("brand", "mastodon", [mention("a", 90), mention("b", 50),
                        mention("c", 10)], [], {}, NOW)  # fmt: skip
        store.save_poll("other", "bluesky", [mention("d", 30, "bsky-fan", "about kittens")],
                        [], {}, NOW)  # fmt: skip
    yield path


def drive(
    path: Path | str,
    scenario: Scenario,
    config: Config | None = None,
    *,
    refresh_every: float = 5.0,
    where: InboxFilter | None = None,
) -> list[str]:
    """Run the app over the database at `path`; returns what it opened in the browser."""
    opened: list[str] = []

    def browse(url: str) -> bool:
        opened.append(url)
        return True

    async def main() -> None:
        with Store.open(path) as store:
            config_ = config or Config(Path("config.toml"))
            app = InboxApp(store, config_, where, refresh_every=refresh_every, browse=browse)
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                await scenario(app, pilot)

    asyncio.run(main())
    return opened


def shown_ids(app: InboxApp) -> list[int]:
    return [m.id for m in app.view.rows]


def current_remote(app: InboxApp) -> str:
    m = app.view.current
    assert m is not None
    return m.remote_id


def drawn(widget: Widget) -> str:
    """The text a widget draws on the screen, line by line."""
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(line.text.rstrip() for line in lines)


def status(app: InboxApp) -> str:
    """The status line, its wrapped lines joined back."""
    return " ".join(drawn(app.view.query_one("#status")).split())


def detail(app: InboxApp) -> str:
    return drawn(app.view.query_one("#detail"))


def ids_by_remote(path: Path | str) -> dict[str, int]:
    with Store.open(path) as store:
        found = store.mentions(MentionFilter(states=()), NOW)
        return {m.remote_id: m.id for m in found}


def state_of(path: Path | str, remote: str) -> State:
    with Store.open(path) as store:
        return store.get(ids_by_remote(path)[remote], utcnow()).state


async def until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for something the app does on its own (a refresh, a worker); fail if it never does."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the inbox never got there")


def test_the_waiting_list_is_oldest_first_and_the_keys_move_through_it(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        assert [m.remote_id for m in app.view.rows] == ["a", "b", "d", "c"]
        assert current_remote(app) == "a"
        await pilot.press("j")
        assert current_remote(app) == "b"
        await pilot.press("down", "down")
        assert current_remote(app) == "c"
        await pilot.press("j")  # the last row stays the last
        assert current_remote(app) == "c"
        await pilot.press("k", "up")
        assert current_remote(app) == "b"
        assert "hello from b" in detail(app)
        assert "https://fake.example/@fan/b" in detail(app)
        await pilot.press("enter")
        assert app.view.has_class("expanded")
        assert not app.view.table.display
        await pilot.press("escape")
        assert not app.view.has_class("expanded")

    drive(db, scenario)


def test_done_dismiss_and_snooze_are_written_at_once_and_undo_takes_them_back(
    db: Path | str,
) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("d")
        assert state_of(db, "a") is State.ANSWERED  # another `list` sees it now
        assert current_remote(app) == "b"  # the next one takes its place
        await pilot.press("x")
        assert state_of(db, "b") is State.DISMISSED
        await pilot.press("s")
        assert isinstance(app.screen, Prompt)
        await pilot.press(*"2h", "enter")  # replaces the offered 4h
        with Store.open(db) as other:
            snoozed = other.get(ids_by_remote(db)["d"], utcnow())
        assert snoozed.state is State.SNOOZED and snoozed.snoozed_until is not None
        assert timedelta(minutes=119) < snoozed.snoozed_until - utcnow() <= timedelta(hours=2)
        assert [m.remote_id for m in app.view.rows] == ["c"]

        await pilot.press("u")
        assert state_of(db, "d") is State.OPEN
        assert current_remote(app) == "d"  # the cursor goes to what came back
        await pilot.press("u")
        assert state_of(db, "b") is State.OPEN
        await pilot.press("u")
        with Store.open(db) as other:
            back = other.get(ids_by_remote(db)["a"], utcnow())
        assert back.state is State.OPEN and back.answered_at is None and back.answered_by is None
        await pilot.press("u")
        assert "Nothing to undo" in status(app)
        assert [m.remote_id for m in app.view.rows] == ["a", "b", "d", "c"]

    drive(db, scenario)


def test_undo_never_overwrites_what_changed_since(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("x")
        with Store.open(db) as other:  # a teammate reopens it from the CLI
            other.set_state([ids_by_remote(db)["a"]], State.OPEN, utcnow())
            other.set_state([ids_by_remote(db)["a"]], State.ANSWERED, utcnow())
        await pilot.press("u")
        assert state_of(db, "a") is State.ANSWERED
        assert "changed since" in status(app)

    drive(db, scenario)


def test_snooze_with_a_bad_duration_changes_nothing(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("s", *"soon", "enter")
        assert state_of(db, "a") is State.OPEN
        assert "not a duration" in status(app)
        await pilot.press("s", "escape")  # Esc cancels
        assert state_of(db, "a") is State.OPEN and not isinstance(app.screen, Prompt)

    drive(db, scenario)


def test_filter_takes_the_list_filters_and_words(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("slash", *"account:other", "enter")
        assert [m.remote_id for m in app.view.rows] == ["d"]
        assert "filter: account:other" in drawn(app.view.query_one("#top"))
        await pilot.press("slash", *"platform:mastodon older:30m", "enter")
        assert [m.remote_id for m in app.view.rows] == ["a", "b"]
        await pilot.press("slash", *"KITTENS", "enter")  # words: any case
        assert [m.remote_id for m in app.view.rows] == ["d"]
        await pilot.press("slash", *"account:nobody", "enter")
        assert "no account named 'nobody'" in status(app)
        assert [m.remote_id for m in app.view.rows] == ["d"]  # the last good filter stays
        await pilot.press("slash", *"platform:mastodn", "enter")
        assert "no platform named 'mastodn'" in status(app)
        await pilot.press("d", "slash", *"state:answered", "enter")
        assert [m.remote_id for m in app.view.rows] == ["d"]
        await pilot.press("slash", "backspace", "enter")  # empty: all waiting
        assert [m.remote_id for m in app.view.rows] == ["a", "b", "c"]

    drive(db, scenario)


def test_a_change_made_elsewhere_is_picked_up_by_the_periodic_refresh(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        assert len(app.view.rows) == 4
        with Store.open(db) as other:  # a poll and a `done` in other processes
            other.save_poll("brand", "mastodon", [mention("e", 5)], [], {}, utcnow())
            other.set_state([ids_by_remote(db)["a"]], State.ANSWERED, utcnow())
        await until(pilot, lambda: [m.remote_id for m in app.view.rows] == ["b", "d", "c", "e"])
        assert app.view.table.row_count == 4
        await pilot.press("j", "j")
        assert current_remote(app) == "c"
        with Store.open(db) as other:  # one older than all: the rows are rebuilt, not appended
            other.save_poll("brand", "mastodon", [mention("z", 500)], [], {}, utcnow())
        await until(pilot, lambda: len(app.view.rows) == 5)
        assert [m.remote_id for m in app.view.rows] == ["z", "b", "d", "c", "e"]
        assert current_remote(app) == "c"  # the cursor stays on what was being read
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert current_remote(app) == "c"
        assert str(app.view.table.get_row_at(3)[0]) == str(ids_by_remote(db)["c"])

    drive(db, scenario, refresh_every=0.1)


def test_p_polls_in_the_background_and_shows_what_came_in(example: Path) -> None:
    config = config_mod.load(example)
    path = config_mod.database_path(None, config)
    assert isinstance(path, Path)

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        assert app.view.rows == []
        assert "Nothing waiting" in detail(app)
        await pilot.press("p")
        await until(pilot, lambda: not app.polling)
        assert "Poll done: " in status(app) and "failed" not in status(app)
        assert len(app.view.rows) >= 3
        assert {m.account for m in app.view.rows} == {"exampleco-alerts"}

    with Store.open(path):
        pass
    drive(path, scenario, config)


def test_p_while_another_poll_runs_says_so_and_keeps_working(example: Path) -> None:
    config = config_mod.load(example)
    path = config_mod.database_path(None, config)
    assert isinstance(path, Path)

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        with poll_lock(path, 0):  # cron's poll, in another process
            await pilot.press("p")
            await until(pilot, lambda: not app.polling)
        assert "another `mentionwatch poll` is running" in status(app)
        assert app.view.rows == []
        await pilot.press("p")  # once it is done, p polls
        await until(pilot, lambda: not app.polling)
        assert len(app.view.rows) >= 3

    with Store.open(path):
        pass
    drive(path, scenario, config)


def test_o_opens_the_link_and_help_keys_do_not_act(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeyHelp)
        await pilot.press("d")  # closes the help; marks nothing done
        assert not isinstance(app.screen, KeyHelp)
        assert state_of(db, "a") is State.OPEN
        await pilot.press("q")
        assert app.return_code == 0  # q quits (None while it runs)

    assert drive(db, scenario) == ["https://fake.example/@fan/a"]


def test_it_fits_80_by_24_and_shows_sla_colours(
    db: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR")

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        table: DataTable[Text] = app.view.table
        assert table.virtual_size.width <= 80  # no sideways scrolling at 80 columns
        ages = [table.get_row_at(n)[3] for n in range(table.row_count)]
        # a: 90m of a 1h target (late), b: 50m (due soon from 45m), c: 10m (ok)
        assert [(str(t), t.style) for t in ages] == [
            ("late", "red"), ("soon", "yellow"), ("ok", "green"), ("ok", "green")]  # fmt: skip
        assert _colours(app.export_screenshot()) - _greys(app.export_screenshot())

    drive(db, scenario)


def test_no_color_turns_every_colour_off(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        assert app.no_color
        table: DataTable[Text] = app.view.table
        assert all(not cell.style and not cell.spans for cell in table.get_row_at(0))
        screenshot = app.export_screenshot()
        assert _colours(screenshot) and _colours(screenshot) == _greys(screenshot)

    drive(db, scenario)  # conftest sets NO_COLOR for every test


def test_hostile_text_is_shown_literally(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store.open(path) as store:
        store.save_poll("brand", "mastodon", [mention("h", 5, "[red]x[/]", HOSTILE)], [], {},
                        NOW)  # fmt: skip

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        excerpt = app.view.table.get_row_at(0)[6]
        assert str(excerpt).startswith("[bold red]boom[/] cl")
        assert not excerpt.spans
        assert "[bold red]boom[/] click :smile:" in detail(app)
        assert "[red]x[/]" in detail(app)
        screen = app.export_screenshot()
        assert "evil.example" not in screen and "\x1b" not in detail(app)
        assert "😄" not in screen

    drive(path, scenario)


def test_the_inbox_filter_from_the_command_line_is_applied(db: Path | str) -> None:
    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        assert [m.remote_id for m in app.view.rows] == ["d"]

    drive(db, scenario, where=InboxFilter(platforms=("bluesky",)))


def _colours(svg: str) -> set[str]:
    return {c.lower() for c in re.findall(r"(?:fill|color):\s*(#[0-9a-fA-F]{6})", svg)}


def _greys(svg: str) -> set[str]:
    """Colours without a hue (the SVG's default foreground, #c5c8c6, is all but grey)."""
    channels = {c: [int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in _colours(svg)}
    return {c for c, rgb in channels.items() if max(rgb) - min(rgb) <= 8}


def test_the_command_refuses_a_mistyped_filter_before_starting(db: Path | str) -> None:
    from typer.testing import CliRunner

    from mentionwatch.cli import app

    for args, said in ((["--platform", "mastodn"], "no platform named 'mastodn'"),
                       (["--account", "nobody"], "no account named 'nobody'")):  # fmt: skip
        result = CliRunner().invoke(app, ["--db", str(db), "inbox", *args])
        assert result.exit_code == 2 and said in result.output


def test_textual_is_imported_only_by_the_inbox_package() -> None:
    import ast

    src = Path(__file__).resolve().parent.parent / "src" / "mentionwatch"
    importers = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] == "textual" for n in names):
                importers.add(path.relative_to(src).parts[0])
    assert importers == {"inbox"}


@dataclass(frozen=True)
class Ruled:
    """What an inbox rule decided (store/triage.py's Decision), for mentions made urgent."""

    priority: int = 0
    tags: tuple[str, ...] = ("vip",)
    sla: timedelta | None = None
    dismissed: str | None = None
    dismissed_by: str | None = None


def test_rules_priority_comes_first_and_filters(db: Path | str) -> None:
    with Store.open(db) as store:
        urgent = [mention("u", 2, "boss", "urgent: the site is down")]
        store.save_poll(
            "brand", "mastodon", urgent, [], {}, NOW, lambda ms, *_: [Ruled()] * len(ms)
        )

    async def scenario(app: InboxApp, pilot: Pilot[None]) -> None:
        assert [m.remote_id for m in app.view.rows] == ["u", "a", "b", "d", "c"]
        assert str(app.view.table.get_row_at(0)[1]) == "hi"
        assert str(app.view.table.get_row_at(1)[1]) == ""  # normal says nothing
        # The detail wraps at the pilot's width, and the age before it varies by a character.
        assert "high priority" in " ".join(detail(app).split()) and "#vip" in detail(app)
        await pilot.press("slash", *"priority:normal", "enter")
        assert [m.remote_id for m in app.view.rows] == ["a", "b", "d", "c"]
        await pilot.press("slash", *"tag:vip", "enter")
        assert [m.remote_id for m in app.view.rows] == ["u"]
        await pilot.press("slash", *"priority:urgent", "enter")
        assert "not one of high, normal, low" in status(app)

    drive(db, scenario)
