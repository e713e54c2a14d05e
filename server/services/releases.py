"""Releases: an author asks for a version to be released, a reviewer approves (never their own request, never a
release holding their own changes) or rejects it with a comment. An approved release is an annotated Git tag
``<rule set>/vN`` plus its database row; neither is ever changed afterwards.

Approval is crash-safe: the row is marked 'approving' with its name and its approver (this host, process id and
process start, and a lease), then the tag is written, then the row becomes 'approved'. Recovery finishes or rolls
back an 'approving' row by looking for the tag, but only once its approver is gone (services/recovery.py).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rules_dsl.bundle import bundle_dict
from rules_dsl.errors import invisible_character

from ..db import begin_write, reads
from ..limits import MAX_WHY
from ..models import Release, User, utcnow
from ..store import ReleaseExists, StoreError, Version, fault_point
from . import gate
from .errors import Conflict, Forbidden, Invalid, NotFound
from .saving import identity, process_start, record, refused, this_host
from .workspace import Workspace


def _text(value, field: str, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"'{field}' must be text.", field=field)
    value = value.replace("\r\n", "\n").strip()
    if required and not value:
        raise Invalid("Please add a comment saying why.", field=field)
    if len(value) > MAX_WHY:
        raise Invalid(f"'{field}' is too long (at most {MAX_WHY} characters).", field=field)
    if invisible_character(value.replace("\n", " ").replace("\t", " ")) is not None:  # here, not at approval
        raise Invalid(f"'{field}' contains invisible control characters; please retype it.", field=field)
    return value


def bundle_document(ws: Workspace, ruleset: str, version: str, release: str | None) -> dict:
    """The bundle of ``ruleset`` at ``version`` (named ``release`` if it is one), with its content hash; unsigned
    (the API signs what it serves). The hash recorded at approval is this document's, so it is the hash of every
    copy of the release's bundle the server ever serves."""
    pinned = copy.copy(ws.ruleset(ruleset, version))
    pinned.version, pinned.release = version, release
    return bundle_dict(pinned)


def draft_notes(ws: Workspace, ruleset: str, version: str) -> str:
    """Release notes drafted from the reasons given for every change since the last release."""
    latest = ws.latest_release(ruleset)
    lines = []
    for v in ws.store.log(ruleset, limit=200, version=version):
        if latest is not None and v.id == latest.version:
            break
        first = v.message.strip().splitlines()[0] if v.message.strip() else ""
        lines.append(f"- {first} ({v.author.name})")
    return "\n".join(lines) if lines else "- No changes since the last release."


def request_release(ws: Workspace, db: Session, user: User, ruleset: str, version: str | None,
                    notes, datasets_dir: Path | None = None) -> Release:
    """``datasets_dir``: where the reference data sets are, for the release gate's figures (None: not measured)."""
    version = ws.resolve(ruleset, version)
    ws.files(ruleset, version)  # 404 if the rule set is not in that version
    version = ws.own_version(ruleset, version)  # this rule set's last change, not another rule set's newer one
    notes = _text(notes, "notes", False) or draft_notes(ws, ruleset, version)
    measured = gate.measure(ws, db, datasets_dir, ruleset, version)
    if any(t.version == version for t in ws.releases(ruleset)):
        raise Conflict("This version is already released.")
    begin_write(db)
    pending = db.scalar(select(Release).where(Release.ruleset == ruleset, Release.version == version,
                                              Release.status == "requested"))
    if pending is not None:
        raise Conflict("A release of this version has already been requested and is waiting for a reviewer.",
                       release=pending.id)
    release = Release(ruleset=ruleset, version=version, status="requested", notes=notes, requested_by=user.id,
                      gate=None if measured is None else {"request": measured.to_dict()})
    db.add(release)
    db.flush()
    details = {"release": release.id}
    if measured is not None:
        details["gate_passed"] = measured.passed
    record(db, user, "release.request", ruleset=ruleset, version=version, message=notes, details=details)
    db.commit()
    return release


def _pending(db: Session, ruleset: str, release_id) -> Release:
    try:
        release = db.get(Release, int(release_id))
    except (TypeError, ValueError):
        release = None
    if release is None or release.ruleset != ruleset:
        raise NotFound("There is no such release request for this rule set.")
    _still_requested(release)
    return release


def _still_requested(release: Release) -> None:
    if release.status != "requested":
        raise Conflict(f"This request was already {release.status}; a decision is never changed.")


def _lock_decision(db: Session, release: Release) -> None:
    """Inside the write transaction, read the request again (locking its row where the database can) and make sure
    it is still waiting: two reviewers deciding at the same moment must not both win. Without this, the second
    decision was made on a copy read before the first was committed, and overwrote it (two tags, one row)."""
    db.refresh(release, with_for_update=True)
    _still_requested(release)


