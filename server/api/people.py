"""Signing in and out, one's own account and tokens, people (admin), and the audit log (auditor, admin).

The views parse HTTP and call one function of ``server/services/accounts.py`` (or ``server/auth.py`` for the
session cookie), which owns the transaction and its audit row.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from .. import auth
from ..auth import current_user, requires
from ..services import accounts
from ..services.errors import Forbidden, Invalid, SignInRequired
from .common import json_body, page_args, session, workspace
from .serializers import event_json, token_json, user_json
from .spec import NULL_S, PAGE_Q, B, I, S, arr, body, obj, op, ref

bp = Blueprint("api_people", __name__, url_prefix="/api")


def _person_json(u) -> dict:
    """user_json of one person, naming the admin who added them."""
    return user_json(u, accounts.creator_names(session(), [u]))


@bp.post("/session")
def sign_in():
    """{"name", "password"} -> a session cookie and the CSRF token for later writes. 401 wrong name or password,
    429 after too many failures."""
    body = json_body()
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise Invalid("Give your name and your password.", field="name")
    user, cookie, signed_in = auth.sign_in(session(), name, password, auth.client_address())
    response = jsonify({"user": _person_json(user), "csrf_token": signed_in.csrf_token})
    auth.set_session_cookie(response, cookie)
    return response


@bp.delete("/session")
def sign_out():
    """End the browser session for good (the cookie stops working even if copied). Needs the CSRF token."""
    if g.get("session") is None:
        raise SignInRequired("You are not signed in.")
    auth.sign_out(session(), g.session)
    response = jsonify({"signed_out": True})
    auth.clear_session_cookie(response)
    return response


@bp.get("/me")
def me():
    """Who is asking, with what role and permissions (and the CSRF token of a browser session). 401 if nobody."""
    user = current_user()
    body = {"user": _person_json(user), "permissions": sorted(g.permissions), "auth": g.auth}
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
    # Right after signing in with a one-time password the session itself proves it was typed: the page does not
    # ask for it a second time (sessions end when a one-time password is given, so this session was opened with it).
    just_proved = user.must_change_password and g.auth == "session"
    revoked = accounts.change_password(session(), user, body.get("old_password"), body.get("password"),
                                       keep_tokens=body.get("keep_tokens") is True, old_proved=just_proved)
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
    return jsonify({"tokens": [token_json(t) for t in accounts.tokens_of(session(), current_user())]})


@bp.post("/tokens")
def create_token():
    """{"scope": read|predict|write, "name"?, "days"?} -> the token, shown this once."""
    user = current_user()
    _may_change_account()
    if user.must_change_password and g.auth == "session":
        raise Invalid("Please choose a new password first.", code="password-change-required")
    body = json_body()
    secret, token = accounts.create_token(session(), user, body.get("scope"), body.get("name", ""),
                                          body.get("days"))
    return jsonify({"token": secret, **token_json(token)}), 201


@bp.delete("/tokens/<id:token_id>")
def revoke_token(token_id):
    """Revoke one of one's own tokens (an admin may revoke anyone's). 404 no such token."""
    user = current_user()
    _may_change_account()
    token = accounts.revoke_token(session(), user, token_id, anyones=auth.has("users.manage"))
    return jsonify(token_json(token))


@bp.get("/users")
@requires("users.manage")
def list_users():
    people = accounts.people(session())
    names = {u.id: u.name for u in people}
    return jsonify({"users": [user_json(u, names) for u in people]})


@bp.post("/users")
@requires("users.manage")
def create_user():
    """{"name", "role", "password", "email"?} (admin only)."""
    body = json_body()
    user = accounts.create_person(session(), current_user(), body.get("name"), body.get("role"),
                                  body.get("password"), body.get("email"),
                                  must_change_password=bool(body.get("must_change_password", True)))
    return jsonify(_person_json(user)), 201


# ---- people's lifecycle (admin); the same from the command line: rulecraft disable, enable, tokens, revoke-token,
# reset-password, unlock. Each is one audit row naming the admin and the person.

@bp.get("/users/<id:user_id>/tokens")
@requires("users.manage")
def person_tokens(user_id):
    """A person's tokens, never their secrets (admin). 404 no such person."""
    db = session()
    return jsonify({"tokens": [token_json(t) for t in accounts.tokens_of(db, accounts.person(db, user_id))]})


@bp.post("/users/<id:user_id>/tokens")
@requires("users.manage")
def make_person_token(user_id):
    """{"scope", "name"?, "days"?} -> a key for that person's program (admin), shown this once; it acts as the
    person, and the audit row names the admin who made it. 404 no such person, 422 a disabled person."""
    _may_change_account()
    body = json_body()
    db = session()
    secret, token = accounts.create_token(db, accounts.person(db, user_id), body.get("scope"), body.get("name", ""),
                                          body.get("days"), actor=current_user())
    return jsonify({"token": secret, **token_json(token)}), 201


def _lifecycle(user_id: int, action: str, message: str, password: str | None = None):
    db = session()
    person = accounts.change_person(db, current_user(), accounts.person(db, user_id), action, message, password)
    return jsonify(_person_json(person))


@bp.post("/users/<id:user_id>/disable")
@requires("users.manage")
def disable_user(user_id):
    """The person can no longer sign in; their sessions end and tokens are revoked at once (admin). 404 no such
    person, 422 the only active administrator."""
    return _lifecycle(user_id, "user.disable", "disabled; sessions ended, tokens revoked")


