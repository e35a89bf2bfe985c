"""benchmarks/RESULTS.md, written from one run's figures and notes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.run import Bench


def report(bench: Bench, info: dict[str, str], command: str, took: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {took:.0f}s.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ".",
        "",
        "Every figure is a ratio of two things measured side by side in the same run "
        "(repetitions alternate between the two sides); the median of the repetitions is used. "
        "The project's bytecode is compiled first, as an installed copy has it.",
        "",
        "| Measure | Ratio | Target | Result | Measured |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in bench.figures:
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        lines.append(f"| {f.name} | {ratio} | {f.target_text} | {f.verdict} | {f.detail} |")
    lines += ["", *[f"- {note}" for note in bench.notes], ""]
    return "\n".join(lines)
