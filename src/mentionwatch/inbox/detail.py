"""The detail pane: who and when, the full text and link first (what triage needs), then the
thread when fetched, then every field as `show` prints them."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.text import Text

from mentionwatch.config import Config
from mentionwatch.models import State, StoredMention
from mentionwatch.render.detail import mention_detail
from mentionwatch.render.listing import STYLES
from mentionwatch.sla import sla_for, sla_label, sla_status
from mentionwatch.text import one_line, safe_url, strip_controls
from mentionwatch.timeutil import format_duration


def detail_view(
    m: StoredMention,
    config: Config,
    now: datetime,
    thread: RenderableType | None,
    *,
    styled: bool,
) -> RenderableType:
    head = Text()
    head.append(f"#{m.id} ", style="dim" if styled else "")
    head.append(one_line(m.author), style="bold cyan" if styled else "bold")
    head.append(f" on {one_line(m.account)} ({m.platform}), {m.kind}, ")
    head.append(f"{format_duration(now - m.created_at)} ago")
    if m.state in (State.OPEN, State.SNOOZED):
        sla = sla_for(config, m.account)
        status, left = sla_status(m, sla, now)
        head.append(" · ")
        head.append(sla_label(status, left, sla.calendar is not None),
                    style=STYLES[status] if styled else "")  # fmt: skip
    else:
        head.append(f" · {m.state}")
    if m.priority_name != "normal":
        head.append(f" · {m.priority_name} priority", style="bold" if styled else "")
    if m.tags:
        head.append(" · " + " ".join(f"#{one_line(t)}" for t in m.tags))
    body = Text()
    if m.title:
        body.append(strip_controls(m.title).strip() + "\n", style="bold")
    body.append(strip_controls(m.text).strip())
    link = Text(safe_url(m.url) or "(no web link)", style="blue underline" if styled else "")
    parts: list[RenderableType] = [head, Text(""), body, Text(""), link]
    if thread is not None:
        parts += [Text(""), thread]
    else:
        parts += [Text("t: the thread it answers · r: reply", style="dim" if styled else "")]
    parts += [Text(""), Text("All fields", style="bold"), mention_detail(m, config, now)]
    return Group(*parts)


def thread_note(message: str) -> Text:
    """Where the thread goes while it is fetched, or why it is not there."""
    return Text(f"Thread: {one_line(message)}", style="italic")
