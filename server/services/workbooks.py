"""A rule set's workbook (rules_dsl/workbook.py): download any version; upload one as a change, previewed rule by
rule, then saved as one version with one why.

The upload is read whole (every cell checked, problems named ``Rules!C7``) before anything is compared, and it is
saved only against the version it was based on (If-Match): a workbook says what the whole rule set should be, so a
save that slipped in since is refused with 409 (any file of the rule set), never merged over.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy.orm import Session

from rules_dsl import RuleError, decision_table, workbook
from rules_dsl.layout import rule_stem

from ..models import User
from ..store import Change
from .errors import Invalid, Malformed, invalid_rule
from .rules import UsedRuleIds, _commit, _recheck, _retrying
from .saving import Saved, check_why
from .workspace import Workspace, file_path


@dataclass
class Download:
    data: bytes
    version: str
    release: str | None


def download(ws: Workspace, ruleset: str, revision: str | None) -> Download:
    """The workbook of a version (default: the latest), with every file of the rule set's folder."""
    version = ws.resolve(ws.check_id(ruleset), revision)
    pinned = ws.ruleset(ruleset, version)
    release = ws.release_name(ruleset, version)
    copy = type(pinned)(pinned.settings, pinned.vocabulary, pinned.rules, ruleset, version, release, pinned.examples)
    return Download(workbook.to_bytes(copy, ws.files(ruleset, version)), version, release)


def table(ws: Workspace, ruleset: str, revision: str | None) -> dict:
    """The decision table of a version, for the editor's Table page (the workbook's Rules sheet)."""
    version = ws.resolve(ws.check_id(ruleset), revision)
    rows = decision_table.table(ws.ruleset(ruleset, version)).as_rows()
    columns, *body = rows
    keep = len(columns) - 1  # the hidden "text" column stays in the workbook
    return {"ruleset": ruleset, "version": version, "columns": columns[:keep],
            "features": columns[len(decision_table.LEADING):keep - len(decision_table.TRAILING) + 1],
            "rows": [row[:keep] for row in body]}


def decode(data) -> bytes:
    """The workbook as the API receives it: base64 text in the JSON body's ``workbook``."""
    if not isinstance(data, str) or not data:
        raise Invalid("Send the workbook as base64 text in 'workbook'.", field="workbook")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("'workbook' is not base64 text.") from None


def _read(ws: Workspace, data: bytes, ruleset: str) -> dict[str, bytes]:
    try:
        files, _ = workbook.read_files(data, used_ids(ws, ruleset))
    except RuleError as e:
        raise invalid_rule(e, f"The workbook cannot be used: {e.first}") from None
    _recheck(files, ruleset)
    return files


def used_ids(ws: Workspace, ruleset: str) -> UsedRuleIds:
    """Ids a new row (one without an id) must not get, in a workbook or on the Table page: every id some rule of the
    rule set had, up to its latest version (saves since the table was opened included). A row keeps an id written
    in it: it is the rule of that id (edited, or restored from an older workbook with its history)."""
    return UsedRuleIds(ws, ruleset, ws.resolve(ruleset, None))


def _changes(now: dict[str, bytes], new: dict[str, bytes]) -> list[dict]:
    """Rule by rule (then the other files): what the upload adds, changes and deletes."""
    out = []
    for name in sorted(set(now) | set(new), key=lambda n: (rule_stem(n) is None, n)):
        before, after = now.get(name), new.get(name)
        if before == after:
            continue
        kind = "added" if before is None else "deleted" if after is None else "changed"
        entry = {"file": name, "change": kind}
        stem = rule_stem(name)
        if stem is not None:
            entry["rule"] = stem
            entry["before"] = None if before is None else before.decode("utf-8", "replace").rstrip("\n")
            entry["after"] = None if after is None else after.decode("utf-8", "replace").rstrip("\n")
        out.append(entry)
    return out


def preview(ws: Workspace, ruleset: str, data: bytes, base: str | None = None) -> dict:
    """What saving the workbook would change, against ``base`` (default: the latest version); nothing is saved."""
    base = ws.resolve(ws.check_id(ruleset), base)
    new = _read(ws, data, ruleset)
    changes = _changes(ws.files(ruleset, base), new)
    return {"ruleset": ruleset, "base": base, "changes": changes,
            "summary": {kind: sum(c["change"] == kind for c in changes) for kind in ("added", "changed", "deleted")}}


def save(ws: Workspace, db: Session, user: User, ruleset: str, data: bytes, why: str, base: str) -> tuple[Saved, dict]:
    """Save the workbook as one version based on ``base``; 409 when the rule set changed since."""
    why = check_why(why)
    base = ws.resolve(ws.check_id(ruleset), base)
    return save_files(ws, db, user, ruleset, _read(ws, data, ruleset), why, base, "ruleset.workbook",
                      "The workbook holds no change to this version; nothing to save.")


def save_files(ws: Workspace, db: Session, user: User, ruleset: str, new: dict[str, bytes], why: str, base: str,
               action: str, unchanged: str) -> tuple[Saved, dict]:
    """The rule set's folder as ``new`` says it should be, saved as ONE version (one commit, one audit row) based on
    ``base``: every file that differs is written or deleted together. Refused with 409 when a file it covers (any
    file of ``base``) changed or was deleted since (nothing is merged over); files added since are left alone; Invalid
    "no-change" with ``unchanged`` when nothing differs. ``new`` has been checked (``_recheck``) by the caller."""
    def attempt():
        head = ws.resolve(ruleset, None)
        now = ws.files(ruleset, base)
        changes = _changes(now, new)
        if not changes:
            raise Invalid(unchanged, code="no-change")
        paths = sorted({file_path(ruleset, n) for n in set(now) | set(new)})
        store_changes = [Change(file_path(ruleset, c["file"]), new.get(c["file"])) for c in changes]
        saved = _commit(ws, db, user, action, ruleset, None, store_changes, why, base=base,
                        conflict_paths=paths, expect_head=head)
        return saved, {"changes": changes}

    return _retrying(attempt)
