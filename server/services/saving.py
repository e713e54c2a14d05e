"""Saving a change: exactly one commit and one audit row, even across crashes.

    1. an audit row is written as 'pending' with a fresh save id        (fault point service.audit-pending)
    2. the store makes the commit; its trailers carry the save id,
       the person, the action, the rule set and the rule              (store fault points)
    3. the audit row becomes 'done' with the commit id                 (fault point service.audit-done)
    4. only then is the save acknowledged.

A crash between 1 and 2 leaves a pending row without a commit (recovery marks it failed); between 2 and 3 a commit
whose row is still pending (recovery marks it done). See services/recovery.py.

A save that reached the repository is never answered as not made. If the database fails at step 3 (an outage of a
few seconds under load did), the row is retried for RECORD_WAIT seconds; after that the answer is SavedNotRecorded
(the change is kept, as version X, and being recorded) and a thread of this process records it once the database
answers (else the next recovery does: the commit carries the save id).

A client may name its save (``requested_save_id``, the HTTP API's Idempotency-Key header): sending the same save
again, after an answer that was lost or said "being recorded", is recognised as already made (``already_made``)
rather than refused as a conflict with the author's own change.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..db import begin_write
from ..limits import MAX_WHY
from ..models import AuditEvent, User, utcnow
from ..store import ANY_HEAD, Change, ConflictError, GitStore, Identity, Version, fault_point
from . import errors as domain
from .errors import Conflict, Invalid
from .workspace import Workspace

RECORD_WAIT = 5.0  # seconds a save keeps trying to record its commit before answering "kept, being recorded"
RECORD_LATER_FOR = 600.0  # seconds the recording thread keeps trying; then the next recovery records it
# The save id the caller chose for the save being made in this context (None: a fresh one per save). Set by the
# HTTP layer from the Idempotency-Key header around one request.
requested_save_id: ContextVar[str | None] = ContextVar("requested_save_id", default=None)

log = logging.getLogger(__name__)


@dataclass
class Saved:
    version: Version
    event: AuditEvent


def identity(user: User) -> Identity:
    return Identity(user.name, user.email)


def check_why(why) -> str:
    """The reason for a change, required, as people wrote it (several lines allowed)."""
    if not isinstance(why, str) or not why.strip():
        raise Invalid("Say in a few words why you are making this change; it is kept with the version.",
                      field="why", code="why-required")
    why = why.replace("\r\n", "\n").strip()
    if len(why) > MAX_WHY:
        raise Invalid(f"The reason is too long (at most {MAX_WHY} characters).", field="why")
    if any(not (c.isprintable() or c in "\n\t") for c in why):
        raise Invalid("The reason contains invisible control characters; please retype it.", field="why")
    return why


def commit(db: Session, store: GitStore, user: User, *, action: str, ruleset: str, rule: str | None,
           changes: list[Change], why: str, base: str | None = None, conflict_paths=(),
           expect_head=ANY_HEAD, recheck=None, details: dict | None = None) -> Saved:
    """Save ``changes`` as one commit with one audit row (the four steps of the module docstring). ``base`` plus
    ``conflict_paths``: the store refuses when one of those files changed since ``base`` (ConflictError, recorded
    as 'refused'). ``expect_head``: compare-and-swap against that exact head; if the head moved, ``recheck(now)`` is
    called under the store's lock and either lets the commit go on or raises HeadMoved for the caller to retry.
    The save id is the caller's (Idempotency-Key) or a fresh one; a database failure after the commit answers
    SavedNotRecorded (202) and records the row later, never "nothing was changed"."""
    named = requested_save_id.get() is not None
    save_id = requested_save_id.get() or str(uuid.uuid4())
    begin_write(db)
    details = {**(details or {}), **({"based_on": base} if base else {})}
    event = db.scalar(select(AuditEvent).where(AuditEvent.save_id == save_id).with_for_update()) if named else None
    if event is not None and (event.status == "done" or event.status == "pending" and process_alive(event.process_id)):
        # The same named save sent twice at once: the other request is making it, or has just made it (the second
        # took over the row and committed the change again on SQLite; PostgreSQL's unique save id gave a 500).
        # Only a save that did not happen (failed, refused, or pending with its writer gone) is tried again.
        db.rollback()
        raise in_progress(save_id)
    if event is None:
        event = AuditEvent(save_id=save_id)
        db.add(event)
    # A named save tried again after it did not happen (failed, or retried after the rules moved) reuses its row.
    event.user_id, event.action, event.ruleset, event.rule, event.version = user.id, action, ruleset, rule, None
    event.status, event.message, event.details, event.process_id = "pending", why, details or {}, os.getpid()
    event.at = utcnow()
    try:
        db.commit()
    except IntegrityError:
        if not named:
            raise
        db.rollback()  # another request inserted the row of the same named save first: it is making it
        raise in_progress(save_id) from None
    fault_point("service.audit-pending")
    trailers = {"Rulecraft-Save": save_id, "Rulecraft-User": str(user.id), "Rulecraft-Action": action,
                "Rulecraft-Ruleset": ruleset}
    if rule:
        trailers["Rulecraft-Rule"] = rule
    kwargs = {} if expect_head is ANY_HEAD else {"expect_head": expect_head, "recheck": recheck}
    try:
        version = store.commit(changes, author=identity(user), message=why, trailers=trailers, base=base,
                               conflict_paths=list(conflict_paths), **kwargs)
    except BaseException as e:
        _mark_failed(db, event, e)
        raise
    fault_point("service.committed")
    requested_save_id.set(None)  # made: another save in the same request gets an id of its own
    _record_done(db, event, version, save_id, rule)
    fault_point("service.audit-done")
    return Saved(version, event)


def in_progress(save_id: str) -> Conflict:
    """409 for a named save that another request is making right now: its answer comes with a retry."""
    return Conflict("This change is being saved right now by another request with the same Idempotency-Key; send "
                    "it again in a moment to get its answer (it is never saved twice).",
                    code="save-in-progress", save_id=save_id, retry_after=1)


def _record_done(db: Session, event: AuditEvent, version: Version, save_id: str, rule: str | None) -> None:
    """Step 3, which must not turn a made save into an error: retried while the database does not answer, then
    left to a thread (SavedNotRecorded tells the person the change is kept)."""
    deadline = time.monotonic() + RECORD_WAIT
    pause = 0.05
    while True:
        try:
            begin_write(db)
            event.status, event.version, event.at = "done", version.id, version.time
            db.commit()
            return
        except DBAPIError:
            _rollback_quietly(db)
            if time.monotonic() >= deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
    log.warning("save %s is version %s but the database is not answering: recording it when it does",
                save_id, version.id)
    _record_later(sessionmaker(db.get_bind(), expire_on_commit=False), save_id, version)
    raise domain.SavedNotRecorded(
        f"Your change is saved (version {version.id[:12]}) but could not be recorded in the audit log yet; it will "
        "be as soon as the database answers again. You do not need to save it again.",
        version=version.id, save_id=save_id, rule=rule)


def _rollback_quietly(db: Session) -> None:
    with contextlib.suppress(DBAPIError):  # the connection is gone; the pool replaces it
        db.rollback()


def process_alive(process_id: int | None) -> bool:
    """Whether a process of this host with that id lives (a save's writer is known by its process id)."""
    if process_id is None:
        return False
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, run by someone else
    try:  # a killed process not yet reaped (a zombie) answers the signal but is gone
        stat = Path(f"/proc/{process_id}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def process_start(process_id: int) -> str | None:
    """When a process of this host started: "<boot id>:<clock ticks from boot to its start>" (None where the system
    does not say, e.g. without /proc). With the process id it names one process for good; a process id alone may
    be taken by a later process (a restarted server in a container often gets the same one)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        fields = Path(f"/proc/{process_id}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None  # field 22 of stat, the 20th after the name


def this_host() -> str:
    return socket.gethostname()[:255]


def same_process_alive(process_id: int | None, started: str | None) -> bool:
    """Whether the process of this host that recorded ``process_id`` and ``started`` (process_start) still lives:
    a live process with that id that started at another moment is a later one."""
    if not process_alive(process_id):
        return False
    now = process_start(process_id)
    return started is None or now is None or now == started


def _record_later(sessions, save_id: str, version: Version) -> threading.Thread:
    def run():
        deadline = time.monotonic() + RECORD_LATER_FOR
        while time.monotonic() < deadline:
            try:
                with sessions() as db:
                    begin_write(db)
                    event = db.scalar(select(AuditEvent).where(AuditEvent.save_id == save_id))
                    if event is not None and event.status != "done":
                        event.status, event.version, event.at = "done", version.id, version.time
                    db.commit()
                    log.warning("save %s is recorded now (version %s)", save_id, version.id)
                    return
            except DBAPIError:
                time.sleep(1.0)
        log.error("save %s (version %s) is still not recorded; the next recovery records it", save_id, version.id)

    thread = threading.Thread(target=run, name=f"record-{save_id}", daemon=True)
    thread.start()
    return thread


def already_made(db: Session, ws: Workspace, user: User, save_id: str) -> Saved | None:
    """The save named ``save_id`` if it was already made (its commit exists), recording it if it was not yet; None
    when it has not been tried or did not happen (then it may be made now, under that id). Busy while a live
    attempt may still be making it; Invalid if the id names another person's save."""
    event = db.scalar(select(AuditEvent).where(AuditEvent.save_id == save_id))
    if event is None:
        return None
    if event.user_id != user.id:
        raise domain.Invalid("That save id belongs to another save; use a new one for each change.",
                             code="save-id-used", field="Idempotency-Key")
    version = ws.store.find_by_trailers("Rulecraft-Save", [save_id]).get(save_id)
    if version is not None:
        if event.status != "done":
            begin_write(db)
            event.status, event.version, event.at = "done", version.id, version.time
            db.commit()
        return Saved(version, event)
    if event.status == "pending" and process_alive(event.process_id):
        raise domain.Busy("This change is still being saved; try again in a moment.")
    if event.status == "done":  # recorded, but its version is not in the repository: never overwrite the row
        raise domain.Invalid("That save id belongs to a save already recorded; use a new one for each change.",
                             code="save-id-used", field="Idempotency-Key")
    return None


def _mark_failed(db: Session, event: AuditEvent, error: BaseException) -> None:
    """A save that did not happen: 'refused' when it was based on an old version of what it changed (who, when
    and why stay in the row, with the version it was based on and the current one), else 'failed'."""
    db.rollback()
    begin_write(db)
    details = {**(event.details or {}), "reason": type(error).__name__}
    if isinstance(error, ConflictError):
        event.status = "refused"
        details.update(reason="stale", refused=STALE, path=error.path.rsplit("/", 1)[-1],
                       current=error.current_version)
    else:
        event.status = "failed"
    event.details = details
    db.commit()


STALE = ("Someone else saved a change to this since the version it was based on; the save was refused so that "
         "nothing is lost.")


def record(db: Session, user: User | None, action: str, *, ruleset: str | None = None, rule: str | None = None,
           version: str | None = None, message: str = "", details: dict | None = None,
           status: str = "done") -> AuditEvent:
    """An audit row for something that is not a commit (a release decision, a new person, a token)."""
    event = AuditEvent(user_id=user.id if user else None, action=action, ruleset=ruleset, rule=rule,
                       version=version, status=status, message=message, details=details or {}, at=utcnow())
    db.add(event)
    return event


def refused(db: Session, user: User | None, action: str, error, *, reason: str, ruleset: str | None = None,
            rule: str | None = None, version: str | None = None, message: str = "", details: dict | None = None):
    """Record that ``action`` was refused, in its own transaction, and return ``error`` for the caller to raise.
    The row says who and when, ``message`` is what the person gave (their why or comment), and ``details`` hold
    ``reason`` (a short code) and ``refused`` (the plain words they were answered with), as for a stale save."""
    db.rollback()
    begin_write(db)
    record(db, user, action, ruleset=ruleset, rule=rule, version=version, message=message,
           details={**(details or {}), "reason": reason, "refused": error.message}, status="refused")
    db.commit()
    return error


def stale(error: ConflictError) -> Conflict:
    """A save based on an old version of what it changes, refused with both texts so that nothing is lost."""
    return Conflict("Someone else saved a change to this since you opened it. Both versions are below: carry your "
                    "change over to the current version and save again.",
                    base_text=error.base_text, current_text=error.current_text,
                    current_version=error.current_version, path=error.path.rsplit("/", 1)[-1])
