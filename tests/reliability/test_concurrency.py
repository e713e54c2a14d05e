"""The concurrency suite: client PROCESSES against the real server (gunicorn, 2 workers) at the same time.

Four authors edit one busy rule (with fresh and with stale bases) and their own rules; an author keeps asking for
releases while two reviewers race to approve them; an ML engineer predicts with the pinned release v1 and fetches
its bundle throughout. Afterwards, from the repository and the database:

- acknowledgements = new commits = new audit rows, history linear, nothing pending, fsck clean;
- each acknowledged save is in history with the text it answered, by the person who made it (author and trailer);
- no lost update: the rule a save changed was, just before that save, exactly as its author had seen it;
- each 409 carries both texts (the author's base and the current one), and the current one is in history;
- releases: each approval is one tag, names unique and consecutive, no request approved twice;
- predictions and bundle bytes for v1 are identical before, during and after.

tests/server/test_store.py proves the store alone (processes x saves, compare-and-swap); this is the whole stack.
RULECRAFT_CONCURRENCY_SAVES sets the saves per writer (default 12).
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from bench.reliability.harness import (
    RULESET,
    Client,
    ServerProcess,
    make_workspace,
    read_file_at,
    read_ledger,
)

from . import workload
from .conftest import env_int

SAVES = env_int("RULECRAFT_CONCURRENCY_SAVES", 12)
WRITERS = ["Ana", "Bea", "Cy", "Dee"]


def _pinned(url: str, token: str) -> dict:
    return workload.predictor(url, token, "v1", 0.0001)[0]


@pytest.mark.slow
def test_processes_editing_releasing_and_predicting_at_once(tmp_path, database_url):
    ws = make_workspace(tmp_path / "data", database_url)
    before = read_ledger(ws.data_dir, database_url)
    server = ServerProcess(ws.data_dir, database_url=database_url)
    try:
        baseline = _pinned(server.url, ws.tokens["Mia"])
        seconds = 4 + SAVES * 0.5
        with ProcessPoolExecutor(max_workers=8, mp_context=multiprocessing.get_context("spawn")) as pool:
            writers = [pool.submit(workload.writer, server.url, ws.tokens[name], name, SAVES, seed)
                       for seed, name in enumerate(WRITERS)]
            asks = pool.submit(workload.releaser, server.url, ws.tokens["Eli"], "Eli", 3 + SAVES // 3)
            reviews = [pool.submit(workload.reviewer, server.url, ws.tokens[name], name, seconds)
                       for name in ("Rui", "Rosa")]
            predictions = pool.submit(workload.predictor, server.url, ws.tokens["Mia"], "v1", seconds)
            answers = [a for f in writers for a in f.result()]
            requested = asks.result()
            approvals = [a for f in reviews for a in f.result()]
            during = predictions.result()
        after = _pinned(server.url, ws.tokens["Mia"])
        # the server still answers and saves after the storm
        ok = Client(server.url, ws.tokens["Ana"]).post(
            f"/api/rulesets/{RULESET}/rules", json={"text": workload.own_text("late", 1), "why": "after"})
        assert ok.status_code == 201, ok.text
        answers.append({"kind": "create", "status": 201, "body": ok.json(), "author": "Ana", "rule": None,
                        "base": None, "text": None})
    finally:
        exit_code = server.stop()
    assert exit_code == 0, server.output()[-2000:]
    assert "Traceback" not in server.output(), server.output()[-3000:]

    statuses = [a["status"] for a in answers]
    assert set(statuses) <= {200, 201, 409}, [a for a in answers if a["status"] not in (200, 201, 409)][:3]
    acked = [a for a in answers if a["status"] in (200, 201)]
    conflicts = [a for a in answers if a["status"] == 409]
    assert conflicts, "the workload should have produced conflicts"

    ledger = read_ledger(ws.data_dir, database_url)
    assert not ledger.problems(), ledger.problems()
    known = {c.id for c in before.commits}
    new_commits = [c for c in ledger.commits if c.id not in known]
    new_saves = [e for e in ledger.done_saves() if e.version not in known]
    assert len(acked) == len(new_commits) == len(new_saves), (len(acked), len(new_commits), len(new_saves))
    by_id = {c.id: c for c in ledger.commits}
    assert len({a["body"]["version"] for a in acked}) == len(acked)

    for a in acked:
        version = by_id[a["body"]["version"]]  # KeyError: an acknowledged save is not in history
        assert version.author.name == a["author"], (version.author, a["author"])
        assert version.trailers["Rulecraft-User"] == str(ws.user_ids[a["author"]])
        path = f"{RULESET}/rules/{a['body']['id']}.rule"
        assert read_file_at(ws.data_dir, version.id, path).strip() == a["body"]["text"]
        if a["base"] is not None:  # no lost update: the rule was as its author saw it until this save
            assert read_file_at(ws.data_dir, version.parent, path) == read_file_at(ws.data_dir, a["base"], path)

    for c in conflicts:
        error = c["body"]["error"]
        assert error["code"] == "conflict" and "base_text" in error and "current_text" in error, error
        path = f"{RULESET}/rules/{c['rule']}.rule"
        assert error["base_text"] == read_file_at(ws.data_dir, c["base"], path)
        assert error["current_text"] == read_file_at(ws.data_dir, error["current_version"], path)
        assert error["current_version"] in by_id
        assert error["current_text"].strip() != c["text"]  # the refused text was not saved under it

    asked = [r for r in requested if r["status"] == 201]
    assert asked and all(r["status"] in (201, 409) for r in requested), requested
    approved = [a for a in approvals if a["status"] == 200]
    assert all(a["status"] in (200, 409) for a in approvals), [a for a in approvals if a["status"] != 200][:3]
    assert len({a["release"] for a in approved}) == len(approved), "a request was approved twice"
    names = sorted(int(r.name[1:]) for r in ledger.releases if r.status == "approved")
    assert names == list(range(1, len(approved) + 2))
    assert len(ledger.tags) == len(approved) + 1

    assert during and all(p == baseline for p in during)
    assert after == baseline


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_two_reviewers_deciding_the_same_request_at_once_one_wins(tmp_path, second, database_url):
    """Regression: the second reviewer's decision was made on a copy of the request read before the first one was
    committed, and overwrote it: two tags (v2 and v3) for one request, or an approved release marked rejected.
    On PostgreSQL the re-read takes the row's lock (with_for_update; SQLite ignores it and serialises writers)."""
    from server import auth
    from server.lifecycle import open_runtime
    from server.models import Release
    from server.services import releases
    from server.services.errors import Conflict
    from server.services.rules import create_rule

    ws = make_workspace(tmp_path / "data", database_url)
    runtime = open_runtime({"DATA_DIR": ws.data_dir, **({"DATABASE_URL": database_url} if database_url else {})},
                           upgrade=False)
    try:
        with runtime.sessions() as first, runtime.sessions() as late:
            ana = auth.find_user(first, "Ana")
            create_rule(runtime.workspace, first, ana, RULESET, {"text": workload.own_text("Ana", 1)}, "new")
            asked = releases.request_release(runtime.workspace, first, ana, RULESET, None, "again")
            late.get(Release, asked.id)  # the second reviewer has the request open, still 'requested'
            rui, rosa = auth.find_user(first, "Rui"), auth.find_user(late, "Rosa")
            releases.approve(runtime.workspace, first, rui, RULESET, asked.id, "first")
            with pytest.raises(Conflict):
                getattr(releases, second)(runtime.workspace, late, rosa, RULESET, asked.id, "second")
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()
    ledger = read_ledger(ws.data_dir, database_url)
    assert not ledger.problems(), ledger.problems()
    assert [r.status for r in ledger.releases] == ["approved", "approved"]
    assert [t.name for t in ledger.tags] == [f"{RULESET}/v1", f"{RULESET}/v2"]


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_a_decision_waits_for_the_one_being_made_on_the_same_request(tmp_path, second, database_url):
    """Two reviewers in two threads, the second arriving while the first holds the request between its re-read and
    its commit: the second waits for the first (PostgreSQL: the row lock of with_for_update; SQLite: the write
    transaction) and is then refused. Without the lock the second read 'requested' too and overwrote the first
    decision (an approved release marked rejected beside its tag, or two approvals)."""
    import threading

    from server import auth
    from server.lifecycle import open_runtime
    from server.services import releases
    from server.services.errors import Conflict
    from server.services.rules import create_rule

    ws = make_workspace(tmp_path / "data", database_url)
    runtime = open_runtime({"DATA_DIR": ws.data_dir, **({"DATABASE_URL": database_url} if database_url else {})},
                           upgrade=False)
    first_holds, outcomes = threading.Event(), {}
    lock_decision = releases._lock_decision

    def holding(db, release):
        lock_decision(db, release)
        if threading.current_thread().name == "first":
            first_holds.set()
            time.sleep(1.5)  # long enough for the second to reach its own re-read, were it not made to wait

    def decide(name, reviewer, how):
        with runtime.sessions() as db:
            try:
                getattr(releases, how)(runtime.workspace, db, auth.find_user(db, reviewer), RULESET, asked.id, name)
                outcomes[name] = "done"
            except Conflict:
                outcomes[name] = "conflict"

    try:
        with runtime.sessions() as db:
            ana = auth.find_user(db, "Ana")
            create_rule(runtime.workspace, db, ana, RULESET, {"text": workload.own_text("Ana", 1)}, "new")
            asked = releases.request_release(runtime.workspace, db, ana, RULESET, None, "again")
        releases._lock_decision = holding
        first = threading.Thread(target=decide, args=("first", "Rui", "approve"), name="first")
        first.start()
        assert first_holds.wait(30)
        late = threading.Thread(target=decide, args=("second", "Rosa", second), name="second")
        late.start()
        first.join(60)
        late.join(60)
    finally:
        releases._lock_decision = lock_decision
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()
    assert outcomes == {"first": "done", "second": "conflict"}
    ledger = read_ledger(ws.data_dir, database_url)
    assert not ledger.problems(), ledger.problems()
    assert [r.status for r in ledger.releases] == ["approved", "approved"]
    assert [t.name for t in ledger.tags] == [f"{RULESET}/v1", f"{RULESET}/v2"]
