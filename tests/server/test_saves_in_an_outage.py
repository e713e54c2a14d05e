"""Truthful answers in a database outage (issue 20, item 6): a save that reached the repository is never answered
"nothing was changed"; its record is finished when the database returns; a retry of the same save (same
Idempotency-Key) is recognised as already made, not refused as a conflict with the author's own change.

The outage is injected at the connection level: every statement fails with OperationalError, as with PostgreSQL
stopped, from the moment the commit is made until ``up`` is set."""
from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from server.models import AuditEvent, User, utcnow
from server.services import saving

RS = "/api/rulesets/sepsis-triage"
COLD = 'rule "Cold"\nwhen temperature is below 35'


class Outage:
    """The database stops answering right after the store's next commit, for ``seconds`` (None: until ended)."""

    def __init__(self, ws, monkeypatch, seconds: float | None):
        self.down = threading.Event()
        self.seconds = seconds
        engine = ws.app.extensions["rulecraft.engine"]
        store = ws.app.extensions["rulecraft.store"]
        real_commit = store.commit

        def commit_then_fail(*args, **kwargs):
            version = real_commit(*args, **kwargs)
            self.start()
            return version

        monkeypatch.setattr(store, "commit", commit_then_fail)
        sa.event.listen(engine, "before_cursor_execute", self._refuse)
        self.engine = engine

    def _refuse(self, conn, cursor, statement, parameters, context, executemany):
        if self.down.is_set():
            raise sa.exc.OperationalError(statement, parameters, Exception("the database is not answering"))

    def start(self) -> None:
        self.down.set()
        if self.seconds is not None:
            threading.Timer(self.seconds, self.end).start()

    def end(self) -> None:
        self.down.clear()

    def remove(self) -> None:
        self.end()
        sa.event.remove(self.engine, "before_cursor_execute", self._refuse)


@pytest.fixture
def outage(ws, monkeypatch):
    made = []

    def make(seconds):
        made.append(Outage(ws, monkeypatch, seconds))
        return made[-1]

    yield make
    for o in made:
        o.remove()


def rows(ws, save_id=None):
    with ws.sessions() as db:
        query = select(AuditEvent).where(AuditEvent.action == "rule.create")
        if save_id:
            query = query.where(AuditEvent.save_id == save_id)
        return list(db.scalars(query))


def commits_of(ws, save_id: str) -> int:
    return sum(v.trailers.get("Rulecraft-Save") == save_id
               for v in ws.app.extensions["rulecraft.store"].versions_since(None))


def test_a_blip_after_the_commit_is_absorbed(ws, outage):
    """The database gone for half a second after the commit: the save waits for it and answers as usual."""
    outage(0.5)
    created = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"})
    assert created.status_code == 201, created.get_json()
    [row] = rows(ws)
    assert (row.status, row.version) == ("done", created.headers["ETag"].strip('"'))


def test_a_save_kept_during_an_outage_is_answered_as_kept_and_recorded_later(ws, outage, monkeypatch):
    """Regression: with PostgreSQL down for 3 s, a save that reached Git was answered 500 "Nothing was changed;
    please try again" and its audit row stayed pending until a restart. Now: 202, "saved", the version; the row is
    'done' once the database is back, without a restart; the same save sent again is recognised (200, same
    version), never a conflict, never a second commit."""
    monkeypatch.setattr(saving, "RECORD_WAIT", 0.2)
    key = str(uuid.uuid4())
    outage(1.5)
    kept = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"},
                              headers={"Idempotency-Key": key})
    assert kept.status_code == 202, kept.get_json()
    body = kept.get_json()
    assert body["saved"] is True and body["recorded"] is False and body["save_id"] == key
    assert body["rule"] == "cold"  # the editor learns which rule it made without the database
    assert "Nothing was changed" not in body["message"] and "do not need to save it again" in body["message"]
    version = body["version"]
    assert kept.headers["ETag"] == f'"{version}"'
    for _ in range(100):  # bounded: 10 s
        [row] = rows(ws, key)
        if row.status == "done":
            break
        time.sleep(0.1)
    assert (row.status, row.version) == ("done", version)
    again = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"},
                               headers={"Idempotency-Key": key})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["already_saved"] is True and again.get_json()["version"] == version
    assert again.get_json()["rule"] == "cold"
    assert commits_of(ws, key) == 1
    assert [r.status for r in rows(ws)] == ["done"]  # no refused row for the author's own change