def authors_since_last_release(ws: Workspace, ruleset: str, version: str) -> set[int]:
    latest = ws.latest_release(ruleset)
    authors = set()
    for v in ws.store.log(ruleset, limit=1000, version=version):
        if latest is not None and v.id == latest.version:
            break
        user_id = v.trailers.get("Rulecraft-User", "")
        if user_id.isdigit():
            authors.add(int(user_id))
    return authors


# How long recovery on another host waits before it takes an approval in progress for one whose approver is gone
# (it cannot see that host's processes). An approval holds the row 'approving' while it writes one tag: seconds, at
# most the store's lock timeout; on this host recovery asks the process itself and never waits for the lease.
APPROVAL_LEASE = timedelta(minutes=10)


def _mark_approver(release: Release, approving: bool) -> None:
    """Name this process in a row about to be 'approving' (approving=True), or clear the name (False)."""
    if approving:
        release.approving_host, release.approving_process = this_host(), os.getpid()
        release.approving_started, release.approving_until = process_start(os.getpid()), utcnow() + APPROVAL_LEASE
    else:
        release.approving_host = release.approving_process = None
        release.approving_started = release.approving_until = None


def approve(ws: Workspace, db: Session, user: User, ruleset: str, release_id, comment, override=None,
            datasets_dir: Path | None = None) -> Release:
    """``override``: the reviewer's reason for approving although the release gate fails (required then, kept in
    the release and the audit log); ``datasets_dir`` as for request_release."""
    comment = _text(comment, "comment", False)
    override = _text(override, "override", False) or None
    release = _pending(db, ruleset, release_id)
    if release.requested_by == user.id:
        raise refused(db, user, "release.approve", Forbidden(
            "You requested this release, so another reviewer must approve it.", code="own-release"),
            reason="own-release", ruleset=ruleset, version=release.version, message=comment,
            details={"release": release.id})
    if user.id in authors_since_last_release(ws, ruleset, release.version):
        raise refused(db, user, "release.approve", Forbidden(
            "This release contains changes you made, so another reviewer must approve it.", code="own-changes"),
            reason="own-changes", ruleset=ruleset, version=release.version, message=comment,
            details={"release": release.id})
    own = ws.own_version(ruleset, release.version)  # a request made before releases named their own version
    measured = gate.measure(ws, db, datasets_dir, ruleset, own)
    if measured is not None and not measured.passed and override is None:
        raise refused(db, user, "release.approve", Invalid(
            f"This version does not pass the release gate: {gate.failing_words(measured)}. Fix the rules (or the "
            "tests), or approve anyway by giving the reason for the override.", code="gate-failed",
            field="override", gate=measured.to_dict()),
            reason="gate-failed", ruleset=ruleset, version=release.version, message=comment,
            details={"release": release.id})
    begin_write(db)
    _lock_decision(db, release)
    if measured is not None:
        release.gate = {**(release.gate or {}), "approval": measured.to_dict()}
        release.gate_override = override if not measured.passed else None
    if any(t.version == own for t in ws.releases(ruleset)):
        raise Conflict("This version is already released.")
    number = 1 + (db.scalar(select(func.count()).select_from(Release).where(
        Release.ruleset == ruleset, Release.status.in_(("approved", "approving")))) or 0)
    name, decided_at = f"v{number}", utcnow()
    bundle_hash = bundle_document(ws, ruleset, own, name)["hash"]
    release.version, release.name, release.status = own, name, "approving"
    release.decided_by, release.decided_at, release.comment = user.id, decided_at, comment
    release.bundle_hash = bundle_hash
    _mark_approver(release, approving=True)
    try:
        db.commit()
    except IntegrityError:  # another release of this rule set took the same number at the same moment
        db.rollback()
        raise Conflict("Another release of this rule set was approved at the same moment; please try again.") \
            from None
    fault_point("release.approving")
    # From here on the decision is in local names, not read back from the row: what the tag and the final row
    # say is this approval's, whatever the row says meanwhile.
    message = (f"Release {name} of {ruleset}\n\n{release.notes}\n\n"
               f"Rulecraft-Release: {release.id}\nRulecraft-Requested-By: {release.requested_by}\n"
               f"Rulecraft-Approved-By: {user.id}\nRulecraft-Bundle-Hash: {bundle_hash}")
    try:
        ws.store.create_tag(f"{ruleset}/{name}", own, message=message, tagger=identity(user))
    except ReleaseExists:
        pass  # written before a crash; recovery of the row below makes it consistent
    except StoreError as e:
        db.rollback()
        begin_write(db)
        release.name, release.status, release.decided_by, release.decided_at = None, "requested", None, None
        release.bundle_hash = None
        _mark_approver(release, approving=False)
        db.commit()
        raise Invalid(e.message) from None
    fault_point("release.tagged")
    begin_write(db)
    release.version, release.name, release.status = own, name, "approved"
    release.decided_by, release.decided_at, release.comment = user.id, decided_at, comment
    release.bundle_hash = bundle_hash
    _mark_approver(release, approving=False)
    details = {"release": release.id, "name": release.name, "bundle_hash": release.bundle_hash}
    if measured is not None:
        details["gate_passed"] = measured.passed
        if release.gate_override:
            details["gate_override"] = release.gate_override
    record(db, user, "release.approve", ruleset=ruleset, version=release.version, message=comment,
           details=details)
    db.commit()
    return release


