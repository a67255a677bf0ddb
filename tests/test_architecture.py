"""The shape of the code, checked from the source: no import circles inside ``bot/`` or
``adapters/``, no storage or vendor library (nor ``adapters``) imported by the core, and no
module longer than the limit. The module graph is built with ``ast`` from every import
statement, those inside functions and under ``TYPE_CHECKING`` included: a circle hidden in a
function is still a circle."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters")
MAX_LINES = 400
LENGTH_CHECKED = ("bot", "adapters", "config", "bench")
FORBIDDEN_IN_CORE = (
    "adapters", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "psycopg2", "slack_sdk",
    "slack_bolt", "twilio", "aiosmtpd", "imapclient", "starlette", "uvicorn", "apscheduler",
    "aiohttp", "httpx", "requests", "fastapi", "click",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(*packages: str) -> dict[str, Path]:
    return {module_name(p): p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))}


def imported(name: str, path: Path, known: Collection[str] = ()) -> Iterator[tuple[str, int]]:
    """Every module name an import statement of the file names, with its line. ``from a import
    b`` names ``a.b`` when that is one of the ``known`` modules, else ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield (sub if sub in known else source), node.lineno


def graph(known: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {module of the same packages it imports: line of the first such import}.
    Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``: those count too, except
    a package the importer is inside of (it is running already)."""
    edges: dict[str, dict[str, int]] = {m: {} for m in known}
    for name, path in known.items():
        for target, line in imported(name, path, known):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                dep = ".".join(parts[:i])
                if dep not in known or dep == name:
                    continue
                if dep != target and name.startswith(dep + "."):
                    continue
                edges[name].setdefault(dep, line)
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return components


def shortest_cycle(edges: dict[str, dict[str, int]], members: set[str], start: str) -> list[str]:
    """The shortest path from ``start`` back to itself inside one component (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v]):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is in no cycle")


def describe(edges: dict[str, dict[str, int]], cycle: list[str]) -> str:
    steps = [f"{a} (line {edges[a][b]})" for a, b in pairwise(cycle)]
    return " -> ".join([*steps, cycle[-1]])


def report(edges: dict[str, dict[str, int]], component: list[str]) -> str:
    """The shortest circle through the first module, then every module caught in the knot."""
    cycle = shortest_cycle(edges, set(component), component[0])
    return describe(edges, cycle) + (f"\n    (in the same knot: {', '.join(component)})"
                                     if len(component) > len(cycle) - 1 else "")


def test_no_import_circles() -> None:
    edges = graph(modules(*PACKAGES))
    found = [report(edges, c) for c in cycles(edges)]
    assert not found, "import circles:\n" + "\n".join(found)


def test_the_core_imports_no_adapter_storage_or_vendor_library() -> None:
    bad = []
    for name, path in modules("bot").items():
        for target, line in imported(name, path):
            top = target.split(".")[0]
            if top in FORBIDDEN_IN_CORE:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "the core reaches out:\n" + "\n".join(sorted(set(bad)))


def test_modules_are_short() -> None:
    long = []
    for path in modules(*LENGTH_CHECKED).values():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not long, f"modules longer than {MAX_LINES} lines:\n" + "\n".join(sorted(long))


UOW_MADE_IN = "adapters/storage/uow.py"  # UnitOfWorks, the composition root's factory


def units_of_work_made(path: Path) -> list[int]:
    """Lines of ``path`` that build a ``SqlUnitOfWork(...)`` themselves."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        getattr(n.func, "id", None) == "SqlUnitOfWork"
        or getattr(n.func, "attr", None) == "SqlUnitOfWork"))


def test_adapters_take_the_roots_unit_of_work_factory() -> None:
    """Every adapter gets its units of work from the root's ``UnitOfWorks``: none builds a
    ``SqlUnitOfWork`` itself."""
    bad = [f"{path.relative_to(ROOT)}:{line}" for path in modules("adapters").values()
           if path.relative_to(ROOT).as_posix() != UOW_MADE_IN
           for line in units_of_work_made(path)]
    assert not bad, "SqlUnitOfWork built outside UnitOfWorks:\n" + "\n".join(bad)


# -- the checks themselves can fail -----------------------------------------------------------


def test_a_unit_of_work_built_directly_is_found(tmp_path: Path) -> None:
    p = tmp_path / "engine.py"
    p.write_text("from adapters import storage\nfrom adapters.storage import SqlUnitOfWork\n"
                 "def f(db):\n    with SqlUnitOfWork(db, write=False) as u:\n        pass\n"
                 "    return storage.SqlUnitOfWork(db)\n", encoding="utf-8")
    assert units_of_work_made(p) == [4, 6]


def _package(tmp: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return {module_name_in(tmp, p): p for p in sorted(tmp.rglob("*.py"))}


def module_name_in(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@pytest.mark.parametrize("b_source", [
    "from pkg.a import x\n",
    "def f():\n    from pkg import a\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import X\n",
    "from . import a\n",
    "from .a import x\n",
])
def test_a_circle_is_found_however_it_is_imported(tmp_path: Path, b_source: str) -> None:
    known = _package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg.b import y\n",
                                "pkg/b.py": b_source, "pkg/c.py": "from pkg import a\n"})
    edges = graph(known)
    found = cycles(edges)
    assert found == [["pkg.a", "pkg.b"]]
    assert report(edges, found[0]).startswith("pkg.a (line 1) -> pkg.b (line ")


def test_no_circle_without_one(tmp_path: Path) -> None:
    known = _package(tmp_path, {"pkg/__init__.py": "from pkg.a import x\n",
                                "pkg/a.py": "from pkg.b import y\n", "pkg/b.py": "y = 1\n"})
    assert cycles(graph(known)) == []


def test_a_long_cycle_is_printed_in_order(tmp_path: Path) -> None:
    known = _package(tmp_path, {"p/__init__.py": "", "p/a.py": "import p.b\n",
                                "p/b.py": "import p.c\n", "p/c.py": "import p.a\n"})
    edges = graph(known)
    assert [report(edges, c) for c in cycles(edges)] == [
        "p.a (line 1) -> p.b (line 1) -> p.c (line 1) -> p.a"]


EVENT_WRITERS = ("bot/ticket.py", "bot/ticket_channels.py", "adapters/storage/")
"""Where a ticket event may be made: the aggregate records them; storage rebuilds stored ones."""


def test_only_the_ticket_aggregate_makes_ticket_events() -> None:
    """Everything else changes a ticket through its methods (``bot/ticket.py``)."""
    offenders = []
    for path in modules(*PACKAGES).values():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(EVENT_WRITERS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "Event" and node.args and "EventKind" in ast.unparse(
                        node.args[0]):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == [], "ticket events made outside the aggregate: " + ", ".join(offenders)
