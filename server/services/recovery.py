"""Make the database and the repository agree again after a crash (run at every start, and by `rulecraft recover`).

- stale lock files and leftover temporary folders are removed, while holding the store's lock;
- a pending audit row whose commit exists becomes 'done'; one without a commit becomes 'failed' only when its writer
  is gone: a live process's save may still be waiting for the writer lock, so it is left alone (the worker settles
  it, or the next recovery). A row once marked failed whose commit is found after all becomes 'done': recovery never
  contradicts a commit that exists (the save id is in the commit's trailer, searched over the whole history);
- a commit with no audit row gets one, built from its trailers (who, what, which rule set and rule, why);
- a release stuck in 'approving' whose approver is gone becomes 'approved' if its tag exists, else goes back to
  'requested'. The row names its approver (host, process id, the process's start, a lease): on this host, an
  approval whose process still lives is left alone (the process id alone is not enough: a later process may have
  it); one of another host, whose processes cannot be seen from here, is left alone until its lease runs out;
- a release tag with no approved row (a crash after the tag was written) gets its row back;
- an approved release without its 'release.approve' audit row (the crash came before the row was written) gets
  one, so the audit log shows who approved every release;
- the other direction, which no recovery can repair (a repository restored from a copy older than the database):
  done saves whose commit is not on main and approved releases whose tag is missing are reported as problems.

Judging happens holding the store's writer lock (no Git process of a save runs meanwhile, including those a killed
worker left behind) and, on PostgreSQL, a transaction-level advisory lock (one recovery at a time, also from another
host). Writers are known by process id on this host: the Git store's lock is for one host (docs/operations.md).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..db import begin_write
from ..limits import RELEASE_NAME
from ..models import AuditEvent, Release, User, utcnow
from ..store import GitStore, StoreError
from .saving import process_alive, same_process_alive, this_host

INTERRUPTED = "interrupted before the commit"
# pg_advisory_xact_lock key held while recovery judges: "rcrecovr" in ASCII. One owner, shared by every recovery.
ADVISORY_LOCK = int.from_bytes(b"rcrecovr", "big")


@dataclass
class Report:
    actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # disagreements recovery cannot repair: for an administrator

    def add(self, text: str) -> None:
        self.actions.append(text)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def __str__(self) -> str:
        lines = list(self.actions)
        if self.problems:
            lines += ["NOT REPAIRED (the repository lacks what the database records; restore the repository from a "
                      "newer copy):", *(f"  {p}" for p in self.problems)]
        return "\n".join(lines) if lines else "Nothing to repair: the database and the rules agree."


def recover(db: Session, store: GitStore) -> Report:
    report = Report()
    for removed in store.recover():
        report.add(f"Removed {removed}")
    with store.writers_done():
        _begin_judging(db)
        _pending_saves(db, store, report)
        _failed_saves_with_commits(db, store, report)
        _commits_without_rows(db, store, report)
        _releases(db, store, report)
        _missing_in_repository(db, store, report)
        db.commit()
    return report


def _begin_judging(db: Session) -> None:
    """A write transaction that, on PostgreSQL, holds the recovery advisory lock until it ends."""
    begin_write(db)
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})


def _writer_alive(process_id: int | None) -> bool:
    """Whether the process that wrote a pending row may still be making its save (another live process on this
    host). This process judges only at start-up or for others, never its own saves in flight."""
    return process_id != os.getpid() and process_alive(process_id)


def settle_process(db: Session, store: GitStore, process_id: int) -> Report:
    """The pending saves and the approvals of one server worker that has died, settled at once (not at the next
    start) and only those: other workers' saves and approvals in flight are left alone. Decided holding the store's
    writer lock, so that Git processes the worker left running have finished."""
    report = Report()
    mine = select(AuditEvent.id).where(AuditEvent.status == "pending", AuditEvent.process_id == process_id)
    approving = select(Release.id).where(Release.status == "approving", Release.approving_process == process_id,
                                         Release.approving_host == this_host())
    if db.scalar(mine.limit(1)) is None and db.scalar(approving.limit(1)) is None:
        db.rollback()
        return report
    with store.writers_done():
        _begin_judging(db)
        _pending_saves(db, store, report, process_id)
        _approvals(db, store, report, process_id)
        if report.actions:
            _release_decisions(db, report)
        db.commit()
    return report


def _pending_saves(db: Session, store: GitStore, report: Report, process_id: int | None = None) -> None:
    pending = select(AuditEvent).where(AuditEvent.status == "pending")
    if process_id is not None:
        pending = pending.where(AuditEvent.process_id == process_id)
    events = list(db.scalars(pending))
    committed = store.find_by_trailers("Rulecraft-Save", [e.save_id for e in events if e.save_id])
    for event in events:
        version = committed.get(event.save_id) if event.save_id else None
        if version is not None:
            event.status, event.version, event.at = "done", version.id, version.time
            report.add(f"Save {event.save_id} ({event.action}) was committed as {version.id[:12]}: marked done")
        elif process_id is None and _writer_alive(event.process_id):
            report.add(f"Save {event.save_id} ({event.action}) is still being made by process {event.process_id}: "
                       "left alone")
        else:
            event.status = "failed"
            event.details = {**(event.details or {}), "reason": INTERRUPTED}
            report.add(f"Save {event.save_id} ({event.action}) never reached the repository: marked failed")


def _failed_saves_with_commits(db: Session, store: GitStore, report: Report) -> None:
    """Rows an earlier recovery marked failed although their save went on to commit (recovery beside a live save,
    before it waited for writers): the commit exists, so the save was made."""
    failed = [e for e in db.scalars(select(AuditEvent).where(AuditEvent.status == "failed",
                                                             AuditEvent.save_id.is_not(None)))
              if (e.details or {}).get("reason") == INTERRUPTED]
    committed = store.find_by_trailers("Rulecraft-Save", [e.save_id for e in failed])
    for event in failed:
        version = committed.get(event.save_id)
        if version is None:
            continue
        event.status, event.version, event.at = "done", version.id, version.time
        event.details = {k: v for k, v in (event.details or {}).items() if k != "reason"}
        report.add(f"Save {event.save_id} ({event.action}) was marked failed but was committed as "
                    f"{version.id[:12]}: marked done")


def _missing_in_repository(db: Session, store: GitStore, report: Report) -> None:
    """What the database records and the repository lacks. Reported, never 'repaired': the commit or tag is the
    truth, and only a newer copy of the repository can bring it back."""
    on_main = store.version_ids()
    for event in db.scalars(select(AuditEvent).where(AuditEvent.status == "done", AuditEvent.save_id.is_not(None),
                                                     AuditEvent.version.is_not(None))
                            .order_by(AuditEvent.id)):
        if event.version not in on_main:
            report.problem(f"Save {event.save_id} ({event.action}, {event.ruleset}) is recorded as version "
                           f"{event.version[:12]}, which is not in the repository")
    tags = {t.name for t in store.tags()}
    for release in db.scalars(select(Release).where(Release.status == "approved").order_by(Release.id)):
        if f"{release.ruleset}/{release.name}" not in tags:
            report.problem(f"Release {release.ruleset} {release.name} is approved but its tag is missing")


RECENT = 100  # saves finish in a different order than they start, but never 100 saves apart


def _starting_point(db: Session, store: GitStore) -> str | None:
    """A version every commit after which must be checked: the oldest of the last saves the database knows.

    Looking only after it keeps start-up fast with thousands of versions. None (check everything) when the
    database knows no save or that version is not in the repository (e.g. a database restored from elsewhere).
    """
    recent = list(db.scalars(select(AuditEvent.version).where(AuditEvent.status == "done", AuditEvent.save_id
                                                              .is_not(None), AuditEvent.version.is_not(None))
                             .order_by(AuditEvent.id.desc()).limit(RECENT)))
    if len(recent) < RECENT:
        return None
    try:
        store.resolve(recent[-1])
    except StoreError:
        return None
    return recent[-1]


def _commits_without_rows(db: Session, store: GitStore, report: Report) -> None:
    known = set(db.scalars(select(AuditEvent.save_id).where(AuditEvent.save_id.is_not(None))))
    # Rows whose save is known but not 'done' (failed for any reason): a commit carrying the save id wins.
    unsettled = {e.save_id: e for e in db.scalars(select(AuditEvent).where(
        AuditEvent.save_id.is_not(None), AuditEvent.status.in_(("failed", "refused"))))}
    # A commit without a save id (made outside Rulecraft) is known by its version once it has its row; without
    # this it got another row at every start.
    known_versions = set(db.scalars(select(AuditEvent.version).where(AuditEvent.save_id.is_(None),
                                                                     AuditEvent.version.is_not(None))))
    users = {u.id for u in db.scalars(select(User))}
    for version in store.versions_since(_starting_point(db, store)):
        save_id = version.trailers.get("Rulecraft-Save")
        if save_id in unsettled:
            event = unsettled.pop(save_id)
            report.add(f"Save {save_id} ({event.action}) was marked {event.status} but was committed as "
                       f"{version.id[:12]}: marked done")
            event.status, event.version, event.at = "done", version.id, version.time
            continue
        if save_id in known or (save_id is None and version.id in known_versions):
            continue
        user_id = version.trailers.get("Rulecraft-User", "")
        user_id = int(user_id) if user_id.isdigit() and int(user_id) in users else None
        db.add(AuditEvent(at=version.time, user_id=user_id, action=version.trailers.get("Rulecraft-Action", "commit"),
                          ruleset=version.trailers.get("Rulecraft-Ruleset"),
                          rule=version.trailers.get("Rulecraft-Rule"),
                          version=version.id, save_id=save_id, status="done", message=version.message,
                          details={"recovered": True}))
        if save_id:
            known.add(save_id)
        report.add(f"Version {version.id[:12]} had no audit row: rebuilt from the commit")


def _approver_alive(release: Release) -> bool:
    """Whether the process that marked ``release`` 'approving' may still be writing its tag. On this host: that
    very process lives (its id and its start: a later process with the same id is another one). On another host,
    whose processes cannot be seen from here: until its lease runs out. A row naming no approver (written before
    they were recorded) and this process's own rows (it approves nothing while it recovers) are judged at once."""
    if release.approving_process is None:
        return False
    if release.approving_host == this_host():
        return release.approving_process != os.getpid() and same_process_alive(release.approving_process,
                                                                               release.approving_started)
    return release.approving_until is not None and utcnow() < release.approving_until


