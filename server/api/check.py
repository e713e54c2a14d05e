"""Check a rule without saving it, and try it on the rule set's example and reference cases."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from rules_dsl import parse_rule

from ..auth import requires
from ..services import datasets, preview
from ..services.errors import Invalid
from .common import json_body, session, workspace
from .spec import NULL_S, B, I, S, arr, body, obj, op, ref

bp = Blueprint("api_check", __name__, url_prefix="/api")


def _draft_request(body: dict, purpose: str):
    """The rule set (id, version, compiled) a draft rule is sent against, after checking that the draft comes as
    either "text" or "rule"; Invalid, naming the field, otherwise."""
    ws = workspace()
    ruleset_id = body.get("ruleset")
    if not isinstance(ruleset_id, str):
        raise Invalid(f"Say which rule set to {purpose} (\"ruleset\").", field="ruleset")
    version = ws.resolve(ws.check_id(ruleset_id), body.get("version"))
    ruleset = ws.ruleset(ruleset_id, version)
    if ("text" in body) == ("rule" in body):
        raise Invalid("Send the rule either as \"text\" or as \"rule\" (structured), not both.", field="text")
    if "text" in body and not isinstance(body["text"], str):
        raise Invalid("The rule's text must be a string.", field="text")
    return ruleset_id, version, ruleset


def _rule_id(body: dict) -> str | None:
    """The "id" of the rule a draft replaces, or None for a new rule; Invalid for an id that is no text (it was
    taken for a new rule, and the findings then set the draft against the very rule it replaces)."""
    rule_id = body.get("id")
    if rule_id is not None and not isinstance(rule_id, str):
        raise Invalid("\"id\" is the id of the rule being edited, as text (leave it out for a new rule).", field="id")
    return rule_id


def _read(body: dict, ruleset):
    """The draft's syntax tree, or (None, the answer of a failed check): text as parsed; the form's structured rule
    with every problem at once, blanks among them (preview.read_form)."""
    if "text" in body:
        return preview.parse_or_problems(lambda: parse_rule(body["text"]))
    return preview.read_form(ruleset, body["rule"])


@bp.post("/check")
@requires("rules.read")
def check():
    """{"ruleset", "text" | "rule", "version"?, "dataset"?} -> errors and warnings with positions and form fields,
    the canonical text and structured form, and the example / reference cases it matches (with near misses).
    Answers 200 even when the rule has errors (that is the answer); 404 for an unknown rule set."""
    body = json_body()
    ruleset_id, version, ruleset = _draft_request(body, "check against")
    syntax, failed = _read(body, ruleset)
    if failed is not None:
        return jsonify({**failed, "version": version, "examples": None, "reference": None})
    result = preview.check_rule(ruleset, syntax)
    checked = result.pop("checked")
    label = ruleset.outcome.name
    features = list(ruleset.vocabulary.by_column())  # a case's other values, kept with it as a test
    examples = None
    if ruleset.examples is not None:
        id_column = "case" if "case" in ruleset.examples.columns else None
        examples = preview.try_on(checked, ruleset.examples, label, id_column, features)
    reference = None
    db = session()
    chosen = body.get("dataset")
    if chosen is not None and (isinstance(chosen, bool) or not isinstance(chosen, int)):  # was a 404 "no such"
        raise Invalid("\"dataset\" is the number of a reference data set, as GET /api/rulesets/{id}/datasets lists "
                      "them (leave it out for the default one).", field="dataset")
    dataset = datasets.get(db, ruleset_id, chosen) if chosen is not None else datasets.default_dataset(db, ruleset_id)
    if dataset is not None:
        frame = datasets.frame(current_app.config["DATASETS_DIR"], dataset)
        reference = {"dataset": {"id": dataset.id, "name": dataset.name},
                     **preview.try_on(checked, frame, dataset.label_column, carry=features)}
    found = preview.draft_findings(ruleset, checked, _rule_id(body))
    return jsonify({**result, "version": version, "examples": examples, "reference": reference, "findings": found})


@bp.post("/check/case")
@requires("rules.read")
def check_case():
    """{"ruleset", "text" | "rule", "case": {feature: value}, "version"?, "id"?} -> the draft rule on that one case:
    each condition true, false or unknown, the rule as a whole, and what the whole rule set would answer (the draft
    replacing rule "id", or added) with the deciding rule. 200 with the problems when the rule has mistakes (the
    rule set then answers without it); 422 for a value that cannot be read (field "case.<feature>"); 404 for an
    unknown rule set."""
    body = json_body()
    ruleset_id, version, ruleset = _draft_request(body, "try the rule in")
    rule_id = body.get("id")
    if rule_id is not None and (not isinstance(rule_id, str) or rule_id not in {r.id for r in ruleset.rules}):
        raise Invalid("\"id\" must be the id of a rule in this rule set (leave it out for a new rule).", field="id")
    syntax, failed = _read(body, ruleset)
    if failed is None:
        result = preview.check_rule(ruleset, syntax)
        checked = result.pop("checked")
    else:
        result, checked = failed, None
    tried = preview.try_case(ruleset, checked, rule_id, body.get("case", {}))
    return jsonify({"valid": result["valid"], "errors": result["errors"], "version": version, **tried})


# ---- OpenAPI (assembled by openapi.py)
ROW = {"type": "object", "description": "row (its position), values (the columns shown), case (the row's other "
                                      "known feature values), missed (near misses: the condition that failed)"}
TRY = {"type": ["object", "null"], "properties": {"total": I, "matched": {"type": ["integer", "null"]},
                                                  "matches": arr(ROW), "near_misses": arr(ROW)}}
SCHEMAS = {"Check": obj({"valid": B, "errors": arr(ref("Problem")), "warnings": arr(ref("Problem")), "text": NULL_S,
                         "sentence": {"type": ["string", "null"],
                                      "description": "the rule in words as the form holds it, \"…\" for each blank "
                                                     "(the text once complete; null for text that cannot be read)"},
                         "structured": {"anyOf": [ref("StructuredRule"), {"type": "null"}]}, "version": S,
                         "examples": TRY, "reference": TRY,
                         "findings": {"type": ["array", "null"], "items": ref("Finding"),
                                      "description": "what rules_dsl.verify finds about this rule among the others "
                                                     "(null when it has errors)"}},
                        ["valid", "errors", "warnings"]),
           "CaseTry": obj({"valid": B, "errors": arr(ref("Problem")), "version": S,
                           "rule": {"type": ["object", "null"], "description": "id, name, result (true | false | "
                                    "unknown), enabled, fires"},
                           "conditions": {"type": ["array", "null"], "items": {"type": "object"},
                                          "description": "per top-level condition: text, result (true | false | "
                                                         "unknown), features, missing"},
                           "decision": {"type": "object", "description": "as one prediction of POST "
                                        "/api/rulesets/{ruleset}/predict, plus deciding_rules (id, name)"},
                           "note": NULL_S, "warnings": arr({"type": "object"})},
                          ["valid", "errors", "rule", "conditions", "decision"])}
PATHS = {
    "/api/check": {
        "post": op("Check a rule without saving; try it on cases", ref("Check"), codes=("400", "404", "422"),
                   request=body(obj({"ruleset": S, "text": S, "rule": ref("StructuredRule"), "version": S,
                                     "dataset": I, "id": S}, ["ruleset"])))},
    "/api/check/case": {
        "post": op("Try a draft rule on one typed case", ref("CaseTry"), codes=("400", "404", "422"),
                   request=body(obj({"ruleset": S, "text": S, "rule": ref("StructuredRule"), "version": S, "id": S,
                                     "case": {"type": "object", "description": "feature name or synonym -> value"}},
                                    ["ruleset", "case"])))},
}
