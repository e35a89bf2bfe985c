"""The commands that read mentions: `list`, `show`, `open`, `export`, and the response
times, `stats` and `check`. None of them writes to the database."""

# Annotations are not postponed (see cli/__init__.py): Typer reads them at every start.
import sys
from pathlib import Path
from typing import Annotated

import typer

from mentionwatch.cli.common import (
    AccountOption,
    AssigneeOption,
    Grouping,
    JsonArrayOption,
    MentionIdArgument,
    MineOption,
    PlatformOption,
    PriorityOption,
    SelectionOptions,
    TagOption,
    UnassignedOption,
    assignees,
    duration_option,
    err,
    handled,
    known_accounts,
    known_platforms,
    load_config,
    open_store,
    out,
    with_selection,
    written_atomically,
)
from mentionwatch.cli.consoles import plain_width
from mentionwatch.errors import EXIT_BREACHED, UsageError
from mentionwatch.timeutil import utcnow


@handled
@with_selection
def list_(
    selection: SelectionOptions,
    as_json: JsonArrayOption = False,
    as_jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object a line.")] = False,
) -> None:
    """List unanswered mentions, most urgent priority first, then oldest, with their SLA."""
    config = load_config(required=False)
    now = utcnow()
    with open_store(config, write=False) as store:
        mentions = selection.select(config, store, now).mentions(store, config, now)
        if as_json or as_jsonl:
            from mentionwatch.render.export import export

            mentions = store.with_notes(mentions)
            export("json" if as_json else "jsonl", mentions, config, now, sys.stdout)
            return
        rows = list(mentions)
        # A pipe or a file: the very lines Rich would write, without making a console.
        width = plain_width()
        if not rows:
            empty = "Nothing waiting. 🎉" if not selection.all_states else "No mentions stored."
            if width is not None:
                sys.stderr.write(empty + "\n")
            else:
                err.print(empty)
            return
        from mentionwatch.render.listing import mention_list

        count = f"{len(rows)} mention{'s' if len(rows) != 1 else ''}"
        if width is not None:
            sys.stdout.write(mention_list(rows, config, now, width, styled=False).plain + "\n")
            sys.stderr.write(count + "\n")
            return
        styled = out.color_system is not None
        out.print(mention_list(rows, config, now, out.width, styled=styled), soft_wrap=True)
        err.print(count, style="dim")


@handled
def show(
    mention_id: MentionIdArgument,
    raw: Annotated[
        bool, typer.Option("--raw", help="Print the payload the platform sent (needs keep_raw).")
    ] = False,
    thread: Annotated[
        bool, typer.Option("--thread", help="Also fetch what it answers and what came before.")
    ] = False,
) -> None:
    """Show one mention in full."""
    from mentionwatch.render.detail import mention_detail, raw_payload

    config = load_config(required=thread)
    now = utcnow()
    with open_store(config, write=False) as store:
        if raw:
            out.print(raw_payload(mention_id, store.raw(mention_id)), markup=False, soft_wrap=True)
            return
        mention = store.get(mention_id, now)
        notes, history = store.notes([mention_id]).get(mention_id, []), store.history(mention_id)
    detail = mention_detail(mention, config, now, out.width)
    # Not cropped: a link longer than the screen prints whole (the terminal wraps it).
    if out.is_terminal:
        out.print(detail, crop=False)
    else:
        # The grid pads every line to its width: no trailing blanks in a file or a pipe.
        with out.capture() as captured:
            out.print(detail, crop=False)
        sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    from mentionwatch.render.team import team_lines

    for line in team_lines(mention, notes, history, now, config.zone):
        out.print(line, markup=False, highlight=False)
    if thread:
        from mentionwatch.cli.reply import show_thread

        out.print()
        show_thread(config, mention, out)


@handled
def open_(mention_id: MentionIdArgument) -> None:
    """Open a mention in the web browser (prints its URL when no browser starts)."""
    import webbrowser

    from mentionwatch.text import safe_url

    config = load_config(required=False)
    with open_store(config, write=False) as store:
        url = safe_url(store.get(mention_id, utcnow()).url)
    if not url:
        raise UsageError(f"mention {mention_id} has no web link")
    if not webbrowser.open(url):
        out.print(url, markup=False)


