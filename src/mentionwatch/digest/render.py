"""The digest rendered: the plain-text part, the HTML part and the message that carries both.

The HTML uses tables and inline styles only, so it renders in every mail client. Mention text is
hostile: every string goes through `html_text`, every link through `safe_url`,
and nothing here loads a remote resource or runs a script.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from mentionwatch.digest.model import Digest, Section, items, scorecard, subject
from mentionwatch.digest.settings import DigestSettings
from mentionwatch.text import html_text, one_line, safe_url
from mentionwatch.timeutil import format_duration, format_time

_FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif"
_MUTED = "#59636e"
_RULE = "#d8dee4"
_COLORS = {"overdue": "#cf222e", "new": "#0969da", "waiting": "#9a6700", "answered": "#1a7f37"}


def plain_text(digest: Digest, prefix: str) -> str:
    """The text/plain part; also what `digest` prints for cron's MAILTO."""
    when = format_time(digest.now, digest.zone, "%a %d %b %Y %H:%M")
    lines = [f"{prefix} digest, {when}", scorecard(digest), ""]
    if not digest.waiting_count:
        lines += ["Nothing waiting for an answer. 🎉", ""]
    for section in digest.sections:
        if not section.total:
            continue
        lines.append(f"{section.title.upper()} ({section.total})")
        for item in items(digest, section):
            facts = [item.when, item.sla, f"{item.platform}/{item.account}", item.author]
            facts += ["new"] if item.new else []
            lines.append(f"  #{item.id} " + " · ".join(f for f in facts if f))
            lines += textwrap.wrap(
                item.excerpt, 76, initial_indent="    ", subsequent_indent="    "
            )
            lines.append("    " + (item.url or "(no link)"))
        if section.total > len(section.items):
            lines.append(f"  … and {section.total - len(section.items)} more: mentionwatch list")
        lines.append("")
    if digest.first:
        lines.append(f"First digest: \"new\" and \"answered\" cover the last "
                     f"{format_duration(digest.now - digest.since)}.")  # fmt: skip
    lines.append("Clear items with: mentionwatch done|dismiss|snooze ID (see mentionwatch list).")
    return "\n".join(lines) + "\n"


def compose(digest: Digest, settings: DigestSettings, recipients: Sequence[str]) -> EmailMessage:
    """The multipart/alternative message: plain text first, then HTML, UTF-8 throughout."""
    sender = settings.sender or "mentionwatch@localhost"
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    title = subject(digest, settings.subject_prefix)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = sender
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(digest.now)
    message["Message-ID"] = make_msgid("digest", domain=domain)
    # RFC 3834: tells vacation responders and ticket systems not to answer a robot.
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps every line 7-bit and short, whatever the server supports.
    message.set_content(plain_text(digest, settings.subject_prefix), cte="quoted-printable")
    message.add_alternative(
        render_html(digest, settings.subject_prefix, title), subtype="html", cte="quoted-printable"
    )
    return message


def plain_part(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def render_html(digest: Digest, prefix: str, title: str) -> str:
    rows = [_header(digest, prefix), _scorecard(digest)]
    if not digest.waiting_count:
        rows.append(_row('<p style="margin:0;font-size:16px;">Nothing waiting for an answer. '
                         "🎉</p>", "padding:8px 24px 16px;"))  # fmt: skip
    for section in digest.sections:
        if section.total:
            rows.append(_section(digest, section))
    rows.append(_footer(digest))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f"<title>{html_text(title)}</title></head>\n"
        f'<body style="margin:0;padding:0;background:#f6f8fa;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f6f8fa;"><tr><td align="center" style="padding:24px 8px;">\n'
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:100%;max-width:640px;background:#ffffff;border:1px solid {_RULE};'
        f'border-radius:8px;font-family:{_FONT};color:#1f2328;line-height:1.45;">\n'
        + "\n".join(rows)
        + "\n</table>\n</td></tr></table>\n</body></html>\n"
    )


def _row(inner: str, style: str = "padding:0 24px;") -> str:
    return f'<tr><td style="{style}">{inner}</td></tr>'


