"""The commented starter config that `mentionwatch init` writes."""

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
