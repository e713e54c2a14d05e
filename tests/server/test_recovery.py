"""A save killed at each step (os._exit through RULECRAFT_FAULT) is repaired by recovery: every commit has exactly
one audit row, nothing unacknowledged is half there, the repository is sound and the next save works."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from server.lifecycle import open_runtime, start
from server.models import AuditEvent, Release, User

ROOT = Path(__file__).resolve().parents[2]
SAVE_STEPS = ["service.audit-pending", "store.locked", "store.objects-written", "store.commit-written",
              "store.ref-updated", "service.committed", "service.audit-done"]

CHILD = textwrap.dedent("""
    import sys
    from server.lifecycle import open_runtime
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


# ---- repairs that need no crash to set up: the database is put in the state a crash (or a restored backup) leaves

RULE = 'rule "Cold"\nwhen temperature is below 35'


def _recover(ws):
    from server.services.recovery import recover

    with ws.app.app_context(), ws.sessions() as db:
        return str(recover(db, ws.app.extensions["rulecraft.store"]))


def _approved_release(ws) -> tuple[int, str]:
    """Ana asks for a release of the rule set as it is, Rui approves it: (release id, tag name)."""
    asked = ws.as_("Ana").post("/api/rulesets/sepsis-triage/releases", json={"notes": "first"})
    assert asked.status_code == 201, asked.get_json()
    release_id = asked.get_json()["id"]
    approved = ws.as_("Rui").post(f"/api/rulesets/sepsis-triage/releases/{release_id}/approve",
                                  json={"comment": "checked"})
    assert approved.status_code == 200, approved.get_json()
    return release_id, f"sepsis-triage/{approved.get_json()['name']}"


def _lose_the_decision(ws, release_id: int, *, row: bool) -> None:
    """What the database holds when the tag was written but the decision was not kept: the row back at
    'requested' without a decision (row=True: the approval's rollback path, or a backup taken before it), or no
    row at all (a backup taken before the request); in both cases no approval audit row."""
    from sqlalchemy import delete, update

    with ws.sessions() as db:
        if row:
            db.execute(update(Release).where(Release.id == release_id).values(
                status="requested", name=None, decided_by=None, decided_at=None))
        else:
            db.execute(delete(AuditEvent).where(AuditEvent.action == "release.request"))
            db.execute(delete(Release).where(Release.id == release_id))
        db.execute(delete(AuditEvent).where(AuditEvent.action == "release.approve"))
        db.commit()


@pytest.mark.parametrize("row", [True, False], ids=["row-without-decision", "no-row"])
def test_a_release_recovered_from_its_tag_keeps_its_approver(ws, row):
    """Regression: a release recovered from its tag had no approver (decided_by None) and its rebuilt audit row
    named nobody. The tag says who approved it (Rulecraft-Approved-By, and the tagger)."""
    release_id, tag_name = _approved_release(ws)
    _lose_the_decision(ws, release_id, row=row)
    report = _recover(ws)
    assert f"{tag_name.replace('/', ' ')} existed only as a tag: recorded" in report, report
    assert "had no audit row for its approval: added" in report, report
    tag = next(t for t in ws.app.extensions["rulecraft.store"].tags() if t.name == tag_name)
    rui = ws.people["Rui"].id
    with ws.sessions() as db:
        release = db.scalars(select(Release).where(Release.ruleset == "sepsis-triage")).one()
        assert (release.status, release.name, release.version) == ("approved", "v1", tag.version)
        assert release.decided_by == rui and release.decided_at == tag.time
        assert release.requested_by == ws.people["Ana"].id
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "release.approve")).one()
        assert event.user_id == rui and event.details["release"] == release.id and event.at == tag.time
    assert "Nothing to repair" in _recover(ws)


def test_a_tag_naming_an_approver_who_is_gone_is_recovered_without_one(ws):
    """An approver id that names nobody (e.g. a database from elsewhere) is not written as a dangling reference
    (PostgreSQL refuses it: the whole recovery failed); the release is recorded without an approver."""
    from sqlalchemy import delete

    release_id, _ = _approved_release(ws)
    _lose_the_decision(ws, release_id, row=False)
    with ws.sessions() as db:  # Rui's id no longer names anyone
        db.execute(delete(User).where(User.id == ws.people["Rui"].id))
        db.commit()
    report = _recover(ws)
    assert "existed only as a tag: recorded" in report, report
    with ws.sessions() as db:
        release = db.scalars(select(Release)).one()
        assert release.status == "approved" and release.decided_by is None
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "release.approve")).one().user_id is None


