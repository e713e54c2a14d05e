"""Releases: request, approve, reject (with a comment; the requester cannot approve), list."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..auth import current_user, requires
from ..services import releases
from .common import json_body, session, workspace

bp = Blueprint("api_releases", __name__, url_prefix="/api")


def release_json(r, released: dict[str, str] | None = None) -> dict:
    """``released``: release name -> the rule set's own version it names (Workspace.releases); a release approved
    before releases named their own version has the repository's newest commit of the time in its row."""
    version = (released or {}).get(r.name, r.version) if r.status == "approved" else r.version
    return {"id": r.id, "ruleset": r.ruleset, "name": r.name, "version": version, "status": r.status,
            "notes": r.notes, "requested_by": r.requester.name if r.requester else None,
            "requested_at": r.requested_at.isoformat(), "decided_by": r.decider.name if r.decider else None,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None, "comment": r.comment,
            "bundle_hash": r.bundle_hash}


@bp.get("/rulesets/<ruleset>/releases")
@requires("releases.read")
def list_releases(ruleset):
    """Release requests and releases of a rule set, newest first."""
    ws = workspace()
    ws.check_id(ruleset)
    released = {t.release: t.version for t in ws.releases(ruleset)}
    return jsonify({"ruleset": ruleset, "releases": [release_json(r, released)
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
                                       body.get("notes"))
    return jsonify(release_json(release)), 201


@bp.post("/rulesets/<ruleset>/releases/<id:release_id>/approve")
@requires("releases.decide")
def approve(ruleset, release_id):
    """Approve: {"comment"?}. 403 for one's own request or own changes; 409 if already decided."""
    ws = workspace()
    body = json_body(required=False)
    release = releases.approve(ws, session(), current_user(), ws.check_id(ruleset), release_id, body.get("comment"))
    return jsonify(release_json(release))


@bp.post("/rulesets/<ruleset>/releases/<id:release_id>/reject")
@requires("releases.decide")
def reject(ruleset, release_id):
    """Reject: {"comment": required}. 403 for one's own request; 409 if already decided."""
    ws = workspace()
    body = json_body()
    release = releases.reject(ws, session(), current_user(), ws.check_id(ruleset), release_id, body.get("comment"))
    return jsonify(release_json(release))
