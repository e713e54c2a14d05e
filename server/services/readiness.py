"""The readiness checks behind ``GET /readyz`` (server/api/health.py): the database, the rules repository, and
the latest release of every rule set compiled in this worker. Each answers one plain line, "ok" (or "ok: ...")
when ready; what is wrong in detail goes to the server log, never into the answer (it names no rule set)."""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import text

from ..db import reads
from . import releases
from .workspace import Workspace

log = logging.getLogger("server.api.health")  # the name operators already filter on


def database(schema_head: Callable[[], str]) -> str:
    """The database answers, and its schema is ``schema_head()`` (asked only once the database answers)."""
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
    if revision != schema_head():
        log.warning("readiness: database schema at %s, this code needs %s", revision, schema_head())
        return "The database schema is not the one this version needs: run 'rulecraft db upgrade'."
    return "ok"


def repository(ws: Workspace) -> tuple[str, str | None]:
    """("ok", the latest version) when the rules repository can be read."""
    if not ws.has_repository():
        log.warning("readiness: no Git repository at %s", ws.repository_path)
        return "The rules repository is missing.", None
    try:
        return "ok", ws.head()
    except Exception:  # noqa: BLE001
        log.warning("readiness: the rules repository cannot be read", exc_info=True)
        return "The rules repository cannot be read.", None


def released_versions(ws: Workspace, head: str | None) -> str:
    """The latest release of each rule set compiled in this worker (cached after the first time)."""
    compiled = failed = 0
    for ruleset in ws.ruleset_ids(head) if head else []:
        try:
            latest = ws.latest_release(ruleset, releases.current_generation(ruleset))
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
