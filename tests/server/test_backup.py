"""`rulecraft backup DEST` and `rulecraft restore SRC --data-dir D [--database-url U]` (issue 20, item 2): the
repository with its configuration, the database, data sets and keys, a manifest; restored into an empty place,
repaired and checked; refused with a plain message when it cannot be done. The real commands, on SQLite and
PostgreSQL, and a backup taken while the real server saves."""
from __future__ import annotations

import json
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests
import sqlalchemy as sa
from test_process import Server, rulecraft

from rules_dsl.demo import DEMO_RULESET
from server import auth
from server.db import session_factory
from server.lifecycle import open_runtime, seed_demo
from server.store import GitStore
from tests.server.conftest import PASSWORD, close_app, fresh_postgres_database, make_app


def run(*args, data, url=None, check=False, **kw):
    extra = ("--database-url", url) if url else ()
    return rulecraft(*args, *extra, data_dir=data, check=check, **kw)


def restore(source: Path, data: Path, url: str | None = None, check: bool = False):
    import os
    import subprocess
    import sys

    from test_process import ROOT

    extra = ["--database-url", url] if url else []
    result = subprocess.run([sys.executable, "-m", "server", "restore", str(source), "--data-dir", str(data),
                             *extra], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    if check and result.returncode != 0:
        raise AssertionError(f"restore failed:\n{result.stdout}\n{result.stderr}")
    return result


def demo_workspace(data: Path, url: str | None) -> None:
    runtime = open_runtime({"DATA_DIR": data, **({"DATABASE_URL": url} if url else {})})
    try:
        seed_demo(runtime)
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()


def check_restored(tmp_path, data: Path, url: str, manifest: dict) -> None:
    """The restored workspace serves: the same versions and releases, people who can sign in, analysis on the
    restored data set."""
    app = make_app(data, url)
    try:
        sessions = session_factory(url)
        with app.app_context(), sessions() as db:
            admin = auth.find_user(db, "Ada Admin")
            secret, _ = auth.create_token(db, admin, "write")
            db.commit()
        sessions.kw["bind"].dispose()
        store = app.extensions["rulecraft.store"]
        assert store.head() == manifest["head"]
        assert {t.name: t.version for t in store.tags()} == manifest["releases"] == {f"{DEMO_RULESET}/v1":
                                                                                      manifest["head"]}
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        analysis = client.get(f"/api/rulesets/{DEMO_RULESET}/analysis", headers=headers)
        assert analysis.status_code == 200, analysis.get_json()
        assert analysis.get_json()["summary"]
        predicted = client.post(f"/api/rulesets/{DEMO_RULESET}/predict?version=v1", headers=headers,
                                json={"case": {"worst radius": 18.2}})
        assert predicted.status_code == 200, predicted.get_json()
        assert client.get("/readyz").status_code == 200
    finally:
        close_app(app)


def test_backup_and_restore_sqlite(tmp_path):
    data = tmp_path / "data"
    demo_workspace(data, None)
    backup = tmp_path / "backup"
    made = run("backup", str(backup), data=data, check=True)
    assert "Backed up to" in made.stdout and "1 release" in made.stdout
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["database"] == "database.sqlite3" and manifest["counts"]["users"] == 5
    assert manifest["counts"]["datasets"] == 1 and manifest["schema_revision"]
    assert (backup / "files" / "secret_key").read_text() == (data / "secret_key").read_text()
    config = (backup / "rules.git" / "config").read_text()
    assert "[rulecraft]" in config and "store = 1" in config  # the copy is a Rulecraft store as it is
    restored = tmp_path / "restored"
    done = restore(backup, restored, check=True)
    assert "the repository and the database agree" in done.stdout
    assert (restored / "secret_key").read_text() == (data / "secret_key").read_text()
    assert sorted(p.name for p in (restored / "datasets").iterdir()) == \
        sorted(p.name for p in (data / "datasets").iterdir())
    check_restored(tmp_path, restored, f"sqlite:///{restored / 'rulecraft.db'}", manifest)


def test_backup_and_restore_postgres(tmp_path):
    with ExitStack() as stack:
        source_url = stack.enter_context(fresh_postgres_database())
        target_url = stack.enter_context(fresh_postgres_database())
        data = tmp_path / "data"
        demo_workspace(data, source_url)
        backup = tmp_path / "backup"
        run("backup", str(backup), data=data, url=source_url, check=True)
        manifest = json.loads((backup / "manifest.json").read_text())
        assert manifest["database"] == "database.pgdump"
        refused = restore(backup, tmp_path / "elsewhere")  # a PostgreSQL backup needs a PostgreSQL database
        assert refused.returncode == 1 and "give --database-url" in refused.stderr
        restored = tmp_path / "restored"
        restore(backup, restored, target_url, check=True)
        check_restored(tmp_path, restored, target_url, manifest)
        again = restore(backup, tmp_path / "third", target_url)
        assert again.returncode == 1 and "is not empty" in again.stderr


def test_refusals_are_plain(tmp_path):
    data = tmp_path / "data"
    run("create-user", "Ana", "--role", "author", data=data, stdin="a long password 1\n", check=True)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "something").write_text("x")
    refused = run("backup", str(occupied), data=data)
    assert refused.returncode == 1 and "is not empty" in refused.stderr
    inside = run("backup", str(data / "copy"), data=data)
    assert inside.returncode == 1 and "inside the data folder" in inside.stderr
    backup = tmp_path / "backup"
    run("backup", str(backup), data=data, check=True)
    not_a_backup = restore(occupied, tmp_path / "r1")
    assert not_a_backup.returncode == 1 and "is not a Rulecraft backup" in not_a_backup.stderr
    (backup / "files" / "secret_key").write_text("tampered")
    damaged = restore(backup, tmp_path / "r2")
    assert damaged.returncode == 1 and "damaged: files/secret_key" in damaged.stderr
    assert not (tmp_path / "r2").exists()
    for result in (refused, inside, not_a_backup, damaged):
        assert "Traceback" not in result.stderr


