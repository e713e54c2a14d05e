"""How good the rules are on a reference data set, by subgroup, and what a change between versions did.

The orchestration behind the analysis and impact views: which data set (the one asked for, else the rule set's
first), the split into subgroups, the library's analysis (rules_dsl.analysis), and its answer as JSON.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from rules_dsl import DataError, RuleSet
from rules_dsl.analysis import GAP_FIGURES, analyze, by_subgroup, impact

from . import datasets
from .errors import Invalid, NotFound
from .workspace import Workspace


def dataset_and_frame(db: Session, folder: Path, ruleset: str, chosen: str | None):
    """The data set asked for by id (``chosen``, as given), else the rule set's first one; and its cases."""
    if chosen:
        dataset = datasets.get(db, ruleset, int(chosen) if chosen.isdigit() and len(chosen) < 10 else None)
    else:
        dataset = datasets.default_dataset(db, ruleset)
        if dataset is None:
            raise NotFound("This rule set has no reference data set yet. Register one (a CSV file with the true "
                           "outcome) to see how the rules do.")
    return dataset, datasets.frame(folder, dataset)


def split_by(frame: pd.DataFrame, group: str | None, bands: int) -> datasets.Split | None:
    """The cases split by column ``group`` (None: not split); a number column with many values is cut into
    ``bands`` bands of about as many cases each."""
    if group is None:
        return None
    if not 2 <= bands <= 10:
        raise Invalid("Cut a number column into 2 to 10 bands (?bands=).", field="bands")
    return datasets.split(frame, group, bands)


def _split_json(split: datasets.Split | None) -> dict:
    return {"split": None if split is None else {"column": split.column, "bands": split.bands}}


def _subgroups(rs: RuleSet, split: datasets.Split, label_column: str, top: int = 5) -> dict:
    """by_subgroup's answer, with "gaps" (the largest of any kind) and "gaps_by_figure" (the largest of each kind:
    a gap in being right is easily hidden under larger gaps in how often rules fire)."""
    result = by_subgroup(rs, split.frame, label_column, split.group_column, top=len(rs.rules) * 2 + 2)
    body = result.to_dict()
    body["group_column"] = split.column
    body["gaps"] = body["gaps"][:top]
    body["gaps_by_figure"] = {figure: [g.to_dict() for g in result.gaps if g.figure == figure][:top]
                              for figure in GAP_FIGURES}
    return body


def scores(ws: Workspace, db: Session, folder: Path, ruleset: str, version: str | None, chosen: str | None,
           group: str | None, bands: int) -> dict:
    """How the rule set at ``version`` (default: the latest) does on a reference data set, as JSON; by subgroup of
    ``group`` when given. NotFound without a data set; Invalid when it has no true outcome column, or for a column
    that cannot be split by."""
    version = ws.resolve(ws.check_id(ruleset), version)
    rs = ws.ruleset(ruleset, version)
    dataset, frame = dataset_and_frame(db, folder, ruleset, chosen)
    if not dataset.label_column:
        raise Invalid(f"The data set '{dataset.name}' has no column with the true outcome, so the rules "
                      "cannot be scored on it.", field="dataset")
    split = split_by(frame, group, bands)
    try:
        body = {"version": version, "dataset": {"id": dataset.id, "name": dataset.name, "rows": dataset.rows},
                **analyze(rs, frame, dataset.label_column).to_dict(), **_split_json(split)}
        if split:
            body["subgroups"] = _subgroups(rs, split, dataset.label_column)
    except DataError as e:
        raise Invalid(f"The data set does not fit the rules: {e.message}", field=e.column) from None
    return body


def change_impact(ws: Workspace, db: Session, folder: Path, ruleset: str, old_version: str | None,
                  new_version: str | None, chosen: str | None, group: str | None, bands: int) -> dict:
    """What changing from ``old_version`` to ``new_version`` (default: the latest) does to the predictions on a
    reference data set, as JSON; by subgroup of ``group`` when given."""
    ws.check_id(ruleset)
    if not old_version:
        raise Invalid("Say which version to compare from (?from=v1 or a version id).", field="from")
    old = ws.ruleset(ruleset, ws.resolve(ruleset, old_version))
    new = ws.ruleset(ruleset, ws.resolve(ruleset, new_version))
    dataset, frame = dataset_and_frame(db, folder, ruleset, chosen)
    split = split_by(frame, group, bands)
    try:
        result = impact(old, new, split.frame if split else frame, dataset.label_column,
                        split.group_column if split else None)
    except DataError as e:
        raise Invalid(f"The data set does not fit the rules: {e.message}", field=e.column) from None
    return {"from": old.version, "to": new.version,
            "dataset": {"id": dataset.id, "name": dataset.name, "rows": dataset.rows,
                        "label_column": dataset.label_column},
            **result.to_dict(max_rows=200), **_split_json(split)}
