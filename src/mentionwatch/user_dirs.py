"""Where the config and the database are by default: platformdirs' user directories.

On Linux with an absolute $XDG_*_HOME or $HOME (nearly always) the answer is computed here, as
platformdirs computes it: importing platformdirs costs every command ~4 ms (it compiles
patterns for files it reads only on request), a tenth of what `list` does beyond Typer and
Rich. Everywhere else (macOS, Windows, Android, a relative or missing HOME) platformdirs
answers. tests/test_user_dirs.py pins both answers equal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_config_path(app: str) -> Path:
    found = _linux("XDG_CONFIG_HOME", ".config", app)
    if found is not None:
        return found
    import platformdirs

    return platformdirs.user_config_path(app)


def user_data_path(app: str) -> Path:
    found = _linux("XDG_DATA_HOME", ".local/share", app)
    if found is not None:
        return found
    import platformdirs

    return platformdirs.user_data_path(app)


def _linux(variable: str, under_home: str, app: str) -> Path | None:
    """The XDG base directory's `app` folder, or None where platformdirs must decide."""
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel"):
        return None
    if os.environ.get("ANDROID_DATA") == "/data" and os.environ.get("ANDROID_ROOT") == "/system":
        return None  # platformdirs looks for an Android app here
    base = os.environ.get(variable, "")
    if os.path.isabs(base):
        return Path(base, app)
    home = os.environ.get("HOME", "")
    if os.path.isabs(home):
        return Path(home, under_home, app)
    return None
