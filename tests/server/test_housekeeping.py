"""Housekeeping (issue 20, item 10): old sessions, tokens and sign-in failures are purged at start and
periodically; objects of failed saves are pruned under the writer lock, never during a save."""
from __future__ import annotations

import subprocess
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from server import housekeeping, lifecycle
from server.models import ApiToken, SignInSession, SignInThrottle, utcnow
from server.store import GitStore
from tests.server.conftest import Workspace, make_app


def _fill(ws) -> dict[str, int]:
    """Rows to purge and rows to keep; returns the ids of the ones to keep."""
    now = utcnow()
    long_ago, recently = now - timedelta(days=30), now - timedelta(days=1)
    ana = ws.people.get("Ana") or ws.add_person("Ana", "author")
    with ws.sessions() as db:
        sessions = [SignInSession(token_hash=f"s{i}", user_id=ana.id, csrf_token="c", expires_at=expires,
                                  ended_at=ended)
                    for i, (expires, ended) in enumerate([(long_ago, None), (now + timedelta(hours=1), long_ago),
                                                          (now + timedelta(hours=1), None), (recently, None)])]
        tokens = [ApiToken(token_hash=f"t{i}", prefix="rc_x", user_id=ana.id, scope="read", expires_at=expires,
                           revoked_at=revoked)
                  for i, (expires, revoked) in enumerate([(long_ago, None), (now + timedelta(days=9), long_ago),
                                                          (now + timedelta(days=9), recently)])]
        throttles = [SignInThrottle(key=key, account_key="ana", failures=3, last_at=last, next_at=last)
                     for key, last in (("pair:old", long_ago), ("pair:new", now))]
        db.add_all(sessions + tokens + throttles)
        db.commit()
        return {"sessions": {sessions[2].id, sessions[3].id}, "tokens": {tokens[2].id},
                "throttles": {"pair:new"}}


def _left(ws) -> dict:
    with ws.sessions() as db:
        return {"sessions": set(db.scalars(select(SignInSession.id).where(SignInSession.token_hash.like("s%")))),
                "tokens": set(db.scalars(select(ApiToken.id).where(ApiToken.token_hash.like("t%")))),
                "throttles": set(db.scalars(select(SignInThrottle.key)))}


def test_purge_removes_what_is_past_keeping_and_nothing_else(ws):
    kept = _fill(ws)
    with ws.sessions() as db:
        purged = housekeeping.purge(db, ws.app.config)
    assert (purged.sessions, purged.tokens, purged.sign_in_failures) == (2, 2, 1)
    assert _left(ws) == kept
    assert all(ws.as_(name).get("/api/me").status_code == 200 for name in ws.people)  # live tokens stay


def test_each_worker_purges_periodically_after_a_response(tmp_path):
    app = make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}", PURGE_MINUTES=5)
    ws = Workspace(app)
    try:
        kept = _fill(ws)
        assert app.extensions["rulecraft.next_purge"] > time.monotonic() + 200  # not on the first request
        app.test_client().get("/healthz").close()
        assert _left(ws) != kept
        app.extensions["rulecraft.next_purge"] = 0  # the interval is over
        response = app.test_client().get("/healthz")
        response.close()  # the purge runs once the response is sent
        assert _left(ws) == kept
        assert app.extensions["rulecraft.next_purge"] > time.monotonic() + 200
    finally:
        ws.close()


def test_the_start_purges_and_prunes(tmp_path):
    data = tmp_path / "data"
    runtime = lifecycle.open_runtime({"DATA_DIR": data, "SECRET_KEY": "k"})
    try:
        lost = _loose_object(runtime.store, b"the blob of a save that failed\n")
        purged, pruned = lifecycle.housekeep(runtime)
        assert pruned == 1 and purged.sessions == 0
        assert not _exists(runtime.store, lost)
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()


def _loose_object(store: GitStore, content: bytes) -> str:
    return subprocess.run(["git", "--git-dir", str(store.path), "hash-object", "-w", "--stdin"], input=content,
                          capture_output=True, check=True).stdout.decode().strip()


def _exists(store: GitStore, oid: str) -> bool:
    return subprocess.run(["git", "--git-dir", str(store.path), "cat-file", "-e", oid]).returncode == 0


def test_pruning_waits_for_the_writer_lock_and_keeps_every_version(ws):
    store: GitStore = ws.app.extensions["rulecraft.store"]
    head = store.head()
    lost = _loose_object(store, b"left by a failed save\n")
    released = threading.Event()

    def save_in_progress():
        with store.writers_done():  # what a save holds while it writes its objects
            time.sleep(0.5)
            released.set()

    saver = threading.Thread(target=save_in_progress)
    saver.start()
    time.sleep(0.1)
    assert store.prune_unreachable() == 1
    assert released.is_set()  # it waited for the save
    saver.join()
    assert not _exists(store, lost) and store.head() == head
    ok, report = store.fsck()
    assert ok, report
    assert ws.as_("Ana").get("/api/rulesets/sepsis-triage").status_code == 200
