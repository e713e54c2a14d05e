"""Releases, bundles and predictions: what ML engineers and their services use."""
from __future__ import annotations

import json

import pytest

import rules_dsl


def release(ws, notes="first") -> dict:
    requested = ws.as_("Bea").post("/api/rulesets/sepsis-triage/releases", json={"notes": notes})
    assert requested.status_code == 201, requested.get_json()
    approved = ws.as_("Rui").post(f"/api/rulesets/sepsis-triage/releases/{requested.get_json()['id']}/approve",
                                  json={"comment": "looks right"})
    assert approved.status_code == 200, approved.get_json()
    return approved.get_json()


def test_no_release_yet_is_a_clear_404(ws):
    response = ws.as_("Mia").get("/api/rulesets/sepsis-triage/bundle")
    assert response.status_code == 404
    assert "no release yet" in response.get_json()["error"]["message"]


def test_release_flow_and_pinned_bundle(ws):
    v1 = release(ws)
    assert v1["name"] == "v1" and v1["status"] == "approved"
    bundle = ws.as_("Mia").get("/api/rulesets/sepsis-triage/bundle")
    assert bundle.status_code == 200
    ruleset = rules_dsl.from_bundle(bundle.data)
    assert ruleset.release == "v1" and ruleset.version == v1["version"]
    assert bundle.headers["ETag"].strip('"') == json.loads(bundle.data)["hash"]
    # a later save does not change what v1 means
    api = ws.as_("Ana")
    text = api.get("/api/rulesets/sepsis-triage/rules/sirs").get_json()["text"]
    head = api.get("/api/rulesets/sepsis-triage/rules/sirs").headers["ETag"]
    assert api.put("/api/rulesets/sepsis-triage/rules/sirs", json={"text": text.replace("38", "39"), "why": "w"},
                   headers={"If-Match": head}).status_code == 200
    again = ws.as_("Mia").get("/api/rulesets/sepsis-triage/bundle", query_string={"version": "v1"})
    assert again.data == bundle.data
    releases = ws.as_("Alex").get("/api/rulesets/sepsis-triage/releases").get_json()["releases"]
    assert releases[0]["requested_by"] == "Bea" and releases[0]["decided_by"] == "Rui"


def test_release_notes_are_drafted_from_the_reasons(ws):
    api = ws.as_("Ana")
    api.post("/api/rulesets/sepsis-triage/rules",
             json={"text": 'rule "Cold"\nwhen temperature is below 35', "why": "Hypothermia matters too"})
    draft = ws.as_("Bea").get("/api/rulesets/sepsis-triage/releases/draft").get_json()
    assert "Hypothermia matters too (Ana)" in draft["notes"]


def test_reject_needs_a_comment_and_is_final(ws):
    requested = ws.as_("Bea").post("/api/rulesets/sepsis-triage/releases", json={}).get_json()
    path = f"/api/rulesets/sepsis-triage/releases/{requested['id']}"
    assert ws.as_("Rui").post(f"{path}/reject", json={"comment": ""}).status_code == 422
    assert ws.as_("Rui").post(f"{path}/reject", json={"comment": "Thresholds need a source"}).status_code == 200
    assert ws.as_("Rosa").post(f"{path}/approve", json={}).status_code == 409


def test_approver_may_not_have_changes_in_the_release(ws):
    admin = ws.as_("Ada")
    admin.post("/api/rulesets/sepsis-triage/rules", json={"text": 'rule "Cold"\nwhen temperature is below 35',
                                                          "why": "w"})
    requested = ws.as_("Bea").post("/api/rulesets/sepsis-triage/releases", json={}).get_json()
    response = admin.post(f"/api/rulesets/sepsis-triage/releases/{requested['id']}/approve", json={})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "own-changes"


def test_predict_one_case_and_a_batch(ws):
    release(ws)
    api = ws.as_("Mia")
    one = api.post("/api/rulesets/sepsis-triage/predict",
                   json={"case": {"temperature": 39, "heart rate": 120, "respiratory rate": 10,
                                  "white cell count": 5}})
    assert one.status_code == 200, one.get_json()
    body = one.get_json()
    assert body["release"] == "v1"
    assert body["prediction"]["label"] == "high"
    assert [f["id"] for f in body["prediction"]["fired"]] == ["sirs"]
    assert "lesion diameter" in body["prediction"]["missing"]
    batch = api.post("/api/rulesets/sepsis-triage/predict",
                     json={"cases": [{"temperature": 36.5, "white cell count": 5}, {"pulse": 130, "temperature": 40},
                                     {"unknown thing": 1}]}).get_json()
    # the third case: only "white cell count is missing" is surely true, the rest unknown -> the rule does not fire
    assert [p["label"] for p in batch["predictions"]] == ["low", "high", "low"]
    assert batch["predictions"][2]["ignored"] == ["unknown thing"]