def _approvals(db: Session, store: GitStore, report: Report, process_id: int | None = None) -> None:
    """Releases left 'approving' whose approver is gone: approved if the tag was written, else back to requested.
    ``process_id``: only those of that process of this host (a server worker that has ended)."""
    approving = select(Release).where(Release.status == "approving")
    if process_id is not None:
        approving = approving.where(Release.approving_process == process_id, Release.approving_host == this_host())
    tags = {t.name for t in store.tags()}
    for release in db.scalars(approving.order_by(Release.id)):
        if _approver_alive(release):
            where = "" if release.approving_host == this_host() else f" on {release.approving_host}"
            report.add(f"Release {release.ruleset} {release.name} is being approved by process "
                       f"{release.approving_process}{where}: left alone")
            continue
        if f"{release.ruleset}/{release.name}" in tags:
            release.status = "approved"
            report.add(f"Release {release.ruleset} {release.name} was tagged: marked approved")
        else:
            release.status, release.name, release.decided_by, release.decided_at = "requested", None, None, None
            release.bundle_hash = None
            report.add(f"Release request {release.id} of {release.ruleset} was not tagged: back to requested")
        release.approving_host = release.approving_process = None
        release.approving_started = release.approving_until = None
    db.flush()


def _releases(db: Session, store: GitStore, report: Report) -> None:
    _approvals(db, store, report)
    tags = {t.name: t for t in store.tags()}
    users = {u.id for u in db.scalars(select(User))}
    approved = {(r.ruleset, r.name) for r in db.scalars(select(Release).where(Release.status == "approved"))}
    for name, tag in tags.items():
        ruleset, _, release_name = name.rpartition("/")
        if not RELEASE_NAME.fullmatch(release_name):
            continue
        if ruleset and (ruleset, release_name) not in approved:
            trailers = dict(line.split(": ", 1) for line in tag.message.splitlines() if ": " in line
                            and line.split(": ", 1)[0].startswith("Rulecraft-"))
            release_id = trailers.get("Rulecraft-Release", "")
            existing = db.get(Release, int(release_id)) if release_id.isdigit() else None
            # The tag names the approver: the row keeps them (its decision may have been rolled back or never
            # written), so the release and its rebuilt audit row say who approved it. An id that names nobody
            # here is left out rather than written as a dangling reference.
            recorded_hash = trailers.get("Rulecraft-Bundle-Hash") or None
            approved_by = trailers.get("Rulecraft-Approved-By", "")
            approver = int(approved_by) if approved_by.isdigit() and int(approved_by) in users else None
            if existing is not None:
                existing.status, existing.name = "approved", release_name
                existing.decided_by, existing.decided_at = approver, tag.time
                existing.bundle_hash = existing.bundle_hash or recorded_hash
            else:
                requested = trailers.get("Rulecraft-Requested-By", "")
                if not requested.isdigit() or int(requested) not in users:
                    report.add(f"Tag {name} was not made by Rulecraft: left alone")
                    continue
                db.add(Release(ruleset=ruleset, name=release_name, version=tag.version, status="approved",
                               notes=tag.message, requested_by=int(requested), decided_by=approver,
                               decided_at=tag.time, bundle_hash=recorded_hash))
            report.add(f"Release {ruleset} {release_name} existed only as a tag: recorded")
    db.flush()
    _release_decisions(db, report)


def _release_decisions(db: Session, report: Report) -> None:
    recorded = {(e.details or {}).get("release") for e in db.scalars(
        select(AuditEvent).where(AuditEvent.action == "release.approve"))}
    for release in db.scalars(select(Release).where(Release.status == "approved")):
        if release.id in recorded:
            continue
        db.add(AuditEvent(at=release.decided_at or utcnow(), user_id=release.decided_by, action="release.approve",
                          ruleset=release.ruleset, version=release.version, status="done",
                          message=release.comment or "", details={"release": release.id, "name": release.name,
                                                                  "bundle_hash": release.bundle_hash,
                                                                  "recovered": True}))
        report.add(f"Release {release.ruleset} {release.name} had no audit row for its approval: added")
