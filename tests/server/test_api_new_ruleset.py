"""A new rule set started from a CSV file: POST /api/rulesets/draft (nothing saved), then POST /api/rulesets with
the corrected draft and an id of one's choosing (issue 15, item 14)."""
from __future__ import annotations

import pytest

CSV = (b"mean_area,Age (years),sex,smoker,diagnosis\n"
       b"143.5,45,F,yes,benign\n2501,61,M,no,malignant\nNA,33,f,,benign\n600,,M,yes,benign\n")
SETTINGS = {"title": "Lesion triage from cases", "outcome": {"name": "diagnosis", "labels": ["benign", "malignant"]},
            "policy": "first match", "default": "abstain"}


def draft(api, data=CSV, outcome=None, content_type="text/csv"):
    path = "/api/rulesets/draft" + (f"?outcome={outcome}" if outcome is not None else "")
    return api.post(path, data=data, headers={"Content-Type": content_type})


def test_a_csv_gives_a_draft_vocabulary_and_nothing_is_saved(ws):
    api = ws.as_("Ana")
    before = api.get("/api/rulesets").get_json()
    response = draft(api, outcome="diagnosis")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    features = {f["name"]: f for f in body["features"]}
    assert features["mean area"] == {"name": "mean area", "type": "number", "column": "mean_area",
                                     "range": [100, 2600]}
    assert features["age"]["unit"] == "years" and features["age"]["column"] == "Age (years)"
    assert features["sex"]["values"] == ["F", "M"]
    assert features["smoker"]["type"] == "boolean"
    assert "diagnosis" not in features
    assert body["outcome"] == {"column": "diagnosis", "labels": ["benign", "malignant"]}
    assert body["suggested_outcome"] == "diagnosis" and body["rows"] == 4
    assert api.get("/api/rulesets").get_json() == before


def test_the_draft_creates_a_rule_set_under_the_id_chosen_ready_for_its_first_rule(ws):
    api = ws.as_("Ana")
    features = draft(api, outcome="diagnosis").get_json()["features"]
    features[0]["range"] = [0, 3000]                      # a guess corrected by the person
    created = api.post("/api/rulesets", json={"id": "lesions", "settings": SETTINGS,
                                              "vocabulary": {"features": features}, "why": "From the cases"})
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith("/api/rulesets/lesions")
    vocabulary = api.get("/api/rulesets/lesions/vocabulary").get_json()
    assert vocabulary["features"][0] == {"name": "mean area", "type": "number", "column": "mean_area",
                                         "range": [0, 3000]}
    rule = api.post("/api/rulesets/lesions/rules", json={
        "text": 'rule "Large" when mean area is above 1000 then diagnosis is "malignant"', "why": "First rule"})
    assert rule.status_code == 201, rule.get_json()


def test_a_taken_or_malformed_id_is_refused_at_the_id(ws):
    api = ws.as_("Ana")
    taken = api.post("/api/rulesets", json={"id": ws.ruleset, "settings": SETTINGS, "why": "again"})
    assert taken.status_code == 422
    error = taken.get_json()["error"]
    assert (error["field"], error["code"]) == ("id", "duplicate-name")
    assert f"already a rule set with the id '{ws.ruleset}'" in error["message"]
    bad = api.post("/api/rulesets", json={"id": "Lesions!", "settings": SETTINGS, "why": "again"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "id"
    assert "lower-case letters, digits and hyphens" in bad.get_json()["error"]["message"]


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"PK\x03\x04\x14\x00\x06\x00rest of a workbook", "not a CSV file"),
    (b"1,2,3\n4,5,6\n", "numbers, not column names"),
    (b"age,sex,age\n1,F,2\n", "Two columns are called 'age' (columns 1 and 3)"),
    (b"age,,sex\n1,2,F\n", "Column 2 has no name"),
    (b"age;sex\n1;F\n", "separated by semicolons"),
    (b"age,sex\n", "no cases below them"),
    (b"age,sex\n1,F,extra\n", "Line 2 has 3 values"),
    (b"age,sex\n\xff\xfe1,F\n", "not plain text in UTF-8"),
])
def test_a_file_that_is_not_a_table_of_cases_is_refused_in_plain_words(ws, data, words):
    response = draft(ws.as_("Ana"), data)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == "file"
    assert words in error["message"]


def test_an_outcome_that_is_no_column_and_a_body_that_is_not_csv_are_refused(ws):
    api = ws.as_("Ana")
    response = draft(api, outcome="risk")
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "outcome"
    assert "no column 'risk'" in response.get_json()["error"]["message"]
    response = draft(api, content_type="application/json")
    assert response.status_code == 400 and "CSV" in response.get_json()["error"]["message"]


def test_a_file_over_the_limit_is_413(ws):
    ws.app.config["MAX_CONTENT_LENGTH"] = 200
    response = draft(ws.as_("Ana"), CSV * 3)
    assert response.status_code == 413
    assert "first rows" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("app_database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("person, status", [("Ana", 200), ("Ada", 200), ("Rui", 403), ("Alex", 403),
                                            ("Mia", 403), (None, 401)])
def test_only_people_who_may_create_rule_sets_draft_one(ws, person, status):
    assert draft(ws.as_(person)).status_code == status


# ---- keeping the file's cases (issue 15, item 14: "Try it" shows matches on the first rule at once) -------------
FIRST_RULE = 'rule "Large" when mean area is above 1000 then diagnosis is "malignant"'


