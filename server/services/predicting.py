"""Released rules at work: the version a prediction uses, cases (JSON) turned into a row or a frame, the answer.

Cases are read exactly as the library reads them (Vocabulary.case_by_column and the readers of
rules_dsl/backends/values.py): keys are data columns, feature names or synonyms; missing features are allowed and
reported, unknown keys are reported and ignored, a value of the wrong type is Invalid naming the field. Values
outside the vocabulary (a number outside its range, a category value that is none of the allowed ones) are
answered and returned as warnings (RuleSet.data_report), never absorbed silently.
"""
from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy.exc import DBAPIError

from rules_dsl import DataError, RuleSet
from rules_dsl.backends.values import READERS
from rules_dsl.tables import CsvError, read_csv

from ..store import FULL_ID
from . import releases
from .errors import (
    DATABASE_UNREACHABLE,
    DatabaseUnavailable,
    Forbidden,
    Invalid,
    Malformed,
    TooLarge,
    database_unreachable,
)
from .workspace import Workspace

outage_log = logging.getLogger("rulecraft.outage")


def pinned(ws: Workspace, ruleset_id: str, asked: str | None, *,
           may_read_drafts: bool) -> tuple[RuleSet, str, str | None]:
    """The rule set at version ``asked`` (default: the latest release), its version and its release name. Who may
    not read rules (``may_read_drafts`` false: an ML engineer, a token of scope "predict") gets released versions
    only: a draft's rules are not theirs to see or run."""
    ws.check_id(ruleset_id)
    generation = release_generation(ws, ruleset_id)
    if asked and not may_read_drafts and FULL_ID.fullmatch(asked.lower()) \
            and asked.lower() not in {t.version for t in ws.releases(ruleset_id, generation)}:
        raise Forbidden("Your role (or your token's scope) allows released versions only: give a release name such "
                        "as v1, or no version for the latest release. Versions not yet released are for those who "
                        "may read rules.",
                        code="released-only")
    version = ws.resolve(ruleset_id, asked, default="release", generation=generation)
    return ws.ruleset(ruleset_id, version), version, ws.release_name(ruleset_id, version, generation)


def release_generation(ws: Workspace, ruleset_id: str) -> object:
    """Which releases the rule set has (``releases.generation``: one query instead of reading Git's tags twice).
    While the database cannot be reached: the generation this worker last read, so the latest release is the last
    one known (a release approved during the outage cannot be, it needs the database); DatabaseUnavailable when
    this worker never read it."""
    try:
        return releases.current_generation(ruleset_id)
    except DBAPIError as e:
        if not database_unreachable(e):
            raise
        known = ws.known_generation(ruleset_id)
        if known is None:
            raise DatabaseUnavailable(DATABASE_UNREACHABLE, retry_after=30) from None
        outage_log.warning("database unreachable: predicting with the last known releases")
        return known


def validate_case(rs: RuleSet, case, where: str) -> tuple[dict, list[str], list[str]]:
    """(row by data column, missing features, ignored keys); Invalid naming the field on a wrong type."""
    if not isinstance(case, dict):
        raise Invalid(f"{where} must be an object of feature -> value.", field=where)
    vocabulary = rs.vocabulary
    try:
        given, ignored = vocabulary.case_by_column(case)
    except DataError as e:
        raise Invalid(e.message, field=where) from None
    features = vocabulary.by_column()
    row = {}
    for column, value in given.items():
        feature = features[column]
        try:
            value = READERS[feature.type](value, column)
        except DataError as e:
            key = column if column in case else next(k for k in case if vocabulary.lookup(k) is feature)
            raise Invalid(e.message, field=f"{where}.{key}") from None
        row[column] = None if value != value else value  # NaN: missing
    used = set(rs.columns)
    missing = [f.name for f in vocabulary.features if f.column in used and row.get(f.column) is None]
    return row, missing, ignored


