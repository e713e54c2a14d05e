"""The production server as a real process, and the ledger that says whether anything was lost.

Shared by the reliability tests (tests/reliability/) and the load and soak script (bench/reliability/soak.py):

- ``make_workspace`` builds a data folder through the same code the commands use (people, tokens, a rule set and
  its first release), in this process, so that a test does not pay for one Python start per command;
- ``ServerProcess`` runs ``python -m server serve`` (gunicorn, 2 workers by default) on a free loopback port, in its
  own process group so that it can be killed as a whole, with its output in a file (a pipe could fill up and
  stall it during a long run), and finds its worker processes in /proc;
- ``read_ledger`` opens the data folder afterwards WITHOUT repairing anything and reports commits, audit rows,
  releases, tags, lock files, temporary folders and ``git fsck``: what the invariants are checked against.

Loopback only: the server binds 127.0.0.1 and every client here talks to that address.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "sepsis-triage"
RULESET = "sepsis-triage"
PASSWORD = "a long test password"
LOOPBACK = "127.0.0.1"

# name, role, token scope
PEOPLE = [("Ana", "author"), ("Bea", "author"), ("Cy", "author"), ("Dee", "author"), ("Eli", "author"),
          ("Rui", "reviewer"), ("Rosa", "reviewer"), ("Alex", "auditor"), ("Mia", "ml-engineer"), ("Ada", "admin")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def child_env(fault: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a server or command: this one, without any fault unless one is asked for."""
    env = {k: v for k, v in os.environ.items() if k != "RULECRAFT_FAULT"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if fault:
        env["RULECRAFT_FAULT"] = fault
    env.update(extra)
    return env


def rulecraft(*args: str, data_dir: Path, database_url: str | None = None, fault: str | None = None,
              stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """One ``rulecraft`` command as its own process (``python -m server``)."""
    extra = ["--database-url", database_url] if database_url else []
    return subprocess.run([sys.executable, "-m", "server", *args, "--data-dir", str(data_dir), *extra], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, env=child_env(fault), timeout=timeout)


@dataclass
class Workspace:
    data_dir: Path
    database_url: str | None
    tokens: dict[str, str]            # person -> write-scoped token
    user_ids: dict[str, int]
    release_version: str              # the version released as v1


def make_workspace(data_dir: Path, database_url: str | None = None, people=PEOPLE) -> Workspace:
    """People with write tokens, the sepsis rule set imported by Ana, and release v1 (asked by Ana, approved by
    Rui), built with the code behind ``rulecraft create-user``/``create-token``/``import``."""
    import rules_dsl
    from server import auth
    from server.lifecycle import open_runtime
    from server.services import releases
    from server.services.rules import import_ruleset

    overrides = {"DATA_DIR": data_dir, "PASSWORD_METHOD": "pbkdf2:sha256:1000"}
    if database_url:
        overrides["DATABASE_URL"] = database_url
    runtime = open_runtime(overrides)
    tokens, ids = {}, {}
    try:
        with runtime.sessions() as db:
            for name, role in people:
                user = auth.create_user(db, name, role, PASSWORD, f"{name.lower()}@example.org")
                secret, _ = auth.create_token(db, user, "write")
                tokens[name], ids[name] = secret, user.id
            db.commit()
            ana, rui = auth.find_user(db, "Ana"), auth.find_user(db, "Rui")
            _, saved = import_ruleset(runtime.workspace, db, ana, rules_dsl.load(FIXTURE), "Start from the fixture")
            release = releases.request_release(runtime.workspace, db, ana, RULESET, saved.version.id, "First")
            releases.approve(runtime.workspace, db, rui, RULESET, release.id, "Checked")
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()
    return Workspace(data_dir, database_url, tokens, ids, saved.version.id)


class ServerProcess:
    """``python -m server serve`` on a free loopback port; ``fault`` sets RULECRAFT_FAULT in its environment."""

    def __init__(self, data_dir: Path, *, workers: int = 2, fault: str | None = None,
                 database_url: str | None = None, log_path: Path | None = None, start_timeout: float = 60,
                 extra: tuple[str, ...] = ()):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = log_path or self.data_dir.parent / f"server-{self.port}.log"
        args = [sys.executable, "-m", "server", "serve", "--data-dir", str(self.data_dir), "--host", LOOPBACK,
                "--port", str(self.port), "--workers", str(workers)]
        if database_url:
            args += ["--database-url", database_url]
        args += list(extra)  # more flags of `rulecraft serve`, e.g. ("--trusted-proxies", "1")
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(args, cwd=ROOT, env=child_env(fault), stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_until_up(start_timeout)

    def _wait_until_up(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/api/openapi.json", timeout=10)
                return
            # a loaded machine may accept the connection before a worker can answer: wait on, as for a refusal
            except (requests.ConnectionError, requests.Timeout):
                if self.process.poll() is not None:
                    self.kill()
                    raise AssertionError("the server stopped at start:\n" + self.output())  # noqa: B904
                time.sleep(0.1)
        self.kill()
        raise AssertionError("the server did not start in time:\n" + self.output())

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the children of the master process that are Python (the master also keeps the
        ``git cat-file`` helper it used at start)."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        workers = []
        for pid in map(int, text.split()):
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() != "git":
                    workers.append(pid)
            except OSError:
                pass
        return sorted(workers)

    def kill(self) -> None:
        """SIGKILL to the whole process group: master and workers die where they stand."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL to what is left."""
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        code = self.process.poll()
        self.kill()
        return code

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- what the data folder holds -----------------------------------------------------------------------------------

@dataclass
class Ledger:
    commits: list                       # store Versions, oldest first
    events: list                        # AuditEvent rows, oldest first
    releases: list                      # Release rows
    tags: list                          # store Tags
    fsck_ok: bool
    fsck_report: str
    lock_files: list[str]
    scratch: list[str]
    files_at: dict = field(default_factory=dict)

    @property
    def save_rows(self) -> list:
        """Audit rows of saves (they carry a save id), by status."""
        return [e for e in self.events if e.save_id]

    def done_saves(self) -> list:
        return [e for e in self.save_rows if e.status == "done"]

    def problems(self) -> list[str]:
        """Every way in which the repository and the database disagree, in words (empty when all is well)."""
        out = []
        if not self.fsck_ok:
            out.append(f"git fsck failed: {self.fsck_report[:500]}")
        if self.lock_files:
            out.append(f"lock files left: {self.lock_files}")
        if self.scratch:
            out.append(f"temporary folders left: {self.scratch}")
        pending = [e.save_id for e in self.save_rows if e.status == "pending"]
        if pending:
            out.append(f"audit rows still pending: {pending}")
        by_save = {}
        for e in self.done_saves():
            by_save.setdefault(e.save_id, []).append(e)
        commit_saves = {}
        for c in self.commits:
            commit_saves.setdefault(c.trailers.get("Rulecraft-Save"), []).append(c.id)
        for save_id, ids in commit_saves.items():
            if save_id is None:
                out.append(f"commits without a save id: {ids}")
            elif len(ids) > 1:
                out.append(f"save {save_id} is {len(ids)} commits")
            elif save_id not in by_save:
                out.append(f"commit {ids[0][:12]} (save {save_id}) has no audit row")
            elif len(by_save[save_id]) > 1 or by_save[save_id][0].version != ids[0]:
                out.append(f"save {save_id}: audit rows {[e.version for e in by_save[save_id]]} vs commit {ids[0]}")
        for save_id, _rows in by_save.items():
            if save_id not in commit_saves:
                out.append(f"audit row of save {save_id} says done but there is no such commit")
        for previous, current in zip(self.commits, self.commits[1:]):
            if current.parent != previous.id:
                out.append(f"history is not linear at {current.id[:12]}")
                break
        tags = {t.name: t for t in self.tags}
        approved = [r for r in self.releases if r.status == "approved"]
        for r in approved:
            tag = tags.get(f"{r.ruleset}/{r.name}")
            if tag is None:
                out.append(f"release {r.ruleset} {r.name} is approved but has no tag")
            elif tag.version != r.version:
                out.append(f"release {r.ruleset} {r.name}: tag on {tag.version[:12]}, row says {r.version[:12]}")
        names = {f"{r.ruleset}/{r.name}" for r in approved}
        for name in tags:
            if name not in names:
                out.append(f"tag {name} has no approved release row")
        stuck = [r.id for r in self.releases if r.status not in ("requested", "approved", "rejected")]
        if stuck:
            out.append(f"releases in an unfinished state: {stuck}")
        decisions = {(e.details or {}).get("release"): e.user_id for e in self.events if e.action == "release.approve"}
        for r in approved:
            if r.id not in decisions:
                out.append(f"approved release {r.ruleset} {r.name} has no release.approve audit row")
            elif r.decided_by is None or decisions[r.id] != r.decided_by:
                out.append(f"approved release {r.ruleset} {r.name} does not name its approver "
                           f"(row: {r.decided_by}, audit row: {decisions[r.id]})")
        return out


def read_ledger(data_dir: Path, database_url: str | None = None) -> Ledger:
    """What the data folder holds, read without repairing anything (no recovery runs here)."""
    from sqlalchemy import select

    from server.lifecycle import open_runtime
    from server.models import AuditEvent, Release
    from server.store import LOCK_FILE, SCRATCH

    overrides = {"DATA_DIR": data_dir}
    if database_url:
        overrides["DATABASE_URL"] = database_url
    runtime = open_runtime(overrides, upgrade=False)
    try:
        store = runtime.store
        with runtime.sessions() as db:
            events = list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))
            releases = list(db.scalars(select(Release).order_by(Release.id)))
            db.expunge_all()
        commits = store.versions_since(None)
        ok, report = store.fsck()
        tags = store.tags()
        repo = store.path
        locks = [str(p.relative_to(data_dir)) for p in Path(data_dir).rglob("*.lock") if p.name != LOCK_FILE]
        scratch = sorted(p.name for p in (repo / SCRATCH).iterdir()) if (repo / SCRATCH).is_dir() else []
        return Ledger(commits, events, releases, tags, ok, report, locks, scratch)
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()


def read_file_at(data_dir: Path, version: str, path: str) -> str | None:
    """A file's text at a version (None when absent), straight from the repository."""
    from server.store import GitStore, NotFound

    with GitStore(Path(data_dir) / "rules.git") as store:
        try:
            return store.read(version, path).decode()
        except NotFound:
            return None


class Client:
    """HTTP as one person (their write token), on one keep-alive connection pool."""

    def __init__(self, url: str, token: str | None, timeout: float = 30):
        import requests

        self.url, self.timeout = url, timeout
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kw):
        kw.setdefault("timeout", self.timeout)
        return self.http.request(method, self.url + path, **kw)

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw):
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        self.http.close()
