"""Bad input is refused in plain words, never read wrongly and never a 500 (issue 13, items 8-11).

CSV files whose lines have more values than the first line names columns (a comma at the end of each line), CSV
batches larger than a JSON batch may be, integers too large for a number, and names and texts with characters
that hide what they say.
"""
from __future__ import annotations

import pytest

from server.services import datasets

API = "/api/rulesets/sepsis-triage"
CSV = {"Content-Type": "text/csv"}
# every data line ends with a comma: one value more than the first line names columns
TRAILING = "temperature,heart rate,respiratory rate,white cell count\n39,120,30,5,\n36,70,12,5,\n"


def release(ws) -> None:
    requested = ws.as_("Bea").post(f"{API}/releases", json={"notes": "first"})
    assert requested.status_code == 201, requested.get_json()
    approved = ws.as_("Rui").post(f"{API}/releases/{requested.get_json()['id']}/approve", json={"comment": "ok"})
    assert approved.status_code == 200, approved.get_json()


# ---- item 8: CSV never shifts columns ------------------------------------------------------------------------------

def test_evaluate_refuses_a_csv_whose_lines_have_one_value_more_than_the_header(ws):
    release(ws)
    response = ws.as_("Mia").post(f"{API}/evaluate", data=TRAILING, headers=CSV)
    assert response.status_code == 400, response.get_json()
    message = response.get_json()["error"]["message"]
    assert "Line 2 has 5 values" in message and "4 columns" in message and "ends with a comma" in message


def test_a_later_line_with_a_value_too_many_is_refused_with_its_line(ws):
    release(ws)
    csv = "temperature,heart rate\n39,120\n36,70\n37,80,\n"
    response = ws.as_("Mia").post(f"{API}/evaluate", data=csv, headers=CSV)
    assert response.status_code == 400 and "Line 4 has 3 values" in response.get_json()["error"]["message"]


def test_evaluate_still_reads_lines_with_fewer_values_as_missing(ws):
    release(ws)
    csv = "temperature,heart rate,respiratory rate,white cell count\n39,120,30\n36,70,12,5\n"
    body = ws.as_("Mia").post(f"{API}/evaluate", data=csv, headers=CSV).get_json()
    sirs = body["rules"].index("sirs")
    assert [row[sirs] for row in body["fired"]] == [1, 0]


def test_a_reference_data_set_with_trailing_commas_is_refused_not_stored_shifted(ws):
    csv = "temperature,heart rate,sepsis risk\n39,120,high,\n36,70,low,\n"
    response = ws.as_("Ana").post(f"{API}/datasets?name=ward&label=sepsis%20risk", data=csv, headers=CSV)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == "file" and "Line 2 has 4 values" in error["message"]
    assert ws.as_("Ana").get(f"{API}/datasets").get_json()["datasets"] == []


def test_a_csv_upload_has_at_most_2000_columns(ws):
    header = ",".join(f"c{i}" for i in range(2001))
    csv = f"{header}\n{','.join('1' for _ in range(2001))}\n"
    response = ws.as_("Ana").post(f"{API}/datasets?name=wide", data=csv, headers=CSV)
    assert response.status_code == 422 and "2,001 columns" in response.get_json()["error"]["message"]
    release(ws)
    response = ws.as_("Mia").post(f"{API}/evaluate", data=csv, headers=CSV)
    assert response.status_code == 400 and "at most 2,000" in response.get_json()["error"]["message"]


# ---- item 9: CSV evaluate is bounded like JSON predict --------------------------------------------------------------

def test_evaluate_csv_has_the_same_case_limit_as_json(ws):
    release(ws)
    limit = ws.app.config["PREDICT_MAX_CASES"]
    api = ws.as_("Mia")
    at_limit = "temperature\n" + "39\n" * limit
    assert api.post(f"{API}/evaluate", data=at_limit, headers=CSV).status_code == 200
    response = api.post(f"{API}/evaluate", data=at_limit + "39\n", headers=CSV)
    assert response.status_code == 413
    assert f"{limit:,}" in response.get_json()["error"]["message"]


# ---- item 10: integers too large for a number -----------------------------------------------------------------------

HUGE = int("9" * 400)


@pytest.mark.parametrize("digits", [310, 400, 4300])
def test_predict_refuses_a_huge_integer_naming_the_field(ws, digits):
    release(ws)
    number = int("9" * digits)
    response = ws.as_("Mia").post(f"{API}/predict", json={"case": {"temperature": number}})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == "case.temperature"
    batch = ws.as_("Mia").post(f"{API}/evaluate", json={"cases": [{}, {"heart rate": number}]})
    assert batch.status_code == 422 and batch.get_json()["error"]["field"] == "cases[1].heart rate"


def test_a_vocabulary_with_a_huge_range_is_a_422_naming_the_field(ws):
    api = ws.as_("Ana")
    current = api.get(f"{API}/vocabulary")
    features = {f["name"]: {k: v for k, v in f.items() if k not in ("name",)} for f in
                current.get_json()["features"]}
    features["temperature"]["range"] = [30, HUGE]
    response = api.put(f"{API}/vocabulary", json={"vocabulary": {"features": features}, "why": "wider"},
                       headers={"If-Match": current.headers["ETag"]})
    assert response.status_code == 422, response.get_json()
    assert "temperature" in response.get_json()["error"]["message"]