def create_keeping(api, outcome="diagnosis", data=CSV, ruleset_id="lesions", name="Cases from lesions.csv"):
    features = draft(api, data, outcome=outcome or "").get_json()["features"]
    cases = {"csv": data.decode(), "outcome_column": outcome, "name": name}
    return api.post("/api/rulesets", json={"id": ruleset_id, "settings": SETTINGS, "vocabulary": {"features": features},
                                           "why": "From the cases", "cases": cases})


def test_cases_with_their_outcome_become_the_reference_data_set_and_try_it_uses_them(ws):
    api = ws.as_("Ana")
    created = create_keeping(api)
    assert created.status_code == 201, created.get_json()
    cases = created.get_json()["cases"]
    assert cases["kept"] == "dataset" and cases["rows"] == 4
    assert cases["dataset"]["label_column"] == "diagnosis" and cases["dataset"]["name"] == "Cases from lesions.csv"
    assert "4 cases" in cases["message"]
    listed = api.get("/api/rulesets/lesions/datasets").get_json()["datasets"]
    assert [(d["name"], d["rows"], d["label_column"]) for d in listed] == [("Cases from lesions.csv", 4, "diagnosis")]
    files = api.get("/api/rulesets/lesions").get_json()
    assert files["id"] == "lesions"
    tried = api.post("/api/check", json={"ruleset": "lesions", "text": FIRST_RULE}).get_json()
    assert tried["examples"] is None                       # nothing copied into the versioned files
    assert tried["reference"]["dataset"]["name"] == "Cases from lesions.csv"
    assert tried["reference"]["total"] == 4 and tried["reference"]["matched"] == 1
    audit = ws.as_("Ada").get("/api/audit?ruleset=lesions").get_json()
    actions = [e["action"] for e in audit.get("events", audit.get("items", []))]
    assert "ruleset.create" in actions and "dataset.register" in actions


def test_cases_without_an_outcome_column_become_a_few_examples_in_the_first_version(ws):
    api = ws.as_("Ana")
    rows = b"".join(b"%d,%d,F,yes,benign\n" % (100 + 100 * i, 30 + i) for i in range(30))
    data = b"mean_area,Age (years),sex,smoker,diagnosis\n" + rows
    created = create_keeping(api, outcome=None, data=data)
    assert created.status_code == 201, created.get_json()
    cases = created.get_json()["cases"]
    assert (cases["kept"], cases["rows"], cases["dataset"]) == ("examples", 20, None)
    assert api.get("/api/rulesets/lesions/datasets").get_json()["datasets"] == []
    tried = api.post("/api/check", json={"ruleset": "lesions", "text": FIRST_RULE.replace("1000", "1500")}).get_json()
    assert tried["examples"]["total"] == 20 and tried["examples"]["matched"] == 5   # 1600 .. 2000
    assert tried["reference"] is None


@pytest.mark.parametrize("data, outcome, field, words", [
    (CSV.replace(b"yes,benign\n2501", b"yes,\n2501"), "diagnosis", "cases.outcome_column",
     "empty in 1 of 4 rows"),
    (CSV, "risk", "cases.outcome_column", "no column 'risk'"),
    (b"age;sex\n1;F\n", "diagnosis", "cases.file", "separated by semicolons"),
])
def test_cases_that_cannot_be_kept_refuse_the_whole_rule_set(ws, data, outcome, field, words):
    api = ws.as_("Ana")
    features = draft(api, outcome="diagnosis").get_json()["features"]
    before = api.get("/api/rulesets").get_json()
    refused = api.post("/api/rulesets", json={"id": "lesions", "settings": SETTINGS, "why": "From the cases",
                                              "vocabulary": {"features": features},
                                              "cases": {"csv": data.decode(), "outcome_column": outcome}})
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["field"] == field and words in error["message"]
    assert "was not created" in error["message"] and "Keep the cases of this file" in error["message"]
    assert api.get("/api/rulesets").get_json() == before
    assert api.get("/api/rulesets/lesions").status_code == 404


def test_a_malformed_cases_field_is_400(ws):
    response = ws.as_("Ana").post("/api/rulesets", json={"settings": SETTINGS, "why": "x", "cases": {"csv": 3}})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "cases"


def test_cases_with_an_outcome_need_the_permission_to_register_data_sets(ws, monkeypatch):
    import server.api.rulesets as view
    monkeypatch.setattr(view, "has", lambda permission: permission != "datasets.write")
    refused = create_keeping(ws.as_("Ana"))
    assert refused.status_code == 403 and "register data sets" in refused.get_json()["error"]["message"]
    assert ws.as_("Ana").get("/api/rulesets/lesions").status_code == 404


def test_a_data_set_that_fails_after_the_rule_set_was_made_is_said_plainly(ws, monkeypatch):
    from server.services import datasets

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(datasets, "add", full_disk)
    created = create_keeping(ws.as_("Ana"))
    assert created.status_code == 201, created.get_json()
    cases = created.get_json()["cases"]
    assert cases["kept"] is None and cases["dataset"] is None
    assert "The rule set was created, but its cases were not kept" in cases["message"]
    assert "/api/rulesets/lesions/datasets" in cases["message"]
    assert ws.as_("Ana").get("/api/rulesets/lesions").status_code == 200
    assert ws.as_("Ana").get("/api/rulesets/lesions/datasets").get_json()["datasets"] == []
