"""One answer everywhere, the server's part: the fixed cases of tests/rules_dsl/consistency_cases.py through the
server's predict and evaluate (JSON and CSV) give what the library gives (RuleSet.decide_row / matches), or the
same error naming the same column; values outside the vocabulary come back as warnings."""
from __future__ import annotations

import json
import math

import pytest

import rules_dsl
from tests.rules_dsl.consistency_cases import CASES, IDS, as_json, consistency_ruleset, is_error
from tests.server.conftest import Workspace, close_app, make_app

RULESET = consistency_ruleset()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server holding the consistency rule set, released as v1: (the workspace, the rule set's id)."""
    root = tmp_path_factory.mktemp("consistency")
    app = make_app(root / "data", f"sqlite:///{root / 'data' / 'rulecraft.db'}")
    ws = Workspace(app)
    for name, role in (("Ana", "author"), ("Rui", "reviewer"), ("Mia", "ml-engineer")):
        ws.add_person(name, role)
    rules_dsl.write_folder(RULESET, root / "consistency")
    ruleset_id = ws.import_folder(root / "consistency")
    requested = ws.as_("Ana").post(f"/api/rulesets/{ruleset_id}/releases", json={"notes": "consistency"})
    assert requested.status_code == 201, requested.get_json()
    approved = ws.as_("Rui").post(f"/api/rulesets/{ruleset_id}/releases/{requested.get_json()['id']}/approve",
                                  json={"comment": "ok"})
    assert approved.status_code == 200, approved.get_json()
    yield ws, ruleset_id
    ws.sessions.kw["bind"].dispose()
    close_app(app)


def _has_infinity(case: dict) -> bool:
    return any(isinstance(v, float) and math.isinf(v) for v in case.values())


@pytest.mark.parametrize("what, case, expected", CASES, ids=[c[0] for c in CASES])
def test_predict_answers_as_the_library(served, what, case, expected):
    ws, ruleset_id = served
    api = ws.as_("Mia")
    body = {k: as_json(v) for k, v in case.items()}
    response = api.post(f"/api/rulesets/{ruleset_id}/predict", data=json.dumps({"case": body}),
                        headers={"Content-Type": "application/json"})
    answer = response.get_json()
    if _has_infinity(case):  # JSON has no infinite numbers: refused as the request's JSON (evaluate's CSV below)
        assert response.status_code in (400, 422) and "error" in answer
        return
    if is_error(expected):
        assert response.status_code == 422, answer
        assert f"'{expected[1]}'" in answer["error"]["message"] and answer["error"]["field"].startswith("case")
        with pytest.raises(rules_dsl.DataError) as info:
            RULESET.decide_row(case)
        assert info.value.column == expected[1]
        return
    assert response.status_code == 200, answer
    prediction = answer["prediction"]
    fired = [f["id"] for f in prediction["fired"]]
    assert {i for i in fired if i in IDS} == expected
    decision = RULESET.decide_row(case)
    assert fired == list(decision.fired) and prediction["label"] == decision.label


def test_evaluate_json_answers_as_the_library(served):
    ws, ruleset_id = served
    api = ws.as_("Mia")
    ok = [case for _, case, expected in CASES if not is_error(expected)]
    response = api.post(f"/api/rulesets/{ruleset_id}/evaluate",
                        json={"cases": [{k: as_json(v) for k, v in case.items()} for case in ok]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    got = [[rule for rule, hit in zip(body["rules"], row) if hit] for row in body["fired"]]
    assert got == [RULESET.matches_row(case) for case in ok]


@pytest.mark.parametrize("cells, phrase", [
    (["38", "inf"], "'temperature' holds an infinite number (inf) in row 1"),
    (["-inf", "38"], "'temperature' holds an infinite number (-inf) in row 0"),
])
def test_evaluate_csv_refuses_infinite_numbers_naming_column_and_row(served, cells, phrase):
    ws, ruleset_id = served
    api = ws.as_("Mia")
    csv = "temperature,location\n" + "".join(f"{c},margin\n" for c in cells)
    response = api.post(f"/api/rulesets/{ruleset_id}/evaluate", data=csv, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "temperature" and phrase in error["message"]


def test_evaluate_csv_refuses_true_false_where_a_number_is_expected(served):
    ws, ruleset_id = served
    api = ws.as_("Mia")
    response = api.post(f"/api/rulesets/{ruleset_id}/evaluate", data="heart rate\ntrue\nfalse\n",
                        headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "heart rate"


def test_values_outside_the_vocabulary_come_back_as_warnings(served):
    ws, ruleset_id = served
    api = ws.as_("Mia")
    csv = "temperature,location\n102.2,margin\n98.6,Elsewhere\n37,\n"
    body = api.post(f"/api/rulesets/{ruleset_id}/evaluate", data=csv, headers={"Content-Type": "text/csv"}).get_json()
    by_code = {w["code"]: w for w in body["warnings"]}
    assert by_code["outside-range"]["column"] == "temperature" and by_code["outside-range"]["count"] == 2
    assert by_code["outside-range"]["examples"] == [102.2, 98.6]
    assert by_code["unknown-values"]["examples"] == ["Elsewhere"]
    assert by_code["absent-column"]["column"] in RULESET.columns
    one = api.post(f"/api/rulesets/{ruleset_id}/predict", json={"case": {"temperature": 102.2}}).get_json()
    assert [w["code"] for w in one["warnings"]] == ["outside-range"]
    assert api.post(f"/api/rulesets/{ruleset_id}/predict",
                    json={"case": {"temperature": 38, "location": " Margin"}}).get_json()["warnings"] == []


def test_an_upload_answers_with_its_data_report_and_try_it_names_what_it_cannot_read(served):
    """Reference cases with temperatures in °F, an unknown location and an infinite number: the upload says so;
    trying a rule on them says which column it cannot read, instead of failing the whole check."""
    ws, ruleset_id = served
    csv = "temperature,location\n102.2,margin\n98.6,Elsewhere\ninf,centre\n"
    ws_api = ws.as_("Ana")
    added = ws_api.post(f"/api/rulesets/{ruleset_id}/datasets?name=Fahrenheit", data=csv,
                        headers={"Content-Type": "text/csv"})
    assert added.status_code == 201, added.get_json()
    report = added.get_json()["data_report"]
    codes = {(w["code"], w["column"]) for w in report["warnings"]}
    assert ("wrong-type", "temperature") in codes and ("unknown-values", "location") in codes
    assert any("infinite number" in line for line in report["lines"])
    checked = ws_api.post("/api/check", json={"ruleset": ruleset_id, "text": 'rule "t" when temperature > 38',
                                              "dataset": added.get_json()["id"]})
    assert checked.status_code == 200, checked.get_json()
    reference = checked.get_json()["reference"]
    assert reference["matched"] is None and "'temperature' holds an infinite number" in reference["error"]
