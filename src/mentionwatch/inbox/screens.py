"""The inbox's pop-ups: a one-line prompt (snooze, filter), the reply editor, the key help."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static, TextArea

KEYS = (
    ("↑/↓ j/k", "move"),
    ("Enter", "open or close the detail (full text, link)"),
    ("t", "fetch the thread the mention answers (in the detail)"),
    ("r", "reply (Ctrl+Enter or Ctrl+S sends, Esc cancels)"),
    ("d", "done: answered by hand"),
    ("x", "dismiss: needs no answer"),
    ("s", "snooze for a while (asks how long: 30m, 4h, 2d)"),
    ("o", "open in the browser"),
    ("u", "undo the last action"),
    ("/", "filter: account:NAME platform:NAME state:STATE priority:high tag:NAME"),
    ("", "older:2h overdue, and words to find in the text, author or URL"),
    ("p", "poll now, in the background"),
    ("?", "this help"),
    ("q", "quit"),
)


class Prompt(ModalScreen[str | None]):
    """Asks for one line; Enter answers, Esc cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", priority=True)]
    DEFAULT_CSS = """
    Prompt { align: center middle; }
    Prompt > Vertical { width: 70; max-width: 100%; height: auto; border: round $accent;
                        padding: 0 1; background: $surface; }
    Prompt #hint { color: $text-muted; }
    """

    def __init__(self, question: str, value: str = "", hint: str = "") -> None:
        super().__init__()
        self.question, self.value, self.hint = question, value, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), id="question")
            yield Input(value=self.value, id="answer")
            if self.hint:
                yield Static(Text(self.hint), id="hint")

    @on(Input.Submitted)
    def answer(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Count:
    """The reply's length as the platform counts it, and whether it may be sent."""

    label: str
    ok: bool


class ReplyEditor(ModalScreen[str | None]):
    """The reply's text, with a live count against the platform's limit."""

    BINDINGS = [
        # Many terminals send Ctrl+Enter as plain Enter (a new line), so Ctrl+S sends too.
        Binding("ctrl+enter", "send", "Send", priority=True),
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]
    DEFAULT_CSS = """
    ReplyEditor { align: center middle; }
    ReplyEditor > Vertical { width: 100%; max-width: 100; height: 20; max-height: 100%;
                             border: round $accent; background: $surface; }
    ReplyEditor #to { height: auto; max-height: 4; }
    ReplyEditor TextArea { height: 1fr; }
    ReplyEditor #count { width: 100%; }
    ReplyEditor #count.over { color: $error; text-style: bold; }
    """

    def __init__(self, to: Text, counter: Callable[[str], Count | None], draft: str = "") -> None:
        super().__init__()
        self.to = to
        self.counter = counter
        self.draft = draft

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.to, id="to", markup=False)
            yield TextArea(self.draft, id="text", soft_wrap=True, show_line_numbers=False)
            yield Static(Text(""), id="count", markup=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self.recount()

    @on(TextArea.Changed)
    def recount(self) -> None:
        count = self.counter(self.query_one(TextArea).text)
        shown = self.query_one("#count", Static)
        if count is None:
            shown.update(Text("Ctrl+Enter or Ctrl+S: send   Esc: cancel"))
            shown.remove_class("over")
            return
        shown.update(Text(f"{count.label}   Ctrl+Enter or Ctrl+S: send   Esc: cancel"))
        shown.set_class(not count.ok, "over")

    def recount_later(self) -> None:
        """Called by the app when the platform's real limit has arrived."""
        if self.is_mounted:
            self.recount()

    def action_send(self) -> None:
        text = self.query_one(TextArea).text
        count = self.counter(text)
        if not text.strip():
            self.notify("The reply is empty: nothing to send.", severity="warning", markup=False)
            return
        if count is not None and not count.ok:
            self.notify(
                f"Too long: {count.label}. Nothing was sent.", severity="error", markup=False
            )
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class KeyHelp(ModalScreen[None]):
    """Every key of the inbox; any key closes it."""

    DEFAULT_CSS = """
    KeyHelp { align: center middle; }
    KeyHelp > Static { width: 78; max-width: 100%; height: auto; border: round $accent;
                       padding: 0 1; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        lines = Text("mentionwatch inbox: keys\n\n", style="bold")
        for key, what in KEYS:
            lines.append(f"{key:>8}  ", style="bold")
            lines.append(f"{what}\n")
        lines.append("\nAny key closes this help.", style="dim")
        yield Static(lines, markup=False)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self.dismiss(None)
