"""Fixtures of the reliability suite: a data folder built like the commands build it, the real server process.

Environment variables (the defaults keep the normal run of tests/reliability within a few minutes):
    RULECRAFT_CRASH_REPETITIONS   kills per fault point in the crash suite (default 1; the documented run uses 5)
    RULECRAFT_FUZZ_EXAMPLES       examples per API operation for schemathesis (default 12)
    RULECRAFT_CONCURRENCY_SAVES   saves per writer process in the concurrency suite (default 12)
"""
from __future__ import annotations

import os

import pytest

from bench.reliability.harness import make_workspace
from tests.server.conftest import DATABASES, fresh_postgres_database


def env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


@pytest.fixture
def workspace(tmp_path):
    """A fresh data folder: ten people with write tokens, the sepsis rule set, release v1."""
    return make_workspace(tmp_path / "data")


@pytest.fixture(params=DATABASES)
def database_url(request):
    """Each database the server runs on: None, the embedded SQLite database in the data folder (as `rulecraft
    serve` makes it), and a fresh database on the PostgreSQL server named by RULECRAFT_TEST_POSTGRES_URL."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def workspace_on_each_database(tmp_path, database_url):
    """``workspace`` on SQLite and on PostgreSQL (its ``database_url`` says which; None for SQLite)."""
    return make_workspace(tmp_path / "data", database_url)


class InProcess:
    """The app built by the factory on a data folder from ``make_workspace``, with clients acting as its people."""

    def __init__(self, tmp_path):
        from server import create_app

        self.ws = make_workspace(tmp_path / "data")
        self.app = create_app({"DATA_DIR": self.ws.data_dir, "SECRET_KEY": "test-secret", "TESTING": True,
                               "PASSWORD_METHOD": "pbkdf2:sha256:1000"})
        self.tokens = self.ws.tokens

    def headers(self, who: str | None, **extra) -> dict:
        out = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        out.update(extra)
        return out

    def call(self, who: str | None, method: str, path: str, headers=None, **kw):
        client = self.app.test_client()
        return client.open(path, method=method, headers=self.headers(who, **(headers or {})), **kw)

    def head(self) -> str:
        return self.app.extensions["rulecraft.workspace"].head()

    def signed_in(self, name: str = "Ana"):
        """A test client holding a browser session; returns (client, csrf token)."""
        from bench.reliability.harness import PASSWORD

        client = self.app.test_client()
        response = client.post("/api/session", json={"name": name, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        return client, response.get_json()["csrf_token"]

    def close(self) -> None:
        self.app.extensions["rulecraft.engine"].dispose()
        self.app.extensions["rulecraft.store"].close()


@pytest.fixture
def inproc(tmp_path):
    """The Flask app in this process on a fresh data folder (people with tokens, the sepsis rule set, v1)."""
    world = InProcess(tmp_path)
    yield world
    world.close()
