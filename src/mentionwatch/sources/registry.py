"""The registry of platforms: what the config may say for each, and where its source lives.

Apart from `base` so that config validation and the read-only commands load only this.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mentionwatch.sources.base import Source


@dataclass(frozen=True)
class PlatformSpec:
    """What the config may say for a platform, and the module of its source."""

    name: str
    module: str
    default_server: str | None
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    needs_one_of: tuple[str, ...] = ()  # an enabled account must give one of these secrets
    needs_handle: bool = True
    notes: str = ""

    def load(self) -> type[Source]:
        module = importlib.import_module(f"mentionwatch.sources.{self.module}")
        cls: type[Source] = module.SOURCE
        return cls


# Adding a platform: its module (exporting SOURCE), this line, its tests, the README table.
PLATFORMS: dict[str, PlatformSpec] = {
    spec.name: spec
    for spec in (
        PlatformSpec(
            "mastodon", "mastodon", None, required=("server",), secrets=("token",),
            needs_one_of=("token",),
        ),
        PlatformSpec(
            "bluesky", "bluesky", "https://bsky.social", optional=("appview",),
            secrets=("app_password",), needs_one_of=("app_password",),
        ),
        PlatformSpec(
            "github", "github", "https://api.github.com", secrets=("token",),
            needs_one_of=("token",),
        ),
        PlatformSpec(
            "reddit", "reddit", "https://oauth.reddit.com",
            required=("client_id",), optional=("auth_url", "user_agent"),
            secrets=("client_secret", "password", "refresh_token"),
            needs_one_of=("password", "refresh_token"),
        ),
        PlatformSpec(
            "twitter", "twitter", "https://api.x.com", secrets=("token",),
            needs_one_of=("token",),
        ),
        PlatformSpec("hackernews", "hackernews", "https://hn.algolia.com", needs_handle=False),
        PlatformSpec("feed", "feed", None, required=("url",), needs_handle=False),
    )
}  # fmt: skip
