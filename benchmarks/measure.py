"""Timing and peak memory of child processes, machine details, and the simulator's lifetime."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float
    # User and system time, the child's own and that of the processes it waited for (workers).
    cpu_seconds: float = 0.0


def run_child(
    command: Sequence[str], *, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> Run:
    """Wall time and peak RSS of one child process, the way a user's shell would see them."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
    )
    # wait4 gives this child's own rusage, so concurrent work elsewhere never pollutes it;
    # stderr is only read after exit (it holds at most a few lines).
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    problem = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    if child.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}:\n{problem[-2000:]}")
    # ru_maxrss is in kilobytes on Linux.
    return Run(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def cpu_seconds(pid: int) -> float | None:
    """A process's CPU time so far (user and system), with that of the children it has reaped,
    from /proc; None where it cannot be read (another OS, another user's process)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after the name.
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def counting_cpu(side: Callable[[int], Run], pid: int, into: list[float]) -> Callable[[int], Run]:
    """`side`, noting in `into` the CPU time process `pid` (the simulator) spent during each run."""

    def run(rep: int) -> Run:
        before = cpu_seconds(pid)
        result = side(rep)
        after = cpu_seconds(pid)
        if before is not None and after is not None:
            into.append(after - before)
        return result

    return run


def cpu_bound(poll_cpu: float, simulator_cpu: list[float], reference: float) -> str:
    """What this machine's cores allow a poll whose simulated instances share them."""
    cores = os.cpu_count() or 1
    spent = poll_cpu + (median(simulator_cpu) if simulator_cpu else 0.0)
    return (
        f"CPU of the poll {poll_cpu:.2f}s (its workers included) and of the simulator "
        f"{spent - poll_cpu:.2f}s: {cores} cores cannot run them in under {spent / cores:.2f}s "
        f"({spent / cores / reference:.2f} of the 1-account poll)"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def machine() -> dict[str, str]:
    """What the figures were measured on; ratios travel between machines, seconds do not."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    import httpx

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "sqlite": sqlite3.sqlite_version,
        "httpx": httpx.__version__,
    }


@contextmanager
def simulator(spec: dict[str, Any], workdir: Path) -> Iterator[list[str]]:
    """Start benchmarks.server in its own process; yields the instances' base URLs."""
    with simulator_process(spec, workdir) as (urls, _):
        yield urls


@contextmanager
def simulator_process(spec: dict[str, Any], workdir: Path) -> Iterator[tuple[list[str], int]]:
    """`simulator`, and the server's process id (whose CPU time a figure may count)."""
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    server = subprocess.Popen(
        [PYTHON, "-m", "benchmarks.server", str(spec_path)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise RuntimeError("the simulated platform failed to start")
        urls: list[str] = json.loads(line)["urls"]
        yield urls, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)


def compile_bytecode() -> None:
    """Compile the project's bytecode first, as `pip install` does for a regular install.

    An editable install run with PYTHONDONTWRITEBYTECODE (CI sets it) never caches bytecode,
    so every start would compile every module again (~25 ms), which no installed copy does.
    """
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def have_mastodon_py() -> bool:
    """Mastodon.py is installed into the benchmark's environment on demand, never a dependency."""
    if importlib.util.find_spec("mastodon") is not None:
        return True
    print("    installing Mastodon.py into this environment for comparison 2", flush=True)
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "Mastodon.py"], check=False)
    importlib.invalidate_caches()
    return importlib.util.find_spec("mastodon") is not None
