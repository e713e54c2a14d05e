"""The crash suite: the production server killed (os._exit, through RULECRAFT_FAULT) at every step of a save and of a
release approval, then restarted with ``rulecraft serve``, which repairs on start.

After every kill: each acknowledged save is exactly one commit and one audit row; the save that was cut short is
either whole (one commit, one row, the content that was sent) or absent (no commit, its row 'failed'); no row is
left pending, no lock file or temporary folder is left, ``git fsck`` passes, history is linear, releases agree with
their tags and each approved release has its audit row; and the server serves and saves again.

tests/server/test_recovery.py kills a save in a child process that calls the services directly; this suite does it
to the real gunicorn workers, over HTTP, with acknowledged saves before the kill and a restart after it.
Every test runs on SQLite and on PostgreSQL (recovery's transactions and constraints differ between them).
RULECRAFT_CRASH_REPETITIONS sets the kills per fault point (default 1; the documented run in docs/reliability.md
uses 5). Each repetition kills at a different save (``step:N``, N from KILL_AT) in the same, growing workspace.
"""
from __future__ import annotations

import json
import os

import pytest
import requests

from bench.reliability.harness import RULESET, Client, ServerProcess, read_file_at, read_ledger

from .conftest import env_int

SAVE_STEPS = ["service.audit-pending", "store.locked", "store.objects-written", "store.commit-written",
              "store.ref-updated", "service.committed", "service.audit-done"]
COMMITTED_FROM = SAVE_STEPS.index("store.ref-updated")
RELEASE_STEPS = ["release.approving", "store.tag-written", "store.tag-ref-updated", "release.tagged"]
TAGGED_FROM = RELEASE_STEPS.index("store.tag-ref-updated")
REPETITIONS = env_int("RULECRAFT_CRASH_REPETITIONS", 1)
MAX_SAVES = 12
KILL_AT = [1, 4, 7, 2, 10]  # one client on one keep-alive connection: one worker takes its saves


def _rule_text(name: str, threshold: int) -> str:
    return f'rule "{name}"\nwhen heart rate is above {threshold}\nthen sepsis risk is "high"'


class Saves:
    """Saves sent one after the other until the server dies; what was acknowledged and what was cut short."""

    def __init__(self, client: Client, tag: str):
        self.client, self.tag = client, tag
        self.acknowledged: list[dict] = []   # {"version", "rule", "text"}
        self.cut_short: dict | None = None

    def one(self, i: int) -> bool:
        """Save number i (creates on even numbers, edits the last created rule on odd ones); False when the
        connection died without an answer."""
        rule_name = f"Crash {self.tag} {i // 2}"
        text = _rule_text(rule_name, 100 + i)
        try:
            if i % 2 == 0 or not self.acknowledged:
                sent = {"rule": None, "text": text, "name": rule_name}
                response = self.client.post(f"/api/rulesets/{RULESET}/rules", json={"text": text, "why": f"save {i}"})
            else:
                last = self.acknowledged[-1]
                sent = {"rule": last["rule"], "text": _rule_text(last["name"], 100 + i), "name": last["name"]}
                response = self.client.put(f"/api/rulesets/{RULESET}/rules/{last['rule']}",
                                           json={"text": sent["text"], "why": f"save {i}"},
                                           headers={"If-Match": f'"{last["version"]}"'})
        except requests.ConnectionError:
            self.cut_short = sent
            return False
        assert response.status_code in (200, 201), response.text
        body = response.json()
        self.acknowledged.append({"version": body["version"], "rule": body["id"], "text": body["text"],
                                  "name": body["name"]})
        return True


def _record(**figures) -> None:
    """One JSON line per kill when RULECRAFT_CRASH_LOG names a file (the figures in docs/reliability.md)."""
    path = os.environ.get("RULECRAFT_CRASH_LOG")
    if path:
        with open(path, "a") as log:
            log.write(json.dumps(figures) + "\n")


