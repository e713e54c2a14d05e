"""History, differences and blame: what changed, when, by whom and why."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..auth import requires
from ..db import reads
from ..services import diffs, releases
from ..services.errors import Invalid, NotFound
from ..services.workspace import rule_path
from .common import page_args, workspace

bp = Blueprint("api_history", __name__, url_prefix="/api")


def version_json(v) -> dict:
    """One version; a save of one rule names it by its name then (``rule`` is its id, for links)."""
    rule, ruleset = v.trailers.get("Rulecraft-Rule"), v.trailers.get("Rulecraft-Ruleset")
    return {"version": v.id, "author": v.author.name, "time": v.time.isoformat(), "why": v.message,
            "action": v.trailers.get("Rulecraft-Action"), "rule": rule,
            "rule_name": workspace().rule_name(ruleset, rule, v.id) if rule and ruleset else None}


def _history(ruleset: str, path: str, never_existed: str):
    """One page of the versions that changed ``path``; 404 (``never_existed``) if none did. The count is made
    once (a Git walk of the whole history), and the release names come from the per-worker cache of tags, read
    from Git again only when the database says a release was approved."""
    ws = workspace()
    page, size = page_args()
    total = ws.store.count(path)
    if total == 0:
        raise NotFound(never_existed)
    entries = ws.store.log(path, limit=size, offset=(page - 1) * size)
    with reads() as connection:
        generation = releases.generation(connection, ruleset)
    released = {t.version: t.release for t in ws.releases(ruleset, generation)}
    items = [{**version_json(v), "release": released.get(v.id)} for v in entries]
    return jsonify({"page": page, "per_page": size, "total": total, "versions": items})


@bp.get("/rulesets/<ruleset>/history")
@requires("rules.read")
def ruleset_history(ruleset):
    """Versions of a rule set, newest first (?page, ?per_page). 404 for an unknown rule set."""
    workspace().check_id(ruleset)
    return _history(ruleset, ruleset, f"There is no rule set called '{ruleset}'.")


@bp.get("/rulesets/<ruleset>/rules/<rule>/history")
@requires("rules.read")
def rule_history(ruleset, rule):
    """Versions that changed one rule, newest first. 404 for a rule that never existed."""
    workspace().check_id(ruleset)
    _check_rule_id(rule)
    return _history(ruleset, rule_path(ruleset, rule),
                    f"There is no rule '{rule}' in rule set '{ruleset}', now or before.")


@bp.get("/rulesets/<ruleset>/versions/<version>")
@requires("rules.read")
def version_info(ruleset, version):
    """Who saved the rule set as it stood at <version> (a release name or a version id), when and why, and its
    release name if it was released; the editor's "earlier version" banner. 404 if the rule set did not exist."""
    ws = workspace()
    resolved = ws.resolve(ws.check_id(ruleset), version)
    found = ws.store.log(ruleset, limit=1, version=resolved)
    if not found:
        raise NotFound(f"There is no rule set called '{ruleset}' in that version.")
    return jsonify({**version_json(found[0]), "release": ws.release_name(ruleset, found[0].id)})


@bp.get("/rulesets/<ruleset>/diff")
@requires("rules.read")
def diff(ruleset):
    """What changed between ?from= and ?to= (release names or version ids; to defaults to the latest)."""
    ws = workspace()
    ws.check_id(ruleset)
    if not request.args.get("from"):
        raise Invalid("Say which version to compare from (?from=v1 or a version id).", field="from")
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
    path = rule_path(ruleset, rule)
    if not ws.store.exists(version, path):
        raise NotFound(f"There is no rule '{rule}' in that version of '{ruleset}'.")
    lines = [{"line": b.number, "text": b.text, **version_json(b.version)} for b in ws.store.blame(version, path)]
    return jsonify({"ruleset": ruleset, "rule": rule, "version": version, "lines": lines})


def _check_rule_id(rule: str) -> None:
    from rules_dsl.ruleset import RULE_ID

    if not RULE_ID.fullmatch(rule):
        raise NotFound(f"There is no rule called '{rule[:60]}'.")
