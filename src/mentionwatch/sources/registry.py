"""The registry of platforms: what the config may say for each, and where its source lives.

Apart from `base` so that config validation and the read-only commands load only this.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple

from mentionwatch.text import public_location

if TYPE_CHECKING:
    from mentionwatch.models import Account
    from mentionwatch.sources.base import Source


class PlatformSpec(NamedTuple):
    """What the config may say for a platform, and the module of its source."""

    name: str
    module: str
    default_server: str | None
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    needs_one_of: tuple[str, ...] = ()  # an enabled account must give one of these secrets
    needs_handle: bool = True
    strip_at: bool = True  # a leading "@" on the handle is dropped
    url_options: tuple[str, ...] = ()  # options that must be http(s) addresses
    # Options that may name a file instead, relative to the config file like `database`.
    path_options: tuple[str, ...] = ()
    address_option: str = ""  # where the account reads from when it has no server
    no_keywords: str = ""  # why the platform takes no keywords; the config refuses them
    notes: str = ""
    # The shortest interval `watch` polls the platform at, whatever --every says.
    min_interval: float = 0.0

    def address(self, account: Account) -> str:
        """Where the account reads from, as output may show it (no private key of a URL)."""
        if account.server or not self.address_option:
            return account.server
        return public_location(str(account.options.get(self.address_option, "")))

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
            secrets=("app_password",), needs_one_of=("app_password",), url_options=("appview",),
        ),
        PlatformSpec(
            "github", "github", "https://api.github.com", secrets=("token",),
            needs_one_of=("token",), min_interval=60.0,  # X-Poll-Interval's usual value
        ),
        PlatformSpec(
            "reddit", "reddit", "https://oauth.reddit.com",
            required=("client_id",), optional=("auth_url", "user_agent"),
            secrets=("client_secret", "password", "refresh_token"),
            needs_one_of=("password", "refresh_token"), url_options=("auth_url",),
        ),
        PlatformSpec(
            "twitter", "twitter", "https://api.x.com", secrets=("token", "reply_token"),
            needs_one_of=("token",),
        ),
        PlatformSpec("hackernews", "hackernews", "https://hn.algolia.com", needs_handle=False),
        PlatformSpec(
            "feed", "feed", None, required=("url",), needs_handle=False, strip_at=False,
            path_options=("url",), address_option="url",
            no_keywords="a feed has no search (the alert service picks its entries)",
        ),
    )
}  # fmt: skip