def _header(digest: Digest, prefix: str) -> str:
    return _row(
        f'<h1 style="margin:0;font-size:20px;font-weight:600;">{html_text(prefix)} digest</h1>'
        f'<p style="margin:2px 0 0;font-size:13px;color:{_MUTED};">'
        f"{html_text(format_time(digest.now, digest.zone, '%a %d %b %Y, %H:%M'))}</p>",
        "padding:20px 24px 12px;",
    )


def _scorecard(digest: Digest) -> str:
    """Four big numbers, then the same one-line scorecard the plain text has."""
    oldest = "–"
    if digest.oldest is not None:
        oldest = format_duration(digest.now - digest.oldest.created_at)
    median = format_duration(digest.median_response) if digest.median_response else "–"
    cells = [
        ("waiting", str(digest.waiting_count), "#1f2328"),
        ("overdue", str(digest.overdue.total), _COLORS["overdue"] if digest.overdue.total else ""),
        ("answered", str(digest.answered.total), _COLORS["answered"]),
        ("median response", median, "#1f2328"),
        ("oldest waiting", oldest, "#1f2328"),
    ]
    tds = "".join(
        f'<td align="center" style="padding:10px 4px;border:1px solid {_RULE};">'
        f'<div style="font-size:20px;font-weight:600;color:{color or "#1f2328"};">'
        f"{html_text(value)}</div>"
        f'<div style="font-size:11px;color:{_MUTED};text-transform:uppercase;">{label}</div></td>'
        for label, value, color in cells
    )
    return _row(
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;"><tr>{tds}</tr></table>'
        f'<p style="margin:8px 0 4px;font-size:12px;color:{_MUTED};">'
        f"{html_text(scorecard(digest))}</p>",
        "padding:0 24px 8px;",
    )


def _section(digest: Digest, section: Section) -> str:
    color = _COLORS[section.key]
    parts = [
        f'<h2 style="margin:16px 0 6px;padding:0 0 4px 10px;font-size:15px;'
        f'border-left:4px solid {color};color:{color};">'
        f"{html_text(section.title)} "
        f'<span style="color:{_MUTED};font-weight:400;">({section.total})</span></h2>',
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="border-collapse:collapse;">',
    ]
    for item in items(digest, section):
        lead = " · ".join(f for f in (item.when, item.sla) if f)
        new = f' · <span style="color:{_COLORS["new"]};">new</span>' if item.new else ""
        parts.append(
            f'<tr><td style="padding:8px 0 8px 14px;border-top:1px solid {_RULE};">'
            f'<div style="font-size:12px;color:{_MUTED};">'
            f'<strong style="color:{color};">{html_text(lead)}</strong> · '
            f"{html_text(item.platform)}/{html_text(item.account)} · "
            f'<strong style="color:#1f2328;">{html_text(item.author)}</strong>{new} · '
            f"#{item.id}</div>"
            f'<div style="font-size:14px;margin:3px 0;word-break:break-word;">'
            f"{html_text(item.excerpt)}</div>"
            f'<div style="font-size:12px;word-break:break-all;">{_link(item.url)}</div>'
            "</td></tr>"
        )
    hidden = section.total - len(section.items)
    if hidden:
        parts.append(
            f'<tr><td style="padding:6px 0 6px 14px;font-size:12px;color:{_MUTED};">'
            f"… and {hidden} more: run <code>mentionwatch list</code></td></tr>"
        )
    parts.append("</table>")
    return _row("".join(parts))


def _link(url: str) -> str:
    target = safe_url(url)
    if not target:
        return f'<span style="color:{_MUTED};">{html_text(one_line(url, 80)) or "(no link)"}</span>'
    return (
        f'<a href="{html_text(target)}" style="color:#0969da;text-decoration:none;">'
        f"{html_text(one_line(target, 80))}</a>"
    )


def _footer(digest: Digest) -> str:
    first = ""
    if digest.first:
        first = (f"First digest: “new” and “answered” cover the last "
                 f"{html_text(format_duration(digest.now - digest.since))}. ")  # fmt: skip
    return _row(
        f'<p style="margin:16px 0 0;padding-top:12px;border-top:1px solid {_RULE};'
        f'font-size:12px;color:{_MUTED};">{first}Clear items with <code>mentionwatch done</code>, '
        "<code>dismiss</code> or <code>snooze</code> (ids in <code>mentionwatch list</code>)."
        "</p>",
        "padding:0 24px 20px;",
    )
