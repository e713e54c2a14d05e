"""How good the rules are on a reference data set, by subgroup, and what a change between versions did.

The views parse the query string and call ``server/services/analysis.py``."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..auth import requires
from ..services import analysis as analysing
from .common import session, workspace

bp = Blueprint("api_analysis", __name__, url_prefix="/api")


def _choices() -> dict:
    """?dataset= (an id; default the rule set's first), ?group= (the column to split by), ?bands= (default 4)."""
    return {"chosen": request.args.get("dataset"), "group": request.args.get("group") or None,
            "bands": request.args.get("bands", 4, type=int)}


@bp.get("/rulesets/<ruleset>/analysis")
@requires("rules.read")
def analysis(ruleset):
    """Per rule: coverage, overlaps, conflicts, precision, firings per true label; for the rule set: accuracy,
    coverage, a majority-class baseline; with ?group= the same by subgroup and the largest gaps (?bands= for a
    number column). 404 without a reference data set; 422 when it has no true outcome column, or for a column
    that cannot be split by."""
    return jsonify(analysing.scores(workspace(), session(), current_app.config["DATASETS_DIR"], ruleset,
                                    request.args.get("version"), **_choices()))


@bp.get("/rulesets/<ruleset>/impact")
@requires("rules.read")
def change_impact(ruleset):
    """What changing from ?from= to ?to= (default latest) does to the predictions on a reference data set: how many
    rows change, old -> new label, which rule changes caused it, and with ?group= the same by subgroup.
    404 for an unknown version or without a reference data set; 422 for a column that cannot be split by."""
    return jsonify(analysing.change_impact(workspace(), session(), current_app.config["DATASETS_DIR"], ruleset,
                                           request.args.get("from"), request.args.get("to"), **_choices()))
