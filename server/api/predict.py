"""Released rules at work: bundles for ML engineers, predictions (the backup predictor) and batch evaluation.

The version defaults to the latest release; ``?version=`` takes a release name (v3) or a full version id.
Cases are read exactly as the library reads them (Vocabulary.case_by_column and the readers of
rules_dsl/backends/values.py): keys are data columns, feature names or synonyms; missing features are allowed and
reported, unknown keys are reported and ignored, a value of the wrong type is a 422 naming the field. Values
outside the vocabulary (a number outside its range, a category value that is none of the allowed ones) are
answered and returned as ``warnings`` (RuleSet.data_report), never absorbed silently.
"""
from __future__ import annotations

import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request

from rules_dsl import DataError, RuleSet
from rules_dsl.backends.values import READERS
from rules_dsl.bundle import bundle_bytes
from rules_dsl.tables import CsvError, read_csv

from ..auth import has, requires
from ..db import reads
from ..metrics import count_predictions
from ..services import releases
from ..services.errors import Forbidden, Invalid, Malformed, TooLarge
from ..store_values import FULL_ID
from .common import etag, json_body, workspace

bp = Blueprint("api_predict", __name__, url_prefix="/api")


def pinned(ruleset_id: str) -> tuple[RuleSet, str, str | None]:
    """The rule set at ?version= (default: the latest release). Who may not read rules (an ML engineer, a token
    of scope "predict") gets released versions only: a draft's rules are not theirs to see or run."""
    ws = workspace()
    ws.check_id(ruleset_id)
    with reads() as connection:  # one query instead of reading Git's tags twice
        generation = releases.generation(connection, ruleset_id)
    asked = request.args.get("version")
    if asked and not has("rules.read") and FULL_ID.fullmatch(asked.lower()) \
            and asked.lower() not in {t.version for t in ws.releases(ruleset_id, generation)}:
        raise Forbidden("Your role (or your token's scope) allows released versions only: give a release name such "
                        "as v1, or no version for the latest release. Versions not yet released are for those who "
                        "may read rules.",
                        code="released-only")
    version = ws.resolve(ruleset_id, asked, default="release", generation=generation)
    return ws.ruleset(ruleset_id, version), version, ws.release_name(ruleset_id, version, generation)


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
    response = Response(data, mimetype="application/json")
    response.headers["ETag"] = etag(document["hash"])
    response.headers["Content-Disposition"] = f'attachment; filename="{ruleset}-{release or version[:12]}.json"'
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable" if request.args.get("version") \
        else "private, no-cache"
    return response


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


def _decision_json(rs: RuleSet, row: dict, missing, ignored) -> dict:
    decision = rs.decide_row(row)
    rules = {r.id: r for r in rs.rules}
    return {"label": decision.label, "abstained": decision.label is None,
            "fired": [{"id": i, "name": rules[i].name, "text": rules[i].text} for i in decision.fired],
            "deciding": list(decision.deciding), "reason": decision.reason, "scores": decision.scores,
            "missing": missing, "ignored": ignored}


@bp.post("/rulesets/<ruleset>/predict")
@requires("predict")
def predict(ruleset):
    """{"case": {...}} or {"cases": [{...}, ...]} -> the predicted label per case, the rules that fired (id, name,
    text) and the version used. 422 naming the field for a wrong type, NaN/Infinity or a duplicate key."""
    rs, version, release = pinned(ruleset)
    body = json_body()
    if ("case" in body) == ("cases" in body):
        raise Invalid("Send one case as {\"case\": {...}} or several as {\"cases\": [...]}.", field="case")
    meta = {"ruleset": ruleset, "version": version, "release": release, "outcome": rs.outcome.name}
    if "case" in body:
        row, missing, ignored = validate_case(rs, body["case"], "case")
        prediction = _decision_json(rs, row, missing, ignored)
        count_predictions(ruleset, version, release, [prediction["label"]])
        return jsonify({**meta, "prediction": prediction, "warnings": data_warnings(rs, [row], absent=False)})
    cases = body["cases"]
    if not isinstance(cases, list):
        raise Invalid("\"cases\" must be a list of objects.", field="cases")
    limit = current_app.config["PREDICT_MAX_CASES"]
    if len(cases) > limit:
        raise TooLarge(f"At most {limit:,} cases per request; split the batch.")
    predictions, rows = [], []
    for i, case in enumerate(cases):
        row, missing, ignored = validate_case(rs, case, f"cases[{i}]")
        predictions.append(_decision_json(rs, row, missing, ignored))
        rows.append(row)
    count_predictions(ruleset, version, release, [p["label"] for p in predictions])
    return jsonify({**meta, "predictions": predictions, "warnings": data_warnings(rs, rows, absent=False)})


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
        limit = current_app.config["PREDICT_MAX_CASES"]
        try:  # only the columns the rules read are kept, and at most as many rows as JSON cases
            frame = read_csv(data, max_rows=limit, keep=rs.columns)
        except CsvError as e:
            if e.code == "rows":
                raise TooLarge(f"At most {limit:,} cases per request; split the file.") from None
            raise Malformed(f"The CSV could not be read: {e.message}") from None
    else:
        body = json_body()
        cases = body.get("cases")
        if not isinstance(cases, list):
            raise Invalid("Send {\"cases\": [{...}, ...]} or a CSV file (Content-Type: text/csv).",
                          field="cases")
        if len(cases) > current_app.config["PREDICT_MAX_CASES"]:
            raise TooLarge("Too many cases in one request; send a CSV file or split the batch.")
        rows = [validate_case(rs, c, f"cases[{i}]")[0] for i, c in enumerate(cases)]
        frame = pd.DataFrame(rows, columns=rs.columns)
        for feature in rs.vocabulary.features:
            if feature.column in frame.columns and feature.type == "number":
                frame[feature.column] = pd.to_numeric(frame[feature.column])
    warnings = data_warnings(rs, frame)
    by_column = {f.column: f for f in rs.vocabulary.features}
    absent = [c for c in rs.columns if c not in frame.columns]
    for column in absent:  # a column the rules read but the data lacks: every value is missing
        frame[column] = float("nan") if by_column[column].type == "number" else None
    fired = rs.matches(frame)
    if request.accept_mimetypes.best == "text/csv":
        return Response(fired.astype("int8").to_csv(index=False), mimetype="text/csv")
    return jsonify({"ruleset": ruleset, "version": version, "release": release, "rules": list(fired.columns),
                    "fired": fired.astype("int8").to_numpy().tolist(),
                    "missing_columns": [by_column[c].name for c in absent], "warnings": warnings})
