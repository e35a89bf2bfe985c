"""Shared fixtures: an isolated home, a fast HTTP layer, and a config writer."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mentionwatch.http import Http

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
