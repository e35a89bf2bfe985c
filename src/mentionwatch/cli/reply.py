"""`reply` and `show --thread`: the text from an argument, a file or the editor; the outcome.

Kept apart so that commands which never post do not import httpx.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from mentionwatch.config import Config
from mentionwatch.errors import ReplyRejectedError, SourceError, UsageError
from mentionwatch.models import StoredMention
from mentionwatch.render.thread import thread_view
from mentionwatch.replying import ReplyOutcome, fetch_thread, run, send_reply
from mentionwatch.store import Store
from mentionwatch.text import one_line, safe_url, strip_controls
from mentionwatch.timeutil import format_duration, format_time, utcnow

COMMENT = "#"


def reply_text(
    config: Config, mention: StoredMention, text: str | None, file: str | None, err: Console
) -> str:
    """The reply from the argument, `--file PATH` / `--file -`, or the editor."""
    if text is not None and file is not None:
        raise UsageError("give the reply as TEXT or --file, not both")
    if text is not None:
        return text
    if file == "-":
        return sys.stdin.read()
    if file is not None:
        try:
            return Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--file {file}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--file {file}: not UTF-8 text") from None
    return _from_editor(config, mention, err)


def _from_editor(config: Config, mention: StoredMention, err: Console) -> str:
    """Like `git commit`: the mention and its thread as comment lines; empty aborts."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UsageError("no reply text: give TEXT, --file, or set $VISUAL or $EDITOR")
    try:
        posts = run(fetch_thread(config, mention))
        thread = [f"{p.author}: {p.text}" for p in posts]
    except SourceError as exc:
        thread = [f"(the thread could not be fetched: {exc.problem})"]
    lines = ["", f"{COMMENT} Replying to #{mention.id}, {mention.author} on {mention.platform} "
             f"({mention.account}). Lines starting with {COMMENT} are left out;",
             f"{COMMENT} an empty reply aborts.", COMMENT]  # fmt: skip
    for entry in [*thread, f"{mention.author}: {mention.text}"]:
        lines += [f"{COMMENT} {strip_controls(line)}" for line in entry.splitlines() or [""]]
    handle, name = tempfile.mkstemp(prefix="mentionwatch-reply-", suffix=".txt")
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as draft:
            draft.write("\n".join(lines) + "\n")
        code = subprocess.call([*shlex.split(editor), str(path)])
        if code != 0:
            raise UsageError(f"the editor ({editor}) exited with {code}; nothing was sent")
        written = path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
    kept = [line for line in written.splitlines() if not line.startswith(COMMENT)]
    text = "\n".join(kept).strip()
    if not text:
        raise ReplyRejectedError(mention.account, "reply", "empty reply: aborted, nothing sent")
    return text


def run_reply(
    store: Store,
    config: Config,
    mention_id: int,
    text: str | None,
    file: str | None,
    dry_run: bool,
    out: Console,
    err: Console,
) -> None:
    mention = store.get(mention_id, utcnow())
    body = reply_text(config, mention, text, file, err)
    outcome = run(send_reply(store, config, mention_id, body, dry_run=dry_run))
    if outcome.reply_page is not None:
        _open_reply_page(outcome, out, err)
    elif outcome.request is not None:
        _show_request(outcome, out, err)
    else:
        _show_posted(outcome, err, config)


def _open_reply_page(outcome: ReplyOutcome, out: Console, err: Console) -> None:
    import webbrowser

    page = safe_url(outcome.reply_page or "")
    platform = outcome.mention.platform
    out.print(page, markup=False)
    if page:
        webbrowser.open(page)
    err.print(f"{platform} has no posting API: reply in the browser. The mention stays "
              "as it is until a poll sees your reply (or `mentionwatch done`).",
              markup=False)  # fmt: skip


def _show_request(outcome: ReplyOutcome, out: Console, err: Console) -> None:
    request = outcome.request
    assert request is not None
    out.print(f"{request.method} {request.url}", markup=False)
    for name, value in request.headers.items():
        out.print(f"{name}: {value}", markup=False)
    kind = "form" if request.form else "json"
    out.print(f"({kind} body)", markup=False)
    out.print(json.dumps(dict(request.body), ensure_ascii=False, indent=2), markup=False)
    if outcome.length is not None:
        err.print(f"Length {outcome.length.describe()}. Dry run: nothing was sent.", markup=False)


def _show_posted(outcome: ReplyOutcome, err: Console, config: Config) -> None:
    reply, mention = outcome.posted, outcome.mention
    assert reply is not None
    length = f" ({outcome.length.describe()})" if outcome.length else ""
    checked = " (found on the platform after a timeout)" if outcome.checked_after_timeout else ""
    where = safe_url(reply.url) or reply.remote_id
    err.print(f"Replied to #{mention.id}{length}{checked}: {where}", markup=False)
    after = f", after {format_duration(mention.response_time)}" if mention.response_time else ""
    when = format_time(reply.created_at, config.zone, "%Y-%m-%d %H:%M:%S")
    err.print(f"Marked answered at {when}{after}.", markup=False)


def show_thread(config: Config, mention: StoredMention, out: Console) -> None:
    posts = run(fetch_thread(config, mention))
    out.print(thread_view(posts, mention, config.zone))
    if not posts:
        out.print(one_line(f"(nothing before #{mention.id} in its thread)"), markup=False)
