"""Hacker News threads for `show --thread`, and where to reply (HN has no posting API).

API: https://hn.algolia.com/api (`GET /api/v1/items/:id` has `parent_id`, `type`, `text`,
`title`). Replying happens on https://news.ycombinator.com/reply?id=ID, in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mentionwatch.fetched import Post
from mentionwatch.models import StoredMention
from mentionwatch.post_html import html_to_text
from mentionwatch.timeutil import parse_timestamp

REPLY_PAGE = "https://news.ycombinator.com/reply?id={}"
ITEM_PAGE = "https://news.ycombinator.com/item?id={}"
PARENTS = 10  # how far up `show --thread` climbs


def item_context(parent_id: Any) -> dict[str, Any]:
    """Where a mention sits, for `show --thread`: its parent item's id."""
    return {"parent": str(parent_id)} if parent_id not in (None, "") else {}


class HackerNewsThreads:
    """Mixed into HackerNewsSource, which provides `_item`."""

    if TYPE_CHECKING:

        async def _item(self, item_id: str) -> Any: ...

    @staticmethod
    def reply_page(mention: StoredMention) -> str:
        return REPLY_PAGE.format(mention.remote_id)

    async def thread(self, mention: StoredMention) -> list[Post]:
        """Up the parents to the story, oldest first."""
        parent = mention.context.get("parent")
        if not parent:
            parent = _field(await self._item(mention.remote_id), "parent_id")
        posts: list[Post] = []
        while parent and len(posts) < PARENTS:
            item = await self._item(str(parent))
            if not isinstance(item, Mapping):
                break
            posts.append(_post(item))
            parent = None if item.get("type") == "story" else item.get("parent_id")
        return posts[::-1]


def _post(item: Mapping[str, Any]) -> Post:
    title = str(item.get("title") or "")
    text = html_to_text(str(item.get("text") or ""))
    created = item.get("created_at_i")
    return Post(
        remote_id=str(item.get("id") or ""),
        url=ITEM_PAGE.format(item.get("id")),
        author=str(item.get("author") or "[deleted]"),
        text=f"{title}\n\n{text}".strip() if title else text,
        created_at=parse_timestamp(created) if isinstance(created, int) else None,
    )


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else None
