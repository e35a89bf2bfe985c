"""Figures 9 and 10: a team's shared PostgreSQL database (README: Teams).

9. Four `poll` processes sharing one database (account leases) against one `poll`, on the same
   simulated accounts: the wall time until every account is stored. Pollers on several machines
   are simulated by processes on this one, so the figure is bounded by its cores too.
10. `list --limit 50` on PostgreSQL against the same on SQLite, both holding the same mentions.

The PostgreSQL server is MENTIONWATCH_TEST_PG's (as .ci/run sets it), else a throwaway cluster
started here from Debian's binaries; without either, both figures are skipped.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.measure import Run, median, run_child, simulator
from benchmarks.setup import SimAccount, build_database, instance_spec, spread, token_env

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


def write_team_config(path: Path, accounts: list[SimAccount], url: str) -> None:
    lines = ["[settings]", f'database = "{url}"', ""]
    for account in accounts:
        lines += [
            "[[accounts]]",
            f'name = "brand{account.number}"',
            'platform = "mastodon"',
            f'server = "{account.url}"',
            f'handle = "brand{account.number}"',
            f'token = "env:{account.env}"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def pollers(
    bench: Bench, server: str, accounts: list[SimAccount], count: int
) -> Callable[[int], Run]:
    """`count` poll processes at once into a fresh database; the wall time until all exit."""

    def run(rep: int) -> Run:
        url = fresh_database(server, f"bench_pollers_{count}_{rep}")
        config = bench.work / f"team-{count}-{rep}.toml"
        write_team_config(config, accounts, url)
        env = {**bench.env, **token_env(accounts)}
        command = [*bench.mw, "-c", str(config), "poll"]
        # The schema first, so that the timed processes only poll.
        run_child([*bench.mw, "--db", url, "list"], env=env)
        started = time.perf_counter()
        children = [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(count)
        ]
        for child in children:
            _, err = child.communicate()
            if child.returncode != 0:
                raise RuntimeError(f"poll exited {child.returncode}:\n{err.decode()[-2000:]}")
        return Run(time.perf_counter() - started, 0.0)

    return run


def teams(bench: Bench) -> None:
    s = bench.sizes
    accounts_wanted = s.accounts * 2  # 400 at full size
    print(f"[9, 10] PostgreSQL: 4 pollers vs 1 on {accounts_wanted} accounts; list on "
          f"{s.db_rows:,} mentions", flush=True)  # fmt: skip
    with postgres_server() as server:
        if server is None:
            bench.add("9. 4 pollers ÷ 1 poller on one PostgreSQL database", None, 0.35, False,
                      "no PostgreSQL installed (apt-get install postgresql)")  # fmt: skip
            bench.add("10. list --limit 50, PostgreSQL ÷ SQLite", None, 1.5, False,
                      "no PostgreSQL installed")  # fmt: skip
            return
        spec = {
            "instances": [
                instance_spec(numbers, s.latency, s.mentions_per_account, s.statuses_per_account)
                for numbers in spread(accounts_wanted, s.instances)
            ]
        }
        with simulator(spec, bench.work) as urls:
            accounts = [
                SimAccount(n, urls[i])
                for i, nums in enumerate(spread(accounts_wanted, s.instances))
                for n in nums
            ]
            accounts.sort(key=lambda a: a.number)
            four, one = bench.side_by_side(
                s.repeats,
                [pollers(bench, server, accounts, 4), pollers(bench, server, accounts, 1)],
            )
        t_four, t_one = median([r.seconds for r in four]), median([r.seconds for r in one])
        bench.add(f"9. 4 pollers ÷ 1 poller, {accounts_wanted} accounts on one PostgreSQL",
                  t_four / t_one, 0.35, False,
                  f"{t_four:.2f}s ÷ {t_one:.2f}s, median of {s.repeats}; all processes on this "
                  "machine's cores")  # fmt: skip
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
