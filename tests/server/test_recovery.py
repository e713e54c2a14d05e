"""A save killed at each step (os._exit through RULECRAFT_FAULT) is repaired by recovery: every commit has exactly
one audit row, nothing unacknowledged is half there, the repository is sound and the next save works."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from server.models import AuditEvent
from server.operations import open_runtime, start

ROOT = Path(__file__).resolve().parents[2]
SAVE_STEPS = ["service.audit-pending", "store.locked", "store.objects-written", "store.commit-written",
              "store.ref-updated", "service.committed", "service.audit-done"]

CHILD = textwrap.dedent("""
    import sys
    from server.operations import open_runtime
    from server import auth
    from server.services.rules import create_rule
    runtime = open_runtime({"DATA_DIR": sys.argv[1]}, upgrade=False)
    with runtime.sessions() as db:
        user = auth.find_user(db, "Ana")
        create_rule(runtime.workspace, db, user, "sepsis-triage",
                    {"text": 'rule "Cold"\\nwhen temperature is below 35'}, "Hypothermia")
    print("acknowledged")
""")


@pytest.fixture
def data_dir(tmp_path):
    """A workspace with Ana and the sepsis rule set, built through the real commands' code."""
    import rules_dsl
    from server import auth
    from server.services.rules import import_ruleset

    folder = tmp_path / "data"
    runtime = open_runtime({"DATA_DIR": folder})
    with runtime.sessions() as db:
        user = auth.create_user(db, "Ana", "author", "a long password")
        db.commit()
        import_ruleset(runtime.workspace, db, user, rules_dsl.load(ROOT / "tests/fixtures/sepsis-triage"), "Start")
    runtime.store.close()
    runtime.sessions.kw["bind"].dispose()
    return folder


def save_in_child(folder: Path, fault: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if fault:
        env["RULECRAFT_FAULT"] = fault
    else:
        env.pop("RULECRAFT_FAULT", None)
    return subprocess.run([sys.executable, "-c", CHILD, str(folder)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def state(folder: Path):
    runtime = open_runtime({"DATA_DIR": folder}, upgrade=False)
    try:
        report = start(runtime)
        with runtime.sessions() as db:
            events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        commits = runtime.store.versions_since(None)
        ok, fsck = runtime.store.fsck()
        return report, events, commits, ok, fsck
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()


@pytest.mark.slow
@pytest.mark.parametrize("step", SAVE_STEPS)
def test_a_save_killed_at_each_step_is_repaired(data_dir, step):
    killed = save_in_child(data_dir, step)
    assert killed.returncode == 99, killed.stderr
    assert "acknowledged" not in killed.stdout
    report, events, commits, ok, fsck = state(data_dir)
    assert ok, fsck
    done = [e for e in events if e.status == "done" and e.version]
    assert sorted(e.version for e in done) == sorted(c.id for c in commits)  # one row per commit, no more
    assert len({e.save_id for e in done}) == len(done)
    assert not [e for e in events if e.status == "pending"]
    committed = len(commits) == 2
    assert committed == (step in ("store.ref-updated", "service.committed", "service.audit-done")), step
    if not committed:
        assert [e.status for e in events if e.action == "rule.create"] in ([], ["failed"])
    assert not list(data_dir.rglob("*.lock"))
    again = save_in_child(data_dir, None)
    if committed:  # the rule exists now: a second one with the same name is refused, which is right
        assert again.returncode == 1 and "already a rule called" in again.stderr
    else:
        assert again.returncode == 0 and "acknowledged" in again.stdout, again.stderr
    report, events, commits, ok, fsck = state(data_dir)
    assert ok and "Nothing to repair" in str(report)
    assert len([e for e in events if e.status == "done" and e.version]) == len(commits)