@handled
@with_selection
def export_(
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, json, jsonl, or a report: markdown (md) or html. "
            "Default: from the --output extension, else csv.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    *,
    selection: SelectionOptions,
) -> None:
    """Export mentions (open ones unless --state/--all say otherwise), streaming."""
    from mentionwatch.render.export import REPORTS, export, export_format

    fmt = export_format(fmt, str(output) if output is not None else None)
    config = load_config(required=False)
    now = utcnow()
    with open_store(config, write=False) as store:
        mentions = store.with_notes(
            selection.select(config, store, now).mentions(store, config, now)
        )
        summary = None
        if fmt in REPORTS:
            from mentionwatch.stats import REPORT_WINDOW, compute

            summary = compute(store, config, now, window=REPORT_WINDOW, by="account",
                              accounts=selection.accounts(config, store),
                              platforms=selection.platforms())  # fmt: skip
        if output is None:
            export(fmt, mentions, config, now, sys.stdout, summary)
            return
        with written_atomically(output) as handle:
            count = export(fmt, mentions, config, now, handle, summary)
    err.print(f"Wrote {count} mentions to {output}.", markup=False)


# -- response times ------------------------------------------------------------------------


@handled
def stats(
    since: Annotated[
        str, typer.Option("--since", help="Mentions received in the last ..., e.g. 7d.")
    ] = "30d",
    by: Annotated[
        Grouping | None, typer.Option("--by", help="Also per account, platform or day.")
    ] = None,
    account: AccountOption = None,
    platform: PlatformOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Response-time figures: answered, response rate, first-response times, within SLA."""
    import json

    from mentionwatch.render.stats import render
    from mentionwatch.stats import compute, to_json

    window = duration_option("--since", since)
    config = load_config(required=False)
    now = utcnow()
    with open_store(config, write=False) as store:
        account = known_accounts(config, store, account)
        figures = compute(store, config, now, window=window, by=by and str(by),
                          accounts=account, platforms=known_platforms(platform))  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps(to_json(figures), ensure_ascii=False, indent=2) + "\n")
        return
    out.print(render(figures, out.width))


@handled
def check(
    account: AccountOption = None,
    max_age: Annotated[
        str | None,
        typer.Option("--max-age", help="Also fail when a mention has waited this long, e.g. 2h."),
    ] = None,
    no_sla: Annotated[
        bool, typer.Option("--no-sla", help="Only --max-age counts, not the SLAs.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the breaching items, each with why.")
    ] = False,
    mine: MineOption = False,
    assignee: AssigneeOption = None,
    unassigned: UnassignedOption = False,
    priority: PriorityOption = None,
    tag: TagOption = None,
) -> None:
    """Exit 1 with a one-line summary when a mention is past its SLA; for cron and monitors."""
    from mentionwatch.render.stats import check_summary
    from mentionwatch.selection import rule_filters
    from mentionwatch.stats import breaches

    age = duration_option("--max-age", max_age) if max_age else None
    if no_sla and age is None:
        raise UsageError("--no-sla needs --max-age (else nothing could breach)")
    config = load_config(required=False)
    now = utcnow()
    with open_store(config, write=False) as store:
        account = known_accounts(config, store, account)  # a typo must not pass as all clear
        ranks, tags = rule_filters(priority or (), tag or ())
        found = breaches(store, config, now, account, age, use_sla=not no_sla,
                         assignees=assignees(config, mine, assignee),
                         unassigned=unassigned, priorities=ranks, tags=tags)  # fmt: skip
    if as_json:
        from mentionwatch.render.export import write_json
        from mentionwatch.render.records import record
        from mentionwatch.sla import sla_for
        from mentionwatch.stats import breached_by

        rows = ({**record(b.mention, sla_for(config, b.mention.account), now),
                 "breached_by": breached_by(b)} for b in found)  # fmt: skip
        write_json(rows, sys.stdout)
    elif found:
        out.print(check_summary(found, age, now), markup=False, soft_wrap=True)
    if found:
        raise typer.Exit(EXIT_BREACHED)