def reject(ws: Workspace, db: Session, user: User, ruleset: str, release_id, comment) -> Release:
    comment = _text(comment, "comment", True)
    release = _pending(db, ruleset, release_id)
    if release.requested_by == user.id:
        raise refused(db, user, "release.reject", Forbidden(
            "You requested this release; another reviewer decides on it. (You can ask for it again later with "
            "other notes.)", code="own-release"),
            reason="own-release", ruleset=ruleset, version=release.version, message=comment,
            details={"release": release.id})
    begin_write(db)
    _lock_decision(db, release)
    release.status, release.decided_by, release.decided_at, release.comment = "rejected", user.id, utcnow(), comment
    record(db, user, "release.reject", ruleset=ruleset, version=release.version, message=comment,
           details={"release": release.id})
    db.commit()
    return release


@dataclass(frozen=True)
class SavedSince:
    """What was saved to a rule set after the version a release request names: a reviewer sees it before deciding
    (issue 15, item 9: a request whose change was undone later still offered "Approve" with no word).

    ``current_is`` says what the rule set reads like now, when it is one of the versions a reviewer knows:
    "as-requested" (the later saves cancel out), "as-release" (back to release ``release``: what the request asks
    for has been undone), "as-before-request" (the request's own last change was undone), else None."""
    count: int
    versions: list[Version]  # the newest ones, newest first
    current: str  # the rule set's own latest version: compare the requested version with it
    current_is: str | None
    release: str | None = None


SHOWN_SAVES = 10  # saves listed after a request; the count says how many there are in all


def saved_since(ws: Workspace, ruleset: str, version: str) -> SavedSince:
    """The saves after ``version`` (a requested version, the rule set's own) and what the rule set reads like now."""
    count, versions = ws.saves_after(ruleset, version, limit=SHOWN_SAVES)
    if count == 0:
        return SavedSince(0, [], version, "as-requested")
    current = versions[0].id

    def same(a: str | None, b: str) -> bool:
        try:
            return a is not None and ws.files(ruleset, a) == ws.files(ruleset, b)
        except NotFound:  # the rule set did not exist at one of them
            return False

    latest = ws.latest_release(ruleset)
    before = ws.store.log(ruleset, limit=2, version=version)
    if same(version, current):
        return SavedSince(count, versions, current, "as-requested")
    if latest is not None and same(latest.version, current):
        return SavedSince(count, versions, current, "as-release", latest.release)
    if len(before) > 1 and same(before[1].id, current):
        return SavedSince(count, versions, current, "as-before-request")
    return SavedSince(count, versions, current, None)


def releases_of(db: Session, ruleset: str) -> list[Release]:
    return list(db.scalars(select(Release).where(Release.ruleset == ruleset).order_by(Release.id.desc())))


# Read on every prediction: built once, run as plain Core on a connection (server/db.py, reads), no ORM Session.
_GENERATION = select(func.count(), func.max(Release.id)).where(Release.ruleset == bindparam("ruleset"),
                                                                Release.status == "approved")


def generation(connection: Connection, ruleset: str) -> tuple:
    """A value that changes whenever a release of the rule set is approved (or recovered as approved): the count
    and the largest id of its approved rows. The tag is written before a row becomes "approved", so a reader that
    sees a new generation finds the new tag (Workspace.releases caches the tags by this value)."""
    return tuple(connection.execute(_GENERATION, {"ruleset": ruleset}).one())


def current_generation(ruleset: str) -> tuple:
    """``generation`` read on this request's read connection (server/db.py ``reads``): one prebuilt query, no
    Session, for the views that pass it to the workspace's cache of tags."""
    with reads() as connection:
        return generation(connection, ruleset)
