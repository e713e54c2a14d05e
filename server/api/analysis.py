"""How good the rules are on a reference data set, by subgroup, and what a change between versions did."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from rules_dsl import DataError
from rules_dsl.analysis import GAP_FIGURES, analyze, by_subgroup, impact

from ..auth import requires
from ..db import get_db
from ..services import datasets
from ..services.errors import Invalid, NotFound
from .common import workspace

bp = Blueprint("api_analysis", __name__, url_prefix="/api")


def _dataset(ruleset: str):
    db = get_db()
    chosen = request.args.get("dataset")
    if chosen:
        dataset = datasets.get(db, ruleset, int(chosen) if chosen.isdigit() and len(chosen) < 10 else None)
    else:
        dataset = datasets.default_dataset(db, ruleset)
        if dataset is None:
            raise NotFound("This rule set has no reference data set yet. Register one (a CSV file with the true "
                           "outcome) to see how the rules do.")
    frame = datasets.frame(current_app.config["DATASETS_DIR"], dataset)
    return dataset, frame


def _split(frame) -> datasets.Split | None:
    """?group= names the column to split by; a number column with many values is cut into ?bands= bands (default
    4) of about as many cases each."""
    group = request.args.get("group") or None
    if group is None:
        return None
    bands = request.args.get("bands", 4, type=int)
    if not 2 <= bands <= 10:
        raise Invalid("Cut a number column into 2 to 10 bands (?bands=).", field="bands")
    return datasets.split(frame, group, bands)


def _split_json(split: datasets.Split | None) -> dict:
    return {"split": None if split is None else {"column": split.column, "bands": split.bands}}


def _subgroups(rs, split: datasets.Split, label_column: str, top: int = 5) -> dict:
    """by_subgroup's answer, with "gaps" (the largest of any kind) and "gaps_by_figure" (the largest of each kind:
    a gap in being right is easily hidden under larger gaps in how often rules fire)."""
    result = by_subgroup(rs, split.frame, label_column, split.group_column, top=len(rs.rules) * 2 + 2)
    body = result.to_dict()
    body["group_column"] = split.column
    body["gaps"] = body["gaps"][:top]
    body["gaps_by_figure"] = {figure: [g.to_dict() for g in result.gaps if g.figure == figure][:top]
                              for figure in GAP_FIGURES}
    return body


@bp.get("/rulesets/<ruleset>/analysis")
@requires("rules.read")
def analysis(ruleset):
    """Per rule: coverage, overlaps, conflicts, precision, firings per true label; for the rule set: accuracy,
    coverage, a majority-class baseline; with ?group= the same by subgroup and the largest gaps (?bands= for a
    number column). 404 without a reference data set; 422 when it has no true outcome column, or for a column
    that cannot be split by."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), request.args.get("version"))
    rs = ws.ruleset(ruleset, version)
    dataset, frame = _dataset(ruleset)
    if not dataset.label_column:
        raise Invalid(f"The data set '{dataset.name}' has no column with the true outcome, so the rules "
                      "cannot be scored on it.", field="dataset")
    split = _split(frame)
    try:
        body = {"version": version, "dataset": {"id": dataset.id, "name": dataset.name, "rows": dataset.rows},
                **analyze(rs, frame, dataset.label_column).to_dict(), **_split_json(split)}
        if split:
            body["subgroups"] = _subgroups(rs, split, dataset.label_column)
    except DataError as e:
        raise Invalid(f"The data set does not fit the rules: {e.message}", field=e.column) from None
    return jsonify(body)


@bp.get("/rulesets/<ruleset>/impact")
@requires("rules.read")
def change_impact(ruleset):
    """What changing from ?from= to ?to= (default latest) does to the predictions on a reference data set: how many
    rows change, old -> new label, which rule changes caused it, and with ?group= the same by subgroup.
    404 for an unknown version or without a reference data set; 422 for a column that cannot be split by."""
    ws = workspace()
    ws.check_id(ruleset)
    if not request.args.get("from"):
        raise Invalid("Say which version to compare from (?from=v1 or a version id).", field="from")
    old = ws.ruleset(ruleset, ws.resolve(ruleset, request.args.get("from")))
    new = ws.ruleset(ruleset, ws.resolve(ruleset, request.args.get("to")))
    dataset, frame = _dataset(ruleset)
    split = _split(frame)
    try:
        result = impact(old, new, split.frame if split else frame, dataset.label_column,
                        split.group_column if split else None)
    except DataError as e:
        raise Invalid(f"The data set does not fit the rules: {e.message}", field=e.column) from None
    return jsonify({"from": old.version, "to": new.version,
                    "dataset": {"id": dataset.id, "name": dataset.name, "rows": dataset.rows,
                                "label_column": dataset.label_column},
                    **result.to_dict(max_rows=200), **_split_json(split)})