@pytest.mark.parametrize("body, field", [
    ('{"case": {"temperature": "hot"}}', "case.temperature"),
    ('{"case": {"smoker": "maybe"}}', "case.smoker"),
    ('{"case": {"temperature": true}}', "case.temperature"),
    ('{"case": {"pulse": false}}', "case.pulse"),
    ('{"case": {"Heart Rate": 90, "pulse": 91}}', "case"),
    ('{"case": {"temperature": NaN}}', None),
    ('{"case": {"temperature": Infinity}}', None),
    ('{"case": {"temperature": 1, "temperature": 2}}', "temperature"),
    ('{"cases": [{"location": [5]}]}', "cases[0].location"),
    ('{"cases": [{"location": true}]}', "cases[0].location"),
    ('{"case": [1, 2]}', "case"),
    ('{"case": {}, "cases": []}', "case"),
    ('[1]', None),
])
def test_predict_refuses_bad_input_with_422_naming_the_field(ws, body, field):
    release(ws)
    response = ws.as_("Mia").post("/api/rulesets/sepsis-triage/predict", data=body,
                                  headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.get_json()
    error = response.get_json()["error"]
    assert error["message"]
    if field:
        assert error.get("field") == field


def test_evaluate_csv_and_json(ws):
    release(ws)
    api = ws.as_("Mia")
    csv = "temperature,heart rate,respiratory rate,white cell count\n39,120,30,5\n36,70,12,5\n"
    response = api.post("/api/rulesets/sepsis-triage/evaluate", data=csv, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    sirs = body["rules"].index("sirs")
    assert [row[sirs] for row in body["fired"]] == [1, 0]
    as_csv = api.post("/api/rulesets/sepsis-triage/evaluate", data=csv,
                      headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv" and as_csv.data.decode().splitlines()[0] == "dot,sirs"
    json_batch = api.post("/api/rulesets/sepsis-triage/evaluate",
                          json={"cases": [{"temperature": 39, "heart rate": 120}]}).get_json()
    assert json_batch["fired"][0][sirs] == 1


def test_prediction_for_a_pinned_version_does_not_move(ws):
    v1 = release(ws)
    api = ws.as_("Mia")
    case = {"case": {"temperature": 38.5, "heart rate": 95}}
    before = api.post("/api/rulesets/sepsis-triage/predict?version=v1", json=case).get_json()["prediction"]
    author = ws.as_("Ana")
    text = author.get("/api/rulesets/sepsis-triage/rules/sirs").get_json()["text"]
    etag = author.get("/api/rulesets/sepsis-triage/rules/sirs").headers["ETag"]
    author.put("/api/rulesets/sepsis-triage/rules/sirs", json={"text": text.replace("above 38", "above 39"),
                                                               "why": "w"}, headers={"If-Match": etag})
    after = api.post(f"/api/rulesets/sepsis-triage/predict?version={v1['version']}", json=case).get_json()
    assert after["prediction"] == before


def test_predictions_follow_a_new_release_at_once(ws):
    """The latest release is cached per worker (keyed by the database's count of approved releases, so a
    prediction starts no Git process); approving a new release must still move the default immediately."""
    release(ws)
    api = ws.as_("Mia")
    case = {"case": {"temperature": 38.5, "heart rate": 95}}
    first = api.post("/api/rulesets/sepsis-triage/predict", json=case).get_json()
    assert first["release"] == "v1"
    author = ws.as_("Ana")
    got = author.get("/api/rulesets/sepsis-triage/rules/sirs")
    saved = author.put("/api/rulesets/sepsis-triage/rules/sirs",
                       json={"text": got.get_json()["text"].replace("above 38", "above 39"), "why": "w"},
                       headers={"If-Match": got.headers["ETag"]})
    assert saved.status_code == 200, saved.get_json()
    assert api.post("/api/rulesets/sepsis-triage/predict", json=case).get_json()["release"] == "v1"
    v2 = release(ws, notes="second")
    second = api.post("/api/rulesets/sepsis-triage/predict", json=case).get_json()
    assert second["release"] == "v2" and second["version"] == v2["version"] != first["version"]


def test_a_category_value_is_read_whatever_its_case_and_surrounding_spaces(ws):
    """The library's one rule (rules_dsl.backends.values.category_key), not one of the server's own."""
    release(ws)
    api = ws.as_("Mia")
    small_dot = {"lesion diameter": 3, "smoker": False, "notes": "seen", "age": 40}
    cases = [{"location": v, **small_dot} for v in ("Margin", " MARGIN\t", "marge\u0301", "3", 3)]
    body = api.post("/api/rulesets/sepsis-triage/predict", json={"cases": cases}).get_json()
    fired = [[f["id"] for f in p["fired"]] for p in body["predictions"]]
    assert fired[:2] == [["dot"], ["dot"]], body
    assert fired[2:] == [[], [], []]
    (warning,) = body["warnings"]
    assert warning["code"] == "unknown-values" and warning["column"] == "location" and warning["count"] == 3
    assert sorted(warning["examples"]) == ["3", "marge\u0301"]


@pytest.mark.parametrize("text, accepted", [
    ("[" + ",".join(["{}"] * 150) + "]", True),       # more brackets than the limit, depth 2
    ('{"a": "' + "[" * 200 + '"}', True),              # brackets inside a string do not count
    ("[" * 100 + "]" * 100, True),                     # exactly the limit
    ("[" * 101 + "]" * 101, False),
])
def test_json_depth_limit_is_exact(app, text, accepted):
    from server.api.common import parse_json
    from server.services.errors import Invalid

    with app.test_request_context():
        if accepted:
            parse_json(text.encode())
        else:
            with pytest.raises(Invalid, match=r"\(101 levels; at most 100\)"):
                parse_json(text.encode())
