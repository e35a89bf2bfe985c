"""The inbox app: the store and config it works on, and the background work (poll, reply)."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text
from textual import work
from textual.app import App
from textual.screen import Screen

from mentionwatch.config import Config
from mentionwatch.errors import MentionwatchError, ReplyUnknownError
from mentionwatch.inbox.detail import thread_note
from mentionwatch.inbox.queue import InboxFilter, UndoLog
from mentionwatch.inbox.screens import Count, ReplyEditor
from mentionwatch.inbox.view import InboxScreen
from mentionwatch.models import StoredMention
from mentionwatch.store import Store
from mentionwatch.text import one_line, safe_url
from mentionwatch.timeutil import utcnow

if TYPE_CHECKING:
    from mentionwatch.poll import PollResult


class ReplyLimit:
    """The platform's limit for the reply being written, once it has been asked."""

    value: int | None = None


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
        self.drafts: dict[int, str] = {}  # replies written but not sent, by mention id
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
        """The editor, counting as the platform does; sending goes through the replying core."""
        from mentionwatch.replying import check_reply_text

        try:
            can_post = check_reply_text(self.config, mention, "") is not None
        except MentionwatchError as exc:  # e.g. its account has left the config
            self.view.say(f"#{mention.id}: cannot reply: {exc}", error=True)
            return
        if not can_post:
            self.run_worker(self.open_reply_page(mention), group="reply")
            return
        limit = ReplyLimit()

        def counter(text: str) -> Count | None:
            try:
                found = check_reply_text(self.config, mention, text, limit=limit.value)
            except MentionwatchError:
                return None
            return None if found is None else Count(found.describe(), found.ok)

        to = Text(f"Reply to #{mention.id} ", style="bold")
        to.append(one_line(mention.author), style="" if self.no_color else "cyan")
        to.append(f" as {one_line(mention.account)} ({mention.platform})\n")
        to.append(one_line(mention.text, 200), style="dim")
        editor = ReplyEditor(to, counter, self.drafts.get(mention.id, ""))
        self.push_screen(editor, lambda text: self.reply_written(mention, text))
        self.run_worker(self.fetch_limit(mention, limit, editor), group="limit")

    async def fetch_limit(
        self, mention: StoredMention, limit: ReplyLimit, editor: ReplyEditor
    ) -> None:
        """The instance's own limit (Mastodon asks it once); until then the platform default."""
        from mentionwatch.replying import reply_limit

        try:
            limit.value = await reply_limit(self.config, mention)
        except MentionwatchError as exc:
            self.view.say(f"The platform's length limit is unknown ({exc}); counting "
                          "against its default.", error=True)  # fmt: skip
            return
        editor.recount_later()

    def reply_written(self, mention: StoredMention, text: str | None) -> None:
        if text is None:  # Esc: the draft is thrown away
            self.drafts.pop(mention.id, None)
            self.view.say("Reply cancelled; nothing was sent.")
            return
        self.drafts[mention.id] = text  # kept until it is sent: a failure must not lose it
        self.view.say(f"Sending the reply to #{mention.id}…")
        self.run_worker(self.send(mention, text), group="reply")

    async def send(self, mention: StoredMention, text: str) -> None:
        from mentionwatch.replying import send_reply

        try:
            outcome = await send_reply(self.store, self.config, mention.id, text)
        except ReplyUnknownError as exc:  # sent, maybe posted: never say "not sent" then
            self.view.say(f"Reply to #{mention.id}: {exc}", error=True)
            return
        except MentionwatchError as exc:
            self.view.say(f"Reply to #{mention.id} not sent: {exc} (r: the draft is kept)",
                          error=True)  # fmt: skip
            return
        self.drafts.pop(mention.id, None)
        posted = outcome.posted
        link = safe_url(posted.url) if posted is not None else ""
        self.view.say(f"Replied to #{mention.id}; it is answered. {link}".rstrip())
        self.view.reload()

    async def open_reply_page(self, mention: StoredMention) -> None:
        """HN and feeds have no posting API: their reply page, in the browser."""
        from mentionwatch.replying import send_reply

        try:
            # Without a posting API, send_reply sends nothing and only says where to reply.
            outcome = await send_reply(self.store, self.config, mention.id, "(in the browser)")
        except MentionwatchError as exc:
            self.view.say(f"#{mention.id}: cannot reply: {exc}", error=True)
            return
        page = safe_url(outcome.reply_page or "")
        if page and self.browse(page):
            self.view.say(f"{mention.platform} has no posting API: reply in the browser; a "
                          "poll will see your reply (or press d).")  # fmt: skip
        else:
            self.view.say(f"{mention.platform} has no posting API: reply at {page}")

    def start_thread(self, mention: StoredMention) -> None:
        self.threads[mention.id] = thread_note("fetching…")
        self.view.show_detail()
        self.run_worker(self.fetch_thread(mention), group="thread")

    async def fetch_thread(self, mention: StoredMention) -> None:
        from mentionwatch.render.thread import thread_view
        from mentionwatch.replying import fetch_thread

        try:
            posts = await fetch_thread(self.config, mention)
        except MentionwatchError as exc:
            self.threads[mention.id] = thread_note(f"could not be fetched: {exc}")
        else:
            title = Text(f"Thread, oldest first ({len(posts)} before it)", style="bold")
            self.threads[mention.id] = Group(title, thread_view(posts, mention))
        if self.view.current is not None and self.view.current.id == mention.id:
            self.view.show_detail()

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
        from mentionwatch.poll import PollHooks, run_poll
        from mentionwatch.store.lock import poll_lock

        total = sum(1 for a in self.config.accounts if a.enabled)
        finished: list[PollResult] = []

        def one_done(result: PollResult) -> None:
            finished.append(result)
            self.call_from_thread(self.poll_progress, result, len(finished), total)

        try:
            config = self.config.with_secrets()
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
