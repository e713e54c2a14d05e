"""The browser editor: pages for authors, reviewers, auditors and ML engineers, served by one blueprint.

Layer rule: this package renders page shells and guards them by role; it decides nothing about rules. Every
piece of data reaches the page through the JSON API (server/api), fetched by small ES modules in static/js with
the session cookie and the CSRF token the shell carries. It imports Flask and, for who is signed in, server.auth;
nothing else of the server, and rules_dsl only for the table of units the form offers.

No build step: templates/ are Jinja (autoescaped), static/ is served as is. The pages work under the server's
Content-Security-Policy: no inline scripts or styles, no event-handler attributes, data shown with textContent.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
