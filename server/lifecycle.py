"""Running a workspace outside a request: start-up (schema check, recover), the demo seed, the production server.

Used by the command line (server/cli.py). The operator's promise: `rulecraft serve` on an empty folder creates
what is missing (a database at an older schema is refused until `rulecraft db upgrade`: nothing migrates
silently), repairs what a crash left behind, and serves; backing up the data folder (and the database, when it is
PostgreSQL) backs up everything.
"""
from __future__ import annotations

import fcntl
import logging
import os
import secrets
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from rules_dsl import load
from rules_dsl.demo import DEMO_RULESET, demo_path, reference_data

from . import auth, housekeeping, migrate
from . import config as configuration
from .db import begin_write, session_factory
from .housekeeping import Purged
from .services import datasets, recovery, releases
from .services.rules import import_ruleset
from .services.workspace import Workspace
from .store import GitStore


@dataclass
class Runtime:
    config: dict
    sessions: sessionmaker
    store: GitStore
    workspace: Workspace


def open_runtime(overrides: dict | None = None, *, upgrade: bool = True) -> Runtime:
    """The workspace of a data folder. ``upgrade``: check the database's schema first (``migrate.check``): a new,
    empty database is created at the current schema, an older or unknown one is refused with
    ``migrate.SchemaError`` (only ``rulecraft db upgrade`` migrates)."""
    config = configuration.build(overrides)
    configuration.make_private(config)
    if upgrade:
        migrate.check(config["DATABASE_URL"])
    store = GitStore(config["REPOSITORY"], lock_timeout=config["LOCK_TIMEOUT"])
    return Runtime(config, session_factory(config["DATABASE_URL"]), store, Workspace(store))


# ---- one server per data folder ----------------------------------------------------------------------------------
#
# A running server holds an flock on this file (its descriptor is inherited by the workers it forks, so the lock
# lasts while any of them lives and goes with the last one, even after kill -9). `rulecraft recover` and a second
# `rulecraft serve` take the same lock, and refuse while a server holds it: recovery beside a live server took saves
# still in flight for interrupted ones ("never reached the repository: marked failed") although they then completed.
# Not named *.lock: those are Git's leftovers, which recovery removes.
SERVER_LOCK = "server.pid"


class DataFolderInUse(Exception):
    def __init__(self, folder: Path, pid: str):
        self.folder, self.pid = folder, pid
        who = f" (process {pid})" if pid else ""
        super().__init__(f"A Rulecraft server{who} is already using the data folder {folder}.")


def hold_data_folder(folder: Path, wait: float = 5.0) -> int:
    """Hold the data folder for this process (and the workers it forks); returns the descriptor to keep open.
    Waits up to ``wait`` seconds (the processes of a server just killed take a moment to go), then raises
    DataFolderInUse."""
    descriptor = os.open(configuration.private_folder(folder) / SERVER_LOCK, os.O_RDWR | os.O_CREAT,
                         configuration.PRIVATE_FILE)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                pid = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
                os.close(descriptor)
                raise DataFolderInUse(folder, pid) from None
            time.sleep(0.1)
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return descriptor


def start(runtime: Runtime) -> recovery.Report:
    with runtime.sessions() as db:
        return recovery.recover(db, runtime.store)


def housekeep(runtime: Runtime) -> tuple[Purged, int]:
    """At start, after ``start`` and before any worker runs: purge the database's old sessions, tokens and sign-in
    failures, and prune the objects failed saves left in the repository (server/housekeeping.py). Returns both
    counts."""
    with runtime.sessions() as db:
        purged = housekeeping.purge(db, runtime.config)
    return purged, runtime.store.prune_unreachable()


DEMO_PEOPLE = [("Ana Author", "author"), ("Rui Reviewer", "reviewer"), ("Alex Auditor", "auditor"),
               ("Mia ML Engineer", "ml-engineer"), ("Ada Admin", "admin")]


