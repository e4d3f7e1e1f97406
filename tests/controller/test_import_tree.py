"""The modules of controller/ and targets/ import each other as a tree: no cycle.

A cycle (``daemon`` -> ``mobility`` -> ``daemon``) means neither module can be read,
tested or replaced without the other, and the whole daemon object travels to where
a narrow interface would do. Every import statement counts, wherever it stands:
module level, under ``if TYPE_CHECKING:`` (a cycle hidden from the interpreter is
still one for the reader) and inside functions (a lazy import only postpones it).
Importing ``a.b.c`` counts as an edge to ``a.b.c`` alone, not to the packages
around it: a package ``__init__`` that re-exports its own modules is not a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("controller", "targets")


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for root in ROOTS for p in sorted((REPO / root).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` names (``a.b.Class`` -> ``a.b``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import mod` names the module pkg.mod, `from mod import f` names mod
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            found = _resolve(target, known)
            if found is not None and found != name:
                out.add(found)
    return out


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, comp) for comp in components]


def _one_cycle(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    start = min(comp)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_checker_sees_a_cycle_and_every_kind_of_import(tmp_path: Path) -> None:
    """The check itself: relative, TYPE_CHECKING and function-level imports all count."""
    pkg = tmp_path / "controller" / "app"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("if TYPE_CHECKING:\n    import controller.app.c\n")
    (pkg / "c.py").write_text("def f():\n    from controller.app.a import thing\n")
    (pkg / "d.py").write_text("from controller.app import a\n")
    known = {module_name(p, tmp_path): p for p in sorted(pkg.rglob("*.py"))}
    graph = {n: imports_of(n, p, known) for n, p in known.items()}
    assert graph["controller.app.d"] == {"controller.app.a"}
    assert cycles(graph) == [
        ["controller.app.a", "controller.app.b", "controller.app.c", "controller.app.a"]
    ]
