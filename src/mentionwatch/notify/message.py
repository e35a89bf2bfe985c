"""One alert message per target: title and body in the target's own format, escaped.

Mention text is hostile: it is escaped for the format (text, Markdown or HTML), and every `@`
and `!` in it gets an invisible word joiner, so no author can ping `@channel`, `@here`,
`@everyone`, `<!channel>` or a user through us.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from mentionwatch.config import Config
from mentionwatch.sla import mention_sla, sla_label, sla_status
from mentionwatch.store.alerts import PendingAlert
from mentionwatch.text import html_text, markdown_text, one_line, safe_url
from mentionwatch.timeutil import format_duration

SECTIONS = (("breached", "Overdue"), ("due-soon", "Due soon"), ("new", "New"))
_EXCERPT = 160
_JOINER = "\u2060"  # WORD JOINER: invisible, and breaks every chat's mention syntax
_PING = re.compile(r"([@!])(?=\S)")
# What a bare URL may keep as it is; the rest is percent-encoded, so that a link can close no
# markup and start no mention.
_URL_SAFE = ":/?#&=%@+.,~-;"
# Per format: a line break inside an entry (Markdown's hard break is two trailing spaces, which
# CommonMark and the other dialects read alike), and the gap between sections.
_BREAKS = {"text": ("\n", "\n\n"), "markdown": ("  \n", "\n\n"), "html": ("<br>\n", "<br><br>\n")}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: str  # "text", "markdown" or "html": what apprise is told the body is
    alert_ids: tuple[int, ...]


def neutralise(text: str) -> str:
    return _PING.sub(lambda m: m.group(1) + _JOINER, text)


def _escaper(body_format: str) -> Callable[[str], str]:
    if body_format == "markdown":
        return lambda text: neutralise(markdown_text(text))
    if body_format == "html":
        return lambda text: neutralise(html_text(one_line(text)))
    return lambda text: neutralise(one_line(text))


def compose(
    alerts: Sequence[PendingAlert], config: Config, now: datetime, body_format: str, max_items: int
) -> Message:
    """The message for one target's pending alerts (already freed of handled mentions).

    Each mention is listed once, under its most urgent event; a first poll's mentions are
    summed up per account instead.
    """
    urgency = {event: rank for rank, (event, _) in enumerate(SECTIONS)}
    worst: dict[int, PendingAlert] = {}
    for alert in alerts:
        seen = worst.get(alert.mention.id)
        if seen is None or urgency[alert.event] < urgency[seen.event]:
            worst[alert.mention.id] = alert
    # Most urgent first (a rule's priority), then oldest: what max_items keeps is what matters.
    chosen = sorted(
        worst.values(), key=lambda a: (a.mention.priority, a.mention.created_at, a.mention.id)
    )
    listed = [a for a in chosen if not a.backfill]
    backfilled = [a for a in chosen if a.backfill]
    counts = {event: sum(1 for a in chosen if a.event == event) for event, _ in SECTIONS}
    title = "mentionwatch: " + ", ".join(
        f"{counts[event]} {label.lower()}" for event, label in SECTIONS if counts[event]
    )
    line_break, gap = _BREAKS[body_format]
    blocks: list[str] = []
    shown = 0
    for event, label in SECTIONS:
        items = [a for a in listed if a.event == event]
        room = max(max_items - shown, 0)
        if not items or not room:
            continue
        entries = [line_break.join(_item(a, config, now, body_format)) for a in items[:room]]
        # Markdown: a blank line before the list, one list item per entry.
        after_heading = gap if body_format == "markdown" else line_break
        between = "\n" if body_format == "markdown" else line_break
        heading = _heading(f"{label} ({len(items)})", body_format)
        blocks.append(heading + after_heading + between.join(entries))
        shown += min(len(items), room)
    if len(listed) > shown:
        blocks.append(_plain(f"… and {len(listed) - shown} more", body_format))
    blocks.extend(_backfill_summary(backfilled, config, body_format))
    return Message(title, gap.join(blocks), body_format, tuple(a.id for a in alerts))


def _heading(text: str, body_format: str) -> str:
    if body_format == "markdown":
        return f"**{markdown_text(text)}**"
    if body_format == "html":
        return f"<b>{html_text(text)}</b>"
    return text


def _plain(text: str, body_format: str) -> str:
    return _escaper(body_format)(text)


def _item(alert: PendingAlert, config: Config, now: datetime, body_format: str) -> list[str]:
    m = alert.mention
    escape = _escaper(body_format)
    status, left = sla_status(m, mention_sla(config, m), now)
    facts = [
        f"#{m.id}",
        f"{format_duration(now - m.created_at)} old",
        sla_label(status, left),
        f"{m.platform}/{m.account}",
        m.author,
    ]
    head = " · ".join(escape(part) for part in facts)
    excerpt = escape(one_line(m.title or m.text, _EXCERPT))
    if body_format == "markdown":
        head = f"- {head}"
    lines = [head, f"  {excerpt}" if body_format != "html" else excerpt]
    link = _link(m.url, body_format)
    if link:
        lines.append(f"  {link}" if body_format != "html" else link)
    return lines


def _link(url: str, body_format: str) -> str:
    clean = safe_url(url)
    if not clean:
        return ""
    encoded = quote(clean, safe=_URL_SAFE)
    if body_format == "markdown":
        encoded = encoded.replace("_", "%5F")  # quote() keeps it; Markdown would read emphasis
    if body_format == "html":
        return f'<a href="{html_text(encoded)}">{html_text(encoded)}</a>'
    return encoded


def _backfill_summary(
    alerts: Sequence[PendingAlert], config: Config, body_format: str
) -> list[str]:
    """One line per account whose first poll brought these, instead of one per mention."""
    lines = []
    for account in sorted({a.mention.account for a in alerts}):
        mine = [a for a in alerts if a.mention.account == account]
        mentions = {a.mention.id for a in mine}
        late = {a.mention.id for a in mine if a.event == "breached"}
        entry = config.by_name.get(account)
        reach = f" from the last {format_duration(entry.backfill)}" if entry else ""
        text = (
            f"First poll of {account}: {len(mentions)} mention"
            f"{'s' if len(mentions) != 1 else ''}{reach}"
            + (f", {len(late)} overdue" if late else "")
            + "; see `mentionwatch list`."
        )
        lines.append(_plain(text, body_format))
    return lines
