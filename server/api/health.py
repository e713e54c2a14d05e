"""Probes for a load balancer or an orchestrator: unauthenticated, cheap, never an error page.

``GET /healthz``: the process answers (nothing else is looked at, so a database outage never gets a healthy
worker restarted). ``GET /readyz``: this worker can serve: the database answers and its schema is the one this
code needs, the rules repository can be read, and the latest release of every rule set is compiled in this worker
(compiled on the first call if warm-up has not done it; later calls find it cached). 200 when ready, 503 when not,
with one plain line per check. The answers name no rule set, person or address: details go to the server log.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..services import readiness
from .common import workspace
from .spec import S, obj, op

bp = Blueprint("health", __name__)

PROBES = frozenset({"/healthz", "/readyz"})  # answered without looking at credentials (server/app.py)


@bp.get("/healthz")
def healthz():
    """The process answers. Looks at nothing else."""
    return _no_store(jsonify({"status": "ok"}))


@bp.get("/readyz")
def readyz():
    """Whether this worker can serve: 200 ready, 503 not (each check says what is wrong)."""
    ws = workspace()
    checks = {"database": readiness.database(_schema_head), "repository": None, "releases": None}
    checks["repository"], head = readiness.repository(ws)
    if checks["repository"] == "ok" and checks["database"] == "ok":
        checks["releases"] = readiness.released_versions(ws, head)
    else:
        checks["releases"] = "Not checked: it needs the database and the repository."
    ready = all(value == "ok" or value.startswith("ok:") for value in checks.values())
    response = jsonify({"status": "ready" if ready else "not ready", "checks": checks})
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "5"
    return _no_store(response)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _schema_head() -> str:
    """The schema revision this code needs (read from the migration scripts once per app)."""
    known = current_app.extensions.get("rulecraft.schema_head")
    if known is None:
        from .. import migrate

        known = current_app.extensions["rulecraft.schema_head"] = migrate.head(current_app.config["DATABASE_URL"])
    return known


# ---- OpenAPI (assembled by openapi.py): probes for a load balancer (docs/operations.md)
READY = obj({"status": {"enum": ["ready", "not ready"]},
             "checks": obj({"database": S, "repository": S, "releases": S}, ["database", "repository", "releases"])},
            ["status", "checks"])
NOT_READY = {"description": "Not ready (the checks say why)", "content": {"application/json": {"schema": READY}}}
PATHS = {
    "/healthz": {"get": op("The process answers (nothing else is checked)", obj({"status": S}, ["status"]),
                           secured=False)},
    # a readiness probe answers 503 with the same shape as its 200 (what is not ready), not an Error
    "/readyz": {"get": op("This worker can serve: database, repository, compiled releases (503 when not, each "
                          "check saying what is wrong)", READY, secured=False, responses={"503": NOT_READY})},
}
