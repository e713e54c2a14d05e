"""Ids that look like routes or like devices, typed by a person or derived from a name (red team, round 3): each is
refused at the field or cell with what to do, or stepped around; never the store's "That name cannot be used here."
with no field."""
from __future__ import annotations

import pytest

from tests.server.test_api_new_ruleset import SETTINGS
from tests.server.test_api_table_edit import TABLE, opened

RULE = 'rule "{name}" when temperature is above 38 then sepsis risk is "high"'


@pytest.mark.parametrize("rule_set_id", ["con", "aux", "nul", "com1", "lpt9"])
def test_a_device_name_as_rule_set_id_is_refused_at_the_id(ws, rule_set_id):
    refused = ws.as_("Ana").post("/api/rulesets", json={"id": rule_set_id, "settings": SETTINGS, "why": "New"})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["field"] == "id" and "Windows keeps for a device" in error["message"]


def test_a_title_that_is_a_device_name_gets_an_id_that_is_not(ws):
    created = ws.as_("Ana").post("/api/rulesets", json={"settings": {**SETTINGS, "title": "Aux"}, "why": "New"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["id"] == "aux-2"


@pytest.mark.parametrize(("name", "rule_id"), [("Con", "con-2"), ("COM1", "com1-2"), ("New", "new-2")])
def test_a_rule_named_like_a_device_or_the_new_rule_page_gets_an_id_of_its_own(ws, name, rule_id):
    """"New" as id: /rulesets/<id>/rules/new is the editor's page for a new rule, so the rule could not be opened."""
    api = ws.as_("Ana")
    created = api.post(f"/api/rulesets/{ws.ruleset}/rules", json={"text": RULE.format(name=name), "why": "Add"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["id"] == rule_id
    assert api.get(f"/api/rulesets/{ws.ruleset}/rules/{rule_id}").status_code == 200


@pytest.mark.parametrize("rule_id", ["con", "../x", "A B"])
def test_a_table_row_with_a_bad_id_is_refused_at_its_cell_by_check_and_save(ws, rule_id):
    api = ws.as_("Ana")
    version, columns, rows = opened(api)
    new = [None] * len(columns)
    new[columns.index("id")], new[columns.index("rule")] = rule_id, "Old age"
    new[columns.index("age")], new[columns.index("conclusion")] = "above 80", "high"
    rows.append(new)
    checked = api.post(f"{TABLE}/check", json={"columns": columns, "rows": rows}).get_json()
    assert not checked["ok"]
    (problem,) = checked["problems"]
    assert (problem["row"], problem["column"], problem["code"]) == (len(rows) - 1, "id", "bad-id")
    saved = api.put(TABLE, json={"columns": columns, "rows": rows, "why": "Old age"},
                    headers={"If-Match": f'"{version}"'})
    assert saved.status_code == 422
    assert saved.get_json()["error"]["problems"][0]["column"] == "id"
    assert api.get(TABLE).headers["ETag"].strip('"') == version


def test_a_table_row_repeating_an_id_is_reported_at_that_row(ws):
    api = ws.as_("Ana")
    _, columns, rows = opened(api)
    rows.append(list(rows[0]))
    rows[-1][columns.index("rule")] = "A copy"
    checked = api.post(f"{TABLE}/check", json={"columns": columns, "rows": rows}).get_json()
    (problem,) = checked["problems"]
    assert (problem["row"], problem["column"], problem["code"]) == (len(rows) - 1, "id", "duplicate-id")


@pytest.mark.parametrize("rule_id", [5, ["dot"], {"id": "dot"}, True])
def test_check_refuses_an_id_that_is_no_text_as_check_case_does(ws, rule_id):
    """It was taken for a new rule: the findings then set the draft against the very rule it replaces."""
    body = {"ruleset": ws.ruleset, "text": RULE.format(name="Fever"), "id": rule_id}
    for path in ("/api/check", "/api/check/case"):
        refused = ws.as_("Ana").post(path, json={**body, "case": {}})
        assert refused.status_code == 422, (path, refused.get_json())
        assert refused.get_json()["error"]["field"] == "id"


@pytest.mark.parametrize("sent", ["*", '"main"', '"HEAD~1"', '"abc", "def"', '"' + "f" * 41 + '"'])
def test_an_if_match_that_is_no_version_is_refused_at_the_header(ws, sent):
    """It was answered at field "version", saying twice over that it is no version."""
    api = ws.as_("Ana")
    text = api.get(f"/api/rulesets/{ws.ruleset}/rules/sirs").get_json()["text"].replace("38", "38.5")
    refused = api.put(f"/api/rulesets/{ws.ruleset}/rules/sirs", json={"text": text, "why": "Warmer"},
                      headers={"If-Match": sent})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["field"] == "If-Match" and "Send back the ETag" in error["message"]
    assert error["message"].count("not a version") == 1


def test_a_draft_with_an_outcome_label_that_cannot_be_one_is_refused_at_the_outcome(ws):
    data = "age,dx\n1,benign\u200b\n2,malignant\n".encode()
    refused = ws.as_("Ana").post("/api/rulesets/draft?outcome=dx", data=data, headers={"Content-Type": "text/csv"})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["field"] == "outcome" and "'benign\\u200b'" in error["message"] and "zero-width" in error["message"]


@pytest.mark.parametrize("dataset", ["1", [1], True, 1.5])
def test_check_refuses_a_dataset_that_is_no_number_at_the_field(ws, dataset):
    """It was a 404 "There is no such data set", as if the number were unknown."""
    refused = ws.as_("Ana").post("/api/check", json={"ruleset": ws.ruleset, "text": RULE.format(name="Fever"),
                                                     "dataset": dataset})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "dataset"
    unknown = ws.as_("Ana").post("/api/check", json={"ruleset": ws.ruleset, "text": RULE.format(name="Fever"),
                                                     "dataset": 99999})
    assert unknown.status_code == 404
