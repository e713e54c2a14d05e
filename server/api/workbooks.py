"""A rule set as a workbook (.xlsx): download any version; upload one as a change, previewed, then saved with a why.

The upload travels as base64 text in a JSON body ({"workbook": ..., "why": ...}) like every other write, so it gets
the same strict parsing, size limit and CSRF check.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from ..auth import current_user, requires
from ..services import tables, workbooks
from .common import if_match, json_body, session, with_etag, workspace
from .spec import IF_MATCH, RS, VERSION_Q, WHY, I, S, arr, body, obj, op

bp = Blueprint("api_workbooks", __name__, url_prefix="/api")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/rulesets/<ruleset>/workbook")
@requires("rules.read")
def download(ruleset):
    """The workbook of a version (?version=, default latest); its ETag is that version. 404 if unknown."""
    book = workbooks.download(workspace(), ruleset, request.args.get("version"))
    name = f"{ruleset}-{book.release or book.version[:12]}.xlsx"
    response = Response(book.data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return with_etag(response, book.version)


@bp.get("/rulesets/<ruleset>/table")
@requires("rules.read")
def table(ruleset):
    """The rule set as a decision table at a version (?version=): columns and one row of cells per rule."""
    answer = workbooks.table(workspace(), ruleset, request.args.get("version"))
    return with_etag(answer, answer["version"])


@bp.post("/rulesets/<ruleset>/table/check")
@requires("rules.read")
def check_table(ruleset):
    """Check an edited table without saving: {"columns", "rows"} as the GET gave them (without "text"), against
    If-Match when sent, else the latest version. 200 with every problem at its cell (that is the answer) and what
    saving would change; 422 for a body that is not a table."""
    base = request.headers.get("If-Match") and if_match()
    answer = tables.check(workspace(), ruleset, json_body(), base)
    return with_etag(answer, answer["base"])


@bp.put("/rulesets/<ruleset>/table")
@requires("rules.write")
def save_table(ruleset):
    """Save an edited table as one new version: {"columns", "rows", "why"}. 428 without If-Match; 409 when the
    rule set changed since that version; 422 with problems at their cells."""
    payload = json_body()
    saved, answer = tables.save(workspace(), session(), current_user(), ruleset, payload, payload.get("why"),
                                if_match())
    return with_etag({"version": saved.version.id, **answer}, saved.version.id)


@bp.post("/rulesets/<ruleset>/workbook/preview")
@requires("rules.read")
def preview(ruleset):
    """What uploading a workbook would change, rule by rule: {"workbook": base64}; against If-Match when sent, else
    the latest version. 422 with every problem at its sheet and cell."""
    base = request.headers.get("If-Match") and if_match()
    answer = workbooks.preview(workspace(), ruleset, workbooks.decode(json_body().get("workbook")), base)
    return with_etag(answer, answer["base"])


@bp.put("/rulesets/<ruleset>/workbook")
@requires("rules.write")
def save(ruleset):
    """Save a workbook as one new version: {"workbook": base64, "why"}. 428 without If-Match; 409 when the rule set
    changed since that version; 422 with problems at their cells."""
    base = if_match()
    payload = json_body()
    saved, answer = workbooks.save(workspace(), session(), current_user(), ruleset,
                                   workbooks.decode(payload.get("workbook")), payload.get("why"), base)
    return with_etag({"version": saved.version.id, **answer}, saved.version.id)


# ---- OpenAPI (assembled by openapi.py)
CHANGE = obj({"file": S, "change": S, "rule": S, "before": {"type": ["string", "null"]},
              "after": {"type": ["string", "null"]}}, ["file", "change"])
UPLOAD = body(obj({"workbook": {"type": "string", "contentEncoding": "base64"}, **WHY}, ["workbook"]))
SUMMARY = obj({"added": I, "changed": I, "deleted": I})
TABLE = {"columns": arr(S), "rows": arr(arr({"type": ["string", "number", "boolean", "null"]}))}
CELL_PROBLEM = obj({"message": S, "code": S, "cell": {"type": ["string", "null"]},
                    "row": {"type": ["integer", "null"]}, "column": {"type": ["string", "null"]}},
                   ["message", "cell", "row", "column"])
PATHS = {
    "/api/rulesets/{ruleset}/table": {
        "get": op("The rule set as a decision table: one column per feature used, one row per rule",
                  obj({"ruleset": S, "version": S, "columns": arr(S), "features": arr(S), "rows": arr(arr({}))}),
                  codes=("404", "422"), params=RS + [VERSION_Q]),
        "put": op("Save an edited decision table (cells, added and removed rows, priorities) as one new version",
                  obj({"version": S, "changes": arr(CHANGE)}),
                  codes=("400", "404", "409", "413", "422", "428", "503"), params=RS + [IF_MATCH],
                  request=body(obj({**TABLE, **WHY}, ["columns", "rows"])))},
    "/api/rulesets/{ruleset}/table/check": {
        "post": op("Check an edited decision table: every problem at its cell, and what saving would change",
                   obj({"ruleset": S, "base": S, "ok": {"type": "boolean"}, "problems": arr(CELL_PROBLEM),
                        "changes": arr(CHANGE), "summary": SUMMARY}),
                   codes=("400", "404", "413", "422"), params=RS, request=body(obj(TABLE, ["columns", "rows"])))},
    "/api/rulesets/{ruleset}/workbook": {
        "get": op("The workbook (.xlsx) of a version: rules table, vocabulary, settings, examples, tests",
                  {"type": "string", "format": "binary"}, ok_type=XLSX, codes=("404", "422"),
                  params=RS + [VERSION_Q]),
        "put": op("Save an uploaded workbook as one new version", obj({"version": S, "changes": arr(CHANGE)}),
                  codes=("400", "404", "409", "413", "422", "428", "503"), params=RS + [IF_MATCH], request=UPLOAD)},
    "/api/rulesets/{ruleset}/workbook/preview": {
        "post": op("What an uploaded workbook would change, rule by rule (nothing is saved)",
                   obj({"ruleset": S, "base": S, "changes": arr(CHANGE),
                        "summary": SUMMARY}),
                   codes=("400", "404", "413", "422"), params=RS, request=UPLOAD)},
}
