"""A rule set's expected outcomes (tests.csv): the file and its results at any version, and changing the file.

GET answers the file's text, the counts and each failure in plain words (or the file's problems, when it has
errors, with no case run). PUT takes ``{"csv", "why"}`` and the version it is based on in If-Match (428 without,
409 with both texts when someone changed the tests first, 422 with each problem's line when the file has errors).
"""
from __future__ import annotations

from flask import Blueprint, request

from ..auth import current_user, requires
from ..services import expected
from .common import if_match, json_body, session, with_etag, workspace
from .spec import IF_MATCH, NULL_S, RS, VERSION_Q, WHY, B, I, S, arr, body, obj, op, ref

bp = Blueprint("api_expected", __name__, url_prefix="/api")


def tests_json(ruleset: str, found: expected.TestsAt) -> dict:
    report = found.report
    out = {"ruleset": ruleset, "version": found.version, "file": "tests.csv", "csv": found.text,
           "valid": report is not None, "problems": [p.to_dict() for p in found.problems]}
    if report is None:
        return {**out, "cases": None, "passed": None, "failed": None, "failures": [], "results": []}
    as_dict = report.to_dict()
    return {**out, **{k: as_dict[k] for k in ("cases", "passed", "failed", "failures", "results")}}


@bp.get("/rulesets/<ruleset>/tests")
@requires("rules.read")
def get_tests(ruleset):
    """The tests at ``?version=`` (default: the latest) and their results; 404 for an unknown rule set."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    return with_etag(tests_json(ruleset, expected.tests_at(ws, ruleset, version)), version)


@bp.put("/rulesets/<ruleset>/tests")
@requires("rules.write")
def put_tests(ruleset):
    """Replace the tests: {"csv": text or null to remove, "why"}; aborts 400/409/422/428 as other edits."""
    ws = workspace()
    base = if_match()
    payload = json_body()
    saved = expected.update_tests(ws, session(), current_user(), ws.check_id(ruleset), payload.get("csv"),
                                  payload.get("why"), base)
    version = saved.version.id
    return with_etag(tests_json(ruleset, expected.tests_at(ws, ruleset, version)), version)


# ---- OpenAPI (assembled by openapi.py)
TEST_RESULT = obj({"case": S, "line": I, "passed": B, "expected": NULL_S, "answered": NULL_S, "deciding": arr(S),
                   "fired": arr(S), "expected_fires": arr(S), "not_fired": arr(S), "note": S, "message": S},
                  ["case", "line", "passed", "expected", "answered"])
NULL_I = {"type": ["integer", "null"]}
TESTS = obj({"ruleset": S, "version": S, "file": S, "csv": NULL_S, "valid": B, "problems": arr(ref("Problem")),
             "cases": NULL_I, "passed": NULL_I, "failed": NULL_I, "failures": arr(ref("TestResult")),
             "results": arr(ref("TestResult"))}, ["version", "csv", "valid", "cases", "passed", "failed", "failures"])
SCHEMAS = {"TestResult": TEST_RESULT, "Tests": TESTS}
PATHS = {
    "/api/rulesets/{ruleset}/tests": {
        "get": op("Expected outcomes (tests.csv) and their results at a version", ref("Tests"),
                  codes=("404", "422"), params=RS + [VERSION_Q]),
        "put": op("Replace the expected outcomes", ref("Tests"), codes=("400", "404", "409", "422", "428", "503"),
                  params=RS + [IF_MATCH], request=body(obj({"csv": NULL_S, **WHY}))),
    },
}
