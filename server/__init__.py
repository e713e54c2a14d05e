"""Rulecraft's server: Flask app factory, JSON API, people and roles, services, the Git store and the CLI.

Layer rules: views translate HTTP and call services; services decide and orchestrate rules_dsl, the store and the
database; ``store`` is the only package that runs Git; nothing is built at import time.
"""


def create_app(test_config: dict | None = None):
    """The app factory, ``server/app.py``'s ``create_app``; imported on call so that ``import server`` (the CLI's
    language commands, say) does not load Flask."""
    from .app import create_app as build

    return build(test_config)
