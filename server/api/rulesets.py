"""Rule sets and their rules, vocabulary and settings: read at any version, edit with a reason.

Writes take the version they are based on in If-Match (the ETag a GET returned): 428 without it, 409 with both
texts when someone saved the same thing first.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for

from ..auth import current_user, has, requires
from ..services import rules as editing
from ..services import starting
from ..services.drafting import draft_from_csv
from ..services.errors import Malformed, NotFound, TooLarge
from .common import if_match, json_body, session, with_etag, workspace
from .serializers import change_json, dataset_json, rule_json, ruleset_json, vocabulary_json
from .spec import IF_MATCH, NULL_S, RS, RULE, VERSION_Q, WHY, B, I, S, arr, body, obj, op, ref

bp = Blueprint("api_rulesets", __name__, url_prefix="/api")


def ruleset_summary(ruleset_id: str, version: str) -> dict:
    ws = workspace()
    return ruleset_json(ws.ruleset(ruleset_id, version), version, ws.latest_release(ruleset_id))


def last_changes(ruleset_id: str, version: str) -> dict[str, dict]:
    """Who last changed each rule, when and why (as of ``version``)."""
    return {rule: change_json(v) for rule, v in workspace().last_changes(ruleset_id, version).items()}


@bp.get("/rulesets")
@requires("rulesets.list")
def list_rulesets():
    """The rule sets at the latest version. Never aborts."""
    ws = workspace()
    head = ws.head()
    items = [ruleset_summary(r, head) for r in ws.ruleset_ids(head)] if head else []
    return jsonify({"rulesets": items, "version": head})


@bp.post("/rulesets")
@requires("rules.write")
def create_ruleset():
    """Create a rule set: {"settings": {...}, "vocabulary": {...}, "why": "...", "id"?, "cases"?}. 422 on invalid
    settings, a taken title or id (code "duplicate-name"), or cases that cannot be kept (field "cases.…"); 403 for
    cases with an outcome column without the permission to register data sets. With "cases" (the CSV file the
    vocabulary was drafted from), the answer's "cases" says what was kept (services/starting.py)."""
    body = json_body()
    if body.get("cases") is None:
        ruleset_id, saved = editing.create_ruleset(workspace(), session(), current_user(), body.get("settings"),
                                                   body.get("vocabulary"), body.get("why"), ruleset_id=body.get("id"))
        kept = None
    else:
        ruleset_id, saved, kept = starting.create_with_cases(
            workspace(), session(), current_app.config["DATASETS_DIR"], current_user(), has("datasets.write"),
            body.get("settings"), body.get("vocabulary"), body.get("why"), body["cases"], ruleset_id=body.get("id"))
    answer = ruleset_summary(ruleset_id, saved.version.id)
    if kept is not None:
        answer["cases"] = {"kept": kept.kept, "rows": kept.rows, "message": kept.message,
                           "dataset": dataset_json(kept.dataset) if kept.dataset is not None else None}
    return with_etag(answer, saved.version.id, 201, url_for(".get_ruleset", ruleset=ruleset_id))


@bp.post("/rulesets/draft")
@requires("rules.write")
def draft_ruleset():
    """A vocabulary drafted from a CSV file (the request body, Content-Type: text/csv; ?outcome= the column that
    holds the outcome). Nothing is saved. 400 if not sent as CSV; 413 if too large; 422 (field "file" or
    "outcome") for a file that is not a table of cases with named columns."""
    if request.mimetype != "text/csv":
        raise Malformed("Send the file as CSV (Content-Type: text/csv).")
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if (request.content_length or 0) > limit:   # said before get_data refuses it in general words
        raise TooLarge(f"The file is larger than {limit // (1 << 20)} MB. The draft reads only the first rows: "
                       "save the column names and a few hundred cases as a smaller file.")
    return jsonify(draft_from_csv(request.get_data(), request.args.get("outcome")))


@bp.get("/rulesets/<ruleset>")
@requires("rules.read")
def get_ruleset(ruleset):
    """A rule set at a version (?version=, default latest): settings, vocabulary, rules. 404 if unknown."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    rs = ws.ruleset(ruleset, version)
    body = ruleset_summary(ruleset, version)
    body["vocabulary"] = vocabulary_json(rs)
    body["rules"] = [rule_json(r, version) for r in rs.rules]
    return with_etag(body, version)


@bp.get("/rulesets/<ruleset>/rules")
@requires("rules.read")
def list_rules(ruleset):
    """Rules at a version, with who changed each last; ?q= searches names and text. 404 if unknown."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    rs = ws.ruleset(ruleset, version)
    query = (request.args.get("q") or "").casefold().strip()
    changes = last_changes(ruleset, version)
    rules = [rule_json(r, version, changes.get(r.id)) for r in rs.rules
             if not query or query in r.name.casefold() or query in r.text.casefold()]
    return with_etag({"ruleset": ruleset, "version": version, "rules": rules}, version)


