"""`rules test` and `rules apply`: write rules against what is stored, then re-apply them."""

# Not postponed, as in cli/__init__: Typer reads these annotations at each start.
import sys
from typing import Annotated

import typer

from mentionwatch.cli.common import (
    AccountOption,
    JsonArrayOption,
    StateOption,
    err,
    handled,
    known_accounts,
    load_config,
    open_store,
    out,
)
from mentionwatch.timeutil import utcnow

rules_app = typer.Typer(help="Test expressions and re-apply the inbox rules.", no_args_is_help=True)


@rules_app.command("test")
@handled
def test(
    expression: Annotated[str, typer.Argument(help="An expression, as in keywords and rules.")],
    account: AccountOption = None,
    state: StateOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N rows.")] = 50,
    as_json: JsonArrayOption = False,
) -> None:
    """Show the stored mentions (any state unless --state says) an expression matches."""
    from mentionwatch.rules.stored import matching
    from mentionwatch.selection import select

    config = load_config(required=False)
    now = utcnow()
    with open_store(config, write=False) as store:
        account = known_accounts(config, store, account)
        chosen = select(config, now, accounts=account, states=state or (),
                        all_states=not state, limit=limit)  # fmt: skip
        found = matching(store, expression, chosen.where, now)
        if as_json:
            from mentionwatch.render.export import export

            export("json", found, config, now, sys.stdout)
            return
        rows = list(found)
    if not rows:
        err.print("No stored mention matches.")
        return
    from mentionwatch.render.listing import mention_list

    styled = out.color_system is not None
    out.print(mention_list(rows, config, now, out.width, styled=styled), soft_wrap=True)
    more = " (the first ones; raise --limit for more)" if len(rows) == limit else ""
    err.print(f"{len(rows)} match{'es' if len(rows) != 1 else ''}{more}", style="dim")


@rules_app.command("apply")
@handled
def apply() -> None:
    """Re-apply the config's [[rules]] to stored waiting mentions; say what changed."""
    from mentionwatch.render.rules import change_line, summary
    from mentionwatch.rules.stored import reapply

    config = load_config()
    with open_store(config, write=True) as store:
        checked, changes = reapply(store, config, utcnow())
    for change in changes:
        out.print(change_line(change), markup=False, soft_wrap=True)
    err.print(summary(checked, changes, len(config.rules)), markup=False)
