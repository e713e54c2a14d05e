"""Rule sets and their rules, vocabulary and settings: read at any version, edit with a reason.

Writes take the version they are based on in If-Match (the ETag a GET returned): 428 without it, 409 with both
texts when someone saved the same thing first.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from rules_dsl import rule_to_json

from ..auth import current_user, requires
from ..services import rules as editing
from ..services.errors import NotFound
from .common import etag, if_match, json_body, session, workspace

bp = Blueprint("api_rulesets", __name__, url_prefix="/api")


def rule_json(rule, version: str, last_change: dict | None = None) -> dict:
    c = rule.conclusion
    return {
        "id": rule.id, "name": rule.name, "text": rule.text, "structured": rule_to_json(rule.syntax),
        "enabled": rule.enabled, "priority": rule.priority,
        "conclusion": None if c is None else {"outcome": c.outcome, "label": c.label,
                                              "confidence": float(c.confidence) if c.confidence is not None else None},
        "because": rule.syntax.because, "warnings": [w.to_dict() for w in rule.warnings],
        "version": version, "last_change": last_change,
    }


def ruleset_summary(ruleset_id: str, version: str) -> dict:
    ws = workspace()
    rs = ws.ruleset(ruleset_id, version)
    latest = ws.latest_release(ruleset_id)
    return {
        "id": rs.id, "title": rs.title, "description": rs.settings.description,
        "outcome": {"name": rs.outcome.name, "labels": list(rs.outcome.labels)},
        "policy": rs.policy.kind, "default": rs.policy.default, "rules": len(rs.rules),
        "enabled_rules": len(rs.active_rules), "version": version,
        "latest_release": None if latest is None else {"name": latest.release, "version": latest.version,
                                                        "time": latest.time.isoformat()},
    }


def last_changes(ruleset_id: str, version: str) -> dict[str, dict]:
    """Who last changed each rule, when and why (as of ``version``)."""
    return {rule: change_json(v) for rule, v in workspace().last_changes(ruleset_id, version).items()}


def change_json(v) -> dict | None:
    if v is None:
        return None
    return {"version": v.id, "by": v.author.name, "at": v.time.isoformat(), "why": v.message,
            "action": v.trailers.get("Rulecraft-Action")}


@bp.get("/rulesets")
@requires("rulesets.list")
def list_rulesets():
    """The rule sets at the latest version. Never aborts."""
    ws = workspace()
    head = ws.head()
    items = [ruleset_summary(r, head) for r in ws.ruleset_ids(head)] if head else []
    return jsonify({"rulesets": items, "version": head})


@bp.post("/rulesets")
@requires("rules.write")
def create_ruleset():
    """Create a rule set: {"settings": {...}, "vocabulary": {...}, "why": "..."}. 422 on invalid settings."""
    body = json_body()
    ruleset_id, saved = editing.create_ruleset(workspace(), session(), current_user(), body.get("settings"),
                                               body.get("vocabulary"), body.get("why"))
    response = jsonify(ruleset_summary(ruleset_id, saved.version.id))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_ruleset", ruleset=ruleset_id)
    response.headers["ETag"] = etag(saved.version.id)
    return response


@bp.get("/rulesets/<ruleset>")
@requires("rules.read")
def get_ruleset(ruleset):
    """A rule set at a version (?version=, default latest): settings, vocabulary, rules. 404 if unknown."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    rs = ws.ruleset(ruleset, version)
    body = ruleset_summary(ruleset, version)
    body["vocabulary"] = vocabulary_json(rs)
    body["rules"] = [rule_json(r, version) for r in rs.rules]
    response = jsonify(body)
    response.headers["ETag"] = etag(version)
    return response


def vocabulary_json(rs) -> dict:
    return {"features": [{"name": f.name, **f.to_dict(), "column": f.column} for f in rs.vocabulary.features],
            "outcome": {"name": rs.outcome.name, "labels": list(rs.outcome.labels),
                        "description": rs.outcome.description}}


