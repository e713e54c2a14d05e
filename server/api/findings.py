"""The logic checked without data (rules_dsl/verify.py): conflicts, redundant and unreachable rules, conditions
that are never or always true, and gaps, each with a case that shows it. Any reader may ask."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from rules_dsl.verify import KINDS, verify

from ..auth import requires
from .common import workspace
from .spec import RS, VERSION_Q, S, arr, obj, op, ref

bp = Blueprint("api_findings", __name__, url_prefix="/api")


@bp.get("/rulesets/<ruleset>/findings")
@requires("rules.read")
def findings(ruleset):
    """Every finding about the rule set at ?version= (default latest), by kind. 404 for an unknown rule set, 422 for
    a version that is not one of its versions."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    found = verify(ws.ruleset(ruleset, version))
    return jsonify({"version": version, "findings": [f.to_dict() for f in found]})


# ---- OpenAPI (assembled by openapi.py)
SCHEMAS = {"Finding": obj({"kind": {"type": "string", "enum": list(KINDS)}, "rules": arr(S), "message": S,
                           "witness": {"type": ["object", "null"],
                                       "description": "feature name -> value (null: missing) that shows it"},
                           "region": arr(S)}, ["kind", "rules", "message"])}
PATHS = {
    "/api/rulesets/{ruleset}/findings": {
        "get": op("The logic checked without data: conflicts, redundant and unreachable rules, gaps",
                  obj({"version": S, "findings": arr(ref("Finding"))}, ["version", "findings"]),
                  codes=("404", "422"), params=RS + [VERSION_Q])},
}
