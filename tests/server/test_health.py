"""Probes for a load balancer (issue 20, item 3): /healthz (the process answers) and /readyz (the database answers
at the schema this code needs, the repository can be read, the latest releases are compiled), unauthenticated,
documented, and answered by the real server process."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from test_process import Server

from server.api.openapi import document
from tests.server.conftest import close_app

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROBES = ("/healthz", "/readyz")


def test_healthz_answers_without_credentials(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_probes_ignore_credentials_they_do_not_need(app):
    """A load balancer replaying a stale cookie or a bad token still gets an answer (and no database work)."""
    client = app.test_client()
    client.set_cookie("rulecraft_session", "stale")
    for path in PROBES:
        response = client.get(path, headers={"Authorization": "Basic not-a-token"})
        assert response.status_code == 200, (path, response.get_json())


def test_readyz_counts_the_released_versions_it_compiled(ws):
    client = ws.app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json() == {"status": "ready", "checks": {
        "database": "ok", "repository": "ok", "releases": "ok: 0 released versions compiled"}}
    requested = ws.as_("Ana").post(f"/api/rulesets/{ws.ruleset}/releases", json={})
    assert requested.status_code == 201, requested.get_json()
    approved = ws.as_("Rui").post(f"/api/rulesets/{ws.ruleset}/releases/{requested.get_json()['id']}/approve",
                                  json={"comment": "ok"})
    assert approved.status_code == 200, approved.get_json()
    ready = client.get("/readyz").get_json()
    assert ready["checks"]["releases"] == "ok: 1 released version compiled"
    workspace = ws.app.extensions["rulecraft.workspace"]
    release = workspace.latest_release(ws.ruleset)
    assert (ws.ruleset, release.version) in workspace._cache  # compiled in this worker, ready for predictions


def test_readyz_is_503_when_the_database_cannot_be_reached(tmp_path):
    """Nothing listens on port 1 of the loopback address: the database is down. /healthz still answers."""
    app = make_app_without_migrating(tmp_path / "data", "postgresql+psycopg://rulecraft@127.0.0.1:1/rulecraft")
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "not ready"
        assert body["checks"]["database"] == "The database cannot be reached."
        assert body["checks"]["releases"].startswith("Not checked")
        assert "127.0.0.1" not in response.get_data(as_text=True)  # no address or URL for anonymous callers
        assert response.headers["Retry-After"]
    finally:
        close_app(app)


def test_readyz_is_503_on_a_schema_this_code_does_not_know(app):
    engine = sa.create_engine(app.config["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'not_a_revision'"))
    engine.dispose()  # a pooled PostgreSQL connection left open warns (an error) in whichever test runs next
    body = app.test_client().get("/readyz").get_json()
    assert body["checks"]["database"] == ("The database schema is not the one this version needs: run "
                                          "'rulecraft db upgrade'.")
    assert body["status"] == "not ready"


def test_readyz_is_503_when_the_repository_is_gone(ws):
    repository = ws.app.config["REPOSITORY"]
    shutil.move(repository, repository.with_name("moved.git"))
    response = ws.app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["repository"] == "The rules repository is missing."


def make_app_without_migrating(data_dir: Path, database_url: str):
    from server import create_app

    data_dir.mkdir(parents=True, exist_ok=True)
    return create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                       "TESTING": True})


def test_probes_are_documented(app):
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("health.")}
    assert routes == set(PROBES)
    paths = document()["paths"]
    table = (DOCS / "api.md").read_text(encoding="utf-8")
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    for path in routes:
        assert paths[path]["get"]["security"] == [], path
        assert re.search(rf"^\| `GET {path}` \|", table, flags=re.M), f"{path} is not in docs/api.md's paths table"
        assert path in operations, f"{path} is not in docs/operations.md"


@pytest.mark.slow
def test_probes_of_the_real_server_process(tmp_path):
    server = Server(tmp_path / "data", "--demo")
    try:
        for _ in range(6):  # both workers
            assert requests.get(f"{server.url}/healthz", timeout=10).json() == {"status": "ok"}
            ready = requests.get(f"{server.url}/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["releases"] == "ok: 1 released version compiled"
    finally:
        server.stop()
