"""The inbox app: the store and config it works on, and the background work (poll, reply)."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from textual import work
from textual.app import App
from textual.screen import Screen

from mentionwatch.config import Config
from mentionwatch.errors import MentionwatchError
from mentionwatch.inbox.queue import InboxFilter, UndoLog
from mentionwatch.inbox.view import InboxScreen
from mentionwatch.models import StoredMention
from mentionwatch.store import Store
from mentionwatch.text import one_line
from mentionwatch.timeutil import utcnow

if TYPE_CHECKING:
    from mentionwatch.poll import PollResult


class InboxApp(App[None]):
    TITLE = "mentionwatch inbox"
    # The footer's key hints would otherwise be drawn over by the command palette's.
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        store: Store,
        config: Config,
        where: InboxFilter | None = None,
        *,
        refresh_every: float = 5.0,
        browse: Callable[[str], bool] = webbrowser.open,
        clock: Callable[[], datetime] = utcnow,
        location: Path | str | None = None,
        password: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.where = where or InboxFilter()
        self.refresh_every = refresh_every
        self.browse = browse
        self.clock = clock
        self.undo = UndoLog()
        self.threads: dict[int, RenderableType] = {}
        self.polling = False
        # Where a background poll opens its own connection (a PostgreSQL store's `path` is the
        # URL as shown, without its password).
        self.location = location if location is not None else store.path
        self.password = password

    def get_default_screen(self) -> Screen[None]:
        return InboxScreen()

    @property
    def view(self) -> InboxScreen:
        screen = self.screen_stack[0] if self.screen_stack else self.screen
        assert isinstance(screen, InboxScreen)
        return screen

    # -- reply and thread ------------------------------------------------------------------

    def start_reply(self, mention: StoredMention) -> None:
        self.view.say(f"#{mention.id}: replying from the inbox is not available yet.", error=True)

    def start_thread(self, mention: StoredMention) -> None:
        self.view.say(f"#{mention.id}: threads in the inbox are not available yet.", error=True)

    # -- poll ------------------------------------------------------------------------------

    def start_poll(self) -> None:
        if self.polling:
            self.view.say("A poll is already running.")
            return
        if not any(a.enabled for a in self.config.accounts):
            self.view.say(f"{self.config.path}: no enabled accounts to poll.", error=True)
            return
        self.polling = True
        self.view.say("Polling…")
        self.poll_in_background()

    @work(thread=True, exclusive=True, group="poll")
    def poll_in_background(self) -> None:
        """In a thread with its own connection: a poll parses and stores for seconds."""
        from mentionwatch.config_secrets import resolve_secrets
        from mentionwatch.poll import PollHooks, run_poll
        from mentionwatch.store.lock import poll_lock

        total = sum(1 for a in self.config.accounts if a.enabled)
        finished: list[PollResult] = []

        def one_done(result: PollResult) -> None:
            finished.append(result)
            self.call_from_thread(self.poll_progress, result, len(finished), total)

        try:
            config = resolve_secrets(self.config)
            # SQLite: one poll at a time per file. PostgreSQL: pollers share accounts by leases.
            where = self.location
            lock = poll_lock(where, 0) if isinstance(where, Path) else nullcontext()
            with lock, Store.open(where, password=self.password) as store:
                results = run_poll(config, store, hooks=PollHooks(finished=one_done))
        except MentionwatchError as exc:
            self.call_from_thread(self.poll_failed, str(exc))
            return
        self.call_from_thread(self.poll_finished, results)

    def poll_progress(self, result: PollResult, done: int, total: int) -> None:
        what = f"FAILED: {result.error}" if result.error else f"{result.new_mentions} new"
        self.view.say(f"Polling {done}/{total}: {result.account} {what}", error=bool(result.error))
        self.view.reload()

    def poll_failed(self, message: str) -> None:
        self.polling = False
        self.view.say(f"Poll: {message}", error=True)

    def poll_finished(self, results: list[PollResult]) -> None:
        self.polling = False
        new = sum(r.new_mentions for r in results)
        failed = [one_line(r.account) for r in results if not r.ok]
        message = f"Poll done: {new} new, {sum(r.newly_answered for r in results)} answered"
        if failed:
            message += f"; failed: {', '.join(failed)}"
        self.view.say(message, error=bool(failed))
        self.view.reload()
