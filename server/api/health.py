"""Probes for a load balancer or an orchestrator: unauthenticated, cheap, never an error page.

``GET /healthz``: the process answers (nothing else is looked at, so a database outage never gets a healthy
worker restarted). ``GET /readyz``: this worker can serve: the database answers and its schema is the one this
code needs, the rules repository can be read, and the latest release of every rule set is compiled in this worker
(compiled on the first call if warm-up has not done it; later calls find it cached). 200 when ready, 503 when not,
with one plain line per check. The answers name no rule set, person or address: details go to the server log.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..db import reads
from ..services import releases
from .common import workspace

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

PROBES = frozenset({"/healthz", "/readyz"})  # answered without looking at credentials (server/app.py)


@bp.get("/healthz")
def healthz():
    """The process answers. Looks at nothing else."""
    return _no_store(jsonify({"status": "ok"}))


@bp.get("/readyz")
def readyz():
    """Whether this worker can serve: 200 ready, 503 not (each check says what is wrong)."""
    checks = {"database": _database(), "repository": None, "releases": None}
    checks["repository"], head = _repository()
    if checks["repository"] == "ok" and checks["database"] == "ok":
        checks["releases"] = _releases(head)
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


def _database() -> str:
    try:
        with reads() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not reachable" to a probe; the log has the cause
        log.warning("readiness: the database cannot be reached", exc_info=True)
        return "The database cannot be reached."
    try:
        with reads() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - no such table: a database that was never migrated
        revision = None
    if revision != _schema_head():
        log.warning("readiness: database schema at %s, this code needs %s", revision, _schema_head())
        return "The database schema is not the one this version needs: run 'rulecraft db upgrade'."
    return "ok"


def _repository() -> tuple[str, str | None]:
    store = workspace().store
    if not (store.path / "HEAD").is_file():
        log.warning("readiness: no Git repository at %s", store.path)
        return "The rules repository is missing.", None
    try:
        return "ok", store.head()
    except Exception:  # noqa: BLE001
        log.warning("readiness: the rules repository cannot be read", exc_info=True)
        return "The rules repository cannot be read.", None


def _releases(head: str | None) -> str:
    """The latest release of each rule set compiled in this worker (cached after the first time)."""
    ws = workspace()
    compiled = failed = 0
    for ruleset in ws.ruleset_ids(head) if head else []:
        try:
            with reads() as connection:
                generation = releases.generation(connection, ruleset)
            latest = ws.latest_release(ruleset, generation)
            if latest is None:
                continue
            ws.ruleset(ruleset, latest.version).matches_row  # noqa: B018 - compiles the per-row function
            compiled += 1
        except Exception:  # noqa: BLE001
            log.warning("readiness: the latest release of %s cannot be compiled", ruleset, exc_info=True)
            failed += 1
    if failed:
        return (f"{failed} released version{'s' * (failed != 1)} cannot be compiled (the server log names "
                f"{'them' if failed != 1 else 'it'}).")
    return f"ok: {compiled} released version{'s' * (compiled != 1)} compiled"
