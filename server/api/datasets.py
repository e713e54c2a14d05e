"""Reference data sets of a rule set: register a labelled CSV, list them, look at a few rows."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..auth import current_user, requires
from ..db import begin_write, get_db
from ..models import ReferenceDataset
from ..services import datasets
from ..services.changes import record
from ..services.errors import Malformed, TooLarge
from ..services.trying import _plain
from .common import workspace

bp = Blueprint("api_datasets", __name__, url_prefix="/api")


def dataset_json(d: ReferenceDataset) -> dict:
    return {"id": d.id, "name": d.name, "rows": d.rows, "columns": d.columns, "label_column": d.label_column,
            "group_columns": d.group_columns, "created_at": d.created_at.isoformat(), "sha256": d.sha256}


@bp.get("/rulesets/<ruleset>/datasets")
@requires("rules.read")
def list_datasets(ruleset):
    workspace().check_id(ruleset)
    return jsonify({"datasets": [dataset_json(d) for d in datasets.datasets_of(get_db(), ruleset)]})


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
        raise Malformed("Send the data set as CSV (Content-Type: text/csv).")
    data = request.get_data()
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise TooLarge("The file is too large.")
    groups = [g.strip() for g in (request.args.get("group") or "").split(",") if g.strip()]
    db = get_db()
    begin_write(db)
    dataset = datasets.register(db, current_app.config["DATASETS_DIR"], current_user(), ruleset,
                                request.args.get("name"), data, request.args.get("label") or None, groups)
    record(db, current_user(), "dataset.register", ruleset=ruleset, message=dataset.name,
           details={"dataset": dataset.id, "rows": dataset.rows})
    db.commit()
    report = datasets.data_report(ws, ruleset, version, datasets.frame(current_app.config["DATASETS_DIR"], dataset))
    return jsonify({**dataset_json(dataset), "data_report": report}), 201


@bp.get("/rulesets/<ruleset>/datasets/<id:dataset_id>")
@requires("rules.read")
def show(ruleset, dataset_id):
    """The data set's description and its first rows (?rows=, at most 100)."""
    dataset = datasets.get(get_db(), ruleset, dataset_id)
    frame = datasets.frame(current_app.config["DATASETS_DIR"], dataset)
    count = min(max(request.args.get("rows", 20, type=int) or 20, 1), 100)
    head = [{str(c): _plain(v) for c, v in row.items()} for row in frame.head(count).to_dict("records")]
    return jsonify({**dataset_json(dataset), "head": head})
