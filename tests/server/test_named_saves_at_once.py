"""The same new named save (Idempotency-Key) sent twice at once: one commit, one audit row; one request is answered
201 and the other 409 "being saved right now" (never a 500, never a second commit), and a retry gets the answer.
Regression: both requests found no save of that id, then on PostgreSQL the second insert of the save id failed its
unique constraint (a 500), and on SQLite the second took over the first's audit row and committed the change again.
"""
from __future__ import annotations

import threading
import uuid

from sqlalchemy import select

from server.models import AuditEvent
from server.services import saving

RULES = "/api/rulesets/sepsis-triage/rules"
COLD = {"text": 'rule "Cold"\nwhen temperature is below 35', "why": "Hypothermia"}


def commits_of(ws, save_id: str) -> int:
    return sum(v.trailers.get("Rulecraft-Save") == save_id
               for v in ws.app.extensions["rulecraft.store"].versions_since(None))


def test_the_same_new_save_sent_twice_at_once_is_made_once(ws, monkeypatch):
    both_looked = threading.Barrier(2, timeout=10)
    real_already_made = saving.already_made

    def already_made_then_wait(*args):  # both requests have found no save of that id before either goes on
        found = real_already_made(*args)
        both_looked.wait()
        return found

    monkeypatch.setattr(saving, "already_made", already_made_then_wait)
    store = ws.app.extensions["rulecraft.store"]
    real_commit = store.commit
    one_answered, calls = threading.Event(), []

    def held_commit(*args, **kwargs):  # the first commit waits until the other request was answered
        calls.append(1)
        if len(calls) == 1:
            one_answered.wait(5)
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(store, "commit", held_commit)
    key = str(uuid.uuid4())
    answers = []

    def send():
        answers.append(ws.as_("Ana").post(RULES, json=COLD, headers={"Idempotency-Key": key}))
        one_answered.set()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a.status_code for a in answers) == [201, 409], [a.get_json() for a in answers]
    made, refused = sorted(answers, key=lambda a: a.status_code)
    error = refused.get_json()["error"]
    assert error["code"] == "save-in-progress" and "send it again in a moment" in error["message"]
    version = made.headers["ETag"].strip('"')
    assert commits_of(ws, key) == 1
    with ws.sessions() as db:
        rows = list(db.scalars(select(AuditEvent).where(AuditEvent.save_id == key)))
    assert [(r.status, r.version) for r in rows] == [("done", version)]
    monkeypatch.undo()
    again = ws.as_("Ana").post(RULES, json=COLD, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.get_json()["version"] == version
    assert again.get_json()["already_saved"] is True
