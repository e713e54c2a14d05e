"""Layer rules of the store package, read from its source: each module imports only the store modules below it in
the package docstring's order, the store imports nothing else of the server but ``server.caches`` and
``server.limits``, and it runs Git through ``subprocess`` only (not GitPython: see the package docstring)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import server.store

PACKAGE = Path(server.store.__file__).parent
ORDER = ["errors", "checks", "values", "objects", "reader", "history", "maintenance", "git_store", "__init__"]


def store_imports(path: Path) -> tuple[set[str], set[str]]:
    """(store modules imported, other top-level modules imported) by one module of the package."""
    ours, others = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            others.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            ours.update([node.module] if node.module else [alias.name for alias in node.names])
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            others.add("server." + (node.module or ""))
        elif isinstance(node, ast.ImportFrom):
            others.add(node.module)
    return ours, others


def test_every_module_of_the_package_has_its_place():
    assert sorted(p.stem for p in PACKAGE.glob("*.py")) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_store_module_imports_only_what_lies_below_it(name):
    ours, others = store_imports(PACKAGE / f"{name}.py")
    below = set(ORDER[:ORDER.index(name)])
    assert ours <= below, f"server/store/{name}.py imports {sorted(ours - below)} from above it"
    server_modules = {m for m in others if m.startswith("server")}
    allowed = {"server.caches", "server.limits"}
    assert server_modules <= allowed, f"server/store/{name}.py imports {sorted(server_modules)}"
    assert not {m for m in others if m.split(".")[0] in ("git", "gitdb", "flask", "sqlalchemy")}
