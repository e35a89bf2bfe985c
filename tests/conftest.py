"""Shared fixtures: an isolated home, a fast HTTP layer, and a config writer."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.http import Http
from tests import pgcluster

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the user's real config, database or environment."""
    for name in list(os.environ):
        if name.startswith("MENTIONWATCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    yield


class FakeClock:
    """Time that only moves when the code under test sleeps: no test waits for real backoff."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def threaded() -> Iterator[HTTPServer]:
    """A test server that answers a retry while an earlier request still hangs (the reply
    tests' timeouts: pytest-httpserver's own `httpserver` answers one request at a time)."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def make_http(clock: FakeClock) -> Callable[..., Http]:
    def make(**kwargs: Any) -> Http:
        options: dict[str, Any] = {"sleep": clock.sleep, "clock": clock.time, "timeout": 5.0}
        options.update(kwargs)
        return Http(**options)

    return make


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        return path

    return write


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The README's offline example, copied so its database lands in a temporary folder."""
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "alerts.atom", tmp_path / "examples" / "alerts.atom")
    return tmp_path / "config.toml"


@pytest.fixture
def warnings_logged(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Warnings of the mentionwatch loggers, even after a CLI test stopped their propagation."""
    monkeypatch.setattr(logging.getLogger("mentionwatch"), "propagate", True)
    caplog.set_level(logging.WARNING, logger="mentionwatch")
    return lambda: [r.getMessage() for r in caplog.records if r.name.startswith("mentionwatch")]


# -- PostgreSQL: one server per session, a fresh database per test -----------------------------

_databases = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A URL to the test server's maintenance database, with a migrated template beside it.

    .ci/run starts the server and says where (MENTIONWATCH_TEST_PG); without it one is started
    here from Debian's binaries; without those, PostgreSQL tests are skipped.
    """
    url = os.environ.get(pgcluster.TEST_PG_ENV, "")
    cluster = None
    if not url:
        bindir = pgcluster.server_bin()
        if bindir is None:
            pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
        cluster = pgcluster.Cluster(bindir)
        url = cluster.start()
    try:
        pgcluster.wait_ready(url)
        _make_template(url)
        yield url
    finally:
        if cluster is not None:
            cluster.stop()


def _make_template(server: str) -> None:
    import psycopg

    from mentionwatch.store import Store

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {pgcluster.TEMPLATE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {pgcluster.TEMPLATE}")
    Store.open(pgcluster.database_url(server, pgcluster.TEMPLATE)).close()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """An empty, migrated database of its own, dropped after the test."""
    import psycopg

    name = f"mw_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        # FILE_COPY: ~0.15 s for a small template, where the default WAL_LOG takes ~0.4 s.
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {pgcluster.TEMPLATE} STRATEGY FILE_COPY")
    yield pgcluster.database_url(pg_server, name)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Each test that takes it runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return tmp_path / "data" / "m.db"
    url: str = request.getfixturevalue("pg_url")
    return url


# Modules whose every test runs on both backends through tests.history.database(): what the
# commands print (ordering, ages, SLA states, stats, digests, exports, exit codes) must match.
BOTH_BACKENDS = {
    "tests.test_stats", "tests.test_list_sla", "tests.test_check", "tests.test_report_export",
    "tests.test_digest", "tests.test_team", "tests.test_timezones", "tests.test_notify",
    "tests.test_notify_faults", "tests.test_rules", "tests.test_hostile",
    "tests.test_digest_team", "tests.test_first_hour",
}  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test about the SQLite file itself")
    config.addinivalue_line(
        "markers", "one_backend: a test that opens no store, or picks its own: one run is enough"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (
        metafunc.module.__name__ in BOTH_BACKENDS
        and "backend" in metafunc.fixturenames
        and not metafunc.definition.get_closest_marker("sqlite_only")
        and not metafunc.definition.get_closest_marker("one_backend")
    ):
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """ "sqlite" unless the module runs on both backends and this is its PostgreSQL run."""
    name: str = getattr(request, "param", "sqlite")
    if name == "postgresql":
        from tests import history

        monkeypatch.setattr(history, "DATABASE", request.getfixturevalue("pg_url"))
    yield name
    if name == "postgresql":
        # A PostgreSQL run that wrote to a SQLite file instead would prove nothing about it.
        assert not list(tmp_path.rglob("*.db")), "the PostgreSQL run stored into a SQLite file"
