"""The JSON API, one blueprint per feature; documented at /api/openapi.json (openapi.py)."""
from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from . import analysis, check, datasets, health, history, openapi, people, predict, releases, rulesets

    for module in (rulesets, history, check, predict, releases, people, datasets, analysis, openapi, health):
        app.register_blueprint(module.bp)
