"""Shadow runs: a candidate version answering live predictions beside the release, and what it answered
differently (services/shadows.py). Reviewers and admins start and stop them; whoever reads releases sees them."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..auth import current_user, requires
from ..services import shadows
from .common import json_body, session, workspace
from .spec import NULL_S, RS, B, I, S, arr, obj, op, ref

bp = Blueprint("api_shadow", __name__, url_prefix="/api")


def shadow_json(shadow) -> dict:
    return {"id": shadow.id, "ruleset": shadow.ruleset, "running": shadow.ended_at is None,
            "candidate": shadow.candidate, "follows_latest_save": shadow.follow, "release": shadow.release_name,
            "released_version": shadow.released, "started_by": shadow.starter.name if shadow.starter else None,
            "since": shadow.started_at.isoformat(), "ended_at": shadow.ended_at.isoformat() if shadow.ended_at
            else None, "end_reason": shadow.end_reason or None, "cases": shadow.cases,
            "different": shadow.different, "failed": shadow.failed, "dropped": shadow.dropped,
            "restarts": shadow.restarts,
            "by_rule": [{"rule": k, "different": v} for k, v in sorted((shadow.by_rule or {}).items(),
                                                                         key=lambda kv: (-kv[1], kv[0]))],
            "sample": shadow.sample or [], "values_kept": shadow.keep_values,
            "summary": shadows.review_words(shadow)}


@bp.get("/rulesets/<ruleset>/shadow")
@requires("releases.read")
def get_shadow(ruleset):
    """The running shadow (else the last one, with why it ended); 404 when the rule set never had one."""
    ws = workspace()
    shadow = shadows.status(ws, session(), current_app.extensions["rulecraft.shadower"], ws.check_id(ruleset))
    if shadow is None:
        return jsonify({"ruleset": ruleset, "shadow": None})
    return jsonify({"ruleset": ruleset, "shadow": shadow_json(shadow)})


@bp.post("/rulesets/<ruleset>/shadow")
@requires("releases.decide")
def start_shadow(ruleset):
    """Put a candidate in the shadow of the latest release: {"version"?: default the latest save, followed}.
    409 without a release; 422 for the release itself."""
    ws = workspace()
    payload = json_body(required=False)
    shadow = shadows.start(ws, session(), current_user(), current_app.extensions["rulecraft.shadower"],
                           ws.check_id(ruleset), payload.get("version"))
    return jsonify({"ruleset": ruleset, "shadow": shadow_json(shadow)}), 201


@bp.delete("/rulesets/<ruleset>/shadow")
@requires("releases.decide")
def stop_shadow(ruleset):
    """Stop the running shadow (its counts are kept); 404 when none runs."""
    ws = workspace()
    shadow = shadows.stop(session(), current_user(), current_app.extensions["rulecraft.shadower"],
                          ws.check_id(ruleset))
    return jsonify({"ruleset": ruleset, "shadow": shadow_json(shadow)})


# ---- OpenAPI (assembled by openapi.py)
NULL_OBJ = {"type": ["object", "null"]}
SHADOW = obj({"id": I, "ruleset": S, "running": B, "candidate": S, "follows_latest_save": B, "release": S,
              "released_version": S, "started_by": NULL_S, "since": S, "ended_at": NULL_S, "end_reason": NULL_S,
              "cases": I, "different": I, "failed": I, "dropped": I, "restarts": I,
              "by_rule": arr(obj({"rule": S, "different": I})), "sample": arr({"type": "object"}),
              "values_kept": B, "summary": S}, ["id", "running", "candidate", "release", "cases", "different"])
SCHEMAS = {"Shadow": SHADOW}
ANSWER = obj({"ruleset": S, "shadow": {"oneOf": [ref("Shadow"), {"type": "null"}]}}, ["shadow"])
PATHS = {
    "/api/rulesets/{ruleset}/shadow": {
        "get": op("The shadow run: a candidate answering live predictions beside the release", ANSWER,
                  codes=("404",), params=RS),
        "post": op("Start a shadow run (reviewers, admins)", ANSWER, status="201",
                   codes=("400", "404", "409", "422"), params=RS,
                   request={"required": False, "content": {"application/json": {"schema": obj({"version": S})}}}),
        "delete": op("Stop the shadow run", ANSWER, codes=("404",), params=RS),
    },
}
