"""`rulecraft serve` as a real process (gunicorn, 2 workers) on a free loopback port, and the admin commands."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

import rules_dsl

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "sepsis-triage"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rulecraft(*args, data_dir: Path, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "server", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                            input=stdin, capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"rulecraft {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


class Server:
    def __init__(self, data_dir: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen([sys.executable, "-m", "server", "serve", "--data-dir", str(data_dir),
                                         "--port", str(self.port), *extra], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Read the output as it comes: a full pipe (a few hundred request log lines) would block the server.
        self.output: list[str] = []
        self._reader = threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/api/openapi.json", timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):  # accepted but not answered yet: workers warming up
                if self.process.poll() is not None:
                    raise AssertionError("the server stopped:\n" + self.stop())  # noqa: B904
                time.sleep(0.2)
        self.stop()
        raise AssertionError("the server did not start within 60 s")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=15)
        self.process.stdout.close()
        return "".join(self.output)


@pytest.mark.slow
def test_serve_demo_and_use_it_over_http(tmp_path):
    data = tmp_path / "data"
    server = Server(data, "--demo")
    try:
        openapi = requests.get(f"{server.url}/api/openapi.json", timeout=10).json()
        assert openapi["openapi"].startswith("3.")
        assert requests.get(f"{server.url}/api/rulesets", timeout=10).status_code == 401
    finally:
        output = server.stop()
    # The name comes first, as the sign-in page asks for it: people typed the role, printed first, as their name.
    found = re.findall(r"^  name: (.+?) +one-time password: (\S+) +\((\S+)\)$", output, re.MULTILINE)
    passwords = {role: password for _name, password, role in found}
    assert set(passwords) == {"author", "reviewer", "auditor", "ml-engineer", "admin"}, output
    assert "Open http://127.0.0.1:" in output


@pytest.mark.slow
def test_commands_and_a_pinned_bundle_over_http(tmp_path):
    data = tmp_path / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    rulecraft("create-user", "Rui", "--role", "reviewer", data_dir=data, stdin="a long password 2\n")
    refused = rulecraft("create-user", "ana", "--role", "author", data_dir=data, stdin="a long password 3\n",
                        check=False)
    assert refused.returncode == 1 and "already exists" in refused.stderr
    short = rulecraft("create-user", "Zed", "--role", "author", data_dir=data, stdin="short\n", check=False)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    imported = rulecraft("import", str(FIXTURE), "--as", "Ana", "--why", "Initial rules", data_dir=data)
    assert "sepsis-triage" in imported.stdout
    token = rulecraft("create-token", "Ana", "--scope", "write", data_dir=data).stdout.strip()
    reviewer_token = rulecraft("create-token", "Rui", "--scope", "write", data_dir=data).stdout.strip()
    assert token.startswith("rc_")
    server = Server(data)
    try:
        ana = {"Authorization": f"Bearer {token}"}
        rui = {"Authorization": f"Bearer {reviewer_token}"}
        requested = requests.post(f"{server.url}/api/rulesets/sepsis-triage/releases", json={}, headers=ana,
                                  timeout=10)
        assert requested.status_code == 201, requested.text
        approved = requests.post(f"{server.url}/api/rulesets/sepsis-triage/releases/{requested.json()['id']}/approve",
                                 json={"comment": "ok"}, headers=rui, timeout=10)
        assert approved.status_code == 200, approved.text
        bundle = requests.get(f"{server.url}/api/rulesets/sepsis-triage/bundle?version=v1", headers=ana, timeout=10)
        assert bundle.status_code == 200
        pinned = rules_dsl.from_bundle(bundle.content)
        assert pinned.release == "v1" and len(pinned.rules) == 2
        # both workers answer the same for the pinned version
        answers = {requests.post(f"{server.url}/api/rulesets/sepsis-triage/predict?version=v1",
                                 json={"case": {"temperature": 39, "heart rate": 120}}, headers=ana,
                                 timeout=10).json()["prediction"]["label"] for _ in range(20)}
        assert answers == {"high"}
    finally:
        server.stop()
    exported = tmp_path / "export.json"
    rulecraft("export", "sepsis-triage", "--version", "v1", "--out", str(exported), data_dir=data)
    assert exported.read_bytes() == bundle.content
    report = rulecraft("recover", data_dir=data)
    assert "Nothing to repair" in report.stdout
    upgraded = rulecraft("db", "upgrade", data_dir=data)
    assert "revision" in upgraded.stdout


@pytest.mark.slow
def test_a_revoked_token_or_deactivated_person_is_refused_at_once_by_every_worker(tmp_path):
    """The token check reads the database on every request (no cache in a worker): a token revoked, or a person
    deactivated, by another process is refused by the very next request, whichever worker takes it. Each request
    below is a new connection, so the two workers share them."""
    import sqlalchemy as sa

    data = tmp_path / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    # Mia reviews: she predicts on the unreleased latest version below, which needs the right to read rules
    # (an ML engineer or a predict-scoped token gets released versions only).
    rulecraft("create-user", "Mia", "--role", "reviewer", data_dir=data, stdin="a long password 2\n")
    rulecraft("import", str(FIXTURE), "--as", "Ana", "--why", "Initial rules", data_dir=data)
    ana = {"Authorization": "Bearer " + rulecraft("create-token", "Ana", "--scope", "write",
                                                  data_dir=data).stdout.strip()}
    mia = {"Authorization": "Bearer " + rulecraft("create-token", "Mia", "--scope", "write",
                                                  data_dir=data).stdout.strip()}
    engine = sa.create_engine(f"sqlite:///{data / 'rulecraft.db'}")
    server = Server(data)
    try:
        head = requests.get(f"{server.url}/api/rulesets", headers=ana, timeout=10).json()["version"]
        predict = f"{server.url}/api/rulesets/sepsis-triage/predict?version={head}"
        case = {"case": {"temperature": 39, "heart rate": 120}}

        def statuses(headers) -> set[int]:
            return {requests.post(predict, json=case, headers=headers, timeout=10).status_code for _ in range(16)}

        assert statuses(mia) == {200} and statuses(ana) == {200}
        with engine.begin() as c:  # another process revokes Mia's token
            c.execute(sa.text("UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = "
                              "(SELECT id FROM users WHERE name = 'Mia')"))
        assert statuses(mia) == {401}
        assert statuses(ana) == {200}
        with engine.begin() as c:  # ... and deactivates Ana: her token stops working at once
            c.execute(sa.text("UPDATE users SET active = 0 WHERE name = 'Ana'"))
        assert statuses(ana) == {401}
    finally:
        server.stop()
        engine.dispose()


@pytest.mark.slow
def test_recover_refuses_to_run_beside_a_live_server(tmp_path):
    """Regression: `rulecraft recover` beside a running server marked saves in flight "never reached the repository:
    marked failed" although they then completed. The server holds the data folder; recover (and a second server)
    says so and changes nothing."""
    data = tmp_path / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    server = Server(data)
    try:
        refused = rulecraft("recover", data_dir=data, check=False)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "server" in refused.stderr and "stop it" in refused.stderr.lower(), refused.stderr
        second_run = subprocess.run([sys.executable, "-m", "server", "serve", "--data-dir", str(data), "--port",
                                     str(free_port())], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                    capture_output=True, text=True, timeout=120)
        assert second_run.returncode == 1 and "already" in second_run.stderr, second_run.stderr
        assert requests.get(f"{server.url}/api/openapi.json", timeout=10).status_code == 200
    finally:
        server.stop()
    assert "Nothing to repair" in rulecraft("recover", data_dir=data).stdout


@pytest.mark.slow
def test_the_saves_of_a_killed_worker_are_settled_without_a_restart(tmp_path):
    """Regression: the audit row of a save whose worker died stayed 'pending' until the next full start. The
    server settles that worker's rows (and only those) as soon as it has died."""
    import sqlalchemy as sa

    data = tmp_path / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    rulecraft("import", str(FIXTURE), "--as", "Ana", "--why", "Initial rules", data_dir=data)
    ana = {"Authorization": "Bearer " + rulecraft("create-token", "Ana", "--scope", "write",
                                                  data_dir=data).stdout.strip()}
    env = os.environ.get("RULECRAFT_FAULT")
    os.environ["RULECRAFT_FAULT"] = "service.audit-pending:1"  # each worker dies at its first save
    try:
        server = Server(data, "--workers", "1")
    finally:
        if env is None:
            os.environ.pop("RULECRAFT_FAULT")
        else:
            os.environ["RULECRAFT_FAULT"] = env
    engine = sa.create_engine(f"sqlite:///{data / 'rulecraft.db'}")
    try:
        with pytest.raises(requests.RequestException):
            requests.post(f"{server.url}/api/rulesets/sepsis-triage/rules", headers=ana, timeout=30,
                          json={"text": 'rule "Cold"\nwhen temperature is below 35', "why": "Hypothermia"})
        statuses = []
        for _ in range(100):  # bounded: 20 s
            with engine.connect() as c:
                statuses = [r.status for r in c.execute(sa.text(
                    "SELECT status FROM audit_events WHERE action = 'rule.create'"))]
            if statuses and "pending" not in statuses:
                break
            time.sleep(0.2)
        assert statuses == ["failed"], statuses
        assert requests.get(f"{server.url}/api/rulesets", headers=ana, timeout=30).status_code == 200
    finally:
        server.stop()
        engine.dispose()