def test_commits_without_audit_rows_get_them_rebuilt_from_their_trailers(ws):
    """A commit whose audit row is missing (a database restored from a backup older than the repository, or a
    crash between the commit and the first write of its row) gets its row from the commit: who, what, which rule
    set and rule, why, the save id. A commit naming no action and a person the database does not know gets a row
    naming nobody. Nothing twice."""
    from sqlalchemy import delete

    from server.store import Change, Identity

    created = ws.as_("Ana").post("/api/rulesets/sepsis-triage/rules",
                                 json={"text": RULE, "why": "Hypothermia\n\nDr B."})
    assert created.status_code == 201
    version = created.headers["ETag"].strip('"')
    with ws.sessions() as db:
        kept = db.scalars(select(AuditEvent).where(AuditEvent.version == version)).one()
        save_id = kept.save_id
        db.execute(delete(AuditEvent).where(AuditEvent.version == version))
        db.commit()
    store = ws.app.extensions["rulecraft.store"]
    outside = store.commit([Change("notes/readme.txt", b"kept by hand\n")],
                           author=Identity("Someone Else", "else@example.org"), message="By hand",
                           trailers={"Rulecraft-User": "9999"})  # a person this database does not know
    report = _recover(ws)
    assert f"Version {version[:12]} had no audit row: rebuilt from the commit" in report, report
    assert f"Version {outside.id[:12]} had no audit row" in report, report
    with ws.sessions() as db:
        rebuilt = db.scalars(select(AuditEvent).where(AuditEvent.version == version)).one()
        assert (rebuilt.user_id, rebuilt.action, rebuilt.ruleset, rebuilt.rule, rebuilt.save_id, rebuilt.status) == \
            (ws.people["Ana"].id, "rule.create", "sepsis-triage", "cold", save_id, "done")
        assert rebuilt.message.startswith("Hypothermia") and "Dr B." in rebuilt.message
        assert rebuilt.details == {"recovered": True}
        assert rebuilt.at == next(v.time for v in store.versions_since(None) if v.id == version)
        foreign = db.scalars(select(AuditEvent).where(AuditEvent.version == outside.id)).one()
        assert (foreign.user_id, foreign.action, foreign.save_id, foreign.ruleset) == (None, "commit", None, None)
        versions = [e.version for e in db.scalars(select(AuditEvent).where(AuditEvent.version.is_not(None)))]
    assert len(versions) == len(set(versions))  # one row per commit: the others were left alone
    assert "Nothing to repair" in _recover(ws)


def test_a_pending_save_of_a_live_writer_is_left_alone_until_it_is_gone(ws):
    """Recovery judges only saves whose writer is gone: a pending row without a commit, written by a process that
    still lives (its save may be waiting for the writer lock), is left pending; once that process has ended, the
    row is marked failed."""
    import uuid

    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    save_id = str(uuid.uuid4())
    try:
        with ws.sessions() as db:
            db.add(AuditEvent(user_id=ws.people["Ana"].id, action="rule.create", ruleset="sepsis-triage",
                              save_id=save_id, status="pending", message="Hypothermia", details={},
                              process_id=writer.pid))
            db.commit()
        report = _recover(ws)
        assert f"Save {save_id} (rule.create) is still being made by process {writer.pid}: left alone" in report
        with ws.sessions() as db:
            assert db.scalars(select(AuditEvent.status).where(AuditEvent.save_id == save_id)).one() == "pending"
    finally:
        writer.kill()
        writer.wait()
    assert f"Save {save_id} (rule.create) never reached the repository: marked failed" in _recover(ws)


