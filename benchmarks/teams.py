"""Figures 9 and 10: a team's shared PostgreSQL database (README: Teams).

9. Four `poll` processes sharing one database (account leases) against one `poll`, on the same
   simulated accounts: the wall time until every account is stored, each account by one poller.
   Pollers on several machines are simulated by processes on this one, and they share its
   cores: at figure 1's 50 ms a request one poller already keeps about one core busy (HTTP
   parsing, building and storing mentions), so four on two cores can at best use the second
   one. Real pollers each bring their own CPU; what they share is the instances' latency,
   which bounds a poller through its own concurrency limits. So the figure's instances answer
   in `team_latency` (a notifications page from another continent), where one poller waits on
   them rather than on this machine's CPU; the same at 50 ms is reported beside it (a note),
   with each side's CPU time.
10. `list --limit 50` on PostgreSQL against the same on SQLite, both holding the same mentions.

The PostgreSQL server is MENTIONWATCH_TEST_PG's (as .ci/run sets it), else a throwaway cluster
started here from Debian's binaries; without either, both figures are skipped.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.measure import Run, cpu_seconds, median, run_child, simulator_process
from benchmarks.setup import (
    SimAccount,
    build_database,
    instance_spec,
    spread,
    token_env,
    write_config,
)
from mentionwatch.config import Settings

if TYPE_CHECKING:
    from benchmarks.run import Bench


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A URL to a PostgreSQL server's maintenance database, or None when there is none."""
    import os

    from tests import pgcluster

    url = os.environ.get(pgcluster.TEST_PG_ENV, "")
    if url:
        yield url
        return
    bindir = pgcluster.server_bin()
    if bindir is None:
        yield None
        return
    cluster = pgcluster.Cluster(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def fresh_database(server: str, name: str) -> str:
    import psycopg

    from tests.pgcluster import database_url

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return database_url(server, name)


@dataclass(frozen=True)
class PollersRun:
    """One run of `count` pollers: the wall time, their CPU time, and how they split the work;
    and the CPU time the PostgreSQL server and the simulator spent meanwhile (None: unknown)."""

    seconds: float
    cpu_seconds: float
    split: list[int]  # accounts polled by each poller, most first
    server_cpu: float | None = None
    simulator_cpu: float | None = None

    @property
    def cpu_total(self) -> float | None:
        """All the CPU the run needed on this machine: pollers, their server, their instances."""
        if self.server_cpu is None or self.simulator_cpu is None:
            return None
        return self.cpu_seconds + self.server_cpu + self.simulator_cpu


class ServerCpu:
    """The CPU time of a PostgreSQL server on this machine: its postmaster's own, and that of
    the backends it has reaped (a backend ends when its poller disconnects). The long-lived
    helpers (WAL writer, checkpointer) are not counted, so the total errs low."""

    def __init__(self, server: str) -> None:
        import psycopg

        self.server = server
        self.pid: int | None = None
        try:
            with psycopg.connect(server, autocommit=True) as conn:
                row = conn.execute("SELECT current_setting('data_directory')").fetchone()
            pidfile = Path(str(row[0]) if row else "") / "postmaster.pid"
            self.pid = int(pidfile.read_text().split()[0])
        except (psycopg.Error, OSError, ValueError, IndexError):
            self.pid = None  # a server elsewhere, or one this user may not look into

    def seconds(self, database: str) -> float | None:
        """The server's CPU so far, once no backend of `database` is left to be reaped."""
        import psycopg

        if self.pid is None:
            return None
        with psycopg.connect(self.server, autocommit=True) as conn:
            for _ in range(200):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
                ).fetchone()
                if not row or row[0] == 0:
                    break
                time.sleep(0.01)
        time.sleep(0.05)  # the postmaster reaps an ended backend moments after it goes
        return cpu_seconds(self.pid)


