"""Layer rules of the server, read from its source (docs: DESIGN.md, "Architecture" and "Invariants").

- Views (``server/api/*``) translate HTTP and call services: they import neither the models nor the database
  module (the services own every unit of work) and never touch the Git store (no import of it, no ``.store``).
- Services (``server/services/*``) speak the domain: no Flask, no Werkzeug.
- Only the store runs Git: no other module imports ``subprocess`` or GitPython (``git``).

The source is parsed (not grepped), so comments and strings never count and an aliased or relative import still
does. An exception is an entry in an allow-list below, with the reason; the lists only shrink.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import server

PACKAGE = Path(server.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def module_name(name: str) -> str:
    """'api/people.py' -> 'server.api.people'; 'services/__init__.py' -> 'server.services'."""
    parts = ["server", *name.removesuffix(".py").split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(name: str, tree: ast.AST) -> set[str]:
    """Every module the file imports, by its full name, relative imports resolved ('from ..db import get_db' in
    server/api/x.py -> 'server.db'; 'from .. import auth' -> 'server.auth' and 'server')."""
    package = module_name(name).split(".")
    if not name.endswith("__init__.py"):
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # 'from .. import store'
    return found


def reaches(modules: set[str], target: str) -> bool:
    """Whether any of ``modules`` is ``target`` or inside it."""
    return any(m == target or m.startswith(target + ".") for m in modules)


def attributes(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


PARSED = {relative(path): ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in SOURCES}
VIEWS = sorted(name for name in PARSED if name.startswith("api/"))
SERVICES = sorted(name for name in PARSED if name.startswith("services/"))
# The store: one module and its helper today, a package server/store/ soon; both count as the store.
STORE = {"store.py", "store_values.py"}
STORE_MODULES = ("server.store", "server.store_values")


def is_store(name: str) -> bool:
    return name in STORE or name.startswith("store/")


# Views that still reach the database module, and why. Each entry is a debt, not a licence: move the work into a
# service and delete the entry.
VIEWS_USING_THE_DATABASE_MODULE = {
    # session(): the request's Session, handed to the services that own the transaction. The one seam.
    "api/common.py",
}

# Modules other than the store that start processes, and why (none of them runs Git).
PROCESSES_OUTSIDE_THE_STORE = {
    "services/backup.py",  # pg_dump and pg_restore for a PostgreSQL backup; the repository is copied by the store
}


def test_the_package_has_sources():
    assert {"api/people.py", "api/predict.py", "services/accounts.py", "services/predicting.py",
            "services/analysis.py"} <= set(PARSED)
    assert any(is_store(name) for name in PARSED)


def test_the_import_reader_resolves_relative_imports():
    tree = ast.parse("from ..db import get_db\nfrom .. import store as git\nfrom .common import session\n")
    modules = imported_modules("api/x.py", tree)
    assert {"server.db", "server.store", "server.api.common"} <= modules
    assert reaches(modules, "server.db") and reaches(modules, "server.store")
    assert not reaches({"server.dbx"}, "server.db")


@pytest.mark.parametrize("name", VIEWS)
def test_views_import_neither_the_models_nor_the_database(name):
    modules = imported_modules(name, PARSED[name])
    assert not reaches(modules, "server.models"), "views get objects from services, never query models"
    if name not in VIEWS_USING_THE_DATABASE_MODULE:
        assert not reaches(modules, "server.db"), "services own the session's transactions"


@pytest.mark.parametrize("name", VIEWS)
def test_views_never_touch_the_store(name):
    modules = imported_modules(name, PARSED[name])
    assert not any(reaches(modules, store) for store in STORE_MODULES), "the workspace answers for the store"
    assert "store" not in attributes(PARSED[name]), "no ws.store: add a Workspace method instead"


@pytest.mark.parametrize("name", SERVICES)
def test_services_speak_no_http(name):
    modules = imported_modules(name, PARSED[name])
    assert not any(reaches(modules, http) for http in ("flask", "werkzeug")), "services raise domain errors"
    assert not reaches(modules, "server.api"), "services know nothing of the views"


@pytest.mark.parametrize("name", sorted(PARSED))
def test_only_the_store_runs_git(name):
    modules = imported_modules(name, PARSED[name])
    if is_store(name):
        return
    assert not reaches(modules, "git"), "GitPython belongs to the store"
    if name not in PROCESSES_OUTSIDE_THE_STORE:
        assert not reaches(modules, "subprocess"), "only the store starts processes (Git)"


def test_the_allow_lists_name_real_modules_that_still_need_them():
    for name in VIEWS_USING_THE_DATABASE_MODULE:
        assert reaches(imported_modules(name, PARSED[name]), "server.db"), f"{name}: delete its allow-list entry"
    for name in PROCESSES_OUTSIDE_THE_STORE:
        assert reaches(imported_modules(name, PARSED[name]), "subprocess"), f"{name}: delete its entry"