@bp.get("/rulesets/<ruleset>/rules")
@requires("rules.read")
def list_rules(ruleset):
    """Rules at a version, with who changed each last; ?q= searches names and text. 404 if unknown."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    rs = ws.ruleset(ruleset, version)
    query = (request.args.get("q") or "").casefold().strip()
    changes = last_changes(ruleset, version)
    rules = [rule_json(r, version, changes.get(r.id)) for r in rs.rules
             if not query or query in r.name.casefold() or query in r.text.casefold()]
    response = jsonify({"ruleset": ruleset, "version": version, "rules": rules})
    response.headers["ETag"] = etag(version)
    return response


@bp.post("/rulesets/<ruleset>/rules")
@requires("rules.write")
def create_rule(ruleset):
    """Add a rule: {"text": ...} or {"rule": {...}}, plus "why". 422 with problems if it does not check."""
    ws = workspace()
    body = json_body()
    result = editing.create_rule(ws, session(), current_user(), ws.check_id(ruleset), body, body.get("why"))
    response = jsonify(rule_json(result.rule, result.saved.version.id))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_rule", ruleset=ruleset, rule=result.rule.id)
    response.headers["ETag"] = etag(result.saved.version.id)
    return response


@bp.get("/rulesets/<ruleset>/rules/<rule>")
@requires("rules.read")
def get_rule(ruleset, rule):
    """One rule at a version; its ETag is the version to send back in If-Match. 404 if unknown."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    rs = ws.ruleset(ruleset, version)
    try:
        compiled = rs.rule(rule)
    except KeyError:
        raise NotFound(f"There is no rule '{rule}' in rule set '{ruleset}'.") from None
    response = jsonify(rule_json(compiled, version, change_json(ws.last_change(ruleset, rule, version))))
    response.headers["ETag"] = etag(version)
    return response


@bp.put("/rulesets/<ruleset>/rules/<rule>")
@requires("rules.write")
def update_rule(ruleset, rule):
    """Change a rule (rename, disable: send the whole rule). 428 without If-Match; 409 with both texts when
    someone saved this rule first; 422 when it does not check."""
    ws = workspace()
    base = if_match()
    body = json_body()
    result = editing.update_rule(ws, session(), current_user(), ws.check_id(ruleset), rule, body, body.get("why"),
                                 base)
    response = jsonify(rule_json(result.rule, result.saved.version.id))
    response.headers["ETag"] = etag(result.saved.version.id)
    return response


@bp.delete("/rulesets/<ruleset>/rules/<rule>")
@requires("rules.write")
def delete_rule(ruleset, rule):
    """Delete a rule (history keeps it): {"why": ...}. 428 without If-Match; 409 if it changed since."""
    ws = workspace()
    base = if_match()
    body = json_body()
    saved = editing.delete_rule(ws, session(), current_user(), ws.check_id(ruleset), rule, body.get("why"), base)
    response = jsonify({"deleted": rule, "version": saved.version.id})
    response.headers["ETag"] = etag(saved.version.id)
    return response


@bp.get("/rulesets/<ruleset>/vocabulary")
@requires("rules.read")
def get_vocabulary(ruleset):
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    response = jsonify({"version": version, **vocabulary_json(ws.ruleset(ruleset, version))})
    response.headers["ETag"] = etag(version)
    return response


@bp.put("/rulesets/<ruleset>/vocabulary")
@requires("rules.write")
def put_vocabulary(ruleset):
    """Replace the vocabulary: {"vocabulary": {"features": {...}}, "why"}. 422 if it would break rules."""
    ws = workspace()
    base = if_match()
    body = json_body()
    saved = editing.update_vocabulary(ws, session(), current_user(), ws.check_id(ruleset), body.get("vocabulary"),
                                      body.get("why"), base)
    response = jsonify({"version": saved.version.id, **vocabulary_json(ws.ruleset(ruleset, saved.version.id))})
    response.headers["ETag"] = etag(saved.version.id)
    return response


@bp.get("/rulesets/<ruleset>/settings")
@requires("rules.read")
def get_settings(ruleset):
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    response = jsonify({"version": version, "settings": ws.ruleset(ruleset, version).settings.to_dict()})
    response.headers["ETag"] = etag(version)
    return response


@bp.put("/rulesets/<ruleset>/settings")
@requires("rules.write")
def put_settings(ruleset):
    """Replace title, description, outcome, policy and default: {"settings": {...}, "why"}."""
    ws = workspace()
    base = if_match()
    body = json_body()
    saved = editing.update_settings(ws, session(), current_user(), ws.check_id(ruleset), body.get("settings"),
                                    body.get("why"), base)
    response = jsonify({"version": saved.version.id,
                        "settings": ws.ruleset(ruleset, saved.version.id).settings.to_dict()})
    response.headers["ETag"] = etag(saved.version.id)
    return response


@bp.post("/rulesets/<ruleset>/restore")
@requires("rules.write")
def restore(ruleset):
    """Make an earlier version current again as a new version: {"version", "why", "rule"?}."""
    ws = workspace()
    body = json_body()
    saved = editing.restore(ws, session(), current_user(), ws.check_id(ruleset), body.get("version"),
                            body.get("why"), body.get("rule"))
    response = jsonify({"version": saved.version.id, "restored": body.get("version")})
    response.headers["ETag"] = etag(saved.version.id)
    return response
