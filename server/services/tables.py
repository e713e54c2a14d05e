"""Editing a rule set as its decision table (the Table page): check the edited table cell by cell, then save every
change (edited cells, added and removed rows, new priorities) as ONE version with one why.

The editor sends the table as the GET gave it ({"columns": [...], "rows": [[...], ...]}), edited. The hidden "text"
column is not sent: it is filled in here from the base version, by rule id, so that an untouched row reads back as
exactly the rule it was (rules_dsl.decision_table's fast path, and byte-identical files) and only the rows that
changed show as changes. Rows are read with the workbook's reader, so every problem names its cell ("Table!C3");
the answer also gives the row (0-based, in the rows sent) and the column's name, for the editor to put the message
at the cell. The save itself is the workbook upload's (workbooks.save_files): refused with 409 when the rule set
changed since the version the table was opened at.
"""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from rules_dsl import RuleError, decision_table
from rules_dsl.layout import rule_file, rule_stem

from ..models import User
from .errors import Invalid, Malformed
from .rules import _recheck
from .saving import Saved, check_why
from .workbooks import _changes, save_files, used_ids
from .workspace import Workspace

SHEET = "Table"  # what a problem's cell is called: "Table!C3"
MAX_ROWS = 10_000  # a table is a rule set's rules; the workbook reader has read 1,000 in well under a second
_CELL = re.compile(rf"{SHEET}!([A-Z]*)(\d+)")
_SCALAR = (str, int, float, bool, type(None))


def _table_rows(body) -> tuple[list[str], list[list]]:
    """The columns and rows sent, checked for shape (what each cell says is the reader's business)."""
    if not isinstance(body, dict):
        raise Malformed('Send the table as {"columns": [...], "rows": [[...], ...]}.')
    columns, rows = body.get("columns"), body.get("rows")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise Invalid("'columns' is the list of the table's column names, as the table was loaded.",
                      field="columns")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise Invalid("'rows' is a list of rows, each a list of cells in the order of 'columns'.", field="rows")
    if len(rows) > MAX_ROWS:
        raise Invalid(f"A table holds at most {MAX_ROWS} rows; this one has {len(rows)}.", field="rows")
    for number, row in enumerate(rows, start=1):
        if len(row) > len(columns) or not all(isinstance(v, _SCALAR) for v in row):
            raise Invalid(f"Row {number} does not match the columns: each cell is text, a number, yes / no or "
                          "empty, one per column.", field="rows")
    if decision_table.TEXT in (c.lower() for c in columns):
        raise Invalid("Leave out the 'text' column; it is filled in from the version the table was opened at.",
                      field="columns")
    return columns, rows


def _with_texts(columns: list[str], rows: list[list], texts: dict[str, str]) -> list[list]:
    """The header and rows with the "text" column of the base version added, by rule id."""
    id_at = next((i for i, c in enumerate(columns) if c.lower() == decision_table.ID), None)

    def text(row):
        rule_id = row[id_at] if id_at is not None and id_at < len(row) else None
        return texts.get(rule_id, "") if isinstance(rule_id, str) else ""

    return [[*columns, decision_table.TEXT]] + [
        [*row, *[None] * (len(columns) - len(row)), text(row)] for row in rows]


def _problem(problem, columns: list[str]) -> dict:
    """A reader's problem with the row (index in the rows sent, -1 for the header) and column it is at."""
    out = {"message": problem.message, "code": problem.code, "cell": problem.file, "row": None, "column": None}
    m = _CELL.fullmatch(problem.file or "")
    if m:
        out["row"] = int(m[2]) - 2
        if m[1]:
            index = 0
            for letter in m[1]:
                index = index * 26 + ord(letter) - 64
            out["column"] = columns[index - 1] if index - 1 < len(columns) else None
    return out


def _with_rules(ws: Workspace, ruleset: str, base: str, rules) -> dict[str, bytes]:
    """The rule set's files at ``base`` with its rules replaced by ``rules`` (a rule not among them is deleted),
    checked as a whole (Invalid when, e.g., two rules share a name)."""
    files = {name: content for name, content in ws.files(ruleset, base).items() if rule_stem(name) is None}
    for rule in rules:
        files[rule_file(rule.id)] = (rule.text + "\n").encode()
    _recheck(files, ruleset, ws.compiled_memo)  # unchanged rules: compiled when the base was read
    return files


