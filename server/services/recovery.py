"""Make the database and the repository agree again after a crash (run at every start, and by `rulecraft recover`).

- stale lock files and leftover temporary folders are removed, while holding the store's lock;
- a pending audit row whose commit exists becomes 'done', one without a commit becomes 'failed';
- a commit with no audit row gets one, built from its trailers (who, what, which rule set and rule, why);
- a release stuck in 'approving' becomes 'approved' if its tag exists, else goes back to 'requested';
- a release tag with no approved row (a crash after the tag was written) gets its row back;
- an approved release without its 'release.approve' audit row (the crash came before the row was written) gets
  one, so the audit log shows who approved every release.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import store as git
from ..db import begin_write
from ..limits import RELEASE_NAME
from ..models import AuditEvent, Release, User, utcnow


@dataclass
class Report:
    actions: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.actions.append(text)

    def __str__(self) -> str:
        return "\n".join(self.actions) if self.actions else "Nothing to repair: the database and the rules agree."


def recover(db: Session, store: git.GitStore) -> Report:
    report = Report()
    for removed in store.recover():
        report.add(f"Removed {removed}")
    begin_write(db)
    _pending_saves(db, store, report)
    _commits_without_rows(db, store, report)
    _releases(db, store, report)
    db.commit()
    return report


def settle_process(db: Session, store: git.GitStore, process_id: int) -> Report:
    """The pending saves of one server worker that has died, settled at once (not at the next start) and only
    those: other workers' saves in flight are left alone. Decided holding the store's writer lock, so that Git
    processes the worker left running have finished."""
    report = Report()
    mine = select(AuditEvent.id).where(AuditEvent.status == "pending", AuditEvent.process_id == process_id)
    if db.scalar(mine.limit(1)) is None:
        db.rollback()
        return report
    with store.writers_done():
        begin_write(db)
        _pending_saves(db, store, report, process_id)
        db.commit()
    return report


def _pending_saves(db: Session, store: git.GitStore, report: Report, process_id: int | None = None) -> None:
    pending = select(AuditEvent).where(AuditEvent.status == "pending")
    if process_id is not None:
        pending = pending.where(AuditEvent.process_id == process_id)
    for event in db.scalars(pending):
        version = store.find_by_trailer("Rulecraft-Save", event.save_id) if event.save_id else None
        if version is not None:
            event.status, event.version, event.at = "done", version.id, version.time
            report.add(f"Save {event.save_id} ({event.action}) was committed as {version.id[:12]}: marked done")
        else:
            event.status = "failed"
            event.details = {**(event.details or {}), "reason": "interrupted before the commit"}
            report.add(f"Save {event.save_id} ({event.action}) never reached the repository: marked failed")


RECENT = 100  # saves finish in a different order than they start, but never 100 saves apart


def _starting_point(db: Session, store: git.GitStore) -> str | None:
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
    except git.StoreError:
        return None
    return recent[-1]


def _commits_without_rows(db: Session, store: git.GitStore, report: Report) -> None:
    known = set(db.scalars(select(AuditEvent.save_id).where(AuditEvent.save_id.is_not(None))))
    # A commit without a save id (made outside Rulecraft) is known by its version once it has its row; without
    # this it got another row at every start.
    known_versions = set(db.scalars(select(AuditEvent.version).where(AuditEvent.save_id.is_(None),
                                                                     AuditEvent.version.is_not(None))))
    users = {u.id for u in db.scalars(select(User))}
    for version in store.versions_since(_starting_point(db, store)):
        save_id = version.trailers.get("Rulecraft-Save")
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


def _releases(db: Session, store: git.GitStore, report: Report) -> None:
    tags = {t.name: t for t in store.tags()}
    users = {u.id for u in db.scalars(select(User))}
    for release in db.scalars(select(Release).where(Release.status == "approving")):
        if f"{release.ruleset}/{release.name}" in tags:
            release.status = "approved"
            report.add(f"Release {release.ruleset} {release.name} was tagged: marked approved")
        else:
            release.status, release.name, release.decided_by, release.decided_at = "requested", None, None, None
            release.bundle_hash = None
            report.add(f"Release request {release.id} of {release.ruleset} was not tagged: back to requested")
    db.flush()
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
