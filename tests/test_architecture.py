"""The package's shape, checked by reading its imports (no code is run).

* no import cycles between modules (imports inside functions count too: a
  lazy import hides a cycle, it does not remove it);
* ``io/`` reads and writes files: it imports nothing that knows about
  people (detect, masks, track, obfuscate, api, pipeline, audit, cli);
* no module imports a private (``_underscore``) name from another module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import fuzzypeople

PACKAGE = Path(fuzzypeople.__file__).resolve().parent
ROOT = "fuzzypeople"

# io/ may use only these parts of the package (besides io/ itself).
IO_MAY_IMPORT = {"fuzzypeople.errors"}



def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]):
    """(imported module, imported name or None, line) for every import of the package in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == ROOT or a.name.startswith(ROOT + "."):
                    yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == ROOT or target.startswith(ROOT + ".")):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in known:  # "from . import media": the submodule itself
                    yield sub, None, node.lineno
                else:
                    yield target, a.name, node.lineno


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for target, _, _ in imports(m, p, known):
            if target in known and target != m:
                edges[m].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_walker_sees_the_package():
    edges = graph()
    assert "fuzzypeople.io.video" in edges and "fuzzypeople.pipeline" in edges
    assert "fuzzypeople.errors" in edges["fuzzypeople.io.image"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_io_only_reads_and_writes():
    bad = []
    known = set(modules())
    for m, p in modules().items():
        if not m.startswith("fuzzypeople.io"):
            continue
        for target, name, line in imports(m, p, known):
            if target.startswith("fuzzypeople.io") or target in IO_MAY_IMPORT:
                continue
            bad.append(f"{p.relative_to(PACKAGE)}:{line} imports {target}" + (f".{name}" if name else ""))
    assert bad == []


def test_no_private_names_imported_across_modules():
    bad = []
    known = set(modules())
    for m, p in modules().items():
        for target, name, line in imports(m, p, known):
            if name is None or not name.startswith("_") or name.startswith("__") or target == m:
                continue
            bad.append(f"{p.relative_to(PACKAGE)}:{line} imports {name} from {target}")
    assert bad == []
