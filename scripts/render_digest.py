"""Render a sample digest's HTML part in headless Chromium: the README's docs/digest.png.

    python scripts/render_digest.py                  # writes docs/digest.png
    python scripts/render_digest.py --html out.html # also keep the HTML that was rendered

Needs `chromium` (Debian: apt-get install chromium fonts-noto-color-emoji). The sample data is
fixed, so the picture only changes when the digest's rendering does. Not run by the tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mentionwatch.config import parse
from mentionwatch.digest.model import collect
from mentionwatch.digest.render import compose
from mentionwatch.digest.settings import DigestSettings
from mentionwatch.fetched import Mention, Reply
from mentionwatch.models import SentDigest
from mentionwatch.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
H, M = timedelta(hours=1), timedelta(minutes=1)

ACCOUNTS = [
    {"name": "brand-mastodon", "platform": "mastodon", "server": "https://mastodon.example",
     "handle": "exampleco", "token": "env:T", "sla": "1h"},
    {"name": "brand-bluesky", "platform": "bluesky", "handle": "exampleco.example",
     "app_password": "env:T", "sla": "2h"},
    {"name": "exampleco-github", "platform": "github", "handle": "exampleco", "token": "env:T",
     "sla": "1d"},
    {"name": "hn", "platform": "hackernews", "handle": "exampleco", "sla": "12h"},
]  # fmt: skip

# (account, platform, id, author, minutes old, minutes since first seen, text, url)
WAITING = [
    ("brand-mastodon", "mastodon", "m1", "ana@fosstodon.example", 9 * 60 + 12, 9 * 60,
     "@exampleco the calendar export has been broken since the last update, any news? 🙏",
     "https://fosstodon.example/@ana/113456"),
    ("brand-bluesky", "bluesky", "b1", "kai.bsky.example", 3 * 60 + 5, 2 * 60 + 50,
     "Does @exampleco.example support SSO on the team plan? Asking before we buy 12 seats.",
     "https://bsky.example/profile/kai.bsky.example/post/3kq2"),
    ("exampleco-github", "github", "g1", "octo-dev", 5 * 60 + 40, 5 * 60 + 30,
     "Widgetly sync drops recurring events after DST change (#482)",
     "https://github.example/exampleco/widgetly/issues/482"),
    ("hn", "hackernews", "h1", "pg_fan", 11 * 60, 10 * 60 + 50,
     "Has anyone compared ExampleCo with Acme Planner for remote teams? <script>x</script>",
     "https://news.example/item?id=4242"),
    ("brand-mastodon", "mastodon", "m2", "lee@social.example", 25, 20,
     "Loving the new dark mode in @exampleco ✨ is there a keyboard shortcut for it?",
     "https://social.example/@lee/113460"),
    ("brand-bluesky", "bluesky", "b2", "sam.bsky.example", 50, 45,
     "@exampleco.example your status page says all good but our invites are not arriving",
     "https://bsky.example/profile/sam.bsky.example/post/3kq9"),
]  # fmt: skip

# (account, platform, id, author, minutes old, response minutes, text, url)
ANSWERED = [
    ("brand-mastodon", "mastodon", "a1", "jo@mastodon.example", 7 * 60, 18,
     "@exampleco is there an export to CSV?", "https://mastodon.example/@jo/113400"),
    ("exampleco-github", "github", "a2", "marta-k", 6 * 60, 95,
     "Docs: the API rate limit page 404s (#479)",
     "https://github.example/exampleco/widgetly/issues/479"),
    ("brand-bluesky", "bluesky", "a3", "ravi.bsky.example", 4 * 60, 41,
     "thanks @exampleco.example for the quick fix yesterday 🎉",
     "https://bsky.example/profile/ravi.bsky.example/post/3kp1"),
]  # fmt: skip


def sample_html(db: Path) -> str:
    config = parse({"accounts": ACCOUNTS}, ROOT / "config.toml")
    with Store.open(db) as store:
        for account, platform, rid, author, age, seen, text, url in WAITING:
            mention = Mention(rid, url, author, text, NOW - age * M)
            store.save_poll(account, platform, [mention], [], {}, NOW - seen * M)
        for account, platform, rid, author, age, took, text, url in ANSWERED:
            created = NOW - age * M
            answer = Reply(f"r{rid}", f"{url}#reply", "exampleco", created + took * M, rid)
            store.save_poll(account, platform, [Mention(rid, url, author, text, created)],
                            [answer], {}, created + M)  # fmt: skip
        last = NOW - 8 * H
        store.record_digest(SentDigest(last, "smtp", ("team@example.com",), "<x@example.com>",
                                       "", last - 24 * H, last))  # fmt: skip
        settings = DigestSettings(to=("team@example.com",), sender="mentionwatch@example.com")
        digest = collect(store, config, settings, NOW, store.last_digest())
        body = compose(digest, settings, settings.to).get_body(("html",))
        assert body is not None
        return str(body.get_content())


def screenshot(html: Path, png: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium not found: apt-get install chromium fonts-noto-color-emoji")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=2",
             f"--user-data-dir={profile}", f"--screenshot={png}",
             f"--window-size={width},{height}", html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def render_page(description: str, output: Path, width: int, height: int,
                page: Callable[[Path], str]) -> None:  # fmt: skip
    """The command line of a script that renders one HTML page to a PNG: `page(folder)` makes
    the HTML (and anything it needs) in a temporary folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output", type=Path, default=output)
    parser.add_argument("--html", type=Path, help="also keep the rendered HTML here")
    parser.add_argument("--width", type=int, default=width)
    parser.add_argument("--height", type=int, default=height)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "page.html"
        html.write_text(page(Path(tmp)), encoding="utf-8")
        if args.html:
            shutil.copyfile(html, args.html)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        screenshot(html, args.output.resolve(), args.width, args.height)
    print(f"wrote {args.output}")


def main() -> None:
    render_page(__doc__.splitlines()[0], ROOT / "docs" / "digest.png", 700, 1190,
                lambda folder: sample_html(folder / "sample.db"))  # fmt: skip


if __name__ == "__main__":
    main()