def _check(ws, before: set[str], saves: Saves, committed_expected: bool | None) -> int:
    ledger = read_ledger(ws.data_dir, ws.database_url)
    assert not ledger.problems(), ledger.problems()
    new = [c for c in ledger.commits if c.id not in before]
    acked = {a["version"] for a in saves.acknowledged}
    assert acked <= {c.id for c in new}, "an acknowledged save is missing from history"
    for a in saves.acknowledged:  # the acknowledged content is what history holds
        assert read_file_at(ws.data_dir, a["version"], f"{RULESET}/rules/{a['rule']}.rule").strip() == a["text"]
    extra = [c for c in new if c.id not in acked]
    if saves.cut_short is not None:
        assert len(extra) <= 1, f"{len(extra)} unacknowledged commits"
        if committed_expected is not None:
            assert bool(extra) == committed_expected
        if extra:  # whole: the text that was sent, by the person who sent it
            files = [p for p in (f"{RULESET}/rules/{r}.rule" for r in _rule_ids(ws, extra[0].id))]
            texts = {(read_file_at(ws.data_dir, extra[0].id, p) or "").strip() for p in files}
            assert any(t.startswith(f'rule "{saves.cut_short["name"]}"') for t in texts)
            assert extra[0].author.name == "Ana"
    else:
        assert not extra
    return len(extra)


def _rule_ids(ws, version: str) -> list[str]:
    from server.store import GitStore

    with GitStore(ws.data_dir / "rules.git") as store:
        return [name.removesuffix(".rule").removeprefix("rules/") for name in store.files(version, RULESET)
                if name.startswith("rules/")]


def _serves_again(server: ServerProcess, ws, tag: str) -> None:
    """The restarted server (recovery ran at its start) reads, predicts and acknowledges a new save."""
    client = Client(server.url, ws.tokens["Ana"])
    assert client.get(f"/api/rulesets/{RULESET}").status_code == 200
    response = client.post(f"/api/rulesets/{RULESET}/rules",
                           json={"text": _rule_text(f"After {tag}", 150), "why": "after the crash"})
    assert response.status_code == 201, response.text
    assert client.post(f"/api/rulesets/{RULESET}/predict?version=v1",
                       json={"case": {"temperature": 39, "heart rate": 120}}).json()["prediction"]["label"] == "high"


@pytest.mark.slow
@pytest.mark.parametrize("step", SAVE_STEPS)
def test_server_killed_at_each_step_of_a_save(workspace_on_each_database, step):
    ws = workspace_on_each_database
    for rep in range(REPETITIONS):
        before = {c.id for c in read_ledger(ws.data_dir, ws.database_url).commits}
        # the worker dies at its nth save, after nth - 1 acknowledged ones; over 5 repetitions every N of KILL_AT
        nth = KILL_AT[(rep + SAVE_STEPS.index(step)) % len(KILL_AT)]
        server = ServerProcess(ws.data_dir, fault=f"{step}:{nth}", database_url=ws.database_url)
        saves = Saves(Client(server.url, ws.tokens["Ana"]), f"{step} {rep}")
        try:
            for i in range(MAX_SAVES):
                if not saves.one(i):
                    break
        finally:
            server.kill()
        assert saves.cut_short is not None, f"no worker died at {step}:{nth} in {MAX_SAVES} saves"
        restart = ServerProcess(ws.data_dir, database_url=ws.database_url)  # recovery runs at start
        try:
            whole = _check(ws, before, saves, SAVE_STEPS.index(step) >= COMMITTED_FROM)
            _serves_again(restart, ws, f"{step} {rep}")
        finally:
            restart.kill()
        ledger = read_ledger(ws.data_dir, ws.database_url)
        assert not ledger.problems()
        _record(kind="save", step=step, repetition=rep, acknowledged=len(saves.acknowledged), cut_short_whole=whole,
                lost=0, orphans=0, commits=len(ledger.commits), audit_rows=len(ledger.done_saves()))


