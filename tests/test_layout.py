"""The layout's rules, read from the source with `ast`: no import cycles, and each tier's
boundary (SQL in store/, Rich in the views, httpx in http.py, platform names in sources/,
output and exits in the CLI).

Each check is a function over a source tree, so that the tests below can also show it
catching a crossing in a small tree of its own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PLATFORM_NAMES = frozenset(
    {"mastodon", "bluesky", "github", "hackernews", "reddit", "twitter", "feed"}
)
# Where a boundary may be crossed: a package (and all below it) or one module.
SQL_HOME = ("mentionwatch.store",)
RICH_HOME = ("mentionwatch.cli", "mentionwatch.render", "mentionwatch.inbox")
HTTPX_HOME = ("mentionwatch.http",)
PLATFORMS_HOME = ("mentionwatch.sources",)
OUTPUT_HOME = ("mentionwatch.cli", "mentionwatch.inbox")
# The one string that is a platform name and also something else: Kind.FEED, the kind of a
# feed entry, which the store and every output show.
NOT_PLATFORMS = {("mentionwatch.models", "feed")}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. mentionwatch.store.queries
    path: Path
    is_package: bool
    tree: ast.Module


@dataclass(frozen=True)
class Import:
    module: Module
    target: str  # the dotted name imported: a module, or the package a name comes from
    line: int
    lazy: bool  # inside a function: runs when the function does
    type_only: bool  # under `if TYPE_CHECKING:`: never runs


def modules(root: Path) -> dict[str, Module]:
    """Every module of every package under `root` (a `src` folder), by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        found[name] = Module(name, path, is_package, ast.parse(path.read_text(), str(path)))
    return found


def within(name: str, homes: Iterable[str]) -> bool:
    return any(name == home or name.startswith(home + ".") for home in homes)


def imports(module: Module, known: Iterable[str] = ()) -> Iterator[Import]:
    """What `module` imports; `from pkg import sub` names the submodule when it is one."""
    names = set(known)
    package = module.name if module.is_package else module.name.rpartition(".")[0]

    def walk(node: ast.AST, lazy: bool, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from walk(child, True, type_only)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from walk(ast.Module([stmt], []), lazy, True)
                for stmt in child.orelse:
                    yield from walk(ast.Module([stmt], []), lazy, type_only)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(module, alias.name, child.lineno, lazy, type_only)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(child, package)
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    target = sub if sub in names else base
                    yield Import(module, target, child.lineno, lazy, type_only)
            else:
                yield from walk(child, lazy, type_only)

    yield from walk(module.tree, False, False)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


# -- the checks ------------------------------------------------------------------------------


def import_cycles(root: Path, *, include_type_only: bool = False) -> list[list[str]]:
    """Cycles among the modules under `root` through imports that run (lazy ones too).

    Importing `a.b.c` first runs the packages `a` and `a.b`, so those count as imported
    too, except by modules inside them (a package's own submodules load while it does).
    """
    found = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in found}
    for module in found.values():
        for imp in imports(module, found):
            if imp.type_only and not include_type_only:
                continue
            parts = imp.target.split(".")
            for depth in range(1, len(parts) + 1):
                target = ".".join(parts[:depth])
                if target == module.name or target not in found:
                    continue
                if depth < len(parts) and within(module.name, [target]):
                    continue  # a parent package of the importer: already loading
                graph[module.name].add(target)
    return _cycles(graph)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def imported_outside(root: Path, library: str, homes: Iterable[str]) -> list[str]:
    """Every import of `library` (or its submodules) by a module outside `homes`."""
    found = modules(root)
    return [
        f"{imp.module.path.relative_to(root)}:{imp.line}: imports {imp.target}"
        for module in found.values()
        if not within(module.name, homes)
        for imp in imports(module, found)
        if within(imp.target, [library])
    ]


