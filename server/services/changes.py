"""Saving a change: exactly one commit and one audit row, even across crashes.

    1. an audit row is written as 'pending' with a fresh save id        (fault point service.audit-pending)
    2. the store makes the commit; its trailers carry the save id,
       the person, the action, the rule set and the rule              (store fault points)
    3. the audit row becomes 'done' with the commit id                 (fault point service.audit-done)
    4. only then is the save acknowledged.

A crash between 1 and 2 leaves a pending row without a commit (recovery marks it failed); between 2 and 3 a commit
whose row is still pending (recovery marks it done). See services/recovery.py.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import store as git
from ..db import begin_write
from ..limits import MAX_WHY
from ..models import AuditEvent, User, utcnow
from ..store import fault_point
from .errors import Conflict, Invalid


@dataclass
class Saved:
    version: git.Version
    event: AuditEvent


def identity(user: User) -> git.Identity:
    return git.Identity(user.name, user.email)


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


def commit(db: Session, store: git.GitStore, user: User, *, action: str, ruleset: str, rule: str | None,
           changes: list[git.Change], why: str, base: str | None = None, conflict_paths=(),
           expect_head=git.ANY_HEAD, recheck=None, details: dict | None = None) -> Saved:
    save_id = str(uuid.uuid4())
    begin_write(db)
    details = {**(details or {}), **({"based_on": base} if base else {})}
    event = AuditEvent(user_id=user.id, action=action, ruleset=ruleset, rule=rule, save_id=save_id,
                       status="pending", message=why, details=details or {}, process_id=os.getpid())
    db.add(event)
    db.commit()
    fault_point("service.audit-pending")
    trailers = {"Rulecraft-Save": save_id, "Rulecraft-User": str(user.id), "Rulecraft-Action": action,
                "Rulecraft-Ruleset": ruleset}
    if rule:
        trailers["Rulecraft-Rule"] = rule
    kwargs = {} if expect_head is git.ANY_HEAD else {"expect_head": expect_head, "recheck": recheck}
    try:
        version = store.commit(changes, author=identity(user), message=why, trailers=trailers, base=base,
                               conflict_paths=list(conflict_paths), **kwargs)
    except BaseException as e:
        _mark_failed(db, event, e)
        raise
    fault_point("service.committed")
    begin_write(db)
    event.status, event.version, event.at = "done", version.id, version.time
    db.commit()
    fault_point("service.audit-done")
    return Saved(version, event)


def _mark_failed(db: Session, event: AuditEvent, error: BaseException) -> None:
    """A save that did not happen: 'refused' when it was based on an old version of what it changed (who, when
    and why stay in the row, with the version it was based on and the current one), else 'failed'."""
    db.rollback()
    begin_write(db)
    details = {**(event.details or {}), "reason": type(error).__name__}
    if isinstance(error, git.ConflictError):
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


def stale(error: git.ConflictError) -> Conflict:
    """A save based on an old version of what it changes, refused with both texts so that nothing is lost."""
    return Conflict("Someone else saved a change to this since you opened it. Both versions are below: carry your "
                    "change over to the current version and save again.",
                    base_text=error.base_text, current_text=error.current_text,
                    current_version=error.current_version, path=error.path.rsplit("/", 1)[-1])
