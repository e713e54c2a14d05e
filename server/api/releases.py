"""Releases: request, approve, reject (with a comment; the requester cannot approve), list."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..auth import current_user, has, requires
from ..services import releases
from .common import json_body, session, workspace
from .serializers import release_json, saved_since_json
from .spec import NULL_S, RS, VERSION_Q, I, S, arr, body, obj, op, ref

bp = Blueprint("api_releases", __name__, url_prefix="/api")


@bp.get("/rulesets/<ruleset>/releases")
@requires("releases.read")
def list_releases(ruleset):
    """Release requests and releases of a rule set, newest first; a request waiting for a reviewer carries the
    saves made after its version (``newer_versions``), so that nobody approves a change undone since unawares."""
    ws = workspace()
    ws.check_id(ruleset)
    released = {t.release: t.version for t in ws.releases(ruleset)}

    reads_drafts = has("rules.read")  # who/why of unreleased saves are drafts: a count only for the others

    def newer(r):
        if r.status != "requested":
            return None
        saved = saved_since_json(releases.saved_since(ws, ruleset, r.version), ws.rule_name)
        return saved if reads_drafts else {**saved, "current": None, "versions": []}

    return jsonify({"ruleset": ruleset, "releases": [release_json(r, released, newer(r))
                                                     for r in releases.releases_of(session(), ruleset)]})


@bp.get("/rulesets/<ruleset>/releases/draft")
@requires("releases.request")
def draft(ruleset):
    """Notes drafted from the reasons given since the last release, for ?version= (default: latest); the version is
    the rule set's own last change as of it (what a request would release)."""
    ws = workspace()
    version = ws.own_version(ruleset, ws.resolve(ws.check_id(ruleset), request.args.get("version")))
    latest = ws.latest_release(ruleset)
    return jsonify({"version": version, "notes": releases.draft_notes(ws, ruleset, version),
                    "previous": None if latest is None else {"name": latest.release,
                                                             "version": latest.version}})


@bp.post("/rulesets/<ruleset>/releases")
@requires("releases.request")
def request_release(ruleset):
    """Ask for a version to be released: {"version"?: default latest, "notes"?: drafted when empty}.
    409 if already released or already requested."""
    ws = workspace()
    body = json_body(required=False)
    release = releases.request_release(ws, session(), current_user(), ws.check_id(ruleset), body.get("version"),
                                       body.get("notes"), current_app.config["DATASETS_DIR"])
    return jsonify(release_json(release)), 201


@bp.post("/rulesets/<ruleset>/releases/<id:release_id>/approve")
@requires("releases.decide")
def approve(ruleset, release_id):
    """Approve: {"comment"?, "override"?}. 403 for one's own request or own changes; 409 if already decided; 422
    (code gate-failed, with the measured gate) when the release gate fails and no override reason is given."""
    ws = workspace()
    body = json_body(required=False)
    release = releases.approve(ws, session(), current_user(), ws.check_id(ruleset), release_id, body.get("comment"),
                               body.get("override"), current_app.config["DATASETS_DIR"])
    return jsonify(release_json(release))


@bp.post("/rulesets/<ruleset>/releases/<id:release_id>/reject")
@requires("releases.decide")
def reject(ruleset, release_id):
    """Reject: {"comment": required}. 403 for one's own request; 409 if already decided."""
    ws = workspace()
    body = json_body()
    release = releases.reject(ws, session(), current_user(), ws.check_id(ruleset), release_id, body.get("comment"))
    return jsonify(release_json(release))


# ---- OpenAPI (assembled by openapi.py)
RELEASE_P = {"name": "release_id", "in": "path", "required": True, "schema": I}
SCHEMAS = {"Release": obj({"id": I, "ruleset": S, "name": NULL_S, "version": S, "status": S, "notes": S,
                           "requested_by": NULL_S, "requested_at": S, "decided_by": NULL_S, "decided_at": NULL_S,
                           "comment": S, "bundle_hash": NULL_S, "gate": {"type": ["object", "null"]},
                           "gate_override": NULL_S, "newer_versions": {"oneOf": [{"type": "null"}, ref("SavedSince")]}},
                          ["id", "ruleset", "version", "status"]),
           "SavedSince": obj({"count": I, "current": NULL_S, "current_is": NULL_S, "release": NULL_S,
                              "versions": arr(ref("Version"))}, ["count", "current", "versions"])}
PATHS = {
    "/api/rulesets/{ruleset}/releases": {
        "get": op("Releases and requests", obj({"ruleset": S, "releases": arr(ref("Release"))}), codes=("404",),
                  params=RS),
        "post": op("Request a release", ref("Release"), status="201", codes=("400", "404", "409", "422"),
                   params=RS, request={"required": False, "content": {"application/json": {
                       "schema": obj({"version": S, "notes": S})}}})},
    "/api/rulesets/{ruleset}/releases/draft": {
        "get": op("Release notes drafted from the reasons since the last release",
                  obj({"version": S, "notes": S, "previous": {"type": ["object", "null"]}}),
                  codes=("404", "422"), params=RS + [VERSION_Q])},
    "/api/rulesets/{ruleset}/releases/{release_id}/approve": {
        "post": op("Approve a release (not one's own)", ref("Release"), codes=("400", "404", "409", "422"),
                   params=RS + [RELEASE_P], request={"required": False, "content": {"application/json": {
                       "schema": obj({"comment": S, "override": S})}}})},
    "/api/rulesets/{ruleset}/releases/{release_id}/reject": {
        "post": op("Reject a release with a comment", ref("Release"), codes=("400", "404", "409", "422"),
                   params=RS + [RELEASE_P], request=body(obj({"comment": S}, ["comment"])))},
}