def test_a_save_marked_failed_whose_commit_exists_is_marked_done(ws):
    """Regression: recovery beside a live save marked it 'failed / interrupted before the commit' although its
    commit was then made, and every later recovery said the database and the rules agreed. The commit is the
    truth: the row becomes 'done' with its version."""
    from server.services.recovery import INTERRUPTED

    created = ws.as_("Ana").post("/api/rulesets/sepsis-triage/rules", json={"text": RULE, "why": "Hypothermia"})
    assert created.status_code == 201
    version = created.headers["ETag"].strip('"')
    with ws.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.version == version)).one()
        event.status, event.version, event.details = "failed", None, {"reason": INTERRUPTED}
        db.commit()
        save_id = event.save_id
    report = _recover(ws)
    assert f"Save {save_id} (rule.create) was marked failed but was committed as {version[:12]}: marked done" \
        in report, report
    with ws.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.save_id == save_id)).one()
        assert (event.status, event.version) == ("done", version)
        assert "reason" not in event.details
    assert "Nothing to repair" in _recover(ws)


def test_what_the_database_records_and_the_repository_lacks_is_reported(ws):
    """The other direction (a repository restored from a copy older than the database): a done save whose commit
    is not on main, an approved release whose tag is missing. Recovery cannot make them and says so, instead of
    "the database and the rules agree"."""
    created = ws.as_("Ana").post("/api/rulesets/sepsis-triage/rules", json={"text": RULE, "why": "Hypothermia"})
    assert created.status_code == 201
    version = created.headers["ETag"].strip('"')
    _, tag = _approved_release(ws)
    with ws.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.version == version,
                                                    AuditEvent.save_id.is_not(None))).one()
        event.version = "f" * 40
        db.commit()
    subprocess.run(["git", "--git-dir", str(ws.app.extensions["rulecraft.store"].path), "update-ref", "-d",
                    f"refs/tags/{tag}"], check=True)
    report = _recover(ws)
    assert "NOT REPAIRED" in report and "Nothing to repair" not in report, report
    assert f"Save {event.save_id} (rule.create, sepsis-triage) is recorded as version ffffffffffff, which is not " \
           "in the repository" in report, report
    assert f"Release {tag.replace('/', ' ')} is approved but its tag is missing" in report, report


# ---- a release in 'approving': recovery resets only an approval whose approver is gone

APPROVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from server.lifecycle import open_runtime
    from server import auth
    from server.services import releases
    folder, url, release_id, held, go = sys.argv[1:6]
    real = releases.fault_point

    def hold(step):  # a barrier: the row is 'approving', the tag not yet written; wait for the test's word
        if step == "release.approving":
            Path(held).write_text("held")
            deadline = time.monotonic() + 120
            while not Path(go).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        real(step)

    releases.fault_point = hold
    runtime = open_runtime({"DATA_DIR": folder, "DATABASE_URL": url}, upgrade=False)
    with runtime.sessions() as db:
        release = releases.approve(runtime.workspace, db, auth.find_user(db, "Rui"), "sepsis-triage", release_id,
                                   "checked")
        print("approved", release.name)
""")


@pytest.fixture
def requested(tmp_path, database_url):
    """A workspace (on each database) with the sepsis rule set and Ana's request for its release, waiting for Rui:
    (data folder, database URL, release id)."""
    import rules_dsl
    from server import auth
    from server.services.releases import request_release
    from server.services.rules import import_ruleset

    folder = tmp_path / "data"
    runtime = open_runtime({"DATA_DIR": folder, "DATABASE_URL": database_url})
    try:
        with runtime.sessions() as db:
            ana = auth.create_user(db, "Ana", "author", "a long password")
            auth.create_user(db, "Rui", "reviewer", "a long password")
            db.commit()
            import_ruleset(runtime.workspace, db, ana, rules_dsl.load(ROOT / "tests/fixtures/sepsis-triage"), "Start")
            release_id = request_release(runtime.workspace, db, ana, "sepsis-triage", None, "first").id
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()
    return folder, database_url, release_id


def _recover_folder(folder: Path, url: str):
    """Recovery as a starting server runs it, in this process; then the release rows and the tags."""
    runtime = open_runtime({"DATA_DIR": folder, "DATABASE_URL": url}, upgrade=False)
    try:
        report = str(start(runtime))
        with runtime.sessions() as db:
            rows = [(r.id, r.status, r.name) for r in db.scalars(select(Release).order_by(Release.id))]
            approvals = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "release.approve")))
        return report, rows, [t.name for t in runtime.store.tags()], approvals
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()


def _approve_in_child(folder: Path, url: str, release_id: int, held: Path, go: Path, fault: str | None = None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RULECRAFT_FAULT", None)
    if fault:
        env["RULECRAFT_FAULT"] = fault
    return subprocess.Popen([sys.executable, "-c", APPROVER, str(folder), url, str(release_id), str(held), str(go)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_recovery_leaves_an_approval_in_progress_in_another_process_alone(requested, tmp_path):
    """Regression: recovery reset every release left 'approving' to 'requested', also one whose approver was alive
    and about to write the tag: a restart elsewhere undid an approval in progress (the approver then wrote its tag
    for a row that no longer said so). Now the row names its approver's process, and a live one is left alone."""
    folder, url, release_id = requested
    held, go = tmp_path / "held", tmp_path / "go"
    child = _approve_in_child(folder, url, release_id, held, go)
    try:
        deadline = time.monotonic() + 120
        while not held.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the approval never reached its fault point"
            time.sleep(0.05)
        report, rows, tags, _ = _recover_folder(folder, url)
        assert rows == [(release_id, "approving", "v1")], report
        assert f"Release sepsis-triage v1 is being approved by process {child.pid}" in report, report
        assert tags == []
    finally:
        go.write_text("go")
        out, err = child.communicate(timeout=120)
    assert child.returncode == 0 and "approved v1" in out, err
    report, rows, tags, approvals = _recover_folder(folder, url)
    assert rows == [(release_id, "approved", "v1")] and tags == ["sepsis-triage/v1"], report
    assert len(approvals) == 1 and "recovered" not in approvals[0].details
    assert "Nothing to repair" in report, report