@pytest.mark.slow
@pytest.mark.parametrize("step", RELEASE_STEPS)
def test_server_killed_at_each_step_of_a_release_approval(workspace_on_each_database, step):
    ws = workspace_on_each_database
    for rep in range(REPETITIONS):
        server = ServerProcess(ws.data_dir, fault=f"{step}:1", database_url=ws.database_url)
        ana, rui = Client(server.url, ws.tokens["Ana"]), Client(server.url, ws.tokens["Rui"])
        try:
            saved = ana.post(f"/api/rulesets/{RULESET}/rules",
                             json={"text": _rule_text(f"Release {step} {rep}", 130), "why": "for a release"})
            assert saved.status_code == 201, saved.text
            asked = ana.post(f"/api/rulesets/{RULESET}/releases", json={"notes": f"release {rep}"})
            assert asked.status_code == 201, asked.text
            release_id = asked.json()["id"]
            with pytest.raises(requests.ConnectionError):
                rui.post(f"/api/rulesets/{RULESET}/releases/{release_id}/approve", json={"comment": "ok"})
        finally:
            server.kill()
        server = ServerProcess(ws.data_dir, database_url=ws.database_url)  # recovery runs at start
        try:
            ledger = read_ledger(ws.data_dir, ws.database_url)
            assert not ledger.problems(), ledger.problems()
            row = next(r for r in ledger.releases if r.id == release_id)
            tagged = RELEASE_STEPS.index(step) >= TAGGED_FROM
            assert row.status == ("approved" if tagged else "requested"), (step, row.status)
            rui = Client(server.url, ws.tokens["Rui"])
            if not tagged:  # the decision was never made: it can be made now, with the next free name
                approved = rui.post(f"/api/rulesets/{RULESET}/releases/{release_id}/approve", json={"comment": "ok"})
                assert approved.status_code == 200, approved.text
            listed = {r["id"]: r for r in rui.get(f"/api/rulesets/{RULESET}/releases").json()["releases"]}
            name = listed[release_id]["name"]
            assert listed[release_id]["status"] == "approved" and name == f"v{rep + 2}"
            bundle = rui.get(f"/api/rulesets/{RULESET}/bundle?version={name}")
            assert bundle.status_code == 200 and f"Release {step} {rep}" in bundle.text
        finally:
            server.kill()
        ledger = read_ledger(ws.data_dir, ws.database_url)
        assert not ledger.problems(), ledger.problems()
        assert sorted(t.name for t in ledger.tags) == [f"{RULESET}/v{n}" for n in range(1, rep + 3)]
        _record(kind="release", step=step, repetition=rep, acknowledged=2, approved_by_recovery=tagged, lost=0,
                orphans=0, commits=len(ledger.commits), audit_rows=len(ledger.done_saves()), tags=len(ledger.tags))


@pytest.mark.slow
@pytest.mark.parametrize("step, committed", [("service.audit-pending", False), ("service.committed", True)])
def test_a_command_killed_mid_save_is_repaired_by_rulecraft_recover(workspace_on_each_database, step, committed):
    """The commands save through the same services: ``rulecraft import`` killed before and after its commit, then
    ``rulecraft recover`` says what it repaired, and a second recover finds nothing to do."""
    from bench.reliability.harness import FIXTURE, rulecraft

    ws = workspace_on_each_database
    before = len(read_ledger(ws.data_dir, ws.database_url).commits)
    killed = rulecraft("import", str(FIXTURE), "--as", "Bea", "--why", "A copy", "--name", "sepsis copy",
                       data_dir=ws.data_dir, database_url=ws.database_url, fault=step)
    assert killed.returncode == 99 and "Imported" not in killed.stdout, killed.stderr
    report = rulecraft("recover", data_dir=ws.data_dir, database_url=ws.database_url)
    assert report.returncode == 0
    assert ("marked done" if committed else "marked failed") in report.stdout, report.stdout
    ledger = read_ledger(ws.data_dir, ws.database_url)
    assert not ledger.problems(), ledger.problems()
    assert len(ledger.commits) == before + committed
    assert [e.status for e in ledger.save_rows if e.action == "ruleset.import"][-1] == ("done" if committed
                                                                                         else "failed")
    assert "Nothing to repair" in rulecraft("recover", data_dir=ws.data_dir, database_url=ws.database_url).stdout
