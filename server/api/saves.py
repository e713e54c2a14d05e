"""Named saves over HTTP: a change sent with an ``Idempotency-Key`` header (a UUID the client makes for one
change and sends again with every retry of it) is saved under that id, and a retry of a save already made answers
200 with its version instead of a conflict with the author's own change (services/saving.py ``already_made``).
Not a blueprint: hooks run for every write under /api/, after the identity is known (app.py)."""
from __future__ import annotations

import uuid

from flask import g, jsonify, request

from .. import auth
from ..services import saving
from ..services.errors import Malformed
from .common import session, workspace

HEADER = "Idempotency-Key"


def before_write():
    """Answers a retry of a save already made; otherwise names the save about to be made. Aborts with 400 for a
    key that is not a UUID, 422 for a key of another person's save, 503 while the first attempt is still running."""
    sent = request.headers.get(HEADER)
    if sent is None or request.method in ("GET", "HEAD", "OPTIONS") or not request.path.startswith("/api/"):
        return None
    try:
        save_id = str(uuid.UUID(sent.strip()))
    except ValueError:
        raise Malformed(f"The {HEADER} header must be a UUID, made by the client for one change.",
                        field=HEADER) from None
    if g.get("auth") is None:
        return None  # the view answers 401
    saved = saving.already_made(session(), workspace(), auth.current_user(), save_id)
    if saved is not None:
        version = saved.version.id
        made = {"ruleset": saved.event.ruleset, "rule": saved.event.rule}
        if request.method == "POST" and request.path.rstrip("/") == "/api/rulesets":
            made["id"] = saved.event.ruleset  # as the first answer to a new rule set named it
        response = jsonify({"saved": True, "already_saved": True, "version": version, "save_id": save_id, **made,
                            "message": f"This change was already saved (version {version[:12]}); it was not saved "
                                       "twice."})
        response.headers["ETag"] = f'"{version}"'
        return response
    g.save_id_token = saving.requested_save_id.set(save_id)
    return None


def forget(_error=None) -> None:
    token = g.pop("save_id_token", None)
    if token is not None:
        saving.requested_save_id.reset(token)
