"""The commented starter config that `mentionwatch init` writes."""

from __future__ import annotations

import os
from pathlib import Path

from mentionwatch.errors import UsageError

STARTER_CONFIG = """\
# mentionwatch configuration. Reference: https://github.com/mentionwatch/mentionwatch#configuration
# Secrets never go in this file as plain text unless it is chmod 600: use "env:NAME"
# (read from the environment) or KEY_file = "path" (a file only you can read).

[settings]
sla = "1h"          # response-time target (per account too)
backfill = "3d"     # how far back the first poll of an account looks
# database = "mentionwatch.db"   # default: your user data folder
# max_pages = 10    # pages per listing per run; the next run continues where this one stopped

# [[accounts]]
# name = "brand-mastodon"
# platform = "mastodon"
# server = "https://mastodon.social"
# handle = "brand"
# token = "env:MASTODON_TOKEN"
# keywords = ["ExampleCo"]

# [[accounts]]
# name = "hn"
# platform = "hackernews"
# handle = "your_hn_username"
# keywords = ["ExampleCo"]

# [[accounts]]
# name = "alerts"
# platform = "feed"
# url = "https://www.google.com/alerts/feeds/00000000000000000000/0000000000000000000"
"""


def write_starter(path: Path, force: bool) -> None:
    """Write the starter config readable by its owner only; never overwrite unless forced."""
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(STARTER_CONFIG)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed
