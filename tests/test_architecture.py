"""The shape of the package: no import cycles between vaxres modules, and no module much over 300 lines.

Read from the source with ast (nothing is imported), so these hold whatever the package currently imports.
"""

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "vaxres"
MAX_LINES = 330


def package_files(package_dir: Path) -> dict[str, Path]:
    """Every .py file of the package by dotted module name (vaxres/db/__init__.py -> vaxres.db)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir.parent)
        if "_migrations" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return (
        isinstance(test, ast.Attribute)
        and test.attr == "TYPE_CHECKING"
        and isinstance(test.value, ast.Name)
        and test.value.id == "typing"
    )


def _runtime_imports(tree: ast.AST):
    """Every import statement anywhere in the tree (inside functions too), except under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)  # the else branch does run
            continue
        stack.extend(ast.iter_child_nodes(node))


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """module -> the package's modules it imports (lazily or not); relative imports resolved, no self-edges."""
    files = package_files(package_dir)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        package = module if is_package else module.rpartition(".")[0]
        targets = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in files else base)
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle, each as a closed path [a, b, ..., a] starting at its smallest module."""
    found = []
    nodes = sorted(set(graph) | {t for targets in graph.values() for t in targets})
    for component in _strongly_connected(graph, nodes):
        members = set(component)
        for start in sorted(members):
            # Cycles through `start` using only members after it, so each cycle is found once.
            allowed = {m for m in members if m > start} | {start}
            _walk(graph, start, start, allowed, [start], found)
    return sorted(found)


def _walk(graph: dict[str, set[str]], node: str, start: str, allowed: set[str], path: list[str], found: list) -> None:
    for nxt in sorted(graph.get(node, ())):
        if nxt == start:
            found.append([*path, start])
        elif nxt in allowed and nxt not in path:
            path.append(nxt)
            _walk(graph, nxt, start, allowed, path, found)
            path.pop()


def _strongly_connected(graph: dict[str, set[str]], nodes: list[str]) -> list[list[str]]:
    """Tarjan's algorithm; only components that can hold a cycle (two or more nodes, or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return components


def test_the_cycle_finder_finds_cycles_and_passes_acyclic_graphs():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set(), "d": {"a"}}) == []
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"]]
    assert cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == [["x", "y", "z", "x"]]
    assert cycles({"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"], ["a", "c", "a"]]


def test_the_import_graph_reads_lazy_relative_and_from_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "db").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "db/__init__.py": "from .store import open_store\n",
        "db/store.py": "import json\n\ndef f():\n    from ..cli import app  # lazy\n",
        "db/tables.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.cli import app\nelse:\n    import pkg.errors\n",
        "cli.py": "from pkg.db import store, tables\nfrom pkg import errors\nfrom pkg.db import open_store\nfrom . import cli\n",
        "errors.py": "import typing\nif typing.TYPE_CHECKING:\n    import pkg.cli\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    assert import_graph(pkg) == {
        "pkg": set(),
        "pkg.db": {"pkg.db.store"},
        "pkg.db.store": {"pkg.cli"},
        "pkg.db.tables": {"pkg.errors"},
        "pkg.cli": {"pkg.db.store", "pkg.db.tables", "pkg.errors", "pkg.db"},
        "pkg.errors": set(),
    }
    assert cycles(import_graph(pkg)) == [
        ["pkg.cli", "pkg.db", "pkg.db.store", "pkg.cli"],
        ["pkg.cli", "pkg.db.store", "pkg.cli"],
    ]


def test_no_import_cycles_between_vaxres_modules():
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) >= 10, f"found only {sorted(graph)} under {PACKAGE_DIR}"
    found = cycles(graph)
    assert not found, f"{len(found)} import cycle(s) between vaxres modules:\n" + "\n".join(
        " -> ".join(c) for c in found
    )


def test_no_module_is_much_over_300_lines():
    lengths = {
        module: len(path.read_text(encoding="utf-8").splitlines())
        for module, path in package_files(PACKAGE_DIR).items()
    }
    assert len(lengths) >= 10, f"found only {sorted(lengths)} under {PACKAGE_DIR}"
    long = {module: n for module, n in sorted(lengths.items()) if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines:\n" + "\n".join(f"{m}: {n} lines" for m, n in long.items())


def test_every_vaxres_import_names_something_that_exists():
    """Lazy imports run only when their command does: a name moved without them is found here."""
    import importlib

    broken = []
    for module, path in package_files(PACKAGE_DIR).items():
        if module == "vaxres.__main__":
            continue
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted = [(alias.name, None) for alias in node.names]
            elif node.level == 0 and node.module:
                wanted = [(node.module, alias.name) for alias in node.names]
            else:
                continue
            for base, name in wanted:
                if not base.startswith("vaxres"):
                    continue
                try:
                    imported = importlib.import_module(base)
                    if name is not None and not hasattr(imported, name):
                        importlib.import_module(f"{base}.{name}")
                except ImportError as error:
                    broken.append(f"{module} (line {node.lineno}): {error}")
    assert not broken, "imports that fail:\n" + "\n".join(broken)


# Each layer may import itself and the layers listed (the top-level modules are the base layer).
LAYERS = {
    "cli": {"api", "access", "admin", "imports", "exports", "reports", "booking", "people", "outbox", "db", "base"},
    "api": {"access", "citizens", "reports", "booking", "people", "outbox", "db", "base"},
    "access": {"db", "base"},
    "citizens": {"booking", "people", "outbox", "db", "base"},
    "admin": {"booking", "people", "outbox", "db", "base"},
    "imports": {"booking", "people", "outbox", "db", "base"},
    "exports": {"booking", "people", "outbox", "db", "base"},
    "reports": {"booking", "people", "outbox", "db", "base"},
    "booking": {"people", "outbox", "db", "base"},
    "people": {"outbox", "db", "base"},
    "outbox": {"db", "base"},
    "db": {"base"},
    "base": set(),
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "base"


def test_layers_import_only_downwards():
    graph = import_graph(PACKAGE_DIR)
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module != "vaxres.__main__"
        for target in targets
        if _layer(target) != _layer(module) and _layer(target) not in LAYERS[_layer(module)]
    )
    assert {_layer(module) for module in graph} == set(LAYERS)
    assert not wrong, "imports against the layering (docs/architecture.md):\n" + "\n".join(wrong)


def test_architecture_md_names_files_and_functions_that_exist():
    """docs/architecture.md is the map: every file it names exists, and every `function` it names
    right after a file (`outbox/dispatch.py` `Dispatcher._claim`) is defined in that file."""
    import re

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "architecture.md").read_text()
    every_file = {
        path.name
        for folder in ("vaxres", "migrations", "tests", "benchmarks", "docs")
        for path in (root / folder).rglob("*")
    }
    stale = []
    for ref in sorted(set(re.findall(r"`((?:[a-z_]+/)*[A-Za-z_.-]+\.(?:py|md|mako|toml))`", text))):
        if "/" in ref:
            if not any((base / ref).exists() for base in (root, root / "vaxres", root / "docs")):
                stale.append(ref)
        elif ref not in every_file and not (root / ref).exists():
            stale.append(ref)
    for ref, names in re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.py)` ((?:`[A-Za-z_.]+`(?:,? (?:and )?)?)+)", text):
        source = next((base / ref for base in (root, root / "vaxres") if (base / ref).exists()), None)
        if source is None:
            continue
        code = source.read_text()
        for name in re.findall(r"`([A-Za-z_.]+)`", names):
            last = name.split(".")[-1]
            if not re.search(rf"(def|class) {re.escape(last)}\b|^{re.escape(last)}\b.*=", code, re.M):
                stale.append(f"{ref} {name}")
    assert stale == []
