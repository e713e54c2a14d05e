"""The backup predictor survives a database outage (issue 20, item 7), in process, on each database.

The outage is injected at the connection level, as in test_saves_in_an_outage.py: while ``down`` is set every
statement fails with OperationalError, as with PostgreSQL stopped. The real server process on a PostgreSQL cluster
that is really stopped is tests/reliability/test_database_outage.py.

What is proven: predictions with a token the worker verified lately keep answering, right, on the last known
release; anything else that needs the database (sign-in, a save, a token not seen lately) answers 503 with a plain
message, never 500; with the database up, tokens are checked there as before (a revoked token is refused at once
and is not accepted in a later outage); the log gets one line per interval, not one per request."""
from __future__ import annotations

import io
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from server import logs
from server.services.errors import DATABASE_UNREACHABLE
from tests.server.conftest import PASSWORD
from tests.server.test_api_predict import release

PREDICT = "/api/rulesets/sepsis-triage/predict"
HIGH = {"case": {"temperature": 39, "heart rate": 120, "respiratory rate": 10, "white cell count": 5}}
LOW = {"case": {"temperature": 37, "heart rate": 70, "respiratory rate": 12, "white cell count": 7}}


class Outage:
    """Every statement of the app's engine fails while ``down`` is set."""

    def __init__(self, app):
        self.down = threading.Event()
        self.engine = app.extensions["rulecraft.engine"]
        sa.event.listen(self.engine, "before_cursor_execute", self._refuse)

    def _refuse(self, conn, cursor, statement, parameters, context, executemany):
        if self.down.is_set():
            raise sa.exc.OperationalError(statement, parameters, Exception("connection refused"))

    def remove(self) -> None:
        self.down.clear()
        sa.event.remove(self.engine, "before_cursor_execute", self._refuse)


@pytest.fixture
def outage(ws):
    o = Outage(ws.app)
    yield o
    o.remove()


def refused_503(response) -> None:
    assert response.status_code == 503, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["message"]) == ("database-unavailable", DATABASE_UNREACHABLE)
    assert response.headers["Retry-After"] == "30"


def test_predictions_with_a_known_token_keep_answering_while_the_rest_answers_503(ws, outage):
    v1 = release(ws)
    mia = ws.as_("Mia")
    before = [mia.post(PREDICT, json=HIGH).get_json(), mia.post(f"{PREDICT}?version=v1", json=LOW).get_json()]
    assert [b["prediction"]["label"] for b in before] == ["high", "low"]
    outage.down.set()
    for _ in range(20):
        latest = mia.post(PREDICT, json=HIGH)
        assert latest.status_code == 200, latest.get_json()
        assert (latest.get_json()["release"], latest.get_json()["version"]) == ("v1", v1["version"])
        assert latest.get_json()["prediction"]["label"] == "high"
        pinned = mia.post(f"{PREDICT}?version=v1", json=LOW)
        assert pinned.status_code == 200 and pinned.get_json()["prediction"]["label"] == "low"
        batch = mia.post(PREDICT, json={"cases": [HIGH["case"], LOW["case"]]})
        assert [p["label"] for p in batch.get_json()["predictions"]] == ["high", "low"]
    assert mia.get("/api/rulesets/sepsis-triage/bundle?version=v1").status_code == 200
    evaluated = mia.post("/api/rulesets/sepsis-triage/evaluate", json={"cases": [HIGH["case"]]})
    assert evaluated.status_code == 200, evaluated.get_json()
    # Everything that needs the database: a plain 503, never a 500.
    refused_503(ws.app.test_client().post("/api/session", json={"name": "Ana", "password": PASSWORD}))
    refused_503(ws.as_("Ana").post(PREDICT, json=HIGH))  # Ana's token was not verified by this worker lately
    refused_503(ws.as_("Mia").post("/api/tokens", json={"scope": "predict"}))  # needs the person from the database
    outage.down.clear()
    saved = ws.as_("Ana").post("/api/rulesets/sepsis-triage/rules",
                               json={"text": 'rule "Cold"\nwhen temperature is below 35', "why": "Hypothermia"})
    assert saved.status_code == 201, saved.get_json()
    assert mia.post(PREDICT, json=HIGH).get_json()["prediction"]["label"] == "high"