def seed_demo(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    """Demo accounts (one-time passwords) and the demo rule set with its reference data and release v1.

    Returns (name, role, password or None when the person already chose their own) for printing.
    """
    people = []
    with runtime.sessions() as db:
        begin_write(db)
        for name, role in DEMO_PEOPLE:
            user = auth.find_user(db, name)
            password = None
            if user is None:
                password = secrets.token_urlsafe(9)
                auth.create_user(db, name, role, password, must_change_password=True)
            elif user.must_change_password:
                password = secrets.token_urlsafe(9)
                user.password_hash = auth.hash_password(password)
            people.append((name, role, password))
        db.commit()
        author = auth.find_user(db, "Ana Author")
        reviewer = auth.find_user(db, "Rui Reviewer")
        ws = runtime.workspace
        head = ws.head()
        if head is None or DEMO_RULESET not in ws.ruleset_ids(head):
            ruleset_id, saved = import_ruleset(ws, db, author, load(demo_path()),
                                               "Start from the demo rule set for breast mass triage")
            frame = reference_data()
            begin_write(db)
            datasets.register(db, runtime.config["DATASETS_DIR"], author, ruleset_id,
                              "Wisconsin diagnostic cases (569)", frame.to_csv(index=False).encode(),
                              label_column="diagnosis")
            db.commit()
            release = releases.request_release(ws, db, author, ruleset_id, saved.version.id,
                                               "First release of the demo rules.")
            releases.approve(ws, db, reviewer, ruleset_id, release.id, "Checked against the reference cases.")
    return people


def serve(overrides: dict, host: str, port: int, workers: int, config: dict) -> None:
    """The production server (gunicorn), each worker building its own app (no state shared across fork).
    ``config``: the settings (server/config.py) of threads per worker and timeouts."""
    from gunicorn.app.base import BaseApplication

    from . import create_app, metrics

    # Each worker counts its own metrics; in prometheus_client's multiprocess mode /metrics sums them all.
    metrics.prepare_multiprocess(configuration.data_dir(overrides.get("DATA_DIR")))

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{host}:{port}", "workers": workers,
                               "worker_class": "server.worker.HeadFirstWorker",  # gthread, heads read first
                               "threads": config["THREADS"], "timeout": config["TIMEOUT"],
                               "graceful_timeout": config["GRACEFUL_TIMEOUT"], "keepalive": config["KEEPALIVE"],
                               # server/logs.py writes one line per request: no access log of gunicorn's own
                               "accesslog": None, "errorlog": "-", "loglevel": "warning",
                               "limit_request_line": 8190, "limit_request_fields": 100, "umask": 0o077,
                               "child_exit": partial(_worker_exited, overrides)}.items():
                self.cfg.set(key, value)

        def load(self):
            app = create_app(overrides)
            warm_up(app)
            return app

    Server().run()


def _worker_exited(overrides: dict, _arbiter, worker) -> None:
    """In the master, when a worker has ended (killed, crashed or stopped): settle the saves it left pending at
    once, instead of leaving their audit rows 'pending' until the next start. Never raises: the master must live."""
    log = logging.getLogger("rulecraft")
    from . import metrics

    metrics.worker_exited(_arbiter, worker)  # its live values are forgotten
    try:
        runtime = open_runtime(overrides, upgrade=False)
        try:
            with runtime.sessions() as db:
                report = recovery.settle_process(db, runtime.store, worker.pid)
        finally:
            runtime.store.close()
            runtime.sessions.kw["bind"].dispose()
        if report.actions:
            log.warning("worker %s ended during a save:\n%s", worker.pid, report)
    except Exception:  # noqa: BLE001 - reported; the next start settles what is left
        log.exception("could not settle the saves of worker %s (the next start will)", worker.pid)


def warm_up(app) -> None:
    """Before a worker takes requests: build the rule parser and compile each rule set's latest release.

    Otherwise the first requests that reach a new worker wait for both (the parser alone took 0.1 s on an idle
    2-core machine and over a second on a busy one, and every request queued behind it missed its deadline).
    """
    import logging

    from rules_dsl.parser import lark_parser

    lark_parser()
    ws = app.extensions["rulecraft.workspace"]
    try:
        for ruleset in ws.ruleset_ids():
            latest = ws.latest_release(ruleset)
            if latest is not None:
                ws.ruleset(ruleset, latest.version).matches_row  # noqa: B018 - compiles the per-row function
    except Exception:  # noqa: BLE001 - a rule set that cannot be compiled is reported when it is asked for
        logging.getLogger(__name__).warning("warm-up stopped early", exc_info=True)
