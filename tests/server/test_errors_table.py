"""Errors in the domain's words: the services raise their own errors, and one table at the HTTP edge gives each a
status (``server/api/errors.py``). Read from the code and the source, so a new error class or a stray Flask import
fails here, not in front of a person."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import server
from rules_dsl import BundleError, DataError, Problem, RuleError
from server.api.errors import STATUS, status_of
from server.services import errors as domain
from server.store import HeadMoved, InvalidPath, NotFound, RevisionError, StoreBusy

SERVICES = sorted((Path(server.__file__).parent / "services").rglob("*.py"))


def subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *subclasses(sub)]
    return found


@pytest.mark.parametrize("cls", subclasses(domain.ServiceError), ids=lambda cls: cls.__name__)
def test_every_service_error_has_a_status(cls):
    assert any(issubclass(cls, known) for known in STATUS), f"add {cls.__name__} to STATUS in server/api/errors.py"
    status = status_of(cls("message"))
    # One is not a failure: a save that is in the repository but not yet recorded is 202 Accepted.
    assert 400 <= status < 600 or (cls is domain.SavedNotRecorded and status == 202)


def test_the_table_names_only_service_errors_and_each_status_once():
    assert all(issubclass(cls, domain.ServiceError) for cls in STATUS)
    assert len(set(STATUS.values())) == len(STATUS)


@pytest.mark.parametrize(("error", "cls", "code", "message"), [
    (StoreBusy("The rule store is busy."), domain.Busy, "busy", domain.BUSY),
    (NotFound("There is no file a/b in that version."), domain.NotFound, "not-found",
     "There is nothing with that name here."),
    (InvalidPath("bad path", "a/../b"), domain.NotFound, "not-found", "There is nothing with that name here."),
    (RevisionError("There is no release v9."), domain.Invalid, "invalid", "There is no release v9."),
    (HeadMoved("Changed in the meantime."), domain.Invalid, "invalid", "Changed in the meantime."),
    (RuleError(Problem("unknown-feature", "Unknown feature 'x'.")), domain.Invalid, "invalid-rule",
     "Unknown feature 'x'."),
    (DataError("Column 'age' is missing.", column="age"), domain.Invalid, "invalid-data", "Column 'age' is missing."),
    (BundleError("Not a bundle."), domain.Invalid, "invalid", "Not a bundle."),
], ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None)
def test_library_errors_are_domain_errors_with_their_message(error, cls, code, message):
    found = domain.as_service_error(error)
    assert type(found) is cls and found.code == code and found.message == message


def test_data_errors_name_their_column_and_rule_errors_carry_their_problems():
    assert domain.as_service_error(DataError("No age.", column="age")).details == {"field": "age"}
    rule_error = RuleError(Problem("unknown-feature", "Unknown feature 'x'.", line=2, column=7))
    problems = domain.as_service_error(rule_error).details["problems"]
    assert problems == [p.to_dict() for p in rule_error.problems] and problems[0]["line"] == 2


def test_a_service_error_is_itself_and_a_bug_is_none():
    error = domain.Conflict("Changed.", current_text="a")
    assert domain.as_service_error(error) is error
    assert domain.as_service_error(KeyError("x")) is None


def imported(source: str) -> set[str]:
    """Every module a file of server/services imports, relative imports resolved ('from .. import store' ->
    'server.store'). Parsed, not grepped: comments and strings never count; aliases and relative imports do."""
    package = ["server", "services"]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_the_import_reader_resolves_relative_imports():
    modules = imported("from ..errors import Invalid\nfrom ..api import errors\nfrom .. import store\n"
                       "import flask.json\n# import werkzeug\n")
    assert {"server.errors", "server.api.errors", "server.store", "flask.json"} <= modules
    assert "werkzeug" not in modules


@pytest.mark.parametrize("path", SERVICES, ids=lambda path: path.name)
def test_services_import_no_http(path):
    modules = imported(path.read_text(encoding="utf-8"))
    for http in ("flask", "werkzeug", "server.errors", "server.api"):
        assert not any(m == http or m.startswith(http + ".") for m in modules), \
            f"{path.name} imports {http}: raise the errors of server/services/errors.py instead"
