"""The JSON API, one blueprint per feature; documented at /api/openapi.json (openapi.py).

Views translate HTTP: they parse the request, call one service (``server/services``) and answer. They import
neither the models nor the database module (``common.session()`` hands the request's Session to the services)
and never reach the Git store (the workspace answers for it). Enforced by tests/server/test_layers.py.
Views raise the domain's errors (``server/services/errors.py``) like the services; ``errors.py`` here is the one
table from those errors to HTTP status codes and JSON bodies.

A new route goes in its feature's module (a new module is listed once, in parts.py), and its OpenAPI
description at that module's end (``PATHS``; ``SCHEMAS`` for shapes only it answers with), written with spec.py;
openapi.py assembles the parts, and docs/api.md lists the path. Domain objects become JSON in serializers.py; an
answer carrying a version as its ETag is ``common.with_etag``.
"""
from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from . import openapi
    from .parts import FEATURES

    for module in (*FEATURES, openapi):
        app.register_blueprint(module.bp)