def pollers(
    bench: Bench,
    server: str,
    accounts: list[SimAccount],
    count: int,
    runs: list[PollersRun],
    simulator_pid: int,
) -> Callable[[int], Run]:
    """`count` poll processes at once into a fresh database; the wall time until all exit."""
    mentions = len(accounts) * bench.sizes.mentions_per_account
    server_cpu = ServerCpu(server)

    def run(rep: int) -> Run:
        name = f"bench_pollers_{count}_{rep}"
        url = fresh_database(server, name)
        config = bench.work / f"team-{count}-{rep}.toml"
        write_config(config, accounts, url)
        env = {**bench.env, **token_env(accounts)}
        command = [*bench.mw, "-c", str(config), "poll"]
        # The schema first, so that the timed processes only poll.
        run_child([*bench.mw, "--db", url, "list"], env=env)
        server_before, simulator_before = server_cpu.seconds(name), cpu_seconds(simulator_pid)
        started = time.perf_counter()
        children = [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(count)
        ]
        cpu = 0.0
        for child in children:
            # wait4: each poller's own CPU time (user + system), whatever else the machine runs.
            _, status, usage = os.wait4(child.pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
            child.returncode = os.waitstatus_to_exitcode(status)
            err = child.stderr.read() if child.stderr else b""
            if child.returncode != 0:
                raise RuntimeError(f"poll exited {child.returncode}:\n{err.decode()[-2000:]}")
        seconds = time.perf_counter() - started
        simulator_after, server_after = cpu_seconds(simulator_pid), server_cpu.seconds(name)
        split, stored = polled_split(url)
        if sum(split) != len(accounts) or stored != mentions:  # each account once, all stored
            raise RuntimeError(f"{count} pollers polled {split} of {len(accounts)} accounts "
                               f"and stored {stored} of {mentions} mentions")  # fmt: skip
        runs.append(PollersRun(seconds, cpu, split, spent(server_before, server_after),
                               spent(simulator_before, simulator_after)))  # fmt: skip
        return Run(seconds, 0.0)

    return run


def spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def polled_split(url: str) -> tuple[list[int], int]:
    """How many accounts each poller polled (the leases say who), and the mentions stored."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM account_leases GROUP BY polled_by ORDER BY 1 DESC"
        ).fetchall()
        stored = conn.execute("SELECT count(*) FROM mentions").fetchone()
    return [int(row[0]) for row in rows], int(stored[0]) if stored else 0


def four_against_one(
    bench: Bench, server: str, latency: float, repeats: int
) -> tuple[PollersRun, PollersRun]:
    """The median runs of 4 pollers and of 1, on accounts whose instances answer in `latency`."""
    s = bench.sizes
    wanted = s.accounts * 2  # 400 at full size
    spec = {
        "instances": [
            instance_spec(numbers, latency, s.mentions_per_account, s.statuses_per_account)
            for numbers in spread(wanted, s.instances)
        ]
    }
    four: list[PollersRun] = []
    one: list[PollersRun] = []
    with simulator_process(spec, bench.work) as (urls, pid):
        numbers = spread(wanted, s.instances)
        accounts = [SimAccount(n, urls[i]) for i, nums in enumerate(numbers) for n in nums]
        accounts.sort(key=lambda a: a.number)
        bench.side_by_side(
            repeats,
            [
                pollers(bench, server, accounts, 4, four, pid),
                pollers(bench, server, accounts, 1, one, pid),
            ],
        )
    return middle(four), middle(one)


def cpu_budget(four: PollersRun, one: PollersRun, target: float = 0.35) -> str:
    """What this machine's cores allow: every poller, its PostgreSQL backend and the simulated
    instances share them, so no run ends before its CPU time ÷ the cores."""
    cores = os.cpu_count() or 1
    if four.cpu_total is None or one.cpu_total is None:
        return (f"CPU of the pollers {four.cpu_seconds:.1f}s ÷ {one.cpu_seconds:.1f}s "
                "(the server's and the simulator's could not be read)")  # fmt: skip
    total, floor = four.cpu_total, four.cpu_total / cores
    allowed = target * one.seconds * cores
    return (
        f"CPU on this machine's {cores} cores: the four {four.cpu_seconds:.1f}s, PostgreSQL "
        f"{four.server_cpu:.1f}s, the simulator {four.simulator_cpu:.1f}s, {total:.1f}s in "
        f"all, which no schedule runs in under {floor:.2f}s ({floor / one.seconds:.2f} of one "
        f"poller's time); one poller's run needed {one.cpu_total:.1f}s ({one.cpu_seconds:.1f}s "
        f"its own), where the target's {target * one.seconds:.2f}s on {cores} cores hold "
        f"{allowed:.1f}s"
    )


def middle(runs: list[PollersRun]) -> PollersRun:
    """The run of median wall time (an odd number of runs; the upper middle of an even one)."""
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def teams(bench: Bench) -> None:
    s = bench.sizes
    wanted = s.accounts * 2
    print(f"[9, 10] PostgreSQL: 4 pollers vs 1 on {wanted} accounts, {s.team_latency * 1000:.0f}"
          f" ms a request; list on {s.db_rows:,} mentions", flush=True)  # fmt: skip
    with postgres_server() as server:
        if server is None:
            bench.add("9. 4 pollers ÷ 1 poller on one PostgreSQL database", None, 0.35, False,
                      "no PostgreSQL installed (apt-get install postgresql)")  # fmt: skip
            bench.add("10. list --limit 50, PostgreSQL ÷ SQLite", None, 1.5, False,
                      "no PostgreSQL installed")  # fmt: skip
            return
        four, one = four_against_one(bench, server, s.team_latency, s.repeats)
        # Quick sizes: the first poller to start has room for every account and takes them all.
        few = " (no more accounts than one poller's concurrency: the first takes them all)"
        few = few if wanted <= Settings().concurrency else ""
        bench.add(
            f"9. 4 pollers ÷ 1 poller, {wanted} accounts on one PostgreSQL, "
            f"{s.team_latency * 1000:.0f} ms a request",
            four.seconds / one.seconds, 0.35, False,
            f"{four.seconds:.2f}s ÷ {one.seconds:.2f}s, median of {s.repeats}; the four "
            f"polled {'/'.join(map(str, four.split))} accounts{few}; {cpu_budget(four, one)}",
        )  # fmt: skip
        # The same at figure 1's latency, where one poller is bound by this machine's CPU.
        repeats = min(s.repeats, 3)
        four, one = four_against_one(bench, server, s.latency, repeats)
        note = (
            f"9 at figure 1's {s.latency * 1000:.0f} ms a request: 4 pollers ÷ 1 = "
            f"{four.seconds / one.seconds:.2f} ({four.seconds:.2f}s ÷ {one.seconds:.2f}s, median "
            f"of {repeats}; split {'/'.join(map(str, four.split))}); one poller spends "
            f"{one.cpu_seconds:.1f}s of CPU in its {one.seconds:.1f}s, the four "
            f"{four.cpu_seconds:.1f}s between them on {os.cpu_count()} cores"
        )
        bench.notes.append(note)
        print(f"    {note}", flush=True)
        list_figure(bench, server)


def list_figure(bench: Bench, server: str) -> None:
    s = bench.sizes
    sqlite_db = bench.work / "team-list.db"
    began = time.monotonic()
    build_database(sqlite_db, s.db_rows, s.db_open)
    url = fresh_database(server, "bench_list")
    copy_into_postgres(sqlite_db, url)
    print(f"    (built in {time.monotonic() - began:.0f}s, not timed)", flush=True)
    on_pg = [*bench.mw, "--db", url, "list", "--limit", "50"]
    on_sqlite = [*bench.mw, "--db", str(sqlite_db), "list", "--limit", "50"]
    pg_runs, sqlite_runs = bench.side_by_side(
        s.startup_repeats,
        [
            lambda rep: run_child(on_pg, env=bench.env),
            lambda rep: run_child(on_sqlite, env=bench.env),
        ],
    )
    t_pg, t_sqlite = median([r.seconds for r in pg_runs]), median([r.seconds for r in sqlite_runs])
    bench.add("10. list --limit 50, PostgreSQL ÷ SQLite", t_pg / t_sqlite, 1.5, False,
              f"{t_pg * 1000:.0f} ms ÷ {t_sqlite * 1000:.0f} ms, median of {s.startup_repeats}; "
              f"{s.db_rows:,} mentions, {s.db_open:,} open; PostgreSQL on this machine, "
              "so it includes psycopg's import and the connection")  # fmt: skip


def copy_into_postgres(sqlite_db: Path, url: str) -> None:
    """The same rows in PostgreSQL, by COPY (setup, not timed): `db copy` takes minutes here."""
    import sqlite3

    import psycopg

    from mentionwatch.store import Store

    Store.open(url).close()
    source = sqlite3.connect(sqlite_db)
    columns = [row[1] for row in source.execute("PRAGMA table_info(mentions)")]
    listed = ", ".join(columns)
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY mentions ({listed}) FROM STDIN") as copy:
            for row in source.execute(f"SELECT {listed} FROM mentions"):
                copy.write_row(row)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('mentions', 'id'), MAX(id)) FROM mentions"
        )
        cursor.execute("ANALYZE mentions")
    source.close()
