"""The poll lock: one `mentionwatch poll` at a time per database, whatever cron does."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from mentionwatch.errors import LockedError, StoreError


@contextlib.contextmanager
def poll_lock(db_path: Path, timeout: float) -> Iterator[None]:
    """One poll at a time per database (cron overlap); readers never take it."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        # A read-only data folder: one line and exit 5, like every other database problem.
        raise StoreError(
            f"{lock_path}: cannot open the poll lock: {exc.strerror} "
            "(check the file's and its folder's permissions)"
        ) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"{db_path}: another `mentionwatch poll` is running "
                        "(use --lock-timeout to wait for it)"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)
