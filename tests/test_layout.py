"""The library's shape: no import cycles (lazy imports included), every module importable alone, and the layering
DESIGN.md §2 promises: nothing at run time imports training/, figure builders import no model code, hooks are chosen
from names.py's tables, and a notebook imports from at most three llmviz places.

The import graph is built statically with `ast` from every `import` statement in a module, at the top or inside a
function, so a lazy import cannot hide a cycle. Importing `a.b.c` also runs the package `a.b`'s `__init__`, so that
edge counts too, except from inside the package itself (a package's own modules import each other by full name).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "llmviz"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
PACKAGES = {name for name, path in MODULES.items() if path.name == "__init__.py"}


def imported_names(tree: ast.AST, importer: str) -> set[str]:
    """Every llmviz module an AST imports, anywhere in it: `from a import b` names the module a.b when it exists."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importer's package
                package = importer if importer in PACKAGES else importer.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".rstrip(".")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {name for name in found if name in MODULES}


def edges(importer: str, imported: str) -> set[str]:
    """The modules that importing `imported` runs: it, and each package above it that `importer` is not inside."""
    runs, parts = {imported}, imported.split(".")
    for i in range(1, len(parts)):
        package = ".".join(parts[:i])
        if package in PACKAGES and not (importer == package or importer.startswith(package + ".")):
            runs.add(package)
    return runs


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in imported_names(ast.parse(path.read_text(), str(path)), name):
            targets |= edges(name, imported)
        graph[name] = targets - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search with colours)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_builder_sees_lazy_imports_and_finds_a_cycle():
    """The checker itself: a lazy import inside a function is an edge, and a two-module loop is found."""
    tree = ast.parse("def f():\n    from llmviz.decoding import generation\n")
    assert "llmviz.decoding.generation" in imported_names(tree, "llmviz.decoding.speculative")
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_there_are_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}. Move the shared piece lower in the stack."


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module imported first, with no llmviz module loaded before it, in a new Python."""
    script = (
        "import importlib, sys, traceback\n"
        f"names = {sorted(MODULES)!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m == 'llmviz' or m.startswith('llmviz.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        failed.append(name + ': ' + traceback.format_exc(limit=2).splitlines()[-1])\n"
        "print('\\n'.join(failed))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"modules that fail to import alone:\n{result.stdout}"


def test_nothing_at_run_time_imports_training():
    graph = import_graph()
    offenders = {name: sorted(t for t in targets if t.startswith("llmviz.training"))
                 for name, targets in graph.items() if not name.startswith("llmviz.training")}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_figure_builders_import_no_model_code():
    """llmviz.viz (not its widgets) draws data it is given: it may import itself, the byte-level token views and the
    course's list of stages (which imports nothing from llmviz: checked in test_course.py) only."""
    allowed = ("llmviz.viz", "llmviz.tokenization", "llmviz.tokenization.bytelevel", "llmviz.course")
    graph = import_graph()
    offenders = {name: sorted(t for t in targets if not t.startswith(allowed[0]) and t not in allowed)
                 for name, targets in graph.items()
                 if name.startswith("llmviz.viz") and not name.startswith("llmviz.viz.widgets")}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_library_code_chooses_hooks_from_name_tables():
    """A names= predicate such as `lambda name: "resid_p" in name` picks hooks by substring; the library uses
    names.py's lists (residual_stream_names, every_layer) instead. capture.py accepts predicates from users."""
    offenders = []
    for name, path in MODULES.items():
        if name == "llmviz.capture":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "names" and isinstance(node.value, ast.Lambda):
                offenders.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
    assert not offenders, f"names= chosen by a predicate: {offenders}"


def notebook_imports(path: Path) -> set[str]:
    """The llmviz modules a notebook imports from: `from llmviz import viz` and `import llmviz` both count as llmviz."""
    places = set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "llmviz":
                places.add(node.module)
            elif isinstance(node, ast.Import):
                places |= {alias.name for alias in node.names if alias.name.split(".")[0] == "llmviz"}
    return places


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_from_at_most_three_llmviz_places(path):
    places = notebook_imports(path)
    assert places, f"{path.name} imports nothing from llmviz"
    assert len(places) <= 3, f"{path.name} imports from {sorted(places)}; use llmviz, a part's package, llmviz.viz " \
                             "and llmviz.viz.widgets"
    assert not any(p.startswith("llmviz.training") for p in places), f"{path.name} imports training code"
