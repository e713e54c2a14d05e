"""A rule set's expected outcomes (tests.csv): read and run at any version, changed like any edit.

Running is rules_dsl.expected's; this module reads the file at a version from the workspace and saves a new one
as one commit with the person's why (services/saving.py), refused with both texts when someone changed the file
since the version the person opened (no lost update). A file with errors (a value that does not fit its feature,
an answer that is not a label, a rule name no rule has) is refused with each problem's line; a file whose cases
fail is saved: authors work step by step.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from rules_dsl.errors import Problem
from rules_dsl.expected import TestReport, read_tests, run_case
from rules_dsl.layout import TESTS_FILE

from ..models import User
from ..store import Change
from .errors import Invalid
from .rules import _commit, _retrying
from .saving import Saved, check_why
from .workspace import Workspace, file_path

log = logging.getLogger(__name__)

MAX_TESTS_BYTES = 1 << 20  # 1 MB: thousands of hand-written cases; larger sets belong in a reference data set


@dataclass
class TestsAt:
    """The tests of a rule set at a version: the file's text (None: there is none), its problems, and the report
    of the run (None when the file has errors, so no case was run)."""
    version: str
    text: str | None
    problems: list[Problem] = field(default_factory=list)
    report: TestReport | None = None


def tests_at(ws: Workspace, ruleset: str, version: str) -> TestsAt:
    data = ws.files(ruleset, version).get(TESTS_FILE)
    if data is None:
        return TestsAt(version, None, [], TestReport())
    return run(ws, ruleset, version, data)


def run(ws: Workspace, ruleset: str, version: str, data: bytes) -> TestsAt:
    """``data`` (the bytes of a tests.csv) run against the rule set at ``version``."""
    rules = ws.ruleset(ruleset, version)
    cases, problems = read_tests(data, rules)
    text = data.decode("utf-8", errors="replace")
    if any(p.is_error for p in problems):
        return TestsAt(version, text, problems, None)
    return TestsAt(version, text, problems, TestReport([run_case(c, rules) for c in cases], problems))


def after_save(ws: Workspace, ruleset: str, version: str, most: int = 5) -> dict | None:
    """What the tests say at a version just saved, for the save's answer: the counts and the first ``most``
    failures (a failing test never stops a save). None when the rule set has no tests file, or when running them
    fails unexpectedly: the save is made and acknowledged all the same, and GET .../tests says the rest."""
    try:
        data = ws.files(ruleset, version).get(TESTS_FILE)
        if data is None:
            return None
        report = run(ws, ruleset, version, data).report
    except Exception:  # noqa: BLE001 -- the save is committed: never turn its answer into an error
        log.exception("The tests of %s could not be run after the save of %s", ruleset, version)
        return None
    if report is None:
        return {"valid": False, "cases": None, "failed": None, "failures": []}
    return {"valid": True, "cases": len(report.results), "failed": report.failed,
            "failures": [r.to_dict() for r in report.failures[:most]]}


def update_tests(ws: Workspace, db: Session, user: User, ruleset: str, text, why: str, base: str) -> Saved:
    """Replace tests.csv with ``text`` (None or "" removes it)."""
    why = check_why(why)
    base = ws.resolve(ruleset, base)
    if text is not None and not isinstance(text, str):
        raise Invalid("Send the tests as the text of a CSV file in \"csv\" (or null to remove them).", field="csv")
    content = None
    if text and text.strip():
        content = text.replace("\r\n", "\n").encode("utf-8")
        if not content.endswith(b"\n"):
            content += b"\n"
        if len(content) > MAX_TESTS_BYTES:
            raise Invalid(f"The tests file is {len(content):,} bytes; at most {MAX_TESTS_BYTES:,} are kept with the "
                          "rules. Put larger sets of cases in a reference data set.", field="csv")

    def attempt():
        head = ws.resolve(ruleset, None)
        files = ws.files(ruleset, head)
        if files.get(TESTS_FILE) == content:
            raise Invalid("Nothing changed.", code="no-change")
        if content is not None:
            _, problems = read_tests(content, ws.ruleset(ruleset, head))
            errors = [p for p in problems if p.is_error]
            if errors:
                first = errors[0]
                raise Invalid(f"The tests file has {len(errors)} error{'s' * (len(errors) != 1)}; the first, on line "
                              f"{first.line}: {first.message}", code="invalid-tests", field="csv",
                              problems=[p.to_dict() for p in problems])
        path = file_path(ruleset, TESTS_FILE)
        return _commit(ws, db, user, "tests.update", ruleset, None, [Change(path, content)], why, base=base,
                       conflict_paths=[path], expect_head=head)

    return _retrying(attempt)