def test_a_retry_before_the_record_is_finished_finishes_it(ws, outage, monkeypatch):
    """The database is back but the record was not finished yet (the recording thread is not running here): the
    retry finds the commit by its save id, records it and answers with its version."""
    monkeypatch.setattr(saving, "RECORD_WAIT", 0.1)
    monkeypatch.setattr(saving, "_record_later", lambda *a: None)
    key = str(uuid.uuid4())
    down = outage(None)
    kept = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"},
                              headers={"Idempotency-Key": key})
    assert kept.status_code == 202, kept.get_json()
    down.end()
    assert rows(ws, key)[0].status == "pending"
    again = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"},
                               headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.get_json()["version"] == kept.get_json()["version"]
    assert rows(ws, key)[0].status == "done" and commits_of(ws, key) == 1


def test_a_named_save_is_saved_under_its_name_and_a_bad_name_is_refused(ws):
    key = str(uuid.uuid4())
    created = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"},
                                 headers={"Idempotency-Key": key})
    assert created.status_code == 201
    assert rows(ws, key)[0].version == created.headers["ETag"].strip('"')
    other = ws.as_("Bea").post(f"{RS}/rules", json={"text": COLD.replace("Cold", "Chill"), "why": "Hypothermia"},
                               headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "save-id-used"
    # the refusal says which header to change and how (mutation testing, round 3: its words were never read)
    assert other.get_json()["error"]["field"] == "Idempotency-Key"
    assert other.get_json()["error"]["message"] == ("That save id belongs to another save; use a new one for each "
                                                    "change.")
    bad = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"},
                             headers={"Idempotency-Key": "not a uuid"})
    assert bad.status_code == 400


def test_a_retried_create_of_a_rule_set_names_the_rule_set(ws):
    """Regression: a new rule set sent again with the same Idempotency-Key (its first answer lost) was answered
    "already saved" without saying which rule set was made, so a client could not go on to it."""
    key = str(uuid.uuid4())
    body = {"settings": {"title": "Retried start", "outcome": {"name": "risk", "labels": ["low", "high"]},
                         "policy": "first match"},
            "vocabulary": {"features": {"age": {"type": "number"}}}, "why": "A new rule set"}
    created = ws.as_("Ana").post("/api/rulesets", json=body, headers={"Idempotency-Key": key})
    assert created.status_code == 201, created.get_json()
    again = ws.as_("Ana").post("/api/rulesets", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200, again.get_json()
    answer = again.get_json()
    assert answer["already_saved"] is True and answer["id"] == created.get_json()["id"] == answer["ruleset"]
    assert ws.as_("Ana").get(f"/api/rulesets/{answer['id']}").status_code == 200


def test_a_retried_save_waits_for_a_live_attempt_and_never_overwrites_a_recorded_one(ws):
    """Mutation testing, round 3: ``already_made``'s answers for a save id whose commit is not in the repository
    had no test: a pending attempt whose process lives is busy (503); one whose process is gone, or a failed one,
    is made now under its id; a row recorded done is never overwritten (422)."""
    finished = subprocess.Popen(["true"])
    finished.wait()

    def attempt(status: str, process_id: int | None) -> str:
        key = str(uuid.uuid4())
        with ws.sessions() as db:
            ana = db.scalar(select(User).where(User.name == "Ana"))
            db.add(AuditEvent(save_id=key, user_id=ana.id, action="rule.create", ruleset="sepsis-triage",
                              status=status, message="Hypothermia", details={}, process_id=process_id,
                              at=utcnow()))
            db.commit()
        return key

    def send(key: str, name: str):
        return ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD.replace("Cold", name), "why": "Hypothermia"},
                                  headers={"Idempotency-Key": key})

    busy = send(attempt("pending", os.getpid()), "Cold")
    assert busy.status_code == 503, busy.get_json()
    assert busy.get_json()["error"]["message"] == "This change is still being saved; try again in a moment."
    for status, process_id, name in (("pending", finished.pid, "Cold"), ("failed", os.getpid(), "Chill")):
        key = attempt(status, process_id)
        made = send(key, name)
        assert made.status_code == 201, (status, made.get_json())
        assert [r.status for r in rows(ws, key)] == ["done"] and commits_of(ws, key) == 1
    recorded = attempt("done", None)
    again = send(recorded, "Frost")
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "save-id-used", again.get_json()
    assert again.get_json()["error"]["field"] == "Idempotency-Key"
    assert again.get_json()["error"]["message"] == ("That save id belongs to a save already recorded; use a new "
                                                    "one for each change.")
    assert [(r.status, r.version) for r in rows(ws, recorded)] == [("done", None)] and commits_of(ws, recorded) == 0