@bp.post("/users/<id:user_id>/enable")
@requires("users.manage")
def enable_user(user_id):
    """Able to sign in again (admin). 404 no such person."""
    return _lifecycle(user_id, "user.enable", "enabled")


@bp.post("/users/<id:user_id>/password")
@requires("users.manage")
def reset_password(user_id):
    """{"password"}: a one-time password, to be changed at the next sign-in; sessions end, tokens are revoked,
    failed sign-ins are forgotten (admin). 404 no such person, 422 a password not allowed."""
    return _lifecycle(user_id, "user.password-reset", "password reset (one-time); sessions ended, tokens revoked",
                      json_body().get("password"))


@bp.post("/users/<id:user_id>/unlock")
@requires("users.manage")
def unlock_user(user_id):
    """Forget the failed sign-ins counted against the person's account, so no wait remains (admin). 404 no such
    person."""
    return _lifecycle(user_id, "user.unlock", "failed sign-ins forgotten")


@bp.get("/audit")
@requires("audit.read")
def audit_log():
    """Every recorded action, newest first (?page, ?per_page, ?ruleset, ?action)."""
    page, size = page_args(50, 200)
    total, events = accounts.audit_events(session(), page, size, request.args.get("ruleset") or None,
                                          request.args.get("action") or None)
    ws = workspace()
    return jsonify({"page": page, "per_page": size, "total": total,
                    "events": [event_json(e, _rule_name(ws, e)) for e in events]})


def _rule_name(ws, e) -> str | None:
    """Rules are named by their names: recorded with the row, else read from the version the row names."""
    if not e.rule:
        return None
    return (e.details or {}).get("rule_name") or ws.rule_name(e.ruleset, e.rule, e.version)


# ---- OpenAPI (assembled by openapi.py)
TOKEN_P = {"name": "token_id", "in": "path", "required": True, "schema": I}
USER_P = {"name": "user_id", "in": "path", "required": True, "schema": I}
SCHEMAS = {
    "User": obj({"id": I, "name": S, "email": S, "role": S, "active": B, "must_change_password": B,
                 "created_by": NULL_S}, ["id", "name", "role"]),
    "Token": obj({"id": I, "name": S, "prefix": S, "scope": S, "created_at": S, "expires_at": S, "revoked": B,
                  "token": S}, ["id", "scope"]),
}
PATHS = {
    "/api/session": {
        "post": op("Sign in", obj({"user": ref("User"), "csrf_token": S}), codes=("400", "401", "422", "429"),
                   request=body(obj({"name": S, "password": S}, ["name", "password"])), secured=False),
        "delete": op("Sign out", obj({"signed_out": B}), codes=("401", "403"), secured=False)},
    "/api/me": {"get": op("Who am I", obj({"user": ref("User"), "permissions": arr(S), "auth": S,
                                          "csrf_token": S}))},
    "/api/me/password": {"post": op("Change my password (ends my sessions; revokes my tokens unless "
                                    "keep_tokens is true)", obj({"changed": B, "tokens_revoked": I}),
                                    codes=("400", "422"),
                                    request=body(obj({"old_password": S, "password": S, "keep_tokens": B})))},
    "/api/tokens": {
        "get": op("My tokens", obj({"tokens": arr(ref("Token"))})),
        "post": op("Create a token (shown once)", ref("Token"), status="201", codes=("400", "422"),
                   request=body(obj({"scope": {"enum": ["read", "predict", "write", "metrics"]}, "name": S,
                                     "days": I}, ["scope"])))},
    "/api/tokens/{token_id}": {"delete": op("Revoke a token", ref("Token"), codes=("404",), params=[TOKEN_P])},
    "/api/users": {
        "get": op("People (admin)", obj({"users": arr(ref("User"))})),
        "post": op("Add a person (admin)", ref("User"), status="201", codes=("400", "422"),
                   request=body(obj({"name": S, "role": S, "password": S, "email": S},
                                    ["name", "role", "password"])))},
    "/api/users/{user_id}/tokens": {
        "get": op("A person's tokens (admin)", obj({"tokens": arr(ref("Token"))}), codes=("404",), params=[USER_P]),
        "post": op("Make a token for a person's program (admin; shown once)", ref("Token"), status="201",
                   codes=("400", "404", "422"), params=[USER_P],
                   request=body(obj({"scope": {"enum": ["read", "predict", "write", "metrics"]}, "name": S,
                                     "days": I}, ["scope"])))},
    "/api/users/{user_id}/disable": {"post": op("Disable a person: sessions end and tokens are revoked at once "
                                                "(admin)", ref("User"), codes=("404", "422"), params=[USER_P])},
    "/api/users/{user_id}/enable": {"post": op("Enable a person again (admin)", ref("User"), codes=("404",),
                                               params=[USER_P])},
    "/api/users/{user_id}/password": {"post": op("Reset a password to a one-time password; sessions end, tokens "
                                                 "are revoked (admin)", ref("User"), codes=("400", "404", "422"),
                                                 params=[USER_P], request=body(obj({"password": S}, ["password"])))},
    "/api/users/{user_id}/unlock": {"post": op("Forget a person's failed sign-ins (admin)", ref("User"),
                                               codes=("404",), params=[USER_P])},
    "/api/audit": {"get": op("The audit log", obj({"page": I, "per_page": I, "total": I,
                                                   "events": arr({"type": "object"})}),
                             codes=("422",), params=PAGE_Q + [{"name": "ruleset", "in": "query", "schema": S},
                                                               {"name": "action", "in": "query", "schema": S}])},
}