def test_recovery_resets_an_approval_whose_approver_died(requested, tmp_path):
    """The dead-approver case is still repaired: the approving process was killed before its tag, so the request
    goes back to 'requested' and can be approved again."""
    folder, url, release_id = requested
    (tmp_path / "go").write_text("go")  # no hold: straight to the fault point, which kills the approver
    child = _approve_in_child(folder, url, release_id, tmp_path / "held", tmp_path / "go", fault="release.approving")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 99, err
    report, rows, tags, _ = _recover_folder(folder, url)
    assert f"Release request {release_id} of sepsis-triage was not tagged: back to requested" in report, report
    assert rows == [(release_id, "requested", None)] and tags == []
    again = _approve_in_child(folder, url, release_id, tmp_path / "held", tmp_path / "go")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and "approved v1" in out, err


def _approving(ws, **approver) -> int:
    """Ana's request put in the state an approval leaves while it writes the tag (no tag written), naming
    ``approver``; returns the release id."""
    from sqlalchemy import update

    asked = ws.as_("Ana").post("/api/rulesets/sepsis-triage/releases", json={"notes": "first"})
    assert asked.status_code == 201, asked.get_json()
    release_id = asked.get_json()["id"]
    with ws.sessions() as db:
        db.execute(update(Release).where(Release.id == release_id).values(
            status="approving", name="v1", decided_by=ws.people["Rui"].id, **approver))
        db.commit()
    return release_id


def _status(ws, release_id: int):
    with ws.sessions() as db:
        release = db.get(Release, release_id)
        return release.status, release.name, release.approving_process


def test_an_approver_id_taken_by_a_later_process_counts_as_gone(ws):
    """A live process whose id the row names, but which started at another moment, is not the approver (a
    restarted server, in a container, often gets the same process id): the approval is reset."""
    from server.services.saving import process_start, this_host

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = process_start(other.pid)
        assert started is not None
        later = _approving(ws, approving_host=this_host(), approving_process=other.pid,
                           approving_started=started + "0")
        report = _recover(ws)
        assert f"Release request {later} of sepsis-triage was not tagged: back to requested" in report, report
        assert _status(ws, later) == ("requested", None, None)
    finally:
        other.kill()
        other.wait()


