"""The JSON the API answers with for each domain object: rules, rule sets, versions, releases, data sets, people,
tokens, audit events. (Predictions and analyses come as JSON from their services, predicting and analysis.)

Functions of the objects only: no request, no session, no workspace of their own. What an answer needs beyond the
object (the version it was read at, who changed a rule last, a rule's name) is passed in by the view. The shapes
are described in the OpenAPI parts at the end of each blueprint module (spec.py for the shared ones).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rules_dsl import rule_to_json

if TYPE_CHECKING:
    from rules_dsl import RuleSet


def rule_json(rule, version: str, last_change: dict | None = None) -> dict:
    """A compiled rule as read at ``version``; ``last_change``: change_json of the version that last changed it."""
    c = rule.conclusion
    return {
        "id": rule.id, "name": rule.name, "text": rule.text, "structured": rule_to_json(rule.syntax),
        "enabled": rule.enabled, "priority": rule.priority,
        "conclusion": None if c is None else {"outcome": c.outcome, "label": c.label,
                                              "confidence": float(c.confidence) if c.confidence is not None else None},
        "because": rule.syntax.because, "warnings": [w.to_dict() for w in rule.warnings],
        "version": version, "last_change": last_change,
    }


def change_json(v) -> dict | None:
    """Who changed something last, when, why and how (a version, or None)."""
    if v is None:
        return None
    return {"version": v.id, "by": v.author.name, "at": v.time.isoformat(), "why": v.message,
            "action": v.trailers.get("Rulecraft-Action")}


def ruleset_json(rs: RuleSet, version: str, latest) -> dict:
    """A rule set's summary at ``version``; ``latest``: its latest release tag (or None)."""
    return {
        "id": rs.id, "title": rs.title, "description": rs.settings.description,
        "outcome": {"name": rs.outcome.name, "labels": list(rs.outcome.labels)},
        "policy": rs.policy.kind, "default": rs.policy.default, "rules": len(rs.rules),
        "enabled_rules": len(rs.active_rules), "version": version,
        "latest_release": None if latest is None else {"name": latest.release, "version": latest.version,
                                                        "time": latest.time.isoformat()},
    }


def vocabulary_json(rs: RuleSet) -> dict:
    return {"features": [{"name": f.name, **f.to_dict(), "column": f.column} for f in rs.vocabulary.features],
            "outcome": {"name": rs.outcome.name, "labels": list(rs.outcome.labels),
                        "description": rs.outcome.description}}


def version_json(v, rule_name: Callable[[str, str, str], str | None]) -> dict:
    """One version; a save of one rule names it by its name then (``rule`` is its id, for links).
    ``rule_name``: (rule set, rule id, version) -> the rule's name then (Workspace.rule_name)."""
    rule, ruleset = v.trailers.get("Rulecraft-Rule"), v.trailers.get("Rulecraft-Ruleset")
    return {"version": v.id, "author": v.author.name, "time": v.time.isoformat(), "why": v.message,
            "action": v.trailers.get("Rulecraft-Action"), "rule": rule,
            "rule_name": rule_name(ruleset, rule, v.id) if rule and ruleset else None}


def release_json(r, released: dict[str, str] | None = None, newer: dict | None = None) -> dict:
    """``released``: release name -> the rule set's own version it names (Workspace.releases); a release approved
    before releases named their own version has the repository's newest commit of the time in its row.
    ``newer``: what was saved after a waiting request's version (``saved_since_json``), None otherwise."""
    version = (released or {}).get(r.name, r.version) if r.status == "approved" else r.version
    return {"id": r.id, "ruleset": r.ruleset, "name": r.name, "version": version, "status": r.status,
            "notes": r.notes, "requested_by": r.requester.name if r.requester else None,
            "requested_at": r.requested_at.isoformat(), "decided_by": r.decider.name if r.decider else None,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None, "comment": r.comment,
            "bundle_hash": r.bundle_hash, "gate": r.gate, "gate_override": r.gate_override, "newer_versions": newer}


def saved_since_json(s, rule_name: Callable[[str, str, str], str | None]) -> dict:
    """The saves after a requested version (services.releases.SavedSince), each as ``version_json``."""
    return {"count": s.count, "current": s.current, "current_is": s.current_is, "release": s.release,
            "versions": [version_json(v, rule_name) for v in s.versions]}


def dataset_json(d) -> dict:
    return {"id": d.id, "name": d.name, "rows": d.rows, "columns": d.columns, "label_column": d.label_column,
            "group_columns": d.group_columns, "created_at": d.created_at.isoformat(), "sha256": d.sha256}


def user_json(u, creators: dict[int, str]) -> dict:
    """A person; ``created_by`` names the admin who added them (None: made on the command line); ``creators``: id ->
    name of the admins who added people (accounts.creator_names)."""
    return {"id": u.id, "name": u.name, "email": u.email, "role": u.role, "active": u.active,
            "must_change_password": u.must_change_password, "created_by": creators.get(u.created_by)}


def token_json(t) -> dict:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "scope": t.scope, "created_at": t.created_at.isoformat(),
            "expires_at": t.expires_at.isoformat(), "revoked": t.revoked_at is not None}


def event_json(e, rule_name: str | None) -> dict:
    """One row of the audit log; ``rule_name``: the rule's name as of the row (rules are named by their names)."""
    return {"id": e.id, "at": e.at.isoformat(), "by": e.user.name if e.user else None, "action": e.action,
            "ruleset": e.ruleset, "rule": e.rule, "rule_name": rule_name, "version": e.version,
            "status": e.status, "why": e.message, "details": e.details}

