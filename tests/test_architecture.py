"""The rooms of ``src/qualmodel`` stay acyclic and keep their private names to themselves.

Every ``import`` statement of every module is read, including imports inside functions (a
late import hides a cycle from Python but not from this walk).
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "qualmodel"

#: Rooms in dependency order; a room may import from itself and from rooms earlier in this
#: list, never from a later one. (Criteria come after survival: comparing definitions uses
#: the time-to-event estimators.)
ROOM_ORDER = [
    "core",
    "journeys",
    "simulation",
    "crm",
    "survival",
    "criteria",
    "experiment",
    "plotting",
    "report",
    "cli",
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The module a dotted import name refers to (a submodule or the module defining it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@functools.cache  # the tree does not change during a test run
def _imports(module: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) of every qualmodel import of a module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    is_pkg = MODULES[module].name == "__init__.py"
    out: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("qualmodel")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_pkg]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("qualmodel"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append(
                    (sub, "", node.lineno) if sub in MODULES else (base, alias.name, node.lineno)
                )
    return out


@functools.cache
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in _imports(module):
            resolved = _resolve(target)
            if resolved and resolved != module and resolved != "qualmodel":
                graph[module].add(resolved)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_is_walked():
    assert "qualmodel.journeys.contract" in MODULES
    assert "qualmodel.report.runner" in MODULES
    assert len(MODULES) > 60


def test_walk_sees_imports_inside_functions():
    # cli/power.py imports the power engine inside its command function (a late import)
    module = "qualmodel.cli.power"
    late = [line for t, _, line in _imports(module) if t == "qualmodel.experiment.power"]
    lines = MODULES[module].read_text().splitlines()
    first_def = next(i for i, x in enumerate(lines, 1) if x.startswith("def "))
    assert late and min(late) > first_def


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules():
    assert _cycles(_graph()) == []


def test_no_private_name_imported_from_another_module():
    bad = []
    for module in MODULES:
        for target, name, line in _imports(module):
            leaf = name or target.rpartition(".")[2]
            if re.match(r"_[A-Za-z]", leaf) and _resolve(target) != module:
                bad.append(f"{MODULES[module].relative_to(PKG)}:{line} imports {target} {name}")
    assert bad == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _room(m) in ROOM_ORDER))
def test_rooms_import_only_along_the_data_path(module):
    rank = ROOM_ORDER.index(_room(module))
    later = [
        target
        for target in _graph()[module]
        if _room(target) in ROOM_ORDER and ROOM_ORDER.index(_room(target)) > rank
    ]
    assert later == [], f"{module} imports from a later room"


# ------------------------------------------------------------------ house rules of the tree
MAX_TOP_ENTRIES = 14
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 80


def _function_lengths(path: Path) -> list[tuple[str, int]]:
    """(name, body lines without the docstring) of every function of a module."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                body = body[1:]
            if body:
                out.append((node.name, body[-1].end_lineno - body[0].lineno + 1))
    return out


def test_top_of_the_package_is_a_short_list_of_rooms():
    entries = [p.name for p in PKG.iterdir() if p.name != "__pycache__"]
    assert len(entries) <= MAX_TOP_ENTRIES, sorted(entries)
    assert set(ROOM_ORDER) <= set(entries)


def test_modules_and_functions_stay_small():
    long_modules = {
        str(p.relative_to(PKG)): n
        for p in MODULES.values()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long_modules == {}
    long_functions = [
        f"{p.relative_to(PKG)}::{name} ({n} lines)"
        for p in MODULES.values()
        for name, n in _function_lengths(p)
        if n > MAX_FUNCTION_LINES
    ]
    assert long_functions == []


def test_no_leftovers_in_the_package():
    files = [p for p in PKG.rglob("*") if "__pycache__" not in p.parts]
    assert [p for p in files if p.suffix in {".orig", ".rej", ".bak"}] == []
    assert not (PKG / "io.py").exists()
    numbered = [
        f"{p.relative_to(PKG)}:{i}"
        for p in files
        if p.is_file() and p.suffix in {".py", ".yaml", ".ipynb"}
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\(#\d+\)", line)
    ]
    assert numbered == []


def test_no_folder_shares_a_name_with_a_module():
    for folder in [p for p in PKG.rglob("*") if p.is_dir() and p.name != "__pycache__"]:
        assert not folder.with_suffix(".py").exists(), folder
