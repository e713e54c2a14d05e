"""Released rules at work: bundles for ML engineers, predictions (the backup predictor) and batch evaluation.

The version defaults to the latest release; ``?version=`` takes a release name (v3) or a full version id. How cases
are read and checked is ``server/services/predicting.py``'s work; these views parse HTTP and answer.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from rules_dsl import RuleSet
from rules_dsl.bundle import bundle_bytes

from ..auth import has, requires
from ..metrics import count_predictions
from ..services import predicting, releases
from ..services.errors import TooLarge
from .common import json_body, with_etag, workspace
from .spec import DATA_WARNING, NULL_S, RS, VERSION_Q, B, I, S, arr, body, obj, op, ref

bp = Blueprint("api_predict", __name__, url_prefix="/api")


def pinned(ruleset_id: str) -> tuple[RuleSet, str, str | None]:
    """The rule set at ?version= (default: the latest release); released versions only for those who may not read
    rules (403 released-only)."""
    return predicting.pinned(workspace(), ruleset_id, request.args.get("version"),
                             may_read_drafts=has("rules.read"))


@bp.get("/signing-key")
def signing_key():
    """The public key that signs every bundle this server serves (Ed25519, PEM), and its id. Public: no sign-in."""
    key = current_app.extensions["rulecraft.signing_key"]
    return jsonify({"algorithm": "Ed25519", "key_id": key.id, "public_key": key.public_pem})


@bp.get("/rulesets/<ruleset>/bundle")
@requires("bundles.read")
def bundle(ruleset):
    """The bundle file of a version (default: the latest release), signed by the server, with its content hash as
    ETag. 404 when there is no release yet and no version was given; 422 for a malformed version."""
    _rs, version, release = pinned(ruleset)
    document = releases.bundle_document(workspace(), ruleset, version, release)
    data = bundle_bytes(current_app.extensions["rulecraft.signing_key"].sign(document))
    response = with_etag(Response(data, mimetype="application/json"), document["hash"])
    response.headers["Content-Disposition"] = f'attachment; filename="{ruleset}-{release or version[:12]}.json"'
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable" if request.args.get("version") \
        else "private, no-cache"
    return response


@bp.post("/rulesets/<ruleset>/predict")
@requires("predict")
def predict(ruleset):
    """{"case": {...}} or {"cases": [{...}, ...]} -> the predicted label per case, the rules that fired (id, name,
    text) and the version used. 422 naming the field for a wrong type, NaN/Infinity or a duplicate key."""
    rs, version, release = pinned(ruleset)
    shadower = current_app.extensions["rulecraft.shadower"]
    seen = [] if release is not None and shadower.watches(ruleset) else None
    answer = predicting.predict(rs, json_body(), current_app.config["PREDICT_MAX_CASES"], seen)
    if seen:  # a shadow runs beside this release: hand it the cases, off the answer's path
        shadower.offer(ruleset, version, [row for row, _ in seen], [d for _, d in seen])
    labels = [p["label"] for p in answer["predictions"]] if "predictions" in answer else \
        [answer["prediction"]["label"]]
    count_predictions(ruleset, version, release, labels)
    return jsonify({"ruleset": ruleset, "version": version, "release": release, "outcome": rs.outcome.name,
                    **answer})


@bp.post("/rulesets/<ruleset>/evaluate")
@requires("predict")
def evaluate(ruleset):
    """A batch as CSV (Content-Type: text/csv) or JSON {"cases": [...]} -> which rules fire per row, as JSON
    {"rules": [...], "fired": [[0, 1, ...], ...]} or, with Accept: text/csv, as CSV."""
    rs, version, release = pinned(ruleset)
    if request.mimetype == "text/csv":
        data = request.get_data()
        if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
            raise TooLarge("The CSV file is too large.")
        frame = predicting.frame_from_csv(rs, data, current_app.config["PREDICT_MAX_CASES"])
    else:
        frame = predicting.frame_from_cases(rs, json_body().get("cases"), current_app.config["PREDICT_MAX_CASES"])
    fired, missing_columns, warnings = predicting.evaluate(rs, frame)
    if request.accept_mimetypes.best == "text/csv":
        return Response(fired.astype("int8").to_csv(index=False), mimetype="text/csv")
    return jsonify({"ruleset": ruleset, "version": version, "release": release, "rules": list(fired.columns),
                    "fired": fired.astype("int8").to_numpy().tolist(),
                    "missing_columns": missing_columns, "warnings": warnings})


# ---- OpenAPI (assembled by openapi.py)
SCHEMAS = {"Prediction": obj({"label": NULL_S, "abstained": B, "fired": arr(obj({"id": S, "name": S, "text": S})),
                              "deciding": arr(S), "reason": S, "scores": {"type": "object"}, "missing": arr(S),
                              "ignored": arr(S)}, ["label", "fired", "reason"])}
PATHS = {
    "/api/rulesets/{ruleset}/bundle": {
        "get": op("The bundle of a version (default: latest release)", {"type": "object"},
                  codes=("404", "422"), params=RS + [VERSION_Q])},
    "/api/rulesets/{ruleset}/predict": {
        "post": op("Predict with the rules", obj({"ruleset": S, "version": S, "release": NULL_S, "outcome": S,
                                                 "prediction": ref("Prediction"),
                                                 "predictions": arr(ref("Prediction")),
                                                 "warnings": arr(DATA_WARNING)}),
                   codes=("400", "404", "413", "422"), params=RS + [VERSION_Q],
                   request=body(obj({"case": {"type": "object"}, "cases": arr({"type": "object"})})))},
    "/api/rulesets/{ruleset}/evaluate": {
        "post": op("Which rules fire per case", obj({"ruleset": S, "version": S, "rules": arr(S),
                                                    "fired": arr(arr(I)), "missing_columns": arr(S),
                                                    "warnings": arr(DATA_WARNING)}),
                   codes=("400", "404", "413", "422"), params=RS + [VERSION_Q],
                   request={"required": True, "content": {
                       "application/json": {"schema": obj({"cases": arr({"type": "object"})})},
                       "text/csv": {"schema": S}}})},
    "/api/signing-key": {"get": op("The public key that signs every bundle (Ed25519, PEM)",
                                   obj({"algorithm": S, "key_id": S, "public_key": S},
                                       ["algorithm", "key_id", "public_key"]),
                                   codes=("401",), secured=False)},  # 401 only for a bad token sent anyway
}
