"""Fixtures for the server: a real app on a temporary data folder (real Git repository), on each real database
(SQLite in the data folder, and a fresh database on the PostgreSQL server named by RULECRAFT_TEST_POSTGRES_URL),
people of every role, and clients acting as them."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

import rules_dsl
from server import auth, create_app, migrate
from server.db import session_factory
from server.services.rules import import_ruleset

FIXTURES = Path(__file__).parent.parent / "fixtures"
ROLES = ("admin", "author", "reviewer", "auditor", "ml-engineer")
PASSWORD = "correct horse battery"


def postgres_url() -> str | None:
    return os.environ.get("RULECRAFT_TEST_POSTGRES_URL")


def no_postgres() -> None:
    """Skip the test, or fail it when RULECRAFT_REQUIRE_POSTGRES=1 (CI, which starts a server: .ci/run), like the
    browser tests' RULECRAFT_REQUIRE_BROWSER: a PostgreSQL run that silently skipped would prove nothing."""
    why = "PostgreSQL tests need RULECRAFT_TEST_POSTGRES_URL (CI starts a server: see .ci/run)"
    if os.environ.get("RULECRAFT_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{why}; RULECRAFT_REQUIRE_POSTGRES=1 says they must run here")
    pytest.skip(why)


@contextmanager
def fresh_postgres_database(template: str | None = None):
    """A new database on the PostgreSQL server named by RULECRAFT_TEST_POSTGRES_URL, dropped afterwards: empty, or
    a copy of ``template`` (the test is skipped when no server is named; see no_postgres)."""
    base = postgres_url()
    if not base:
        no_postgres()
    name = f"rc_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# Every test of the server runs on both databases: the embedded SQLite and PostgreSQL (locking, transactions and
# constraints differ: with_for_update, for one, is a no-op on SQLite).
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    """A fresh, empty database of each kind (PostgreSQL tests are skipped when no server is given)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rulecraft.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def migrated_postgres():
    """The name of a PostgreSQL database migrated once per run, copied for each test (CREATE DATABASE ...
    TEMPLATE takes ~0.1 s; migrating a new database each time took ~1 s)."""
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        yield sa.engine.make_url(url).database


@pytest.fixture(params=DATABASES)
def app_database_url(request, tmp_path):
    """The database of the ``app`` fixture: SQLite in the data folder, or a migrated PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}"
        return
    with fresh_postgres_database(template=request.getfixturevalue("migrated_postgres")) as url:
        yield url


def make_app(data_dir: Path, database_url: str, **extra):
    data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(database_url)
    config = {"DATA_DIR": data_dir, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True,
              "PASSWORD_METHOD": "pbkdf2:sha256:1000", **extra}
    return create_app(config)


@dataclass
class Person:
    id: int
    name: str
    role: str
    token: str


class Api:
    """A test client speaking JSON as one person, with a write-scoped token (or as nobody)."""

    def __init__(self, client, person: Person | None):
        self.client = client
        self.person = person

    def _headers(self, headers):
        out = dict(headers or {})
        if self.person is not None:
            out.setdefault("Authorization", f"Bearer {self.person.token}")
        return out

    def get(self, path, headers=None, **kw):
        return self.client.get(path, headers=self._headers(headers), **kw)

    def post(self, path, json=None, headers=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(headers), **kw)

    def put(self, path, json=None, headers=None, **kw):
        return self.client.put(path, json=json, headers=self._headers(headers), **kw)

    def delete(self, path, json=None, headers=None, **kw):
        return self.client.delete(path, json=json, headers=self._headers(headers), **kw)


class Workspace:
    """An app with people of every role and a rule set to work on."""

    def __init__(self, app):
        self.app = app
        self.sessions = session_factory(app.config["DATABASE_URL"])
        self.people: dict[str, Person] = {}

    def close(self) -> None:
        self.sessions.kw["bind"].dispose()
        close_app(self.app)

    def add_person(self, name: str, role: str, scope: str = "write") -> Person:
        with self.app.app_context(), self.sessions() as db:
            user = auth.create_user(db, name, role, PASSWORD, f"{name.lower().replace(' ', '.')}@example.org")
            secret, _ = auth.create_token(db, user, scope)
            db.commit()
            person = Person(user.id, user.name, role, secret)
        self.people[name] = person
        return person

    def as_(self, name: str | None) -> Api:
        return Api(self.app.test_client(), self.people[name] if name else None)

    def import_folder(self, folder: Path, by: str = "Ana", why: str = "Start") -> str:
        with self.app.app_context(), self.sessions() as db:
            user = auth.find_user(db, by)
            ruleset_id, _ = import_ruleset(self.app.extensions["rulecraft.workspace"], db, user,
                                           rules_dsl.load(folder), why)
        return ruleset_id


def close_app(app) -> None:
    """Release what an app holds open (database connections, Git helper processes)."""
    shadower = app.extensions.get("rulecraft.shadower")
    if shadower is not None:
        shadower.close()
    app.extensions["rulecraft.engine"].dispose()
    app.extensions["rulecraft.store"].close()


@pytest.fixture
def app(tmp_path, app_database_url):
    app = make_app(tmp_path / "data", app_database_url)
    yield app
    close_app(app)


@pytest.fixture
def ws(app):
    """People: Ana (author), Bea (author), Rui (reviewer), Rosa (reviewer), Alex (auditor), Mia (ml-engineer),
    Ada (admin); rule set 'sepsis-triage' imported by Ana."""
    w = Workspace(app)
    for name, role in (("Ana", "author"), ("Bea", "author"), ("Rui", "reviewer"), ("Rosa", "reviewer"),
                       ("Alex", "auditor"), ("Mia", "ml-engineer"), ("Ada", "admin")):
        w.add_person(name, role)
    w.ruleset = w.import_folder(FIXTURES / "sepsis-triage")
    yield w
    w.sessions.kw["bind"].dispose()
