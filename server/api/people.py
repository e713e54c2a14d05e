"""Signing in and out, one's own account and tokens, people (admin), and the audit log (auditor, admin)."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select

from .. import auth
from ..auth import current_user, requires
from ..db import begin_write, get_db
from ..models import ApiToken, AuditEvent, User
from ..services.changes import record
from ..services.errors import Forbidden, Invalid, NotFound, SignInRequired
from .common import json_body, page_args, workspace

bp = Blueprint("api_people", __name__, url_prefix="/api")


def user_json(u: User, creators: dict[int, str] | None = None) -> dict:
    """A person; ``created_by`` names the admin who added them (None: made on the command line)."""
    if creators is None:
        creator = get_db().get(User, u.created_by) if u.created_by else None
        creators = {creator.id: creator.name} if creator else {}
    return {"id": u.id, "name": u.name, "email": u.email, "role": u.role, "active": u.active,
            "must_change_password": u.must_change_password, "created_by": creators.get(u.created_by)}


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
        raise Invalid("Give your name and your password.", field="name")
    user, cookie, session = auth.sign_in(get_db(), name, password, auth.client_address())
    response = jsonify({"user": user_json(user), "csrf_token": session.csrf_token})
    auth.set_session_cookie(response, cookie)
    return response


@bp.delete("/session")
def sign_out():
    """End the browser session for good (the cookie stops working even if copied). Needs the CSRF token."""
    if g.get("session") is None:
        raise SignInRequired("You are not signed in.")
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
    """{"old_password", "password", "keep_tokens"?}; ends every session of the person (sign in again) and revokes
    their tokens unless keep_tokens is true. 403 wrong current password, 422 a password not allowed."""
    user = current_user()
    _may_change_account()
    body = json_body()
    db = get_db()
    begin_write(db)
    revoked = auth.change_password(db, user, body.get("old_password"), body.get("password"),
                                   keep_tokens=body.get("keep_tokens") is True)
    record(db, user, "user.password", message="Password changed" + (f"; {revoked} token(s) revoked" if revoked
                                                                    else ""), details={"tokens_revoked": revoked})
    db.commit()
    response = jsonify({"changed": True, "tokens_revoked": revoked})
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
        raise Invalid("Please choose a new password first.", code="password-change-required")
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
    owner = f" of {token.user.name}" if token.user_id != user.id else ""
    record(db, user, "token.revoke", message=f"Token {token.prefix}...{owner}", details={"user": token.user_id})
    db.commit()
    return jsonify(token_json(token))


@bp.get("/users")
@requires("users.manage")
def list_users():
    people = list(get_db().scalars(select(User).order_by(User.id)))
    names = {u.id: u.name for u in people}
    return jsonify({"users": [user_json(u, names) for u in people]})


@bp.post("/users")
@requires("users.manage")
def create_user():
    """{"name", "role", "password", "email"?} (admin only)."""
    body = json_body()
    db = get_db()
    begin_write(db)
    admin = current_user()
    user = auth.create_user(db, body.get("name"), body.get("role"), body.get("password"), body.get("email"),
                            must_change_password=bool(body.get("must_change_password", True)), created_by=admin)
    record(db, admin, "user.create", message=f"{user.name} ({user.role})",
           details={"user": user.id, "role": user.role})
    db.commit()
    return jsonify(user_json(user)), 201


# ---- people's lifecycle (admin); the same from the command line: rulecraft disable, enable, tokens, revoke-token,
# reset-password, unlock. Each is one audit row naming the admin and the person.

def _person(user_id: int) -> User:
    user = get_db().get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    return user


@bp.get("/users/<id:user_id>/tokens")
@requires("users.manage")
def person_tokens(user_id):
    """A person's tokens, never their secrets (admin). 404 no such person."""
    return jsonify({"tokens": [token_json(t) for t in auth.tokens_of(get_db(), _person(user_id))]})


def _lifecycle(user_id: int, action: str, change, message: str, status: int = 200, **extra):
    person = _person(user_id)
    db = get_db()
    begin_write(db)
    change(db, person)
    record(db, current_user(), action, message=f"{person.name}: {message}", details={"user": person.id})
    db.commit()
    return jsonify({**user_json(person), **extra}), status


@bp.post("/users/<id:user_id>/disable")
@requires("users.manage")
def disable_user(user_id):
    """The person can no longer sign in; their sessions end and tokens are revoked at once (admin). 404 no such
    person, 422 the only active administrator."""
    return _lifecycle(user_id, "user.disable", auth.disable_user, "disabled; sessions ended, tokens revoked")


@bp.post("/users/<id:user_id>/enable")
@requires("users.manage")
def enable_user(user_id):
    """Able to sign in again (admin). 404 no such person."""
    return _lifecycle(user_id, "user.enable", auth.enable_user, "enabled")


@bp.post("/users/<id:user_id>/password")
@requires("users.manage")
def reset_password(user_id):
    """{"password"}: a one-time password, to be changed at the next sign-in; sessions end, tokens are revoked,
    failed sign-ins are forgotten (admin). 404 no such person, 422 a password not allowed."""
    password = json_body().get("password")
    return _lifecycle(user_id, "user.password-reset", lambda db, p: auth.reset_password(db, p, password),
                      "password reset (one-time); sessions ended, tokens revoked")


@bp.post("/users/<id:user_id>/unlock")
@requires("users.manage")
def unlock_user(user_id):
    """Forget the failed sign-ins counted against the person's account, so no wait remains (admin). 404 no such
    person."""
    return _lifecycle(user_id, "user.unlock", auth.unlock, "failed sign-ins forgotten")


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