def test_creating_a_rule_set_with_a_huge_number_is_a_422(ws):
    settings = {"title": "Big", "outcome": {"name": "risk", "labels": ["a", "b"]}}
    vocabulary = {"features": {"age": {"type": "number", "range": [0, HUGE]}}}
    response = ws.as_("Ana").post("/api/rulesets", json={"settings": settings, "vocabulary": vocabulary, "why": "n"})
    assert response.status_code == 422, response.get_json()
    assert "age" in response.get_json()["error"]["message"]


def test_a_rule_with_a_huge_number_is_a_422(ws):
    rule = {"name": "Huge", "when": {"feature": "temperature", "op": "above", "value": HUGE}}
    response = ws.as_("Ana").post(f"{API}/rules", json={"rule": rule, "why": "w"})
    assert response.status_code == 422, response.get_json()
    response = ws.as_("Ana").post(f"{API}/rules", json={"rule": {**rule, "priority": HUGE}, "why": "w"})
    assert response.status_code == 422, response.get_json()


# ---- item 11: names and texts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Fever \u202egnitfel", "Fe\u200bver", "Fever\u2066 x\u2069", "Fe\u00adver"])
def test_rule_names_refuse_direction_marks_and_zero_width_characters(ws, name):
    api = ws.as_("Ana")
    response = api.post(f"{API}/rules", json={"text": f'rule "{name}"\nwhen temperature is above 38', "why": "w"})
    assert response.status_code == 422, response.get_json()
    assert "invisible character" in response.get_json()["error"]["message"]
    structured = {"name": name, "when": {"feature": "temperature", "op": "above", "value": 38}}
    assert api.post(f"{API}/rules", json={"rule": structured, "why": "w"}).status_code == 422
    reason = api.post(f"{API}/rules", json={"text": 'rule "Fever"\nwhen temperature is above 38\n'
                                                    f'because "{name}"', "why": "w"})
    assert reason.status_code == 422 and "invisible character" in reason.get_json()["error"]["message"]
    assert [r["id"] for r in api.get(f"{API}/rules").get_json()["rules"]] == ["dot", "sirs"]


@pytest.mark.parametrize("look_alike", ["Small d\u043et",        # Cyrillic о
                                        "\u0405mall dot",        # Cyrillic Ѕ
                                        "Smáll dot",             # an accent
                                        "SMALL\u00a0DOT"])       # capitals and a no-break space
def test_a_name_that_looks_like_another_rules_name_is_a_duplicate(ws, look_alike):
    api = ws.as_("Ana")
    response = api.post(f"{API}/rules", json={"text": f'rule "{look_alike}"\nwhen temperature is above 38',
                                              "why": "w"})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "duplicate-name" and "look-alike" in error["message"]


@pytest.mark.parametrize("title, labels", [("Sepsis\x00", ["low", "high"]), ("Two\nlines", ["low", "high"]),
                                           ("Fine", ["low", "hi\ngh"]), ("Fine", ["low\x00", "high"]),
                                           ("Fine", ["low", "\u202ehigh"]), ("Fine", ["low", "x" * 201])])
def test_titles_and_outcome_labels_are_one_line_of_visible_text(ws, title, labels):
    settings = {"title": title, "outcome": {"name": "risk", "labels": labels}}
    created = ws.as_("Ana").post("/api/rulesets", json={"settings": settings, "why": "new"})
    assert created.status_code == 422, created.get_json()
    api = ws.as_("Ana")
    current = api.get(f"{API}/settings")
    edited = current.get_json()["settings"]
    edited = {**edited, "title": title, "outcome": {**edited["outcome"], "labels": labels}}
    response = api.put(f"{API}/settings", json={"settings": edited, "why": "w"},
                       headers={"If-Match": current.headers["ETag"]})
    assert response.status_code == 422, response.get_json()


@pytest.mark.parametrize("notes", ["Checked\x01", "Fine \u202edesrever", "nul\x00"])
def test_release_notes_are_checked_when_the_release_is_requested(ws, notes):
    refused = ws.as_("Bea").post(f"{API}/releases", json={"notes": notes})
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["error"]["field"] == "notes"
    requested = ws.as_("Bea").post(f"{API}/releases", json={"notes": "Line one\n\tand two\u00a0 "})
    assert requested.status_code == 201, requested.get_json()  # line breaks, tabs and spaces of any width pass
    approved = ws.as_("Rui").post(f"{API}/releases/{requested.get_json()['id']}/approve", json={"comment": "ok"})
    assert approved.status_code == 200, approved.get_json()


def test_a_data_set_stored_before_the_check_is_refused_where_it_is_used_not_read_shifted(ws):
    api = ws.as_("Ana")
    created = api.post(f"{API}/datasets?name=ward", data="temperature,heart rate\n39,120\n", headers=CSV)
    assert created.status_code == 201, created.get_json()
    dataset = created.get_json()["id"]
    stored = ws.app.config["DATASETS_DIR"] / f"{dataset}.csv"
    stored.write_text("temperature,heart rate\n39,120,\n")  # as a file registered before this check was
    datasets._cache.clear()  # as in a worker started after the upgrade (the upload's report read the good file)
    response = api.get(f"{API}/datasets/{dataset}")
    assert response.status_code == 422, response.get_json()
    assert "cannot be read any more" in response.get_json()["error"]["message"]
