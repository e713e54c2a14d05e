"""Shadow runs: a candidate version answers the live predictions of the released version it shadows, off the
answer's path, and what it answers differently is counted.

A reviewer (or admin) starts a shadow: the candidate is a version, or the latest save of the rule set
(``follow``). Every prediction answered by that release is handed to ``Shadower.offer``, which only puts the
cases on a bounded queue (never waits, never raises: a full queue counts the cases as dropped) and returns. One
background thread per server process takes them off the queue, answers them with the candidate (an error or a slow
candidate only slows or fails that thread), and every second adds its counts to the shadow's row: cases, different
answers, the rules that took part in them (the deciding rules of either side), and a sample of at most
``SAMPLE`` different answers (with the case's values only when ruleset.yaml says ``shadow keeps values: yes``).

The same second, the thread reads which shadows are running (so a shadow started in another server process is
picked up within a second) and applies what ends or restarts a count: a new release ends the shadow (the release
it shadowed is no longer the latest), a new save restarts the count of a shadow that follows the latest save,
stopping ends it. The request path reads only this process's copy of the running shadows: no query, no lock.
"""
from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ..db import begin_write
from ..models import Shadow, User, utcnow
from .errors import Conflict, Invalid, NotFound, database_unreachable
from .saving import record
from .workspace import Workspace

SWITCH_INTERVAL = 0.001  # seconds: how long a thread may hold the GIL while a request waits (see below)
log = logging.getLogger(__name__)
outage_log = logging.getLogger("rulecraft.outage")  # one line per interval (server/logs.py RepeatFilter)

QUEUE_CASES = 2_000   # cases waiting to be compared; more are dropped (and counted), never waited for
SAMPLE = 20           # different answers kept per shadow
FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class Running:
    """What the request path needs to know of a running shadow."""
    id: int
    ruleset: str
    released: str
    candidate: str
    keep_values: bool


def keeps_values(ws: Workspace, ruleset: str, version: str) -> bool:
    """Whether ruleset.yaml at ``version`` allows storing the values of sampled cases (``shadow keeps values``)."""
    return ws.ruleset(ruleset, version).settings.shadow_keeps_values


# ---- starting, stopping, reading (the API's services) -----------------------------------------------------------

def active(db: Session, ruleset: str) -> Shadow | None:
    return db.scalar(select(Shadow).where(Shadow.ruleset == ruleset, Shadow.ended_at.is_(None))
                     .order_by(Shadow.id.desc()))


def start(ws: Workspace, db: Session, user: User, shadower: Shadower | None, ruleset: str, version) -> Shadow:
    """Put ``version`` (None: the latest save, followed as new saves come) in the shadow of the latest release.
    A shadow already running for the rule set ends (replaced)."""
    if version is not None and not isinstance(version, str):
        raise Invalid("'version' is a release name or a full version id, or leave it out for the latest save.",
                      field="version")
    latest = ws.latest_release(ruleset)
    if latest is None:
        raise Conflict("This rule set has no release yet: a shadow answers beside a release. Release a version "
                       "first.", code="no-release")
    candidate = ws.own_version(ruleset, ws.resolve(ruleset, version))
    if candidate == latest.version:
        raise Invalid(f"That version is the release {latest.release} itself; choose a later version (or leave "
                      "the version out for the latest save).", field="version")
    begin_write(db)
    _end_active(db, ruleset, "replaced by a new shadow")
    shadow = Shadow(ruleset=ruleset, candidate=candidate, follow=version is None, released=latest.version,
                    release_name=latest.release, keep_values=keeps_values(ws, ruleset, candidate),
                    started_by=user.id, started_at=utcnow(), end_reason="", cases=0, different=0, failed=0,
                    dropped=0, restarts=0, by_rule={}, sample=[])
    db.add(shadow)
    db.flush()
    record(db, user, "shadow.start", ruleset=ruleset, version=candidate,
           details={"shadow": shadow.id, "release": latest.release, "follow": shadow.follow})
    db.commit()
    if shadower is not None:
        shadower.running_changed(ruleset, _running(shadow))
    return shadow


def stop(db: Session, user: User, shadower: Shadower | None, ruleset: str) -> Shadow:
    begin_write(db)
    shadow = active(db, ruleset)
    if shadow is None:
        raise NotFound("No shadow is running for this rule set.")
    shadow.ended_at, shadow.end_reason = utcnow(), f"stopped by {user.name}"
    record(db, user, "shadow.stop", ruleset=ruleset, version=shadow.candidate,
           details={"shadow": shadow.id, "cases": shadow.cases, "different": shadow.different})
    db.commit()
    if shadower is not None:
        shadower.running_changed(ruleset, None)
    return shadow


