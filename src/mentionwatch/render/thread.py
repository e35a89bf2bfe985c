"""The thread a mention answers, oldest first, ending with the mention; text is hostile."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from rich.text import Text

from mentionwatch.models import StoredMention
from mentionwatch.text import safe_url, strip_controls
from mentionwatch.timeutil import format_time

if TYPE_CHECKING:
    from mentionwatch.fetched import Post


def thread_view(posts: list[Post], mention: StoredMention, zone: tzinfo | None = None) -> Text:
    """Each earlier post, then the mention, marked; control sequences removed from all.

    Times are in `zone` (the config's; None: the system's), as everywhere else.
    """
    view = Text()
    for post in posts:
        when = format_time(post.created_at, zone) if post.created_at else None
        _entry(view, post.author, when, post.text, post.url, marked=False)
    _entry(view, mention.author, format_time(mention.created_at, zone), mention.text,
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
