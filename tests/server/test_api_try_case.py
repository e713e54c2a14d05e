"""POST /api/check/case: a draft rule on one typed case, condition by condition (three-valued), and the rule set's
answer with the deciding rule."""
from __future__ import annotations

from tests.server.test_api_analysis import demo  # noqa: F401  (the fixture)

TEXT = 'rule "Hot and fast" when temperature is above 39 and pulse is above 100 then sepsis risk is "high"'


def test_each_condition_true_false_or_unknown(ws):
    api = ws.as_("Ana")
    answer = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": TEXT,
                                               "case": {"temperature": 39.5, "pulse": 80}})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["valid"] and len(body["version"]) == 40
    assert [(c["text"], c["result"]) for c in body["conditions"]] == [
        ("temperature is above 39", "true"), ("heart rate is above 100", "false")]
    assert body["rule"] == {"id": "hot-and-fast", "name": "Hot and fast", "result": "false", "enabled": True,
                            "fires": False}
    # white cell count missing + temperature above 38: the SIRS rule fires and decides (first match, priority 2)
    decision = body["decision"]
    assert decision["label"] == "high" and decision["deciding_rules"] == [
        {"id": "sirs", "name": "Two or more SIRS criteria"}]
    # a value left out is unknown, never false; the whole rule is then unknown (Kleene)
    unknown = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": TEXT,
                                                "case": {"temperature": 40}}).get_json()
    assert [c["result"] for c in unknown["conditions"]] == ["true", "unknown"]
    assert unknown["conditions"][1]["missing"] == ["heart rate"]
    assert unknown["rule"]["result"] == "unknown" and not unknown["rule"]["fires"]
    # both hold and the draft has the highest priority: it fires and decides (first match)
    fires = api.post("/api/check/case", json={"ruleset": "sepsis-triage",
                                              "text": TEXT.replace("when", "priority 5 when"),
                                              "case": {"temperature": 40, "pulse": 120}}).get_json()
    assert fires["rule"]["fires"] and fires["decision"]["deciding_rules"][0]["id"] == "hot-and-fast"


def test_negation_and_groups_stay_three_valued(ws):
    api = ws.as_("Ana")
    text = ('rule "Calm" when not (smoker is yes or notes contains "biopsy") and location is one of "margin" '
            'then sepsis risk is "low"')
    body = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": text,
                                             "case": {"smoker": "no", "location": " Margin "}}).get_json()
    # smoker no, notes missing: (false or unknown) = unknown; not unknown = unknown
    assert [c["result"] for c in body["conditions"]] == ["unknown", "true"]
    assert body["conditions"][0]["features"] == ["smoker", "notes"]


def test_editing_a_rule_replaces_it_in_the_answer(ws):
    api = ws.as_("Ana")
    edit = 'rule "Small dot" when lesion diameter is above 1 mm then sepsis risk is "low"'
    case = {"lesion diameter": 3, "temperature": 36, "white cell count": 7}
    body = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": edit, "id": "dot",
                                             "case": case}).get_json()
    assert body["rule"]["id"] == "dot" and body["rule"]["fires"]
    assert body["decision"]["deciding"] == ["dot"] and body["note"] is None


def test_a_rule_with_mistakes_still_gets_the_rule_sets_answer(ws):
    api = ws.as_("Ana")
    body = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": 'rule "x" when pulse is above',
                                             "case": {"temperature": 36}}).get_json()
    assert not body["valid"] and body["errors"] and body["conditions"] is None and body["rule"] is None
    assert "mistakes are fixed" in body["note"] and body["decision"]["label"] in ("low", "high")


def test_refusals_say_what_and_where(ws):
    api = ws.as_("Ana")
    bad = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": TEXT, "case": {"pulse": "fast"}})
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert error["field"] == "case.pulse" and "fast" in error["message"]
    assert api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": TEXT,
                                             "case": [1]}).status_code == 422
    assert api.post("/api/check/case", json={"ruleset": "sepsis-triage", "text": TEXT, "id": "nope",
                                             "case": {}}).get_json()["error"]["field"] == "id"
    assert api.post("/api/check/case", json={"ruleset": "nope", "text": TEXT, "case": {}}).status_code == 404


def _switch_off(api, rule_id):
    rule = api.get(f"/api/rulesets/sepsis-triage/rules/{rule_id}")
    switched_off = {**rule.get_json()["structured"], "enabled": False}
    changed = api.put(f"/api/rulesets/sepsis-triage/rules/{rule_id}", json={"rule": switched_off, "why": "Switch off"},
                      headers={"If-Match": rule.headers["ETag"].strip('"')})
    assert changed.status_code == 200, changed.get_json()
    return switched_off


def test_a_rule_switched_off_can_be_tried_and_keeps_its_id(ws):
    """Regression: the rule page of a rule switched off tries it on one case with its id, and was refused (422
    "id must be the id of a rule") because only rules in use counted; a new draft with the same name as a rule
    switched off took that rule's id and replaced it in the answer."""
    api = ws.as_("Ana")
    structured = _switch_off(api, "dot")
    case = {"lesion diameter": 3, "temperature": 36, "white cell count": 7}
    tried = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "rule": structured, "id": "dot",
                                              "case": case})
    assert tried.status_code == 200, tried.get_json()
    body = tried.get_json()
    assert body["rule"]["id"] == "dot" and body["rule"]["enabled"] is False and not body["rule"]["fires"]
    assert "dot" not in body["decision"]["deciding"]
    # a new rule named like the one switched off gets an id of its own
    new = api.post("/api/check/case", json={"ruleset": "sepsis-triage", "rule": {**structured, "enabled": True},
                                            "case": case}).get_json()
    assert new["rule"]["id"] != "dot", new["rule"]


def test_try_it_rows_carry_the_whole_case_to_keep_as_a_test(ws, demo):  # noqa: F811
    """A row of "Try it on cases" shows the columns the rule reads; under "case" it carries the row's other known
    feature values, so a case kept as a test is the whole case (issue 17, item 4)."""
    from rules_dsl.demo import reference_data

    body = ws.as_("Ana").post("/api/check", json={
        "ruleset": demo, "text": 'rule "Big" when worst radius is above 17 then diagnosis is "malignant"'}).get_json()
    reference = body["reference"]
    assert reference["columns"] == ["worst radius", "diagnosis"]
    data = reference_data()
    features = [c for c in data.columns if c != "diagnosis"]
    for row in reference["matches"] + reference["near_misses"]:
        assert set(row["values"]) == {"worst radius", "diagnosis"}
        whole = {**row["case"], "worst radius": row["values"]["worst radius"]}
        assert whole == {c: float(data[c].iat[row["row"]]) for c in features}
