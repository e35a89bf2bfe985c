"""The least any Typer command costs: one command, a Path and an int option, prints a line.

Measured beside `list` to show how much of its start-up is Typer's own option handling
(Typer 0.2x validates options through pydantic, imported on first use).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer()


@app.command()
def main(
    db: Annotated[Path | None, typer.Option("--db")] = None,
    limit: Annotated[int | None, typer.Option("--limit")] = None,
) -> None:
    print(db, limit)


if __name__ == "__main__":
    app()