def latest(db: Session, ruleset: str) -> Shadow | None:
    """The running shadow, else the one that ended last."""
    return db.scalar(select(Shadow).where(Shadow.ruleset == ruleset).order_by(Shadow.ended_at.is_(None).desc(),
                                                                              Shadow.id.desc()))


def _end_active(db: Session, ruleset: str, reason: str) -> None:
    shadow = active(db, ruleset)
    if shadow is not None:
        shadow.ended_at, shadow.end_reason = utcnow(), reason


def _running(shadow: Shadow) -> Running:
    return Running(shadow.id, shadow.ruleset, shadow.released, shadow.candidate, shadow.keep_values)


def review_words(shadow: Shadow) -> str:
    """'On N live cases since <time>, the candidate answered differently on M.'"""
    since = shadow.started_at.strftime("%Y-%m-%d %H:%M UTC")
    cases = f"{shadow.cases:,} live case{'s' * (shadow.cases != 1)}"
    return f"On {cases} since {since}, the candidate answered differently on {shadow.different:,}."


# ---- the background comparison -------------------------------------------------------------------------------------

class Shadower:
    """One per server process: the queue, the comparing thread and this process's copy of the running shadows."""

    def __init__(self, ws: Workspace, engine: Engine, *, queue_cases: int = QUEUE_CASES,
                 flush_seconds: float = FLUSH_SECONDS):
        self.ws = ws
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.flush_seconds = flush_seconds
        self._queue: queue.Queue = queue.Queue(maxsize=queue_cases)
        self._running: dict[str, Running] = {}
        self._pending: dict[tuple, dict] = {}   # (shadow id, candidate) -> counts not yet added to its row
        self._lock = threading.Lock()            # guards _pending (the request path counts dropped cases)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._refreshed = 0.0
        self.idle = threading.Event()           # set when the queue is empty and the counts are written (tests)

    # -- the request path: a dict read and a put_nowait
    def watches(self, ruleset: str) -> bool:
        """Whether a shadow runs beside a release of ``ruleset`` (this process's copy, refreshed every second)."""
        try:
            self._ensure_thread()
            return ruleset in self._running
        except Exception:  # noqa: BLE001
            return False

    def offer(self, ruleset: str, version: str, rows: list[dict], answers: list) -> None:
        """Hand the cases a release answered (``answers``: each one's Decision) to the shadow, if one runs on this
        release. Never raises, never waits."""
        try:
            self._ensure_thread()
            running = self._running.get(ruleset)
            if running is None or running.released != version:
                return
            try:
                self._queue.put_nowait((running, rows, answers))
            except queue.Full:
                with self._lock:
                    self._count(running)["dropped"] += len(rows)
        except Exception:  # noqa: BLE001 - the released answer must never fail because of a shadow
            log.exception("shadow: a prediction could not be handed to the shadow")

    def running_changed(self, ruleset: str, running: Running | None) -> None:
        if running is None:
            self._running.pop(ruleset, None)
        else:
            self._running[ruleset] = running
        self._ensure_thread()

    # -- the thread
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                # The candidate's work holds the GIL; a request thread waits for it up to the switch interval
                # (5 ms by default), which showed as +2 ms at p99 (docs/benchmarks.md, "Shadow runs"). 1 ms keeps
                # that wait within the shadow's budget.
                sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
                self._thread = threading.Thread(target=self._loop, name="rulecraft-shadow", daemon=True)
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                item = None
            if item is not None:
                self.idle.clear()
                self._compare(*item)
            if time.monotonic() - self._refreshed >= self.flush_seconds or (item is None and self._pending):
                try:
                    self._flush_and_refresh()
                except DBAPIError as e:
                    if not database_unreachable(e):
                        log.exception("shadow: counts not written this time")
                    else:  # an outage: one constant line per interval, not a traceback a second
                        outage_log.warning("database unreachable: shadow counts kept until it answers")
                except Exception:  # noqa: BLE001 - a database hiccup: try again next second
                    log.exception("shadow: counts not written this time")
                self._refreshed = time.monotonic()
            if item is None and self._queue.empty() and not self._pending:
                self.idle.set()

    def _count(self, running: Running) -> dict:
        return self._count_for((running.id, running.candidate))

    def _compare(self, running: Running, rows: list[dict], answers: list) -> None:
        with self._lock:
            counts = self._count(running)
        try:
            candidate = self.ws.ruleset(running.ruleset, running.candidate)
            released = self.ws.ruleset(running.ruleset, running.released)
        except Exception:  # noqa: BLE001
            counts["failed"] += len(rows)
            return
        names = {r.id: r.name for r in released.rules} | {r.id: r.name for r in candidate.rules}
        for row, answer in zip(rows, answers):
            try:
                mine = candidate.decide_row(row)
            except Exception:  # noqa: BLE001 - a candidate that cannot answer is counted, never propagated
                counts["failed"] += 1
                continue
            counts["cases"] += 1
            if mine.label == answer.label:
                continue
            counts["different"] += 1
            rules = sorted({names.get(i, i) for i in (*answer.deciding, *mine.deciding)}) or ["(the default)"]
            for name in rules:
                counts["by_rule"][name] = counts["by_rule"].get(name, 0) + 1
            if len(counts["sample"]) < SAMPLE:
                entry = {"at": utcnow().isoformat(), "released": answer.label, "candidate": mine.label,
                         "rules": rules}
                if running.keep_values:
                    entry["case"] = {k: v for k, v in row.items() if v is not None}
                counts["sample"].append(entry)

    def _flush_and_refresh(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        try:
            self._write(pending)
        except Exception:
            with self._lock:  # not written (the database did not answer): counted again at the next flush
                for key, counts in pending.items():
                    _add(self._count_for(key), counts)
            raise

    def _count_for(self, key: tuple) -> dict:
        return self._pending.setdefault(key, {
            "cases": 0, "different": 0, "failed": 0, "dropped": 0, "by_rule": {}, "sample": []})

    def _write(self, pending: dict) -> None:
        with self.sessions() as db:
            begin_write(db)
            for (shadow_id, candidate), counts in pending.items():
                shadow = db.get(Shadow, shadow_id)
                if shadow is None or shadow.ended_at is not None or shadow.candidate != candidate:
                    continue  # ended, or restarted on a newer save: these counts belong to the old count
                shadow.cases += counts["cases"]
                shadow.different += counts["different"]
                shadow.failed += counts["failed"]
                shadow.dropped += counts["dropped"]
                by_rule = dict(shadow.by_rule or {})
                for name, n in counts["by_rule"].items():
                    by_rule[name] = by_rule.get(name, 0) + n
                shadow.by_rule = by_rule
                shadow.sample = (list(shadow.sample or []) + counts["sample"])[:SAMPLE]
            running = {}
            for shadow in db.scalars(select(Shadow).where(Shadow.ended_at.is_(None))):
                if settle(self.ws, db, shadow):
                    continue
                running[shadow.ruleset] = _running(shadow)
            db.commit()
        self._running = running

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """For tests: wait until every offered case is compared and its counts are written."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and not self._pending and self.idle.wait(0.05):
                return True
        return False


def _add(total: dict, more: dict) -> None:
    for figure in ("cases", "different", "failed", "dropped"):
        total[figure] += more[figure]
    for name, n in more["by_rule"].items():
        total["by_rule"][name] = total["by_rule"].get(name, 0) + n
    total["sample"] = (total["sample"] + more["sample"])[:SAMPLE]


def settle(ws: Workspace, db: Session, shadow: Shadow) -> bool:
    """Apply a new release (ends the shadow: the release it shadows is no longer the latest) or a new save of a
    followed candidate (restarts the count); True when the shadow ended. The caller commits."""
    latest = ws.latest_release(shadow.ruleset)
    if latest is None or latest.version != shadow.released:
        shadow.ended_at = utcnow()
        shadow.end_reason = (f"a new release ({latest.release}) was made" if latest is not None
                             else "the release is gone")
        return True
    if shadow.follow:
        head = ws.own_version(shadow.ruleset, ws.resolve(shadow.ruleset, None))
        if head != shadow.candidate:
            restart(db, shadow, head, keeps_values(ws, shadow.ruleset, head))
    return False


def status(ws: Workspace, db: Session, shadower: Shadower | None, ruleset: str) -> Shadow | None:
    """The running shadow (after applying a release or a save made since), else the one that ended last."""
    begin_write(db)
    shadow = active(db, ruleset)
    if shadow is not None:
        ended = settle(ws, db, shadow)
        db.commit()
        if shadower is not None:
            shadower.running_changed(ruleset, None if ended else _running(shadow))
    else:
        db.commit()
    return latest(db, ruleset)


def restart(db: Session, shadow: Shadow, candidate: str, keep_values: bool) -> None:
    """A new save of the candidate: the count starts again on the new version."""
    db.execute(update(Shadow).where(Shadow.id == shadow.id).values(
        candidate=candidate, keep_values=keep_values, started_at=utcnow(), cases=0, different=0, failed=0,
        dropped=0, by_rule={}, sample=[], restarts=Shadow.restarts + 1))
    db.refresh(shadow)