def test_backup_comes_before_an_upgrade(tmp_path):
    """Backing up is the step before 'db upgrade', so it works on a database whatever its schema revision (here
    one this version does not know); restoring such a backup is refused before anything is copied."""
    data = tmp_path / "data"
    run("create-user", "Ana", "--role", "author", data=data, stdin="a long password 1\n", check=True)
    engine = sa.create_engine(f"sqlite:///{data / 'rulecraft.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()
    assert "does not know" in run("recover", data=data).stderr  # other commands refuse it
    run("backup", str(tmp_path / "backup"), data=data, check=True)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["schema_revision"] == "from_the_future" and manifest["counts"]["users"] == 1
    refused = restore(tmp_path / "backup", tmp_path / "restored")
    assert refused.returncode == 1 and "a newer version made it" in refused.stderr
    assert not (tmp_path / "restored").exists()
    empty = run("backup", str(tmp_path / "backup2"), data=tmp_path / "empty")
    assert empty.returncode == 1 and "nothing to back up" in empty.stderr


def test_backup_while_the_server_saves(tmp_path):
    """About two saves a second on the real server (2 workers) while `rulecraft backup` runs: every save
    acknowledged before the backup started is in the restored repository, with its audit row done; the restored
    folder starts with the README's command and is ready."""
    data = tmp_path / "data"
    run("create-user", "Ana", "--role", "author", data=data, stdin=f"{PASSWORD}\n", check=True)
    fixture = Path(__file__).parents[1] / "fixtures" / "sepsis-triage"
    run("import", str(fixture), "--as", "Ana", "--why", "Start", data=data, check=True)
    token = run("create-token", "Ana", "--scope", "write", data=data, check=True).stdout.strip()
    server = Server(data)
    acknowledged: list[tuple[float, str]] = []
    refused: list[str] = []
    stop = threading.Event()

    def save() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        path = f"{server.url}/api/rulesets/sepsis-triage/rules/sirs"
        with requests.Session() as http:
            rule = http.get(path, headers=headers, timeout=30)
            text, version = rule.json()["text"], rule.headers["ETag"]
            n = 0
            while not stop.is_set():
                n += 1
                new = text.replace("confidence 0.8", f"confidence 0.{(n % 8) + 1}")  # never the same twice
                answer = http.put(path, headers={**headers, "If-Match": version},
                                  json={"text": new, "why": f"save {n}"}, timeout=60)
                if answer.status_code == 200:
                    version = answer.headers["ETag"]
                    acknowledged.append((time.monotonic(), version.strip('"')))
                else:
                    refused.append(answer.text)
                time.sleep(0.5)

    saver = threading.Thread(target=save)
    saver.start()
    try:
        time.sleep(3)
        started = time.monotonic()
        run("backup", str(tmp_path / "backup"), data=data, check=True)
        time.sleep(1.5)
    finally:
        stop.set()
        saver.join()
        server.stop()
    before = [v for t, v in acknowledged if t < started]
    assert len(before) >= 3 and not refused, (acknowledged, refused)
    restored = tmp_path / "restored"
    restore(tmp_path / "backup", restored, check=True)
    with GitStore(restored / "rules.git") as store:
        history = {v.id for v in store.log(limit=1000)}
    assert set(before) <= history
    engine = sa.create_engine(f"sqlite:///{restored / 'rulecraft.db'}")
    try:
        with engine.connect() as connection:
            rows = dict(connection.execute(sa.text("SELECT version, status FROM audit_events "
                                                   "WHERE version IS NOT NULL")).all())
    finally:
        engine.dispose()
    assert all(rows.get(v) == "done" for v in before), rows
    assert "pending" not in rows.values()
    again = Server(restored)  # the README's command: rulecraft serve --data-dir <folder>
    try:
        assert requests.get(f"{again.url}/readyz", timeout=10).status_code == 200
    finally:
        again.stop()

