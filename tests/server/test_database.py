"""The database on SQLite and PostgreSQL: migrations up, down and up again; the API works on both."""
from __future__ import annotations

import sqlalchemy as sa

from server import migrate
from tests.server.conftest import FIXTURES, Workspace, make_app

TABLES = {"users", "sessions", "api_tokens", "signin_throttle", "releases", "audit_events", "datasets",
          "shadows"}


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_up_down_up(database_url):
    migrate.upgrade(database_url)
    assert tables(database_url) == TABLES
    migrate.downgrade(database_url, "base")
    assert tables(database_url) == set()
    migrate.upgrade(database_url)
    assert tables(database_url) == TABLES
    engine = sa.create_engine(database_url)
    assert migrate.current(engine) == migrate.head(database_url)
    engine.dispose()


def test_models_match_the_migrations(database_url):
    """Autogenerate finds nothing to do: the models and the migration scripts describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.models import Base

    migrate.upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_a_save_and_a_release_on_each_database(tmp_path, database_url):
    app = make_app(tmp_path / "data", database_url)
    w = Workspace(app)
    for name, role in (("Ana", "author"), ("Rui", "reviewer")):
        w.add_person(name, role)
    w.import_folder(FIXTURES / "sepsis-triage")
    api = w.as_("Ana")
    created = api.post("/api/rulesets/sepsis-triage/rules",
                       json={"text": 'rule "Cold"\nwhen temperature is below 35', "why": "Hypothermia"})
    assert created.status_code == 201, created.get_json()
    requested = api.post("/api/rulesets/sepsis-triage/releases", json={}).get_json()
    approved = w.as_("Rui").post(f"/api/rulesets/sepsis-triage/releases/{requested['id']}/approve", json={})
    assert approved.get_json()["name"] == "v1"
    audit = w.as_("Rui").get("/api/rulesets/sepsis-triage/history").get_json()
    assert audit["total"] == 2
    # the per-request reads (token check, release generation) on each database
    predicted = api.post("/api/rulesets/sepsis-triage/predict", json={"case": {"temperature": 34}})
    assert predicted.status_code == 200 and predicted.get_json()["release"] == "v1", predicted.get_json()
    token_id = api.get("/api/tokens").get_json()["tokens"][0]["id"]
    assert api.delete(f"/api/tokens/{token_id}").status_code == 200
    assert api.get("/api/me").status_code == 401
    w.close()
