"""The thread a mention answers, oldest first, ending with the mention; text is hostile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from mentionwatch.models import StoredMention
from mentionwatch.text import safe_url, strip_controls

if TYPE_CHECKING:
    from mentionwatch.fetched import Post


def thread_view(posts: list[Post], mention: StoredMention) -> Text:
    """Each earlier post, then the mention, marked; control sequences removed from all."""
    view = Text()
    for post in posts:
        when = f"{post.created_at:%Y-%m-%d %H:%M} UTC" if post.created_at else None
        _entry(view, post.author, when, post.text, post.url, marked=False)
    _entry(view, mention.author, f"{mention.created_at:%Y-%m-%d %H:%M} UTC", mention.text,
           mention.url, marked=True)  # fmt: skip
    return view


def _entry(view: Text, author: str, when: str | None, text: str, url: str, marked: bool) -> None:
    head = ("▶ " if marked else "  ") + strip_controls(author or "?")
    view.append(head, style="bold")
    if when:
        view.append(f"  {when}", style="dim")
    if link := safe_url(url):
        view.append(f"  {link}", style="dim")
    view.append("\n")
    for line in strip_controls(text).splitlines() or [""]:
        view.append(f"    {line}\n")
    view.append("\n")
