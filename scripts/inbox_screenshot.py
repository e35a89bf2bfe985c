"""Screenshot the inbox at 80x24 on sample data: the README's docs/inbox.png.

    python scripts/inbox_screenshot.py               # writes docs/inbox.png (and keeps no SVG)
    python scripts/inbox_screenshot.py --svg out.svg # also keep Textual's SVG

Textual saves an SVG; cairosvg (pip install cairosvg) turns it into a PNG, or, failing that,
`rsvg-convert` (Debian: librsvg2-bin), which draws some styled cells a column to the right.
Install Fira Code (Debian: fonts-firacode), the font the SVG asks for. Not run by the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mentionwatch.config import parse
from mentionwatch.fetched import Mention
from mentionwatch.inbox.app import InboxApp
from mentionwatch.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

ACCOUNTS = [
    {"name": "brand-m", "platform": "mastodon", "server": "https://mastodon.example",
     "handle": "exampleco", "token": "env:T", "sla": "1h"},
    {"name": "brand-b", "platform": "bluesky", "handle": "exampleco.example",
     "app_password": "env:T", "sla": "2h"},
    {"name": "exampleco", "platform": "github", "handle": "exampleco", "token": "env:T",
     "sla": "1d"},
]  # fmt: skip
# (account, platform, id, author, minutes old, text, url)
WAITING = [
    ("brand-m", "mastodon", "m1", "ana@fosstodon.example", 95,
     "@exampleco the calendar export has been broken since the last update, any news?",
     "https://fosstodon.example/@ana/113456"),
    ("exampleco", "github", "g1", "octo-dev", 340,
     "Crash when the config has an empty [[rules]] table: traceback attached.",
     "https://github.example/exampleco/app/issues/812#issuecomment-1"),
    ("brand-b", "bluesky", "b1", "kai.bsky.example", 100,
     "Does @exampleco.example support SSO on the team plan? Asking before we buy 12 seats.",
     "https://bsky.example/profile/kai.bsky.example/post/3kq2"),
    ("brand-m", "mastodon", "m2", "lee@hachyderm.example", 48,
     "@exampleco love the new dark mode! Is there a way to schedule it?",
     "https://hachyderm.example/@lee/99123"),
    ("brand-b", "bluesky", "b2", "sam.example.org", 20,
     "@exampleco.example is the API down? Getting 503s from eu-west since 08:30.",
     "https://bsky.example/profile/sam.example.org/post/3kq9"),
    ("brand-m", "mastodon", "m3", "jo@mastodon.example", 6,
     "@exampleco thanks for the quick fix yesterday, works great now",
     "https://mastodon.example/@jo/77001"),
]  # fmt: skip


@dataclass(frozen=True)
class Urgent:
    """What a `priority = "high"` rule decides (store/triage.py's Decision)."""

    priority: int = 0
    tags: tuple[str, ...] = ("outage",)
    sla: timedelta | None = None
    dismissed: str | None = None
    dismissed_by: str | None = None


def sample_store(folder: Path) -> Store:
    store = Store.open(folder / "sample.db")
    for account, platform, rid, author, minutes, text, url in WAITING:
        created = NOW - timedelta(minutes=minutes)
        m = Mention(remote_id=rid, url=url, author=author, text=text, created_at=created)
        decide = (lambda *_: Urgent()) if "down?" in text else None
        store.save_poll(account, platform, [m], [], {}, created + timedelta(minutes=2), decide)
    return store


async def shoot(store: Store, svg: Path) -> None:
    config = parse({"accounts": ACCOUNTS}, ROOT / "config.toml")
    app = InboxApp(store, config, clock=lambda: NOW, refresh_every=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j", "j", "j")
        await pilot.pause()
        app.save_screenshot(svg.name, path=str(svg.parent))


def to_png(svg: Path, png: Path) -> None:
    try:
        cairosvg = importlib.import_module("cairosvg")  # optional, and untyped
    except ImportError:
        if not shutil.which("rsvg-convert"):
            raise SystemExit("needs cairosvg (pip install cairosvg) or rsvg-convert") from None
        subprocess.run(["rsvg-convert", "-o", str(png), str(svg)], check=True)
        return
    cairosvg.svg2png(url=str(svg), write_to=str(png))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, help="also keep the SVG here")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "inbox.png")
    args = parser.parse_args()
    os.environ.pop("NO_COLOR", None)  # the picture shows the SLA colours
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        svg = args.svg.resolve() if args.svg else folder / "inbox.svg"
        with sample_store(folder) as store:
            asyncio.run(shoot(store, svg))
        to_png(svg, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
