"""History, differences and blame: what changed, when, by whom and why."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..auth import requires
from ..errors import NotFound, Unprocessable
from ..limits import shown
from ..services import diffs, releases
from .common import page_args, workspace
from .serializers import version_json
from .spec import NULL_S, PAGE_Q, RS, RULE, VERSION_Q, B, I, S, arr, obj, op, ref

bp = Blueprint("api_history", __name__, url_prefix="/api")


def _history(ruleset: str, rule: str | None, never_existed: str):
    """One page of the versions that changed the rule set (or ``rule``); 404 (``never_existed``) if none did. The
    count is made once (a Git walk of the whole history), and the release names come from the per-worker cache of
    tags, read from Git again only when the database says a release was approved."""
    ws = workspace()
    page, size = page_args()
    total, entries = ws.history(ruleset, rule, limit=size, offset=(page - 1) * size)
    if total == 0:
        raise NotFound(never_existed)
    released = {t.version: t.release for t in ws.releases(ruleset, releases.current_generation(ruleset))}
    items = [{**version_json(v, ws.rule_name), "release": released.get(v.id)} for v in entries]
    return jsonify({"page": page, "per_page": size, "total": total, "versions": items})


@bp.get("/rulesets/<ruleset>/history")
@requires("rules.read")
def ruleset_history(ruleset):
    """Versions of a rule set, newest first (?page, ?per_page). 404 for an unknown rule set."""
    workspace().check_id(ruleset)
    return _history(ruleset, None, f"There is no rule set called '{ruleset}'.")


@bp.get("/rulesets/<ruleset>/rules/<rule>/history")
@requires("rules.read")
def rule_history(ruleset, rule):
    """Versions that changed one rule, newest first. 404 for a rule that never existed."""
    workspace().check_id(ruleset)
    _check_rule_id(rule)
    return _history(ruleset, rule,
                    f"There is no rule '{rule}' in rule set '{ruleset}', now or before.")


@bp.get("/rulesets/<ruleset>/versions/<version>")
@requires("rules.read")
def version_info(ruleset, version):
    """Who saved the rule set as it stood at <version> (a release name or a version id), when and why, and its
    release name if it was released; the editor's "earlier version" banner. 404 if the rule set did not exist."""
    ws = workspace()
    resolved = ws.resolve(ws.check_id(ruleset), version)
    saved = ws.saved_at(ruleset, resolved)
    if saved is None:
        raise NotFound(f"There is no rule set called '{ruleset}' in that version.")
    return jsonify({**version_json(saved, ws.rule_name), "release": ws.release_name(ruleset, saved.id)})


@bp.get("/rulesets/<ruleset>/diff")
@requires("rules.read")
def diff(ruleset):
    """What changed between ?from= and ?to= (release names or version ids; to defaults to the latest)."""
    ws = workspace()
    ws.check_id(ruleset)
    if not request.args.get("from"):
        raise Unprocessable("Say which version to compare from (?from=v1 or a version id).", field="from")
    a = ws.resolve(ruleset, request.args.get("from"))
    b = ws.resolve(ruleset, request.args.get("to"))
    return jsonify(diffs.diff(ws, ruleset, a, b))


@bp.get("/rulesets/<ruleset>/rules/<rule>/blame")
@requires("rules.read")
def blame(ruleset, rule):
    """Each line of a rule with the version, person, date and reason that last changed it."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    _check_rule_id(rule)
    blamed = ws.blame(ruleset, rule, version)
    if blamed is None:
        raise NotFound(f"There is no rule '{rule}' in that version of '{ruleset}'.")
    lines = [{"line": b.number, "text": b.text, **version_json(b.version, ws.rule_name)} for b in blamed]
    return jsonify({"ruleset": ruleset, "rule": rule, "version": version, "lines": lines})


def _check_rule_id(rule: str) -> None:
    from rules_dsl.layout import RULE_ID

    if not RULE_ID.fullmatch(rule):
        raise NotFound(f"There is no rule called '{shown(rule)}'.")


# ---- OpenAPI (assembled by openapi.py)
SCHEMAS = {
    "Version": obj({"version": S, "author": S, "time": S, "why": S, "action": NULL_S, "rule": NULL_S,
                    "rule_name": NULL_S, "release": NULL_S}, ["version", "author", "time", "why"]),
    "Diff": obj({"from": S, "to": S, "summary": S, "counts": {"type": "object"}, "rules": arr({"type": "object"}),
                 "vocabulary": {"type": "object"}, "settings_changed": B, "text": S},
                ["from", "to", "summary", "rules"]),
}
PATHS = {
    "/api/rulesets/{ruleset}/history": {
        "get": op("Versions of a rule set, newest first",
                  obj({"page": I, "per_page": I, "total": I, "versions": arr(ref("Version"))}),
                  codes=("404", "422"), params=RS + PAGE_Q)},
    "/api/rulesets/{ruleset}/rules/{rule}/history": {
        "get": op("Versions that changed a rule", obj({"page": I, "per_page": I, "total": I,
                                                      "versions": arr(ref("Version"))}),
                  codes=("404", "422"), params=RULE + PAGE_Q)},
    "/api/rulesets/{ruleset}/rules/{rule}/blame": {
        "get": op("Who last changed each line", obj({"ruleset": S, "rule": S, "version": S,
                                                    "lines": arr({"type": "object"})}),
                  codes=("404", "422"), params=RULE + [VERSION_Q])},
    "/api/rulesets/{ruleset}/versions/{version}": {
        "get": op("Who saved a version of a rule set, when and why", ref("Version"), codes=("404", "422"),
                  params=RS + [{"name": "version", "in": "path", "required": True, "schema": S}])},
    "/api/rulesets/{ruleset}/diff": {
        "get": op("Differences between two versions", ref("Diff"), codes=("404", "422"),
                  params=RS + [{"name": "from", "in": "query", "required": True, "schema": S},
                               {"name": "to", "in": "query", "required": False, "schema": S}])},
}