@bp.post("/rulesets/<ruleset>/rules")
@requires("rules.write")
def create_rule(ruleset):
    """Add a rule: {"text": ...} or {"rule": {...}}, plus "why". 422 with problems if it does not check."""
    ws = workspace()
    body = json_body()
    result = editing.create_rule(ws, session(), current_user(), ws.check_id(ruleset), body, body.get("why"))
    return with_etag({**rule_json(result.rule, result.saved.version.id), "tests": result.tests},
                     result.saved.version.id, 201,
                     url_for(".get_rule", ruleset=ruleset, rule=result.rule.id))


@bp.get("/rulesets/<ruleset>/rules/<rule>")
@requires("rules.read")
def get_rule(ruleset, rule):
    """One rule at a version; its ETag is the version to send back in If-Match. 404 if unknown."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    rs = ws.ruleset(ruleset, version)
    try:
        compiled = rs.rule(rule)
    except KeyError:
        raise NotFound(f"There is no rule '{rule}' in rule set '{ruleset}'.") from None
    return with_etag(rule_json(compiled, version, change_json(ws.last_change(ruleset, rule, version))), version)


@bp.put("/rulesets/<ruleset>/rules/<rule>")
@requires("rules.write")
def update_rule(ruleset, rule):
    """Change a rule (rename, disable: send the whole rule). 428 without If-Match; 409 with both texts when
    someone saved this rule first; 422 when it does not check."""
    ws = workspace()
    base = if_match()
    body = json_body()
    result = editing.update_rule(ws, session(), current_user(), ws.check_id(ruleset), rule, body, body.get("why"),
                                 base)
    return with_etag({**rule_json(result.rule, result.saved.version.id), "tests": result.tests},
                     result.saved.version.id)


@bp.delete("/rulesets/<ruleset>/rules/<rule>")
@requires("rules.write")
def delete_rule(ruleset, rule):
    """Delete a rule (history keeps it): {"why": ...}. 428 without If-Match; 409 if it changed since."""
    ws = workspace()
    base = if_match()
    body = json_body()
    saved = editing.delete_rule(ws, session(), current_user(), ws.check_id(ruleset), rule, body.get("why"), base)
    return with_etag({"deleted": rule, "version": saved.version.id}, saved.version.id)


@bp.get("/rulesets/<ruleset>/vocabulary")
@requires("rules.read")
def get_vocabulary(ruleset):
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    return with_etag({"version": version, **vocabulary_json(ws.ruleset(ruleset, version))}, version)


@bp.put("/rulesets/<ruleset>/vocabulary")
@requires("rules.write")
def put_vocabulary(ruleset):
    """Replace the vocabulary: {"vocabulary": {"features": {...}}, "why"}. 422 if it would break rules."""
    ws = workspace()
    base = if_match()
    body = json_body()
    saved = editing.update_vocabulary(ws, session(), current_user(), ws.check_id(ruleset), body.get("vocabulary"),
                                      body.get("why"), base)
    return with_etag({"version": saved.version.id, **vocabulary_json(ws.ruleset(ruleset, saved.version.id))},
                     saved.version.id)


@bp.get("/rulesets/<ruleset>/settings")
@requires("rules.read")
def get_settings(ruleset):
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    return with_etag({"version": version, "settings": ws.ruleset(ruleset, version).settings.to_dict()}, version)


@bp.put("/rulesets/<ruleset>/settings")
@requires("rules.write")
def put_settings(ruleset):
    """Replace title, description, outcome, policy and default: {"settings": {...}, "why"}."""
    ws = workspace()
    base = if_match()
    body = json_body()
    saved = editing.update_settings(ws, session(), current_user(), ws.check_id(ruleset), body.get("settings"),
                                    body.get("why"), base)
    return with_etag({"version": saved.version.id,
                      "settings": ws.ruleset(ruleset, saved.version.id).settings.to_dict()}, saved.version.id)


@bp.post("/rulesets/<ruleset>/restore")
@requires("rules.write")
def restore(ruleset):
    """Make an earlier version current again as a new version: {"version", "why", "rule"?}."""
    ws = workspace()
    body = json_body()
    saved = editing.restore(ws, session(), current_user(), ws.check_id(ruleset), body.get("version"),
                            body.get("why"), body.get("rule"))
    return with_etag({"version": saved.version.id, "restored": body.get("version")}, saved.version.id)


# ---- OpenAPI (assembled by openapi.py)
RULESET_SCHEMA = obj({"id": S, "title": S, "description": S, "outcome": obj({"name": S, "labels": arr(S)}),
                      "policy": S, "default": NULL_S, "rules": {"type": ["integer", "array"]}, "enabled_rules": I,
                      "version": S, "latest_release": {"type": ["object", "null"],
                                                       "properties": {"name": S, "version": S, "time": S}},
                      # only in the answer to a creation that sent "cases": what became of them
                      "cases": obj({"kept": {"type": ["string", "null"], "enum": ["dataset", "examples", None]},
                                    "rows": I, "message": S,
                                    "dataset": {"oneOf": [ref("Dataset"), {"type": "null"}]}})},
                     ["id", "title", "outcome", "policy", "version"])
LAST_CHANGE = {"type": ["object", "null"], "properties": {"version": NULL_S, "by": NULL_S, "at": S, "why": S,
                                                          "action": S}}
RULE_SCHEMA = obj({"id": S, "name": S, "text": S, "structured": ref("StructuredRule"), "enabled": B, "priority": I,
                   "conclusion": {"type": ["object", "null"]}, "because": NULL_S, "warnings": arr(ref("Problem")),
                   "version": S, "last_change": LAST_CHANGE,
                   "tests": {"type": ["object", "null"],
                             "description": "only in the answer to a save: the rule set's tests at the saved version "
                                            "(valid, cases, failed, the first failures as GET .../tests gives them); "
                                            "null without a tests file"}},
                  ["id", "name", "text", "structured", "version"])
DRAFT_SCHEMA = obj({"features": arr({"type": "object"}), "rows": I,
                    "columns": arr(obj({"column": S, "feature": NULL_S, "filled": I, "missing": I,
                                        "examples": arr(S)})),
                    "outcome": obj({"column": NULL_S, "labels": arr(S)}), "suggested_outcome": NULL_S,
                    "notes": arr(S)}, ["features", "columns", "rows", "outcome"])
SCHEMAS = {"Rule": RULE_SCHEMA, "RuleSet": RULESET_SCHEMA, "VocabularyDraft": DRAFT_SCHEMA}
RULE_IN = obj({"text": S, "rule": ref("StructuredRule"), "why": S})
PATHS = {
    "/api/rulesets": {
        "get": op("List rule sets", obj({"rulesets": arr(ref("RuleSet")), "version": NULL_S})),
        "post": op("Create a rule set (optionally keeping the cases of the CSV file it was drafted from)",
                   ref("RuleSet"), status="201", codes=("400", "403", "422", "503"),
                   request=body(obj({"settings": {"type": "object"}, "vocabulary": {"type": "object"}, "id": S,
                                     "cases": obj({"csv": S, "outcome_column": NULL_S, "name": S}, ["csv"]),
                                     **WHY})))},
    "/api/rulesets/draft": {
        "post": op("Draft a vocabulary from a CSV file (nothing is saved)", ref("VocabularyDraft"),
                   codes=("400", "413", "422"), params=[{"name": "outcome", "in": "query", "schema": S}],
                   request=body(S, "text/csv"))},
    "/api/rulesets/{ruleset}": {"get": op("A rule set at a version", ref("RuleSet"), codes=("404", "422"),
                                          params=RS + [VERSION_Q])},
    "/api/rulesets/{ruleset}/rules": {
        "get": op("Rules at a version", obj({"ruleset": S, "version": S, "rules": arr(ref("Rule"))}),
                  codes=("404", "422"), params=RS + [VERSION_Q, {"name": "q", "in": "query", "schema": S}]),
        "post": op("Add a rule", ref("Rule"), status="201", codes=("400", "404", "422", "503"), params=RS,
                   request=body(RULE_IN))},
    "/api/rulesets/{ruleset}/rules/{rule}": {
        "get": op("One rule", ref("Rule"), codes=("404", "422"), params=RULE + [VERSION_Q]),
        "put": op("Change a rule", ref("Rule"), codes=("400", "404", "409", "422", "428", "503"),
                  params=RULE + [IF_MATCH], request=body(RULE_IN)),
        "delete": op("Delete a rule", obj({"deleted": S, "version": S}),
                     codes=("400", "404", "409", "422", "428"), params=RULE + [IF_MATCH],
                     request=body(obj(WHY)))},
    "/api/rulesets/{ruleset}/vocabulary": {
        "get": op("The vocabulary", {"type": "object"}, codes=("404", "422"), params=RS + [VERSION_Q]),
        "put": op("Replace the vocabulary", {"type": "object"}, codes=("400", "404", "409", "422", "428", "503"),
                  params=RS + [IF_MATCH], request=body(obj({"vocabulary": {"type": "object"}, **WHY})))},
    "/api/rulesets/{ruleset}/settings": {
        "get": op("Outcome, policy, default", {"type": "object"}, codes=("404", "422"), params=RS + [VERSION_Q]),
        "put": op("Replace the settings", {"type": "object"}, codes=("400", "404", "409", "422", "428", "503"),
                  params=RS + [IF_MATCH], request=body(obj({"settings": {"type": "object"}, **WHY})))},
    "/api/rulesets/{ruleset}/restore": {
        "post": op("Restore an earlier version as a new version", obj({"version": S, "restored": S}),
                   codes=("400", "404", "422", "503"), params=RS,
                   request=body(obj({"version": S, "rule": S, **WHY})))},
}
