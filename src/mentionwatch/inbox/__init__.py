"""The Textual triage UI; only `mentionwatch inbox` imports this package (Textual is heavy)."""

from __future__ import annotations

from pathlib import Path

from mentionwatch.config import Config
from mentionwatch.inbox.queue import InboxFilter
from mentionwatch.store import Store


def run_inbox(
    store: Store,
    config: Config,
    where: InboxFilter,
    location: Path | str,
    password: str | None = None,
) -> None:
    """Run the inbox full screen until the user quits; `location` is for background polls."""
    from mentionwatch.inbox.app import InboxApp

    InboxApp(store, config, where, location=location, password=password).run()
