"""Send a real alert to a local ntfy-compatible receiver and render what it received as an
ntfy-style card in headless Chromium: the README's docs/alert.png.

    python scripts/render_alert.py                   # writes docs/alert.png
    python scripts/render_alert.py --html out.html  # also keep the HTML that was rendered

Runs `mentionwatch poll` twice on a sample feed (the first poll is the backfill), with a
`[[notify]]` target `ntfy://127.0.0.1:PORT/brand-mentions?format=markdown` served by the test
receiver (tests/receivers.py), then renders the JSON it got: the title, and the Markdown body
as ntfy's app shows it. Needs `chromium` (Debian: apt-get install chromium). Not run by tests.
"""

from __future__ import annotations

import html
import sys
from datetime import timedelta
from pathlib import Path

from markdown_it import MarkdownIt  # Rich's own dependency: CommonMark, as ntfy's web app reads
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mentionwatch.cli import app  # noqa: E402
from mentionwatch.timeutil import utcnow  # noqa: E402
from scripts.render_digest import render_page  # noqa: E402
from tests.receivers import alert_config, feed_entry, receiver, write_feed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CARD = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 24px; background: #eceff1; font: 15px/1.45 system-ui, sans-serif; }}
.card {{ background: #fff; border-radius: 12px; box-shadow: 0 2px 8px rgba(0,0,0,.15);
         padding: 16px 20px; color: #222; }}
.meta {{ color: #607d8b; font-size: 13px; margin-bottom: 6px; }}
.title {{ font-weight: 600; font-size: 17px; margin-bottom: 8px; }}
.body p {{ margin: 8px 0 2px; }} .body ul {{ margin: 0; padding-left: 18px; }}
.body li {{ margin: 6px 0; }} .body a {{ color: #338574; word-break: break-all; }}
</style></head><body><div class="card">
<div class="meta">ntfy · {topic} · just now</div>
<div class="title">{title}</div>
<div class="body">{body}</div>
</div></body></html>"""


def received_alert(tmp: Path) -> dict[str, str]:
    now = utcnow()
    with receiver("ntfy") as ntfy:
        config = alert_config(
            tmp,
            f'[[notify]]\nname = "phone"\n'
            f'url = "ntfy://{ntfy.base}/brand-mentions?format=markdown"\n',
        )
        runner = CliRunner()
        runner.invoke(app, ["--config", str(config), "poll"])  # the backfill: empty
        write_feed(
            tmp / "alerts.atom",
            feed_entry(101, now - timedelta(minutes=84), "ExampleCo export keeps failing since "
                       "the update, anyone else?", url="https://forum.example.com/t/export/8812"),
            feed_entry(102, now - timedelta(minutes=48), "@channel **URGENT** is ExampleCo "
                       "down? <b>login loops</b>", url="https://status.example.net/q/31"),
            feed_entry(103, now - timedelta(minutes=4), "Just moved our team to ExampleCo, "
                       "loving the calendar sync", url="https://blog.example.org/posts/moving"),
        )  # fmt: skip
        result = runner.invoke(app, ["--config", str(config), "poll"])
        if not ntfy.accepted:
            sys.exit(f"nothing arrived: {result.output}")
        return ntfy.accepted[-1].json()


def card(alert: dict[str, str]) -> str:
    # The body was escaped for Markdown by mentionwatch; CommonMark (raw HTML off, as ntfy
    # renders it) shows it as a phone or browser would.
    body = MarkdownIt("commonmark", {"html": False}).render(alert["message"])
    return CARD.format(
        topic=html.escape(alert["topic"]), title=html.escape(alert["title"]), body=body
    )


def main() -> None:
    render_page(__doc__.splitlines()[0], ROOT / "docs" / "alert.png", 560, 520,
                lambda folder: card(received_alert(folder)))  # fmt: skip


if __name__ == "__main__":
    main()
