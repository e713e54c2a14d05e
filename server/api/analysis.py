"""How good the rules are on a reference data set, by subgroup, and what a change between versions did.

The views parse the query string and call ``server/services/analysis.py``."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..auth import requires
from ..services import analysis as analysing
from .common import session, workspace
from .spec import RS, VERSION_Q, I, S, arr, obj, op

bp = Blueprint("api_analysis", __name__, url_prefix="/api")


def _choices() -> dict:
    """?dataset= (an id; default the rule set's first), ?group= (the column to split by), ?bands= (default 4)."""
    return {"chosen": request.args.get("dataset"), "group": request.args.get("group") or None,
            "bands": request.args.get("bands", 4, type=int)}


@bp.get("/rulesets/<ruleset>/analysis")
@requires("rules.read")
def analysis(ruleset):
    """Per rule: coverage, overlaps, conflicts, precision, firings per true label; for the rule set: accuracy,
    coverage, a majority-class baseline; with ?group= the same by subgroup and the largest gaps (?bands= for a
    number column). 404 without a reference data set; 422 when it has no true outcome column, or for a column
    that cannot be split by."""
    return jsonify(analysing.scores(workspace(), session(), current_app.config["DATASETS_DIR"], ruleset,
                                    request.args.get("version"), **_choices()))


@bp.get("/rulesets/<ruleset>/impact")
@requires("rules.read")
def change_impact(ruleset):
    """What changing from ?from= to ?to= (default latest) does to the predictions on a reference data set: how many
    rows change, old -> new label, which rule changes caused it, and with ?group= the same by subgroup.
    404 for an unknown version or without a reference data set; 422 for a column that cannot be split by."""
    return jsonify(analysing.change_impact(workspace(), session(), current_app.config["DATASETS_DIR"], ruleset,
                                           request.args.get("from"), request.args.get("to"), **_choices()))


# ---- OpenAPI (assembled by openapi.py)
GROUP_Q = {"name": "group", "in": "query", "schema": S, "description": "a column of the data set to split by"}
BANDS_Q = {"name": "bands", "in": "query", "schema": {"type": "integer", "minimum": 2, "maximum": 10},
           "description": "how many bands a number column with many values is cut into (default 4)"}
SPLIT = {"type": ["object", "null"], "description": "the column split by, and its bands (lowest first) when a "
                                                    "number column was cut into bands",
         "properties": {"column": S, "bands": {"type": ["array", "null"], "items": S}}}
PATHS = {
    "/api/rulesets/{ruleset}/analysis": {
        "get": op("How the rules do on a reference data set (by subgroup with ?group=)",
                  obj({"version": S, "dataset": {"type": "object"}, "summary": {"type": "object"},
                       "rules": arr({"type": "object"}), "subgroups": {"type": "object"}, "split": SPLIT},
                      ["summary", "rules"]),
                  codes=("404", "422"), params=RS + [VERSION_Q, {"name": "dataset", "in": "query", "schema": S},
                                                    GROUP_Q, BANDS_Q])},
    "/api/rulesets/{ruleset}/impact": {
        "get": op("What a change between two versions does to the predictions",
                  obj({"from": S, "to": S, "dataset": {"type": "object"}, "rows": I, "changed": I,
                       "summary": {"type": "object"}, "transitions": arr({"type": "object"}),
                       "rule_changes": arr({"type": "object"}), "changes": arr({"type": "object"}),
                       "split": SPLIT},
                      ["rows", "changed", "transitions"]),
                  codes=("404", "422"),
                  params=RS + [{"name": "from", "in": "query", "required": True, "schema": S},
                               {"name": "to", "in": "query", "schema": S},
                               {"name": "dataset", "in": "query", "schema": S}, GROUP_Q, BANDS_Q])},
}
