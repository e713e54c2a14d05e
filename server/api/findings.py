"""The logic checked without data (rules_dsl/verify.py): conflicts, redundant and unreachable rules, conditions
that are never or always true, and gaps, each with a case that shows it. Any reader may ask."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from rules_dsl.ruleset import CompiledRule, slugify
from rules_dsl.verify import KINDS, Finding, verify, verify_rule

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


def draft_findings(ruleset, checked, rule_id: str | None) -> list[dict] | None:
    """The findings about a draft rule (the check endpoint's answer): None when it has errors. ``rule_id``: the
    rule being edited, which the draft replaces; a new rule gets an id from its name."""
    if checked.logic is None:
        return None
    if not isinstance(rule_id, str) or not rule_id:
        rule_id = slugify(checked.rule.name, [r.id for r in ruleset.rules])
    draft = CompiledRule(rule_id, checked.rule, checked.logic, "")
    try:
        found: list[Finding] = verify_rule(ruleset, draft)
    except Exception as e:  # noqa: BLE001 - a finding is advice: never let it break the check
        from flask import current_app

        current_app.logger.warning("findings for a draft rule failed: %r", e)
        return []
    return [f.to_dict() for f in found]


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
