"""Layer rules of rules_dsl, read from its source: no eval/exec, no Flask or Git, heavy imports in their module.

The source is parsed (not grepped), so comments and strings never count and an aliased import still does.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rules_dsl

PACKAGE = Path(rules_dsl.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def calls(tree: ast.AST) -> list[str]:
    """The called names: 'eval' for eval(...), '.query' for df.query(...)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                found.append(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                found.append("." + node.func.attr)
    return found


PARSED = {relative(path): ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in SOURCES}


def test_the_package_has_sources():
    assert {"parser.py", "checker.py", "backends/row.py", "backends/sql.py"} <= set(PARSED)


@pytest.mark.parametrize("name", sorted(PARSED))
def test_user_text_never_reaches_eval_or_exec(name):
    called = calls(PARSED[name])
    assert not {"eval", "exec", "__import__", ".eval", ".query", "execfile"} & set(called)
    if name != "backends/row.py":  # row.py compiles a syntax tree it built from checked logic, never text
        assert "compile" not in called


def test_the_row_backend_compiles_a_syntax_tree_not_text():
    tree = PARSED["backends/row.py"]
    compile_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                     and n.func.id == "compile"]
    assert len(compile_calls) == 1
    assert isinstance(compile_calls[0].args[0], ast.Name) and compile_calls[0].args[0].id == "module"


@pytest.mark.parametrize("name", sorted(PARSED))
def test_no_flask_no_git_no_processes(name):
    assert not {"flask", "git", "subprocess", "werkzeug"} & imported_modules(PARSED[name])


@pytest.mark.parametrize("name", sorted(PARSED))
def test_sqlalchemy_only_in_the_sql_backend_and_sklearn_only_in_ml(name):
    modules = imported_modules(PARSED[name])
    if "sqlalchemy" in modules:
        assert name == "backends/sql.py"
    if "sklearn" in modules:
        assert name.startswith(("ml/", "demo/"))


# The engines a frame may come from: each only in its own module of rules_dsl/engines/, so that a user without
# Spark never needs it and `import rules_dsl` loads none of them.
ENGINE_MODULES = {"polars": "engines/polars.py", "duckdb": "engines/duckdb.py", "pyspark": "engines/spark.py",
                  "dask": "engines/dask.py"}


@pytest.mark.parametrize("name", sorted(PARSED))
def test_engine_packages_only_in_their_engine_module_and_openpyxl_only_in_the_workbook(name):
    modules = imported_modules(PARSED[name])
    for package, home in ENGINE_MODULES.items():
        if package in modules:
            assert name == home, f"{name} imports {package}; only {home} may"
    if "openpyxl" in modules:
        assert name == "workbook.py"


def test_importing_rules_dsl_imports_no_engine_and_no_openpyxl():
    import subprocess
    import sys

    code = ("import sys, rules_dsl; "
            "print(sorted(m for m in ('polars', 'duckdb', 'pyspark', 'dask', 'openpyxl') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_rules_dsl_does_not_import_sqlalchemy_or_sklearn():
    import subprocess
    import sys

    code = ("import sys, rules_dsl; rules_dsl.load; "
            "print(sorted(m for m in ('sqlalchemy', 'sklearn', 'flask', 'git') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(PARSED))
def test_cryptography_only_inside_the_bundle_signature_check(name):
    """rules_dsl imports cryptography only inside functions of bundle.py (the signature check), never at module
    level, so that `import rules_dsl` never loads it."""
    tree = PARSED[name]
    module_level = set().union(*(imported_modules(node) for node in tree.body
                                 if isinstance(node, (ast.Import, ast.ImportFrom))))
    assert "cryptography" not in module_level
    if name != "bundle.py":
        assert "cryptography" not in imported_modules(tree)


def test_importing_rules_dsl_does_not_import_cryptography():
    import subprocess
    import sys

    code = "import sys, rules_dsl, rules_dsl.bundle, rules_dsl.client; print('cryptography' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=PACKAGE.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"



def test_the_folder_layout_imports_only_the_standard_library_yaml_and_errors():
    """layout.py owns the rule-set folder's file names: the CLI and the server import it, so it stays light."""
    import sys

    tree = PARSED["layout.py"]
    assert imported_modules(tree) <= set(sys.stdlib_module_names) | {"yaml", "__future__"}
    relative_imports = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
    assert relative_imports <= {"errors"}
