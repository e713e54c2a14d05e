"""A first vocabulary for a new rule set, drafted from a CSV file the person uploads (rules_dsl/draft.py).

Nothing is saved: the draft goes back to the editor, where every guess can be corrected, and the rule set is
created with ``rules.create_ruleset`` like any other. Only the first ``MAX_SAMPLE_ROWS`` rows are read.
"""
from __future__ import annotations

from rules_dsl.draft import MAX_SAMPLE_ROWS, check_header, draft_vocabulary
from rules_dsl.errors import DataError
from rules_dsl.tables import CsvError, read_sample

from ..limits import shown
from .errors import Invalid


def draft_from_csv(data: bytes, outcome: str | None = None) -> dict:
    """The draft as JSON: features, what was seen per column, the outcome's labels. 422 (field "file") for a
    file that is not a table of cases with named columns; (field "outcome") for an outcome that is no column."""
    try:
        header, rows = read_sample(data, MAX_SAMPLE_ROWS)
    except CsvError as e:
        raise Invalid(e.message, field="file") from None
    if len(header) == 1 and any(sep in header[0] for sep in (";", "\t")):
        raise Invalid("The values in this file are separated by semicolons or tabs; Rulecraft reads values "
                      "separated by commas. Save the file as CSV with commas and choose it again.", field="file")
    try:
        check_header(header)
    except DataError as e:
        raise Invalid(e.message, field="file") from None
    if outcome and outcome not in header:
        raise Invalid(f"There is no column '{shown(outcome)}' in the file; choose the outcome among its columns.",
                      field="outcome")
    if not rows:
        raise Invalid("The file has column names but no cases below them. The types are guessed from the cases: "
                      "use a file with some cases.", field="file")
    try:
        return draft_vocabulary(header, rows, outcome or None).to_dict()
    except DataError as e:  # the header was checked above: what is left is the outcome column's values
        raise Invalid(e.message, field="outcome") from None
