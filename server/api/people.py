"""Signing in and out, one's own account and tokens, people (admin), and the audit log (auditor, admin)."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select

from .. import auth
from ..auth import current_user, requires
from ..db import begin_write, get_db
from ..errors import Forbidden, NotFound, Unauthorized, Unprocessable
from ..models import ApiToken, AuditEvent, User
from ..services.changes import record
from .common import json_body, page_args, workspace

bp = Blueprint("api_people", __name__, url_prefix="/api")


def user_json(u: User) -> dict:
    return {"id": u.id, "name": u.name, "email": u.email, "role": u.role, "active": u.active,
            "must_change_password": u.must_change_password}


def token_json(t: ApiToken) -> dict:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "scope": t.scope, "created_at": t.created_at.isoformat(),
            "expires_at": t.expires_at.isoformat(), "revoked": t.revoked_at is not None}


@bp.post("/session")
def sign_in():
    """{"name", "password"} -> a session cookie and the CSRF token for later writes. 401 wrong name or password,
    429 after too many failures."""
    body = json_body()
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise Unprocessable("Give your name and your password.", field="name")
    user, cookie, session = auth.sign_in(get_db(), name, password, auth.client_address())
    response = jsonify({"user": user_json(user), "csrf_token": session.csrf_token})
    auth.set_session_cookie(response, cookie)
    return response


@bp.delete("/session")
def sign_out():
    """End the browser session for good (the cookie stops working even if copied). Needs the CSRF token."""
    if g.get("session") is None:
        raise Unauthorized("You are not signed in.")
    auth.sign_out(get_db(), g.session)
    response = jsonify({"signed_out": True})
    auth.clear_session_cookie(response)
    return response


@bp.get("/me")
def me():
    """Who is asking, with what role and permissions (and the CSRF token of a browser session). 401 if nobody."""
    user = current_user()
    body = {"user": user_json(user), "permissions": sorted(g.permissions), "auth": g.auth}
    if g.get("session") is not None:
        body["csrf_token"] = g.session.csrf_token
    return jsonify(body)


@bp.post("/me/password")
def change_password():
    """{"old_password", "password"}; ends every session of the person (sign in again)."""
    user = current_user()
    _may_change_account()
    body = json_body()
    db = get_db()
    begin_write(db)
    auth.change_password(db, user, body.get("old_password"), body.get("password"))
    record(db, user, "user.password", message="Password changed")
    db.commit()
    response = jsonify({"changed": True})
    auth.clear_session_cookie(response)
    return response


def _may_change_account() -> None:
    """Creating or revoking tokens and changing the password need a signed-in session or a write-scoped token: a
    read or predict token (the kind handed to a dashboard or a model server) must not mint itself a wider one."""
    if g.auth == "token" and g.token.scope != "write":
        raise Forbidden(f"This token's scope ({g.token.scope}) does not allow managing tokens or the password; "
                        "sign in, or use a token with the write scope.")


@bp.get("/tokens")
def list_tokens():
    """One's own tokens (never their secrets)."""
    user = current_user()
    tokens = get_db().scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return jsonify({"tokens": [token_json(t) for t in tokens]})


@bp.post("/tokens")
def create_token():
    """{"scope": read|predict|write, "name"?, "days"?} -> the token, shown this once."""
    user = current_user()
    _may_change_account()
    if user.must_change_password and g.auth == "session":
        raise Unprocessable("Please choose a new password first.", code="password-change-required")
    body = json_body()
    db = get_db()
    begin_write(db)
    secret, token = auth.create_token(db, user, body.get("scope"), body.get("name", ""), body.get("days"))
    record(db, user, "token.create", message=f"Token {token.prefix}... ({token.scope})")
    db.commit()
    return jsonify({"token": secret, **token_json(token)}), 201


@bp.delete("/tokens/<id:token_id>")
def revoke_token(token_id):
    """Revoke one of one's own tokens (an admin may revoke anyone's)."""
    user = current_user()
    _may_change_account()
    db = get_db()
    token = db.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not auth.has("users.manage")):
        raise NotFound("There is no such token.")
    begin_write(db)
    auth.revoke_token(db, token)
    record(db, user, "token.revoke", message=f"Token {token.prefix}...")
    db.commit()
    return jsonify(token_json(token))


@bp.get("/users")
@requires("users.manage")
def list_users():
    return jsonify({"users": [user_json(u) for u in get_db().scalars(select(User).order_by(User.id))]})


@bp.post("/users")
@requires("users.manage")
def create_user():
    """{"name", "role", "password", "email"?} (admin only)."""
    body = json_body()
    db = get_db()
    begin_write(db)
    user = auth.create_user(db, body.get("name"), body.get("role"), body.get("password"), body.get("email"),
                            must_change_password=bool(body.get("must_change_password", True)))
    record(db, current_user(), "user.create", message=f"{user.name} ({user.role})")
    db.commit()
    return jsonify(user_json(user)), 201


@bp.get("/audit")
@requires("audit.read")
def audit_log():
    """Every recorded action, newest first (?page, ?per_page, ?ruleset, ?action)."""
    page, size = page_args(50, 200)
    query = select(AuditEvent)
    if request.args.get("ruleset"):
        query = query.where(AuditEvent.ruleset == request.args["ruleset"])
    if request.args.get("action"):
        query = query.where(AuditEvent.action == request.args["action"])
    db = get_db()
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    events = db.scalars(query.order_by(AuditEvent.id.desc()).offset((page - 1) * size).limit(size))
    ws = workspace()
    return jsonify({"page": page, "per_page": size, "total": total, "events": [
        {"id": e.id, "at": e.at.isoformat(), "by": e.user.name if e.user else None, "action": e.action,
         "ruleset": e.ruleset, "rule": e.rule, "rule_name": _rule_name(ws, e), "version": e.version,
         "status": e.status, "why": e.message, "details": e.details} for e in events]})


def _rule_name(ws, e: AuditEvent) -> str | None:
    """Rules are named by their names: recorded with the row, else read from the version the row names."""
    if not e.rule:
        return None
    return (e.details or {}).get("rule_name") or ws.rule_name(e.ruleset, e.rule, e.version)
