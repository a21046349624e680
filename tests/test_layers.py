"""The import contract: ``genre``'s layers run one way, with no cycle, and the library never imports Streamlit.

Layers, bottom to top: the base (errors, atomic writes, process identities) <- ``genre.data`` <- ``genre.learn``
<- ``genre.jobs`` <- the shells (``genre.cli``, ``genre.report``, ``genre.plots``). A module imports from its own
layer or below, never up; every import counts (one inside a function too), except under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "genre"
LAYERS = {"base": 0, "data": 1, "learn": 2, "jobs": 3, "shell": 4}
BASE = {"genre", "genre.errors", "genre.atomic", "genre.process"}
SHELLS = {"genre.cli", "genre.__main__", "genre.report", "genre.plots"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    if module in BASE:
        return "base"
    if module in SHELLS:
        return "shell"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ("data", "learn", "jobs"):
        return parts[1]
    raise AssertionError(f"{module} is in no layer: add it to a layer's package or to BASE/SHELLS in {__file__}")


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (getattr(test, "id", None) == "TYPE_CHECKING"
                                         or getattr(test, "attr", None) == "TYPE_CHECKING")


def imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """The modules ``module`` imports (top-level names: ``genre...`` resolved to a module of the package)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def graph() -> dict[str, set[str]]:
    return {name: {m for m in imports(path.read_text(), name, path.name == "__init__.py")
                   if m == "genre" or m.startswith("genre.")} - {name}
            for name, path in MODULES.items()}


def up_layer(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} ({layer(a)}) imports {b} ({layer(b)})" for a, targets in edges.items() for b in targets
                  if b != "genre" and LAYERS[layer(b)] > LAYERS[layer(a)])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in edges:
        if v not in index:
            connect(v)
    return out


def test_every_module_of_the_library_is_in_a_layer():
    assert len(MODULES) > 30 and all(layer(m) in LAYERS for m in MODULES)


def test_no_import_runs_up_a_layer():
    assert up_layer(graph()) == []


def test_the_library_has_no_import_cycle():
    edges = {m: targets - {"genre"} for m, targets in graph().items()}  # the package's __init__ imports lazily
    assert cycles(edges) == []


def test_the_library_never_imports_streamlit_nor_the_app():
    offending = sorted(f"{name} imports {m}" for name, path in MODULES.items()
                       for m in imports(path.read_text(), name)
                       if m.split(".")[0] in ("streamlit", "workbench", "pages", "streamlit_app"))
    assert offending == []


# --- the checks can fail: each catches what it is there to catch ----------------------------------------------


@pytest.mark.parametrize("source, module, expected", [
    ("from genre.jobs.runs import create_run", "genre.data.store", {"genre.jobs.runs"}),
    ("def f():\n    from genre.learn import training", "genre.data.extract", {"genre.learn.training"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from genre.jobs.runs import Run\n",
     "genre.data.store", {"typing"}),
    ("from ..learn.model import MODEL_KINDS", "genre.data.store", {"genre.learn.model"}),
    ("from . import workspace", "genre.data.store", {"genre.data.workspace"}),
])
def test_imports_are_read_inside_functions_and_relative_but_not_for_type_checking(source, module, expected):
    assert imports(source, module) == expected


def test_an_import_up_a_layer_and_a_cycle_are_reported():
    edges = {"genre.data.store": {"genre.jobs.runs"}, "genre.jobs.runs": {"genre.data.store"}}
    assert up_layer(edges) == ["genre.data.store (data) imports genre.jobs.runs (jobs)"]
    assert cycles(edges) == [["genre.data.store", "genre.jobs.runs"]]
