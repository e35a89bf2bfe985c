"""The commented starter config that `mentionwatch init` writes."""

from __future__ import annotations

import os
from pathlib import Path

from mentionwatch.errors import UsageError

STARTER_CONFIG = """\
# mentionwatch configuration. Reference: https://github.com/mentionwatch/mentionwatch#configuration
# (the README's Configuration and Platforms sections, and docs/platforms/ for each platform).
# Secrets: write "env:NAME" (read from the environment) or KEY_file = "path" (a file only you
# can read, chmod 600). A secret written here as plain text is accepted only while this file
# is chmod 600, as `mentionwatch init` wrote it. Cron sees none of your shell's variables:
# `mentionwatch schedule` prints cron lines that read them from a 0600 env file instead.
# Uncomment an [[accounts]] block per account, fill it in, then run `mentionwatch config check`.

[settings]
sla = "1h"          # response-time target (per account too)
warn_at = 0.75      # "due soon" from this fraction of the SLA
backfill = "3d"     # how far back the first poll of an account looks
# database = "mentionwatch.db"   # relative to this file; default: your user data folder
# A team shares one PostgreSQL database instead (README: Teams):
# database = "postgresql://mentionwatch@db.example.com/mentionwatch"
# user = "alice"                  # who you are in the team's history; default: your OS user
# lease = "10m"                   # a PostgreSQL poller's hold on an account
# db_connections = 8               # connections a PostgreSQL poller stores through at once
# max_pages = 10    # pages per listing per run; the next run continues where this one stopped
# business_hours = "Mon-Fri 09:00-18:00"   # count SLAs in these hours only (needs timezone)
# timezone = "Europe/Berlin"        # shown times and business hours; default: the system zone

# Alerts: any apprise URL (Slack, Discord, Teams, ntfy, e-mail, webhooks...); see the README's
# Notifications section. `mentionwatch notify test` sends a test message.
# [[notify]]
# name = "team-slack"
# url = "env:SLACK_NOTIFY_URL"       # or url_file = "~/.config/mentionwatch/slack.url" (chmod 600)
# events = ["new", "due-soon", "breached"]   # default: all three
# accounts = ["brand-mastodon"]      # default: every account
# quiet_hours = "22:00-07:00"        # held, then sent as one message (in [settings] timezone)
# max_items = 10                     # per message; the rest are counted

# [[accounts]]
# name = "brand-mastodon"            # unique; used by --account and in every output
# platform = "mastodon"
# server = "https://mastodon.social" # your server
# handle = "brand"
# token = "env:MASTODON_TOKEN"       # Preferences > Development > New application
# keywords = ["ExampleCo"]           # optional: also search for these words
# responders = ["alice"]             # optional: their replies answer too

# [[accounts]]
# name = "brand-bluesky"
# platform = "bluesky"
# handle = "brand.bsky.social"
# app_password = "env:BSKY_APP_PASSWORD"   # Settings > Privacy and security > App passwords

# [[accounts]]
# name = "brand-github"
# platform = "github"
# handle = "octocat"
# token = "env:GITHUB_TOKEN"         # a classic token with the notifications scope

# [[accounts]]
# name = "brand-reddit"
# platform = "reddit"
# handle = "brand"
# client_id = "the id under your script app's name"
# client_secret = "env:REDDIT_CLIENT_SECRET"
# password = "env:REDDIT_PASSWORD"   # or refresh_token = "env:REDDIT_REFRESH_TOKEN"

# [[accounts]]
# name = "brand-x"
# platform = "twitter"
# handle = "ExampleCo"
# token = "env:X_BEARER_TOKEN"       # the app's Bearer Token (a plan with read access)
# # reply_token = "env:X_REPLY_TOKEN"  # for `reply` only: a user token with tweet.write

# [[accounts]]
# name = "hn"
# platform = "hackernews"            # no credential
# handle = "your_hn_username"        # optional
# keywords = ["ExampleCo"]

# [[accounts]]
# name = "alerts"
# platform = "feed"                  # any RSS/Atom feed, e.g. Google Alerts; no credential
# url = "https://www.google.com/alerts/feeds/00000000000000000000/0000000000000000000"

# Inbox rules: applied as each mention is stored (README, "Rules"). Highest priority and
# shortest SLA win, tags add up, dismiss wins and records the rule's name.
# [[rules]]
# name = "complaints"
# match = '(refund OR broken OR cancel OR "worst" OR scam) -"not broken"'
# priority = "high"                  # high | normal | low
# sla = "15m"                        # overrides the account's SLA for what matches
# tags = ["complaint"]

# [[rules]]
# name = "spam"
# match = 'has:link (giveaway OR "free crypto" OR airdrop)'
# dismiss = "spam"                   # dismissed on arrival (never alerts); see list --tag/--state
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
