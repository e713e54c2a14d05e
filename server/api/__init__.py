"""The JSON API, one blueprint per feature; documented at /api/openapi.json."""
from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from . import check, datasets, history, people, predict, releases, rulesets

    for module in (rulesets, history, check, predict, releases, people, datasets):
        app.register_blueprint(module.bp)
    try:
        from . import openapi
    except ImportError:  # written alongside; absent only in partial checkouts
        return
    app.register_blueprint(openapi.bp)