def _files(ws: Workspace, ruleset: str, base: str, body) -> tuple[dict[str, bytes] | None, list[dict]]:
    """The rule set's files as the edited table says they should be, or None and the problems, each at its cell."""
    columns, rows = _table_rows(body)
    pinned = ws.ruleset(ruleset, base)
    texts = {rule.id: rule.text for rule in pinned.rules}
    try:
        rules = decision_table.rules_from_rows(_with_texts(columns, rows, texts), pinned.vocabulary,
                                               pinned.settings, SHEET, used_ids(ws, ruleset),
                                               {rule.id: rule for rule in pinned.rules})
    except RuleError as e:
        return None, [_problem(p, columns) for p in e.problems]
    try:
        files = _with_rules(ws, ruleset, base, rules)
    except Invalid as e:
        return None, [{"message": p.get("message", e.message), "code": p.get("code", e.code), "cell": None,
                       "row": None, "column": None} for p in (e.details.get("problems") or [{}])]
    return files, []


def check(ws: Workspace, ruleset: str, body, base: str | None = None) -> dict:
    """The edited table read against ``base`` (default: the latest version): every problem at its cell, and what
    saving it would change, rule by rule. Nothing is saved."""
    base = ws.resolve(ws.check_id(ruleset), base)
    files, problems = _files(ws, ruleset, base, body)
    changes = [] if files is None else _changes(ws.files(ruleset, base), files)
    return {"ruleset": ruleset, "base": base, "ok": not problems, "problems": problems, "changes": changes,
            "summary": {kind: sum(c["change"] == kind for c in changes) for kind in ("added", "changed", "deleted")}}


def save(ws: Workspace, db: Session, user: User, ruleset: str, body, why: str, base: str) -> tuple[Saved, dict]:
    """Save the edited table as one version based on ``base``. Invalid (422) with every problem at its cell; 409
    when the rule set changed since ``base``; Invalid "no-change" when the table is the same as that version."""
    why = check_why(why)
    base = ws.resolve(ws.check_id(ruleset), base)
    files, problems = _files(ws, ruleset, base, body)
    if files is None:
        first = problems[0]
        where = f"{first['cell']}: " if first["cell"] else ""
        raise Invalid(f"The table cannot be saved: {len(problems)} problem(s) to fix, the first is {where}"
                      f"{first['message']}", code="invalid-table", problems=problems)
    return save_files(ws, db, user, ruleset, files, why, base, "ruleset.table",
                      "The table is the same as the saved version; nothing to save.")


def import_csv(ws: Workspace, db: Session, user: User, ruleset: str, data: bytes, name: str, why: str,
               dry_run: bool = False) -> tuple[Saved | None, list[dict]]:
    """A rules table as CSV (``rulecraft export --format csv``, perhaps edited in a spreadsheet) saved as ONE
    version of ``ruleset`` on its latest version, and what changed rule by rule; with ``dry_run`` only what would
    change. The table says what the rules should be: a rule of the rule set that is not in it is deleted; the
    vocabulary, settings and other files stay as they are. Invalid (code "invalid-table") with every problem at
    its cell (``rules.csv!C7``, ``name`` being the file's name); Invalid "no-change" when nothing differs."""
    why = check_why(why)
    base = ws.resolve(ws.check_id(ruleset), None)
    pinned = ws.ruleset(ruleset, base)
    try:
        rules = decision_table.rules_from_csv(data, pinned.vocabulary, pinned.settings, name, used_ids(ws, ruleset))
    except RuleError as e:
        raise Invalid(f"The table cannot be imported: {len(e.problems)} problem(s) to fix, the first is {e.first}",
                      code="invalid-table", problems=[p.to_dict() for p in e.problems]) from None
    files = _with_rules(ws, ruleset, base, rules)
    if dry_run:
        return None, _changes(ws.files(ruleset, base), files)
    saved, answer = save_files(ws, db, user, ruleset, files, why, base, "ruleset.table",
                               "The table is the same as the latest version; nothing to save.")
    return saved, answer["changes"]