def data_warnings(rs: RuleSet, data, absent: bool = True) -> list[dict]:
    """The data report's problems (values outside the vocabulary, absent columns when ``absent``), as JSON."""
    return [w for w in rs.data_report(data).warnings if absent or w["code"] != "absent-column"]


def decision_json(rs: RuleSet, row: dict, missing, ignored, seen: list | None = None) -> dict:
    """``seen``: when given, (row, decision) is appended to it (for a shadow run, services/shadows.py)."""
    decision = rs.decide_row(row)
    if seen is not None:
        seen.append((row, decision))
    rules = {r.id: r for r in rs.rules}
    return {"label": decision.label, "abstained": decision.label is None,
            "fired": [{"id": i, "name": rules[i].name, "text": rules[i].text} for i in decision.fired],
            "deciding": list(decision.deciding), "reason": decision.reason, "scores": decision.scores,
            "missing": missing, "ignored": ignored}


def predict(rs: RuleSet, body: dict, max_cases: int, seen: list | None = None) -> dict:
    """{"case": {...}} -> {"prediction", "warnings"}; {"cases": [...]} -> {"predictions", "warnings"}.
    ``seen``: as for decision_json."""
    if ("case" in body) == ("cases" in body):
        raise Invalid("Send one case as {\"case\": {...}} or several as {\"cases\": [...]}.", field="case")
    if "case" in body:
        row, missing, ignored = validate_case(rs, body["case"], "case")
        return {"prediction": decision_json(rs, row, missing, ignored, seen),
                "warnings": data_warnings(rs, [row], absent=False)}
    cases = body["cases"]
    if not isinstance(cases, list):
        raise Invalid("\"cases\" must be a list of objects.", field="cases")
    if len(cases) > max_cases:
        raise TooLarge(f"At most {max_cases:,} cases per request; split the batch.")
    predictions, rows = [], []
    for i, case in enumerate(cases):
        row, missing, ignored = validate_case(rs, case, f"cases[{i}]")
        predictions.append(decision_json(rs, row, missing, ignored, seen))
        rows.append(row)
    return {"predictions": predictions, "warnings": data_warnings(rs, rows, absent=False)}


def frame_from_csv(rs: RuleSet, data: bytes, max_cases: int) -> pd.DataFrame:
    """A CSV batch as a frame: only the columns the rules read, and at most ``max_cases`` rows."""
    try:
        return read_csv(data, max_rows=max_cases, keep=rs.columns)
    except CsvError as e:
        if e.code == "rows":
            raise TooLarge(f"At most {max_cases:,} cases per request; split the file.") from None
        raise Malformed(f"The CSV could not be read: {e.message}") from None


def frame_from_cases(rs: RuleSet, cases, max_cases: int) -> pd.DataFrame:
    """A JSON batch ({"cases": [...]}'s list) as a frame, each case read as ``validate_case`` reads it."""
    if not isinstance(cases, list):
        raise Invalid("Send {\"cases\": [{...}, ...]} or a CSV file (Content-Type: text/csv).", field="cases")
    if len(cases) > max_cases:
        raise TooLarge("Too many cases in one request; send a CSV file or split the batch.")
    rows = [validate_case(rs, c, f"cases[{i}]")[0] for i, c in enumerate(cases)]
    frame = pd.DataFrame(rows, columns=rs.columns)
    for feature in rs.vocabulary.features:
        if feature.column in frame.columns and feature.type == "number":
            frame[feature.column] = pd.to_numeric(frame[feature.column])
    return frame


def evaluate(rs: RuleSet, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[dict]]:
    """(which rules fire per row, the features whose columns the data lacks, the data report's warnings). A column
    the rules read but the data lacks is all missing."""
    warnings = data_warnings(rs, frame)
    by_column = {f.column: f for f in rs.vocabulary.features}
    absent = [c for c in rs.columns if c not in frame.columns]
    for column in absent:
        frame[column] = float("nan") if by_column[column].type == "number" else None
    return rs.matches(frame), [by_column[c].name for c in absent], warnings