def platform_names_outside(
    root: Path, homes: Iterable[str], allowed: Iterable[tuple[str, str]] = NOT_PLATFORMS
) -> list[str]:
    """String constants that are exactly a platform name, outside `homes` (and `allowed`).

    Docstrings and comments are prose and may name a platform; a constant is code that knows
    one. A name inside a longer string ("github.com", a help text) is prose too.
    """
    exempt = set(allowed)
    problems = []
    for module in modules(root).values():
        if within(module.name, homes):
            continue
        docstrings = _docstrings(module.tree)
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.lower() in PLATFORM_NAMES
                and id(node) not in docstrings
                and (module.name, node.value) not in exempt
            ):
                where = module.path.relative_to(root)
                problems.append(f"{where}:{node.lineno}: platform name {node.value!r}")
    return problems


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


_EXIT_CALLS = {"print", "exit", "quit", "breakpoint"}
# Not os._exit: that is how a forked worker process ends (workers.py), not the program.
_EXIT_ATTRIBUTES = {("sys", "exit"), ("typer", "Exit"), ("click", "exceptions")}
_STREAMS = {("sys", "stdout"), ("sys", "stderr"), ("sys", "__stdout__"), ("sys", "__stderr__")}


def output_outside(root: Path, homes: Iterable[str]) -> list[str]:
    """print(), exits and the process's stdout/stderr used by a module outside `homes`."""
    problems = []
    for module in modules(root).values():
        if within(module.name, homes):
            continue
        where = module.path.relative_to(root)
        for node in ast.walk(module.tree):
            said = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in _EXIT_CALLS:
                    said = f"calls {node.func.id}()"
            elif isinstance(node, ast.Name) and node.id == "SystemExit":
                said = "uses SystemExit"
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                pair = (node.value.id, node.attr)
                if pair in _EXIT_ATTRIBUTES:
                    said = f"uses {node.value.id}.{node.attr}"
                elif pair in _STREAMS:
                    said = f"uses {node.value.id}.{node.attr}"
            elif isinstance(node, ast.ImportFrom) and node.module in ("sys", "typer", "os"):
                for alias in node.names:
                    if (node.module, alias.name) in _EXIT_ATTRIBUTES | _STREAMS:
                        said = f"imports {alias.name} from {node.module}"
            if said:
                problems.append(f"{where}:{getattr(node, 'lineno', 0)}: {said}")
    return problems


# -- the project's own tree --------------------------------------------------------------------


def test_the_source_tree_has_no_import_cycle() -> None:
    assert import_cycles(SRC) == []


def test_sqlite3_is_imported_only_under_store() -> None:
    assert imported_outside(SRC, "sqlite3", SQL_HOME) == []


def test_rich_is_imported_only_by_the_cli_and_the_views() -> None:
    assert imported_outside(SRC, "rich", RICH_HOME) == []


def test_httpx_is_imported_only_by_http() -> None:
    assert imported_outside(SRC, "httpx", HTTPX_HOME) == []


def test_platform_names_appear_only_under_sources() -> None:
    assert platform_names_outside(SRC, PLATFORMS_HOME) == []


def test_only_the_cli_prints_or_exits() -> None:
    assert output_outside(SRC, OUTPUT_HOME) == []


def test_the_checks_see_the_whole_package() -> None:
    """A check over nothing passes vacuously: it must have read the real modules."""
    found = modules(SRC)
    assert {"mentionwatch.cli", "mentionwatch.store", "mentionwatch.http"} <= set(found)
    store = found["mentionwatch.store"]
    assert any(imp.target == "sqlite3" for imp in imports(store, found))


# -- each check catches a crossing -----------------------------------------------------------


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "src"


PACKAGES = {
    "mentionwatch/__init__.py": "",
    "mentionwatch/store/__init__.py": "import sqlite3\n",
    "mentionwatch/cli/__init__.py": "import sys\nprint('hi')\nsys.exit(1)\n",
    "mentionwatch/sources/__init__.py": "NAME = 'mastodon'\n",
}


def test_a_cycle_through_a_lazy_import_is_found(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            **PACKAGES,
            "mentionwatch/a.py": "from mentionwatch import b\n",
            "mentionwatch/b.py": "def later() -> None:\n    from mentionwatch.a import x\n",
        },
    )
    assert import_cycles(root) == [["mentionwatch.a", "mentionwatch.b"]]