def test_an_approver_on_another_host_is_waited_for_until_its_lease_ends(ws):
    """Recovery cannot see another host's processes: it leaves the approval alone while the lease runs, and
    resets it after."""
    from datetime import timedelta

    from sqlalchemy import update

    from server.models import utcnow

    release_id = _approving(ws, approving_host="elsewhere.example.org", approving_process=4242,
                            approving_started="boot:1", approving_until=utcnow() + timedelta(minutes=5))
    report = _recover(ws)
    assert "Release sepsis-triage v1 is being approved by process 4242 on elsewhere.example.org: left alone" \
        in report, report
    assert _status(ws, release_id) == ("approving", "v1", 4242)
    with ws.sessions() as db:
        db.execute(update(Release).values(approving_until=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert "was not tagged: back to requested" in _recover(ws)
    assert _status(ws, release_id) == ("requested", None, None)
    approved = ws.as_("Rui").post(f"/api/rulesets/sepsis-triage/releases/{release_id}/approve",
                                  json={"comment": "checked"})
    assert approved.status_code == 200 and approved.get_json()["name"] == "v1", approved.get_json()


def test_an_approving_row_naming_no_approver_is_judged_at_once(ws):
    """A row from before the approver was recorded (migration 0005) is judged as before: no tag, back to
    requested."""
    release_id = _approving(ws)
    assert "was not tagged: back to requested" in _recover(ws)
    assert _status(ws, release_id) == ("requested", None, None)


def test_migration_0005_adds_the_approver_columns_and_keeps_releases(database_url):
    import sqlalchemy as sa

    from server import migrate

    columns = {"approving_host", "approving_process", "approving_started", "approving_until"}
    migrate.upgrade(database_url, "0004")
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO users (id, name, name_key, email, role, password_hash, "
                              "must_change_password, active, created_at) VALUES (1, 'Ana', 'ana', 'a@b.org', "
                              "'author', 'x', false, true, CURRENT_TIMESTAMP)"))
            for id_, name, status in [(1, "v1", "approved"), (2, "v2", "approving")]:
                c.execute(sa.text("INSERT INTO releases (id, ruleset, name, version, status, notes, requested_by, "
                                  "requested_at, comment, bundle_hash) VALUES (:id, 'r', :name, :v, :status, '', 1, "
                                  "CURRENT_TIMESTAMP, '', 'h')"), {"id": id_, "name": name, "status": status,
                                                                    "v": str(id_) * 40})
        migrate.upgrade(database_url)
        assert columns <= {c["name"] for c in sa.inspect(engine).get_columns("releases")}
        with engine.begin() as c:
            assert c.execute(sa.text("SELECT id, status, approving_host, approving_process, approving_started, "
                                     "approving_until FROM releases ORDER BY id")).all() == \
                [(1, "approved", None, None, None, None), (2, "approving", None, None, None, None)]
            c.execute(sa.text("UPDATE releases SET approving_host = 'h', approving_process = 7, "
                              "approving_started = 'b:1', approving_until = CURRENT_TIMESTAMP WHERE id = 2"))
        migrate.downgrade(database_url, "0004")
        engine.dispose()
        assert not columns & {c["name"] for c in sa.inspect(engine).get_columns("releases")}
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT id, name, status, bundle_hash FROM releases ORDER BY id")).all() == \
                [(1, "v1", "approved", "h"), (2, "v2", "approving", "h")]
        migrate.upgrade(database_url)
        assert migrate.current(engine) == migrate.head(database_url)
    finally:
        engine.dispose()


def test_the_approval_of_an_ended_worker_is_settled_without_a_restart(ws):
    """When a server worker ends (settle_process, run by the server's master), its approval left 'approving' is
    judged at once; another live process's approval is not touched."""
    from server.services.recovery import settle_process
    from server.services.saving import process_start, this_host

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ended = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = process_start(ended.pid)
        ended.kill()
        ended.wait()
        theirs = _approving(ws, approving_host=this_host(), approving_process=ended.pid, approving_started=started)
        store = ws.app.extensions["rulecraft.store"]
        with ws.sessions() as db:
            other = Release(ruleset="sepsis-triage", version=db.get(Release, theirs).version, status="approving",
                            name="v2", requested_by=ws.people["Ana"].id, approving_host=this_host(),
                            approving_process=live.pid, approving_started=process_start(live.pid))
            db.add(other)
            db.commit()
            other_id = other.id
        with ws.app.app_context(), ws.sessions() as db:
            report = str(settle_process(db, store, ended.pid))
        assert report == f"Release request {theirs} of sepsis-triage was not tagged: back to requested", report
        assert _status(ws, theirs) == ("requested", None, None)
        assert _status(ws, other_id) == ("approving", "v2", live.pid)
        with ws.app.app_context(), ws.sessions() as db:
            assert not settle_process(db, store, ended.pid).actions
    finally:
        live.kill()
        live.wait()
