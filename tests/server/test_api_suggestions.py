"""Suggestions, the threshold explorer and "improve this rule" over HTTP, on the demo rule set and its reference
data: for authors and reviewers, nothing saved, refusals in plain words."""
from __future__ import annotations

import pytest

from tests.server.test_api_analysis import demo  # noqa: F401  (the fixture)


def test_an_author_gets_suggestions_that_save_as_they_are(ws, demo):  # noqa: F811
    api = ws.as_("Ana")
    before = api.get(f"/api/rulesets/{demo}/history").get_json()
    response = api.post(f"/api/rulesets/{demo}/suggestions", json={"target": "malignant", "max": 3})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["dataset"]["name"] == "Wisconsin" and len(body["suggestions"]) == 3
    assert 0 < body["searched"] == body["search_cases"] < body["dataset"]["rows"]  # a sample only above 200,000
    first = body["suggestions"][0]
    assert first["label"] == "malignant" and first["text"].endswith('then diagnosis is "malignant"')
    assert first["heldout_support"] > 0 and first["overlaps"] and "Wisconsin" in first["why"]
    assert api.get(f"/api/rulesets/{demo}/history").get_json() == before  # nothing saved
    # "Start from this": the structured form saves as a new rule, with the person's why
    saved = api.post(f"/api/rulesets/{demo}/rules", json={"rule": first["rule"], "why": first["why"]})
    assert saved.status_code == 201, saved.get_json()


def test_suggestions_by_subgroup(ws, demo):  # noqa: F811
    body = ws.as_("Rui").post(f"/api/rulesets/{demo}/suggestions",
                              json={"group": "size band", "max": 2}).get_json()
    assert body["split"]["column"] == "size band"
    assert set(body["suggestions"][0]["subgroups"]) <= {"large", "small"}


@pytest.mark.parametrize("who, status", [("Alex", 403), ("Mia", 403), ("Rui", 200)])
def test_authors_and_reviewers_may_ask_others_may_not(ws, demo, who, status):  # noqa: F811
    response = ws.as_(who).post(f"/api/rulesets/{demo}/suggestions", json={"max": 1})
    assert response.status_code == status
    if status == 403:
        assert "suggested from data" in response.get_json()["error"]["message"]


def test_the_explorer_and_improve_this_rule(ws, demo):  # noqa: F811
    api = ws.as_("Ana")
    text = 'rule "Big" when worst radius is above 17 and worst concave points is above 0.14 ' \
           'then diagnosis is "malignant"'
    curve = api.post(f"/api/rulesets/{demo}/explore", json={"text": text, "condition": 0, "points": 20}).get_json()
    assert curve["feature"] == "worst radius" and curve["current"] == 17 and len(curve["precision"]) == 20
    assert curve["coverage"] == sorted(curve["coverage"], reverse=True)  # 'above': fewer cases as it rises
    changes = api.post(f"/api/rulesets/{demo}/improve",
                       json={"rule_id": "large-nuclei-with-many-concave-points"}).get_json()["changes"]
    assert changes and {"drop", "move"} <= {c["kind"] for c in changes}
    assert all({"gained", "lost", "gained_right", "lost_right", "text"} <= set(c) for c in changes)


@pytest.mark.parametrize("path, body, field, words", [
    ("suggestions", {"max": 0}, "max", "a whole number from 1 to 50"),
    ("suggestions", {"target": "maybe"}, "diagnosis", "not one of the outcome's labels"),
    ("suggestions", {"group": "nope"}, None, "nope"),
    ("explore", {"text": 'rule "x" when worst radius is above 17 then diagnosis is "malignant"', "condition": 3},
     "condition", "ask for one of 0 to 0"),
    ("explore", {"text": 'rule "x" when worst radius is above'}, None, ""),
    ("improve", {"rule_id": "nope"}, "rule_id", "no rule 'nope'"),
])
def test_bad_requests_are_refused_in_plain_words(ws, demo, path, body, field, words):  # noqa: F811
    response = ws.as_("Ana").post(f"/api/rulesets/{demo}/{path}", json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert words in error["message"]
    if field:
        assert error.get("field") == field


def test_without_a_data_set_it_says_so(ws):
    response = ws.as_("Ana").post("/api/rulesets/sepsis-triage/suggestions", json={})
    assert response.status_code == 404 and "reference data set" in response.get_json()["error"]["message"]