def test_a_save_in_an_outage_is_a_503_and_changes_nothing(ws, outage):
    ana = ws.as_("Ana")
    assert ana.get("/api/rulesets/sepsis-triage").status_code == 200  # Ana's token verified
    head = ws.app.extensions["rulecraft.store"].head()
    outage.down.set()
    saved = ana.post("/api/rulesets/sepsis-triage/rules",
                     json={"text": 'rule "Cold"\nwhen temperature is below 35', "why": "Hypothermia"})
    refused_503(saved)
    assert ws.app.extensions["rulecraft.store"].head() == head


def test_a_prediction_before_any_release_was_read_is_a_503(ws, outage):
    """The worker never read this rule set's releases: it cannot know which is the latest."""
    release(ws)
    mia = ws.as_("Mia")
    assert mia.get("/api/rulesets/sepsis-triage/releases").status_code == 200  # token verified, no prediction
    outage.down.set()
    refused_503(mia.post(PREDICT, json=HIGH))


def test_the_grace_time_is_a_setting(ws, outage):
    release(ws)
    mia = ws.as_("Mia")
    assert mia.post(PREDICT, json=HIGH).status_code == 200
    ws.app.config["OUTAGE_GRACE_SECONDS"] = 0
    outage.down.set()
    refused_503(mia.post(PREDICT, json=HIGH))


def test_with_the_database_up_a_revoked_token_is_refused_at_once_and_forgotten(ws, outage):
    release(ws)
    mia = ws.as_("Mia")
    assert mia.post(PREDICT, json=HIGH).status_code == 200
    token_id = mia.get("/api/tokens").get_json()["tokens"][0]["id"]
    assert mia.delete(f"/api/tokens/{token_id}").status_code in (200, 204)
    assert mia.post(PREDICT, json=HIGH).status_code == 401  # the database is up: refused at once
    outage.down.set()
    refused_503(mia.post(PREDICT, json=HIGH))  # not accepted from the worker's memory either


def test_an_outage_writes_one_line_per_interval(ws, outage):
    release(ws)
    mia = ws.as_("Mia")
    assert mia.post(PREDICT, json=HIGH).status_code == 200
    stream = io.StringIO()
    logs.configure("info", "text", 60, stream)
    outage.down.set()
    for _ in range(30):
        assert mia.post(PREDICT, json=HIGH).status_code == 200
        refused_503(ws.as_("Ana").post(PREDICT, json=HIGH))
    warnings = [line for line in stream.getvalue().splitlines() if " WARNING " in line]
    assert len(warnings) == 3, warnings  # token by grace, last known release, token refused: once each
    assert "Traceback" not in stream.getvalue()


def test_an_unreachable_database_file_is_an_outage_too(ws, tmp_path):
    """No injected error: the app's engine and sessions point at a SQLite file in a folder that does not exist
    (as test_logs.py's flood test does), so connecting fails as it does with PostgreSQL stopped."""
    release(ws)
    mia = ws.as_("Mia")
    assert mia.post(PREDICT, json=HIGH).status_code == 200
    engine, sessions = ws.app.extensions["rulecraft.engine"], ws.app.extensions["rulecraft.sessions"]
    gone = sa.create_engine(f"sqlite:///{tmp_path / 'gone' / 'rulecraft.db'}")
    ws.app.extensions["rulecraft.engine"], ws.app.extensions["rulecraft.sessions"] = gone, sessionmaker(gone)
    try:
        answered = mia.post(PREDICT, json=HIGH)
        assert answered.status_code == 200 and answered.get_json()["prediction"]["label"] == "high"
        refused_503(ws.app.test_client().post("/api/session", json={"name": "Ana", "password": PASSWORD}))
    finally:
        gone.dispose()
        ws.app.extensions["rulecraft.engine"], ws.app.extensions["rulecraft.sessions"] = engine, sessions
    assert mia.post(PREDICT, json=HIGH).status_code == 200
