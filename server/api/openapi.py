"""The OpenAPI 3 document of the API, served at /api/openapi.json.

Each blueprint module describes its own routes at its end (``PATHS``, and ``SCHEMAS`` for the shapes only it
answers with), written in the words of spec.py; this module puts them together. Tests check that every route is
documented and that responses match their schemas (tests/server/test_openapi.py). Paths and their shapes are a
contract scripts rely on.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from . import spec
from .parts import FEATURES
from .spec import op

bp = Blueprint("api_openapi", __name__, url_prefix="/api")

PATHS = {
    "/api/openapi.json": {"get": op("This document", {"type": "object"}, secured=False)},
    # the view is in server/metrics.py (a plain route, not a blueprint of this package)
    "/metrics": {"get": op("Prometheus metrics (text format): open when the server runs with --metrics, "
                           "else a token of scope 'metrics' (or an admin)", {"type": "string"},
                           ok_type="text/plain")},
}


def _merged(tables) -> dict:
    """One table from several; a name given twice is a mistake, not an override."""
    merged = {}
    for table in tables:
        for name, value in table.items():
            if name in merged:
                raise ValueError(f"{name} is described twice in the OpenAPI parts")
            merged[name] = value
    return merged


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Rulecraft API", "version": "1",
                 "description": "Plain-language expert rules: edit with a reason, review, release, predict. "
                                "Sign in for a session cookie (writes then need X-CSRF-Token) or send "
                                "'Authorization: Bearer rc_...'."},
        "servers": [{"url": "/"}],
        "components": {"schemas": _merged([spec.SCHEMAS] + [getattr(m, "SCHEMAS", {}) for m in FEATURES]),
                       "securitySchemes": {
                           "token": {"type": "http", "scheme": "bearer"},
                           "session": {"type": "apiKey", "in": "cookie", "name": "rulecraft_session"}}},
        "security": [{"token": []}, {"session": []}],
        "paths": _merged([m.PATHS for m in FEATURES] + [PATHS]),
    }


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI 3 document. Never aborts."""
    return jsonify(document())