@pytest.mark.slow
def test_recovery_during_saves_never_fails_an_acknowledged_save(tmp_path, database_url):
    """Regression (issue 20, item 1): recovery run while the server was saving, and the start-up of a second
    server, marked acknowledged saves 'failed / interrupted before the commit', for good. Here recovery runs 12
    times during saves, in this process through the service itself (as a recovery that does not know of the
    server's hold on the data folder would), while `rulecraft recover` and a second server are refused: every
    acknowledged save ends 'done', with its commit."""
    import threading

    import sqlalchemy as sa

    from server.lifecycle import open_runtime
    from server.services import recovery

    data = tmp_path / "data"
    url = ["--database-url", database_url]
    rulecraft("create-user", "Ana", "--role", "author", *url, data_dir=data, stdin="a long password 1\n")
    rulecraft("import", str(FIXTURE), "--as", "Ana", "--why", "Initial rules", *url, data_dir=data)
    ana = {"Authorization": "Bearer " + rulecraft("create-token", "Ana", "--scope", "write", *url,
                                                  data_dir=data).stdout.strip()}
    os.environ["RULECRAFT_FAULT"] = "service.audit-pending@0.3"  # each save waits with its row pending
    try:
        server = Server(data, *url)
    finally:
        os.environ.pop("RULECRAFT_FAULT")
    acknowledged: list[str] = []
    stop = threading.Event()

    def save(worker: int) -> None:
        for n in range(200):
            if stop.is_set():
                break
            answer = requests.post(f"{server.url}/api/rulesets/sepsis-triage/rules", headers=ana, timeout=60,
                                   json={"text": f'rule "Cold {worker} {n}"\nwhen temperature is below 35',
                                         "why": "Hypothermia"})
            if answer.status_code == 201:
                acknowledged.append(answer.headers["ETag"].strip('"'))

    reports = []
    try:
        savers = [threading.Thread(target=save, args=(w,)) for w in range(2)]
        for t in savers:
            t.start()
        runtime = open_runtime({"DATA_DIR": data, "DATABASE_URL": database_url}, upgrade=False)
        try:
            for _ in range(12):
                with runtime.sessions() as db:
                    reports.append(str(recovery.recover(db, runtime.store)))
                time.sleep(0.1)
        finally:
            runtime.store.close()
            runtime.sessions.kw["bind"].dispose()
        refused = rulecraft("recover", *url, data_dir=data, check=False)
        second = subprocess.run([sys.executable, "-m", "server", "serve", "--data-dir", str(data), *url, "--port",
                                 str(free_port())], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                capture_output=True, text=True, timeout=120)
        stop.set()
        for t in savers:
            t.join(timeout=300)
    finally:
        server.stop()
    assert refused.returncode == 1 and "already" in refused.stderr, refused.stderr
    assert second.returncode == 1 and "already" in second.stderr, second.stderr
    assert len(acknowledged) >= 10, len(acknowledged)
    assert not any("marked failed" in r for r in reports), reports
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as c:
            rows = {r.version: r.status for r in c.execute(sa.text(
                "SELECT version, status FROM audit_events WHERE action = 'rule.create'"))}
            failed = c.execute(sa.text("SELECT count(*) FROM audit_events WHERE status = 'failed'")).scalar()
    finally:
        engine.dispose()
    assert all(rows.get(v) == "done" for v in acknowledged), (acknowledged, rows)
    assert failed == 0
    assert "Nothing to repair" in rulecraft("recover", *url, data_dir=data).stdout
