"""A new rule set that keeps the cases of the CSV file it was drafted from (issue 15, item 14): one action for the
person, "Create", so that "Try it" shows matches as soon as the first rule is typed.

Where the cases go:
- with the outcome column (the file says the true answer of each case): the whole file becomes the rule set's
  reference data set (services/datasets.py), as ``POST /api/rulesets/{id}/datasets`` would register it. It is not
  also copied into examples.csv: a rule set's files are versioned in Git, whose history is append-only (nothing can
  ever be taken out of it) and travels in every export, while a data set is one owner-only file on the server that
  try-it, the analysis and the release impact already read, with right and wrong answers counted;
- without one: the first ``EXAMPLE_ROWS`` cases, the columns the features read (and ``case``), become examples.csv
  in the first version: a few cases that travel with the rule set, which the editor tries every rule on.

Nothing half-made: the cases are checked (a table, the outcome column filled in every row, the size) before the rule
set is created, and a refusal refuses both. Examples are part of the first version's one commit. A data set is
registered just after the commit (the rule set must exist first); if that fails all the same (a full disk, the
database gone), the rule set stays made and the answer says so in plain words, with how to add the file later.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from rules_dsl import RuleError
from rules_dsl.tables import CsvError, read_sample
from rules_dsl.vocabulary import Vocabulary

from ..models import ReferenceDataset, User
from . import datasets
from .errors import Forbidden, Invalid, Malformed, ServiceError
from .rules import create_ruleset
from .saving import Saved
from .workspace import Workspace

log = logging.getLogger(__name__)

EXAMPLE_ROWS = 20        # cases kept as examples.csv when the file has no outcome column
DEFAULT_NAME = "Cases of the first file"


@dataclass
class KeptCases:
    """What became of the file's cases: ``kept`` is "dataset", "examples" or None (not kept, ``message`` says why
    and what to do)."""

    kept: str | None
    rows: int
    message: str
    dataset: ReferenceDataset | None = None


def _cases_request(cases) -> tuple[bytes, str | None, str]:
    if not isinstance(cases, dict) or not isinstance(cases.get("csv"), str) or not cases["csv"].strip():
        raise Malformed('"cases" is {"csv": the file\'s text, "outcome_column"?: a column, "name"?: a name}.',
                        field="cases")
    outcome = cases.get("outcome_column")
    if outcome is not None and not isinstance(outcome, str):
        raise Malformed('"cases.outcome_column" is the name of a column of the file.', field="cases.outcome_column")
    name = cases.get("name")
    if name is not None and not isinstance(name, str):
        raise Malformed('"cases.name" is a short name for the data set.', field="cases.name")
    return cases["csv"].encode("utf-8"), outcome or None, " ".join((name or "").split())[:100] or DEFAULT_NAME


def _not_kept(e: Invalid) -> Invalid:
    """A refusal of the cases, said as one of the new rule set (nothing was made) with the way out."""
    return Invalid(f"The rule set was not created, because its cases cannot be kept: {e.message} Or clear the box "
                   "“Keep the cases of this file” to create the rule set without them.",
                   field=f"cases.{e.details.get('field') or 'file'}")


def examples_sample(data: bytes, vocabulary: Vocabulary, rows: int = EXAMPLE_ROWS) -> tuple[bytes | None, int]:
    """The first ``rows`` cases of the file as examples.csv: the columns the features read and ``case``, each cell as
    written. (None, 0) when no feature reads a column of the file."""
    try:
        header, lines = read_sample(data, rows)
    except CsvError as e:
        raise Invalid(e.message, field="file") from None
    read = set(vocabulary.by_column())
    keep = [i for i, column in enumerate(header) if column in read or column == "case"]
    if not any(header[i] in read for i in keep) or not lines:
        return None, 0
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header[i] for i in keep])
    for line in lines:
        writer.writerow([line[i] if i < len(line) else "" for i in keep])
    return out.getvalue().encode("utf-8"), len(lines)


def create_with_cases(ws: Workspace, db: Session, folder: Path, user: User, may_register: bool, settings_data,
                      vocabulary_data, why: str, cases, ruleset_id: str | None = None
                      ) -> tuple[str, Saved, KeptCases]:
    """``rules.create_ruleset`` keeping the cases of ``cases`` (see the module docstring). ``may_register``: the
    person may register data sets (permission "datasets.write"); without it, cases with an outcome column are
    refused (403) before anything is made."""
    data, outcome, name = _cases_request(cases)
    if outcome is None:
        try:
            vocabulary = Vocabulary.from_dict(vocabulary_data or {"features": {}})
        except RuleError:
            vocabulary = None  # create_ruleset says what is wrong with it, at the feature
        try:
            sample, count = examples_sample(data, vocabulary) if vocabulary is not None else (None, 0)
        except Invalid as e:
            raise _not_kept(e) from None
        ruleset, saved = create_ruleset(ws, db, user, settings_data, vocabulary_data, why, examples_csv=sample,
                                        ruleset_id=ruleset_id)
        if sample is None:
            return ruleset, saved, KeptCases(None, 0, "The cases were not kept: no feature reads a column of the file.")
        return ruleset, saved, KeptCases(
            "examples", count, f"The first {count} cases of the file are the rule set's examples (examples.csv): "
                               "“Try it” shows which of them a rule matches.")
    if not may_register:
        raise Forbidden("Your role does not allow you to register data sets, so the cases with their outcome "
                        "cannot be kept. Clear the box “Keep the cases of this file”, or ask an admin.")
    try:
        name, frame = datasets.check_cases(db, ruleset_id or "", name, data, outcome)
    except Invalid as e:
        if e.details.get("field") == "label_column":
            e.details["field"] = "outcome_column"
        raise _not_kept(e) from None
    ruleset, saved = create_ruleset(ws, db, user, settings_data, vocabulary_data, why, ruleset_id=ruleset_id)
    try:
        dataset = datasets.add(db, folder, user, ruleset, name, data, outcome)
    except (ServiceError, SQLAlchemyError, OSError) as e:
        db.rollback()
        log.warning("the cases of new rule set %s were not kept: %r", ruleset, e)
        reason = e.message if isinstance(e, ServiceError) else "the server could not store the file."
        return ruleset, saved, KeptCases(
            None, 0, f"The rule set was created, but its cases were not kept: {reason} Add the file again on the "
                     f"rule set's “Reference cases” page (or POST /api/rulesets/{ruleset}/datasets).")
    return ruleset, saved, KeptCases(
        "dataset", len(frame), f"The {len(frame)} cases of the file are the rule set's reference cases "
                               f"“{dataset.name}”, each with its true answer from the column “{outcome}”: “Try it” "
                               "shows which of them a rule matches and whether it answers right.", dataset)
