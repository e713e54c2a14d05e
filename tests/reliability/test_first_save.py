"""The first save of an empty workspace has a compare-and-swap too (issue 13, item 4).

Two PROCESSES import two rule sets into an empty data folder at the same moment. Both read "the workspace is
empty" before either commits (the test holds the store's writer lock until both are waiting for it). The second
must notice that the workspace is no longer empty and save on top of the first; before the fix it was acknowledged
too and its commit, built on the empty workspace, dropped the first one's files: one rule set, two acknowledgements.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from server import auth, store
from tests.server.conftest import FIXTURES, PASSWORD, close_app, database_url, make_app  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys, time
from pathlib import Path
import rules_dsl
from server import auth
from server.services.rules import import_ruleset
from tests.server.conftest import make_app, close_app
data, url, name, folder = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
app = make_app(data, url)
(data / f"ready-{name}").touch()
while not (data / "go").exists():
    time.sleep(0.01)
with app.app_context():
    from server.db import get_db
    db = get_db()
    ruleset, saved = import_ruleset(app.extensions["rulecraft.workspace"], db, auth.find_user(db, name),
                                    rules_dsl.load(folder), f"Imported by {name}")
    print(json.dumps({"ruleset": ruleset, "version": saved.version.id}))
close_app(app)
"""


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _pending_saves(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(sa.text("SELECT count(*) FROM audit_events WHERE status = 'pending'")).scalar()
    finally:
        engine.dispose()


def test_two_first_saves_at_once_from_two_processes_are_both_kept(tmp_path, database_url):  # noqa: F811
    data = tmp_path / "data"
    app = make_app(data, database_url)
    with app.app_context():
        from server.db import get_db

        db = get_db()
        for name in ("Ana", "Bea"):
            auth.create_user(db, name, "author", PASSWORD)
        db.commit()
    repository = app.extensions["rulecraft.store"].path
    assert app.extensions["rulecraft.store"].head() is None  # an empty workspace, as `rulecraft serve` starts
    close_app(app)

    # Bea's copy has another title and folder name (a rule set of a name that exists is refused, not copied).
    copy = tmp_path / "copy" / "sepsis-copy"
    shutil.copytree(FIXTURES / "sepsis-triage", copy)
    settings = copy / "ruleset.yaml"
    settings.write_text(settings.read_text().replace("title: ", "title: Copy of ", 1))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(data), database_url, name, str(folder)],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for name, folder in (("Ana", FIXTURES / "sepsis-triage"), ("Bea", copy))]
    try:
        _wait_for(lambda: all((data / f"ready-{n}").exists() for n in ("Ana", "Bea")), "both processes to start")
        fd = os.open(repository / store.LOCK_FILE, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # hold back both saves until both have read "the workspace is empty"
            (data / "go").touch()
            _wait_for(lambda: _pending_saves(database_url) == 2, "both saves to wait for the store")
            time.sleep(0.3)
        finally:
            os.close(fd)
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    for child, (_out, err) in zip(children, outputs):
        assert child.returncode == 0, err
    answers = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

    app = make_app(data, database_url)
    try:
        ws = app.extensions["rulecraft.workspace"]
        names = sorted(a["ruleset"] for a in answers)
        assert names == ["sepsis-copy", "sepsis-triage"]
        assert ws.ruleset_ids() == names  # both acknowledged rule sets are there, neither replaced the other
        history = ws.store.log(limit=10)
        assert len(history) == 2 and history[1].parent is None and history[0].parent == history[1].id
        for answer in answers:
            assert ws.store.log(answer["ruleset"], limit=1)[0].id == answer["version"]
        assert [ws.ruleset(r, ws.head()).title for r in names] == ["Copy of Sepsis triage", "Sepsis triage"]
    finally:
        close_app(app)


@pytest.mark.parametrize("expect", [None, "ANY_HEAD"])
def test_the_store_owns_the_one_sentinel_for_do_not_check(tmp_path, expect):
    """``expect_head=None`` means "the store must be empty"; not checking at all is ``store.ANY_HEAD``."""
    with store.GitStore(tmp_path / "repo") as git:
        who, trailers = store.Identity("Ana", "ana@example.org"), {"Rulecraft-User": "1"}
        git.commit([store.Change("a/x.txt", b"1")], author=who, message="first", trailers=trailers)
        second = {"author": who, "message": "second", "trailers": trailers,
                  "expect_head": store.ANY_HEAD if expect else None}
        if expect is None:
            with pytest.raises(store.HeadMoved):
                git.commit([store.Change("a/y.txt", b"2")], **second)
        else:
            git.commit([store.Change("a/y.txt", b"2")], **second)
