"""The benchmark suite: every figure a ratio of two things measured side by side in one run.

    .venv/bin/python -m benchmarks.run           # full sizes; writes benchmarks/RESULTS.md
    .venv/bin/python -m benchmarks.run --quick   # small sizes, seconds; for CI

Each repetition runs both sides of a ratio back to back, and the median of the repetitions is
reported, so a busy machine slows both sides alike. Exits non-zero only when something
crashes, never on a missed target: timings on shared CI machines are too noisy for that.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import (
    PYTHON,
    ROOT,
    Run,
    compile_bytecode,
    counting_cpu,
    cpu_bound,
    have_mastodon_py,
    machine,
    median,
    run_child,
    simulator,
    simulator_process,
)
from benchmarks.results import report
from benchmarks.setup import (
    SimAccount,
    build_database,
    instance_spec,
    spread,
    token_env,
    write_account_list,
    write_config,
)
from benchmarks.teams import teams


@dataclass(frozen=True)
class Sizes:
    accounts: int = 200
    instances: int = 20
    latency: float = 0.05
    # Figure 9's instances: slow enough that one poller waits on them, not on this machine's
    # CPU, as pollers on separate machines do (benchmarks/teams.py).
    team_latency: float = 0.25
    # A poll that finds a page of new mentions on every account, as cron polls do.
    mentions_per_account: int = 20
    statuses_per_account: int = 5
    big_poll: int = 100_000
    db_rows: int = 1_000_000
    db_open: int = 10_000
    small_export: int = 10_000
    repeats: int = 5
    slow_repeats: int = 3  # the sequential Mastodon.py script takes over a minute a run
    # Start-up runs take a tenth of a second, and a few ms of noise move figure 4 by 0.05.
    startup_repeats: int = 21


QUICK = Sizes(
    accounts=20, instances=4, latency=0.02, team_latency=0.1, mentions_per_account=20,
    statuses_per_account=5, big_poll=2_000, db_rows=20_000, db_open=500, small_export=2_000,
    repeats=2, slow_repeats=1, startup_repeats=3,
)  # fmt: skip


@dataclass(frozen=True)
class Figure:
    name: str
    ratio: float | None  # None: skipped
    target: float
    higher_is_better: bool
    detail: str

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "skipped"
        met = self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target
        return "pass" if met else "MISS"

    @property
    def target_text(self) -> str:
        return f"{'≥' if self.higher_is_better else '≤'} {self.target:g}"


def mentionwatch_command() -> list[str]:
    """The installed console script, exactly what a user runs; `python -m` without one."""
    script = Path(PYTHON).parent / "mentionwatch"
    return [str(script)] if script.exists() else [PYTHON, "-m", "mentionwatch"]


class Bench:
    def __init__(self, sizes: Sizes, workdir: Path, only: str | None = None) -> None:
        self.sizes = sizes
        self.only = only
        self.work = workdir
        self.mw = mentionwatch_command()
        self.env = dict(os.environ)
        # No user config, database or colours leak in; wide output like a terminal's.
        for name in list(self.env):
            if name.startswith("MENTIONWATCH_"):
                del self.env[name]
        self.env.update(XDG_CONFIG_HOME=str(workdir / "xdg"), XDG_DATA_HOME=str(workdir / "xdg"))
        self.env.update(NO_COLOR="1", COLUMNS="160")
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.seconds: dict[str, float] = {}

    # -- helpers ---------------------------------------------------------------------------

    def side_by_side(self, repeats: int, sides: Sequence[Callable[[int], Run]]) -> list[list[Run]]:
        """Run each side once per repetition, alternating, so noise hits every side alike."""
        runs: list[list[Run]] = [[] for _ in sides]
        for rep in range(repeats):
            for index, side in enumerate(sides):
                runs[index].append(side(rep))
        return runs

    def poll(self, config: Path, accounts: list[SimAccount], tag: str) -> Callable[[int], Run]:
        """A `poll` into a fresh database each time, so every run stores every mention."""

        def run(rep: int) -> Run:
            db = self.work / f"{tag}-{rep}.db"
            env = {**self.env, **token_env(accounts)}
            result = run_child([*self.mw, "-c", str(config), "--db", str(db), "poll"], env=env)
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            return result

        return run

    def concurrent_floor(self, config: Path, accounts: list[SimAccount]) -> Callable[[int], Run]:
        env = {**self.env, **token_env(accounts)}
        command = [PYTHON, "-m", "benchmarks.concurrent_floor", str(config)]
        return lambda rep: run_child(command, env=env)

    def script(self, module: str, account_list: Path) -> Callable[[int], Run]:
        return lambda rep: run_child([PYTHON, "-m", module, str(account_list)], env=self.env)

    def add(self, name: str, ratio: float | None, target: float, higher: bool, detail: str) -> None:
        figure = Figure(name, ratio, target, higher, detail)
        self.figures.append(figure)
        shown = "skipped" if ratio is None else f"{ratio:.2f}"
        print(f"  {name}: {shown} (target {figure.target_text}): {figure.verdict}", flush=True)
        print(f"    {detail}", flush=True)

    # -- 1, 2 and 3: many accounts, many instances, real latency --------------------------------

    def many_accounts(self) -> None:
        s = self.sizes
        print(f"[1, 2, 3] {s.accounts} accounts on {s.instances} instances, "
              f"{s.latency * 1000:.0f} ms a request", flush=True)  # fmt: skip
        spec = {
            "instances": [
                instance_spec(numbers, s.latency, s.mentions_per_account, s.statuses_per_account)
                for numbers in spread(s.accounts, s.instances)
            ]
        }
        simulator_cpu: list[float] = []
        with simulator_process(spec, self.work) as (urls, simulator_pid):
            accounts = [
                SimAccount(n, urls[i]) for i, nums in enumerate(spread(s.accounts, s.instances))
                for n in nums
            ]  # fmt: skip
            accounts.sort(key=lambda a: a.number)
            many, one = self.work / "many.toml", self.work / "one.toml"
            write_config(many, accounts, self.work / "unused.db")
            write_config(one, accounts[:1], self.work / "unused.db")
            listed = self.work / "accounts.json"
            write_account_list(listed, accounts)
            floor = self.concurrent_floor(many, accounts)
            polled = counting_cpu(self.poll(many, accounts, "many"), simulator_pid, simulator_cpu)
            sides = [polled, self.poll(one, accounts[:1], "one"), floor]
            many_runs, one_runs, floor_runs = self.side_by_side(s.repeats, sides)
            t_many = median([r.seconds for r in many_runs])
            t_one = median([r.seconds for r in one_runs])
            t_floor = median([r.seconds for r in floor_runs])
            self.add(
                f"1. poll {s.accounts} accounts ÷ poll 1 account",
                t_many / t_one, 1.6, False,
                f"{t_many:.2f}s ÷ {t_one:.2f}s, median of {s.repeats}; peak RSS of the "
                f"{s.accounts}-account poll {median([r.peak_rss_mb for r in many_runs]):.0f} MB; "
                + cpu_bound(median([r.cpu_seconds for r in many_runs]), simulator_cpu, t_one),
            )  # fmt: skip
            self.add(
                f"2. poll {s.accounts} accounts ÷ the same requests through poll's client",
                t_many / t_floor, 1.15, False,
                f"{t_many:.2f}s ÷ {t_floor:.2f}s, median of {s.repeats}; the floor fetches and "
                "parses with mentionwatch's Http and limits, storing nothing",
            )  # fmt: skip
            self.seconds["poll_many"] = t_many
            if self.only != "1":
                self.versus_mastodon_py(many, accounts, listed)

    def versus_mastodon_py(self, config: Path, accounts: list[SimAccount], listed: Path) -> None:
        s = self.sizes
        if not have_mastodon_py():
            skipped = "Mastodon.py could not be imported or installed; comparison skipped"
            self.add("3. Mastodon.py script ÷ mentionwatch poll", None, 40, True, skipped)
            return
        sides = [self.script("benchmarks.mastodon_py", listed), self.poll(config, accounts, "vs")]
        script_runs, poll_runs = self.side_by_side(s.slow_repeats, sides)
        t_script = median([r.seconds for r in script_runs])
        t_poll = median([r.seconds for r in poll_runs])
        self.add(
            f"3. sequential Mastodon.py script ÷ mentionwatch poll ({s.accounts} accounts)",
            t_script / t_poll,
            40,
            True,
            f"{t_script:.2f}s ÷ {t_poll:.2f}s, median of {s.slow_repeats}",
        )

    # -- 4 and 5: storing costs next to nothing beside downloading ---------------------------------

    def storage(self) -> None:
        s = self.sizes
        print(f"[4, 5] one account, {s.big_poll:,} new mentions, no latency", flush=True)
        pages = s.big_poll // 40 + 2
        # Account 2 is a tenth the size: Mastodon.py needs minutes for the full one.
        spec = {
            "instances": [
                instance_spec([1], 0.0, s.big_poll, 0),
                instance_spec([2], 0.0, s.big_poll // 10, 0),
            ]
        }
        with simulator(spec, self.work) as urls:
            accounts = [SimAccount(1, urls[0])]
            config = self.work / "big.toml"
            # A first poll pages down to the backfill horizon, at most max_pages per listing.
            write_config(config, accounts, self.work / "unused.db",
                         f'max_pages = {pages}\nbackfill = "30d"')  # fmt: skip
            listed = self.work / "big.json"
            write_account_list(listed, accounts)
            sides = [self.poll(config, accounts, "big"), self.script("benchmarks.floor", listed)]
            runs = self.side_by_side(s.repeats if s is QUICK else 3, sides)
            t_poll = median([r.seconds for r in runs[0]])
            t_floor = median([r.seconds for r in runs[1]])
            detail = f"{t_poll:.2f}s ÷ {t_floor:.2f}s, median of {len(runs[0])}"
            if s is not QUICK and have_mastodon_py():
                tenth = self.work / "tenth.json"
                write_account_list(tenth, [SimAccount(2, urls[1])])
                pair = [
                    self.script(m, tenth) for m in ("benchmarks.mastodon_py", "benchmarks.floor")
                ]
                mpy, floor = (side[0] for side in self.side_by_side(1, pair))
                detail += (
                    f"; Mastodon.py on {s.big_poll // 10:,} mentions: {mpy.seconds:.1f}s, "
                    f"{mpy.seconds / floor.seconds:.1f}× the floor's {floor.seconds:.1f}s"
                )
            self.add(f"4. poll {s.big_poll:,} mentions ÷ download-and-parse floor",
                     t_poll / t_floor, 1.5, False, detail)  # fmt: skip
            rss = median([r.peak_rss_mb for r in runs[0]])
            self.add(f"5. peak RSS (MB) of the {s.big_poll:,}-mention first poll", rss, 200,
                     False, f"median of {len(runs[0])}; the floor peaks at "
                     f"{median([r.peak_rss_mb for r in runs[1]]):.0f} MB")  # fmt: skip

    # -- 8: inbox rules beside storing -------------------------------------------------------

    def rules(self) -> None:
        """20 rules matched against the mentions a poll stores, beside storing them (in one
        child process, alternating: benchmarks/rules.py)."""
        s = self.sizes
        count = s.big_poll
        print(f"[8] 20 inbox rules against {count:,} mentions, beside storing them", flush=True)
        repeats = s.repeats if s is QUICK else 3
        done = subprocess.run(
            [PYTHON, "-m", "benchmarks.rules", str(count), str(repeats)],
            env=self.env, cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = json.loads(done.stdout.strip().splitlines()[-1])
        t_match, t_store = found["match_seconds"], found["store_seconds"]
        t_ruled = found["store_with_rules_seconds"]
        detail = (
            f"{t_match:.2f}s ÷ {t_store:.2f}s, median of {repeats}; {found['matched']:,} of "
            f"{count:,} mentions matched a rule ({1e6 * t_match / count:.1f} µs a mention); "
            f"storing them with the rules took {t_ruled:.2f}s, {t_ruled - t_store:+.2f}s "
            "(a big poll matches each half on a core of its own)"
        )
        self.add(f"8. match 20 rules ÷ store {count:,} mentions", t_match / t_store, 0.1,
                 False, detail)  # fmt: skip

    # -- 6 and 7: the read side on a big database --------------------------------------------

    def read_side(self) -> None:
        s = self.sizes
        print(f"[6, 7] a database of {s.db_rows:,} mentions ({s.db_open:,} open)", flush=True)
        big, small = self.work / "big-list.db", self.work / "small-list.db"
        began = time.monotonic()
        build_database(big, s.db_rows, s.db_open)
        build_database(small, s.small_export, s.small_export // 100)
        # Written back now, so that flushing half a gigabyte does not run during the timings.
        os.sync()
        print(f"    (built in {time.monotonic() - began:.0f}s, not timed)", flush=True)
        mw = [*self.mw, "--db"]

        def command(args: list[str]) -> Callable[[int], Run]:
            return lambda rep: run_child(args, env=self.env)

        list_big = command([*mw, str(big), "list", "--limit", "50"])
        baseline = command([PYTHON, "-c", "import typer, rich.table"])
        typer_app = command([PYTHON, "-m", "benchmarks.typer_floor", "--db", str(big)])
        list_runs, base_runs, typer_runs = self.side_by_side(
            s.startup_repeats, [list_big, baseline, typer_app]
        )
        t_list = median([r.seconds for r in list_runs])
        t_base = median([r.seconds for r in base_runs])
        t_typer = median([r.seconds for r in typer_runs])
        self.add("6. list --limit 50 ÷ python -c 'import typer, rich.table'", t_list / t_base,
                 1.3, False, f"{t_list * 1000:.0f} ms ÷ {t_base * 1000:.0f} ms, "
                 f"median of {s.startup_repeats}; {s.db_rows:,} rows, {s.db_open:,} open; "
                 f"an empty Typer command with two options: {t_typer * 1000:.0f} ms "
                 f"({t_typer / t_base:.2f}× the baseline)")  # fmt: skip
        self.check_imports(big)

        out = self.work / "export.csv"
        export_big = command([*mw, str(big), "export", "--all", "-f", "csv", "-o", str(out)])
        export_small = command([*mw, str(small), "export", "--all", "-f", "csv", "-o", str(out)])
        # Two repetitions: peak RSS barely varies, and the big export takes minutes.
        big_runs, small_runs = self.side_by_side(min(s.repeats, 2), [export_big, export_small])
        rss_big = median([r.peak_rss_mb for r in big_runs])
        rss_small = median([r.peak_rss_mb for r in small_runs])
        self.add(f"7. peak RSS, export csv of {s.db_rows:,} ÷ of {s.small_export:,} rows",
                 rss_big / rss_small, 1.2, False,
                 f"{rss_big:.1f} MB ÷ {rss_small:.1f} MB, median of {len(big_runs)}; "
                 f"{median([r.seconds for r in big_runs]):.1f}s for the big export")  # fmt: skip
        out.unlink(missing_ok=True)

    def teams(self) -> None:
        """8, 9: a team's shared PostgreSQL database (benchmarks/teams.py)."""
        teams(self)

    def check_imports(self, db: Path) -> None:
        """Commands that don't poll must never import the HTTP stack."""
        for args in (["list", "--limit", "50"], ["export", "-f", "csv", "--limit", "50"]):
            found = subprocess.run(
                [PYTHON, "-X", "importtime", "-m", "mentionwatch", "--db", str(db), *args],
                env=self.env, capture_output=True, text=True, cwd=ROOT, check=True,
            )  # fmt: skip
            heavy = sorted(
                {name for name in ("httpx", "httpcore", "anyio", "h11") if f" {name}\n" in
                 found.stderr.replace("|", " ") or f"| {name}\n" in found.stderr}
            )  # fmt: skip
            verdict = f"imports {', '.join(heavy)}" if heavy else "never imports httpx"
            note = f"`mentionwatch {' '.join(args)}` {verdict} (python -X importtime)"
            self.notes.append(note)
            print(f"    {note}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small sizes, for CI.")
    parser.add_argument(
        "--only",
        choices=("many", "1", "storage", "read", "rules", "teams"),
        help="One group only: many (figures 1-3), 1 (figures 1, 2), storage (4, 5), read (6, 7), "
        "rules (8), teams (9, 10: PostgreSQL).",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    began = time.monotonic()
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="mentionwatch-bench-") as tmp:
        bench = Bench(sizes, Path(tmp), args.only)
        groups = {"many": bench.many_accounts, "storage": bench.storage, "read": bench.read_side,
                  "rules": bench.rules, "teams": bench.teams}  # fmt: skip
        aliases = {"1": "many"}
        for name, group in groups.items():
            if args.only is None or aliases.get(args.only, args.only) == name:
                group()
    took = time.monotonic() - began
    missed = [f.name for f in bench.figures if f.verdict == "MISS"]
    print(f"done in {took:.0f}s; {len(missed)} target(s) missed", flush=True)
    if not args.quick and args.only is None:
        command = ".venv/bin/python -m benchmarks.run"
        results = ROOT / "benchmarks" / "RESULTS.md"
        results.write_text(report(bench, info, command, took), encoding="utf-8")
        print(f"wrote {results.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
