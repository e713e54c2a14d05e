"""Rules suggested from a reference data set, the threshold explorer and "improve this rule" (issue 18).

For authors and reviewers (permission ``rules.suggest``). The views read the JSON body and call
``server/services/suggesting.py``; nothing they answer is saved."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..auth import requires
from ..services import suggesting
from .common import json_body, session, workspace
from .spec import RS, I, S, arr, body, obj, op, ref

bp = Blueprint("api_suggestions", __name__, url_prefix="/api")


def _answer(service, ruleset):
    return jsonify(service(workspace(), session(), current_app.config["DATASETS_DIR"], ruleset,
                           json_body(required=False)))


@bp.post("/rulesets/<ruleset>/suggestions")
@requires("rules.suggest")
def suggestions(ruleset):
    """{"dataset"?, "version"?, "target"?, "group"?, "bands"?, "max"?, "max_conditions"?} -> suggested rules with
    their figures, best first. 404 for an unknown rule set or without a reference data set; 422 for an option out
    of range, a data set without the true outcome, or one that does not fit the vocabulary."""
    return _answer(suggesting.suggestions, ruleset)


@bp.post("/rulesets/<ruleset>/explore")
@requires("rules.suggest")
def explore(ruleset):
    """{"text" | "rule" | "rule_id", "condition"?, "points"?, "target"?, "dataset"?} -> the rule's precision and
    coverage as the threshold of one condition moves. 404 as above; 422 for a rule with errors or a condition
    without a threshold."""
    return _answer(suggesting.explore, ruleset)


@bp.post("/rulesets/<ruleset>/improve")
@requires("rules.suggest")
def improve(ruleset):
    """{"text" | "rule" | "rule_id", "target"?, "dataset"?} -> candidates that drop, move or add one condition,
    with the cases each gains and loses. 404 as above; 422 for a rule with errors."""
    return _answer(suggesting.improve, ruleset)


# ---- OpenAPI (assembled by openapi.py)
N = {"type": ["number", "null"]}
RULE_INPUT = {"text": S, "rule": ref("StructuredRule"), "rule_id": S, "target": S, "dataset": I, "version": S}
SCHEMAS = {
    "Suggestion": obj({"text": S, "label": S, "rule": ref("StructuredRule"), "precision": N, "coverage": N,
                       "support": I, "recall": N, "heldout_precision": N, "heldout_support": I,
                       "heldout_interval": {"type": ["array", "null"], "items": N}, "near_misses": I,
                       "near_misses_by_condition": arr(I), "overlaps": arr({"type": "object"}),
                       "subgroups": {"type": ["object", "null"]}, "score": N, "why": S},
                      ["text", "label", "rule", "precision", "coverage", "support", "why"]),
}
PATHS = {
    "/api/rulesets/{ruleset}/suggestions": {
        "post": op("Rules suggested from a reference data set, with their figures (nothing is saved)",
                   obj({"version": S, "dataset": {"type": "object"}, "held_out": N, "searched": I,
                        "search_cases": I,
                        "split": {"type": ["object", "null"]}, "suggestions": arr(ref("Suggestion"))},
                       ["suggestions"]),
                   codes=("400", "404", "422"), params=RS,
                   request=body(obj({"dataset": I, "version": S, "target": S, "group": S, "bands": I, "max": I,
                                     "max_conditions": I})))},
    "/api/rulesets/{ruleset}/explore": {
        "post": op("A rule's precision and coverage as one threshold moves",
                   obj({"version": S, "dataset": {"type": "object"}, "condition": I, "feature": S,
                        "unit": {"type": ["string", "null"]}, "op": S, "label": S, "current": N,
                        "thresholds": arr(N), "precision": arr(N), "coverage": arr(N), "recall": arr(N),
                        "support": arr(I)}, ["thresholds", "precision", "coverage", "current"]),
                   codes=("400", "404", "422"), params=RS,
                   request=body(obj({**RULE_INPUT, "condition": I, "points": I})))},
    "/api/rulesets/{ruleset}/improve": {
        "post": op("Candidates one step from a rule, with the cases each gains and loses",
                   obj({"version": S, "dataset": {"type": "object"}, "rule": S, "changes": arr({"type": "object"})},
                       ["changes"]),
                   codes=("400", "404", "422"), params=RS, request=body(obj(RULE_INPUT)))},
}
