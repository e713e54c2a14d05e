"""Rulecraft's server: Flask app factory, JSON API, people and roles, services, the Git store and the CLI.

Layer rules: views translate HTTP and call services; services decide and orchestrate rules_dsl, the store and the
database; ``store`` is the only package that runs Git; nothing is built at import time.
"""


def create_app(test_config: dict | None = None):
    """Build the Flask app (see server/app.py); ``test_config`` overrides configuration for tests."""
    from .app import build_app

    return build_app(test_config)
