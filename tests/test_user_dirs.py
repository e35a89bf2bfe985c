"""The default config and database places are platformdirs' own, with or without it."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from mentionwatch import user_dirs
from mentionwatch.config import database_path, default_config_path

ENVIRONMENTS = [
    {"HOME": "/home/ann"},
    {"HOME": "/home/ann/", "XDG_CONFIG_HOME": "/etc/cfg", "XDG_DATA_HOME": "/srv/data/"},
    {"HOME": "/", "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": " "},
    {"HOME": "/home/ann", "XDG_CONFIG_HOME": "relative/cfg", "XDG_DATA_HOME": "~/data"},
    {"HOME": "relative-home"},  # platformdirs looks the user up instead
    {},  # no HOME at all: the same
    {"HOME": "/home/ann", "ANDROID_DATA": "/data", "ANDROID_ROOT": "/system"},
]


@pytest.mark.skipif(sys.platform != "linux", reason="elsewhere platformdirs always answers")
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_places_are_the_ones_platformdirs_gives(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "ANDROID_DATA", "ANDROID_ROOT",
                 "MENTIONWATCH_DB"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert user_dirs.user_config_path("mentionwatch") == platformdirs.user_config_path(
        "mentionwatch"
    )
    assert user_dirs.user_data_path("mentionwatch") == platformdirs.user_data_path("mentionwatch")
    assert default_config_path() == platformdirs.user_config_path("mentionwatch") / "config.toml"
    expected = platformdirs.user_data_path("mentionwatch") / "mentionwatch.db"
    assert database_path(None, None) == expected


def test_an_ordinary_linux_home_is_answered_here_and_other_systems_by_platformdirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", "/home/ann")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    monkeypatch.delenv("ANDROID_DATA", raising=False)
    assert user_dirs._linux("XDG_CONFIG_HOME", ".config", "mw") == Path("/home/ann/.config/mw")
    assert user_dirs._linux("XDG_DATA_HOME", ".local/share", "mw") == Path("/srv/data/mw")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert user_dirs._linux("XDG_DATA_HOME", ".local/share", "mw") is None
