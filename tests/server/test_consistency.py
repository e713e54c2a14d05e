"""One answer everywhere, the server's part: the fixed cases of tests/rules_dsl/consistency_cases.py through the
server's predict and evaluate (JSON and CSV) give what the library gives (RuleSet.decide_row / matches), or the
same error naming the same column; values outside the vocabulary come back as warnings."""
from __future__ import annotations

import json
import math

import pytest
from conftest import Workspace, close_app, make_app

import rules_dsl
from tests.rules_dsl.consistency_cases import CASES, IDS, as_json, consistency_ruleset, is_error

RULESET = consistency_ruleset()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server holding the consistency rule set, released as v1; (api as an ML engineer, rule set id)."""
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
    yield ws.as_("Mia"), ruleset_id
    ws.sessions.kw["bind"].dispose()
    close_app(app)


def _has_infinity(case: dict) -> bool:
    return any(isinstance(v, float) and math.isinf(v) for v in case.values())


@pytest.mark.parametrize("what, case, expected", CASES, ids=[c[0] for c in CASES])
def test_predict_answers_as_the_library(served, what, case, expected):
    api, ruleset_id = served
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
    api, ruleset_id = served
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
    api, ruleset_id = served
    csv = "temperature,location\n" + "".join(f"{c},margin\n" for c in cells)
    response = api.post(f"/api/rulesets/{ruleset_id}/evaluate", data=csv, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "temperature" and phrase in error["message"]


def test_evaluate_csv_refuses_true_false_where_a_number_is_expected(served):
    api, ruleset_id = served
    response = api.post(f"/api/rulesets/{ruleset_id}/evaluate", data="heart rate\ntrue\nfalse\n",
                        headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "heart rate"


def test_values_outside_the_vocabulary_come_back_as_warnings(served):
    api, ruleset_id = served
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
