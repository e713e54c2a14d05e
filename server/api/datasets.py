"""Reference data sets of a rule set: register a labelled CSV, list them, look at a few rows."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..auth import current_user, requires
from ..errors import BadRequest, TooLarge
from ..services import datasets
from .common import session, workspace
from .serializers import dataset_json
from .spec import DATA_REPORT, NULL_S, RS, I, S, arr, body, obj, op, ref

bp = Blueprint("api_datasets", __name__, url_prefix="/api")


@bp.get("/rulesets/<ruleset>/datasets")
@requires("rules.read")
def list_datasets(ruleset):
    workspace().check_id(ruleset)
    return jsonify({"datasets": [dataset_json(d) for d in datasets.datasets_of(session(), ruleset)]})


@bp.post("/rulesets/<ruleset>/datasets")
@requires("datasets.write")
def register(ruleset):
    """Register a CSV (the request body, Content-Type: text/csv) as ?name=&label=&group=a,b. 422 on a bad file.
    The answer holds the data report against the rule set's vocabulary (``data_report``; null when the rule set
    has errors)."""
    ws = workspace()
    version = ws.resolve(ws.check_id(ruleset), None)
    ws.files(ruleset, version)
    if request.mimetype != "text/csv":
        raise BadRequest("Send the data set as CSV (Content-Type: text/csv).")
    data = request.get_data()
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise TooLarge("The file is too large.")
    groups = [g.strip() for g in (request.args.get("group") or "").split(",") if g.strip()]
    dataset = datasets.add(session(), current_app.config["DATASETS_DIR"], current_user(), ruleset,
                           request.args.get("name"), data, request.args.get("label") or None, groups)
    report = datasets.data_report(ws, ruleset, version, datasets.frame(current_app.config["DATASETS_DIR"], dataset))
    return jsonify({**dataset_json(dataset), "data_report": report}), 201


@bp.get("/rulesets/<ruleset>/datasets/<id:dataset_id>")
@requires("rules.read")
def show(ruleset, dataset_id):
    """The data set's description and its first rows (?rows=, at most 100)."""
    dataset = datasets.get(session(), ruleset, dataset_id)
    frame = datasets.frame(current_app.config["DATASETS_DIR"], dataset)
    count = min(max(request.args.get("rows", 20, type=int) or 20, 1), 100)
    return jsonify({**dataset_json(dataset), "head": datasets.head(frame, count)})


# ---- OpenAPI (assembled by openapi.py)
DATASET_P = {"name": "dataset_id", "in": "path", "required": True, "schema": I}
SCHEMAS = {"Dataset": obj({"id": I, "name": S, "rows": I, "columns": arr(S), "label_column": NULL_S,
                           "group_columns": arr(S), "created_at": S, "sha256": S, "head": arr({"type": "object"}),
                           "data_report": DATA_REPORT}, ["id", "name", "rows"])}
PATHS = {
    "/api/rulesets/{ruleset}/datasets": {
        "get": op("Reference data sets", obj({"datasets": arr(ref("Dataset"))}), codes=("404",), params=RS),
        "post": op("Register a reference data set (CSV)", ref("Dataset"), status="201",
                   codes=("400", "404", "413", "422"),
                   params=RS + [{"name": "name", "in": "query", "required": True, "schema": S},
                                {"name": "label", "in": "query", "schema": S},
                                {"name": "group", "in": "query", "schema": S}],
                   request=body(S, "text/csv"))},
    "/api/rulesets/{ruleset}/datasets/{dataset_id}": {
        "get": op("A data set and its first rows", ref("Dataset"), codes=("404",),
                  params=RS + [DATASET_P, {"name": "rows", "in": "query", "schema": I}])},
}