def test_a_cycle_through_a_package_init_is_found(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            **PACKAGES,
            "mentionwatch/store/__init__.py": "from mentionwatch.config import Config\n",
            "mentionwatch/store/lock.py": "",
            "mentionwatch/config.py": "from mentionwatch.store.lock import poll_lock\n",
        },
    )
    assert import_cycles(root) == [["mentionwatch.config", "mentionwatch.store"]]


def test_a_packages_own_submodules_and_type_only_imports_make_no_runtime_cycle(
    tmp_path: Path,
) -> None:
    root = tree(
        tmp_path,
        {
            **PACKAGES,
            "mentionwatch/store/__init__.py": "from mentionwatch.store.rows import Row\n",
            "mentionwatch/store/rows.py": "from mentionwatch.store.lock import x\n",
            "mentionwatch/store/lock.py": "",
            "mentionwatch/config.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from mentionwatch.secrets import Secret\n",
            "mentionwatch/secrets.py": "from mentionwatch.config import Config\n",
        },
    )
    assert import_cycles(root) == []
    assert import_cycles(root, include_type_only=True) == [
        ["mentionwatch.config", "mentionwatch.secrets"]
    ]


@pytest.mark.parametrize(
    ("library", "homes", "source"),
    [
        ("sqlite3", SQL_HOME, "import sqlite3\n"),
        ("sqlite3", SQL_HOME, "def f() -> None:\n    from sqlite3 import connect\n"),
        ("rich", RICH_HOME, "from rich.text import Text\n"),
        ("httpx", HTTPX_HOME, "import httpx.codes\n"),
    ],
)
def test_an_import_outside_its_home_is_reported(
    tmp_path: Path, library: str, homes: tuple[str, ...], source: str
) -> None:
    root = tree(tmp_path, {**PACKAGES, "mentionwatch/poll.py": source})
    [problem] = imported_outside(root, library, homes)
    assert problem.startswith("mentionwatch/poll.py:")


def test_imports_at_home_are_allowed(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            **PACKAGES,
            "mentionwatch/store/postgres.py": "import sqlite3\n",
            "mentionwatch/inbox/app.py": "from rich.text import Text\n",
            "mentionwatch/http.py": "import httpx\n",
        },
    )
    assert imported_outside(root, "sqlite3", SQL_HOME) == []
    assert imported_outside(root, "rich", RICH_HOME) == []
    assert imported_outside(root, "httpx", HTTPX_HOME) == []
    # A module whose name only starts like a home is not in it.
    root = tree(tmp_path, {"mentionwatch/storage.py": "import sqlite3\n"})
    assert imported_outside(root, "sqlite3", SQL_HOME) == [
        "mentionwatch/storage.py:1: imports sqlite3"
    ]


def test_a_platform_name_outside_sources_is_reported_but_not_in_prose(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            **PACKAGES,
            "mentionwatch/config.py": '"""Reads a feed or a Mastodon account."""\n\n'
            "def check(platform: str) -> bool:\n"
            '    """True for "feed"."""\n'
            "    # a comment saying github\n"
            "    return platform == 'Feed' or platform.startswith('github.com')\n",
        },
    )
    assert platform_names_outside(root, PLATFORMS_HOME) == [
        "mentionwatch/config.py:6: platform name 'Feed'"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "print('done')\n",
        "import sys\nsys.stdout.write('done')\n",
        "import sys\ndef f() -> None:\n    sys.exit(2)\n",
        "import typer\nraise typer.Exit(1)\n",
        "raise SystemExit(1)\n",
        "from sys import stderr\n",
        "import logging, sys\nlogging.StreamHandler(sys.stderr)\n",
    ],
)
def test_output_or_an_exit_outside_the_cli_is_reported(tmp_path: Path, source: str) -> None:
    root = tree(tmp_path, {**PACKAGES, "mentionwatch/render/listing.py": source})
    problems = output_outside(root, OUTPUT_HOME)
    assert problems and all(p.startswith("mentionwatch/render/listing.py:") for p in problems)


def test_output_in_the_cli_and_the_inbox_is_allowed(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {**PACKAGES, "mentionwatch/inbox/app.py": "import sys\nsys.stdout.write('x')\n"},
    )
    assert output_outside(root, OUTPUT_HOME) == []
