"""POST /api/check with a form that is not filled in yet (issue 15, item 2): a blank field is one problem among the
others. Before, the server's structured reader stopped at the first blank field, so confidence 1.5, a "cm" unit on
a feature without unit, a value out of range and an unknown feature all vanished until the blank was filled in."""
from __future__ import annotations

BLANK_AND_WRONG = {
    "name": "Fast pulse", "priority": 0, "enabled": True,
    "when": {"all": [
        {"feature": "heart rate", "op": "above", "values": [{"number": 100, "unit": "cm"}]},
        {"feature": "temperature", "op": "above", "values": [None]},
        {"feature": "respiratry rate", "op": "above", "values": [20]},
        {"feature": "heart rate", "op": "below", "values": [400]},
        {"feature": "", "op": "above", "values": [None]},
    ]},
    "then": {"outcome": "sepsis risk", "label": None, "confidence": 1.5},
    "because": None,
}


def check(api, rule):
    answer = api.post("/api/check", json={"ruleset": "sepsis-triage", "rule": rule})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_blank_fields_do_not_hide_the_other_problems(ws):
    body = check(ws.as_("Ana"), BLANK_AND_WRONG)
    assert not body["valid"]
    errors = {p["field"]: p for p in body["errors"]}
    warnings = {p["field"]: p for p in body["warnings"]}
    # the blanks: still to fill in, each at its field
    assert errors["when.all[1].values[0]"]["code"] == "blank"
    assert errors["when.all[4].feature"]["code"] == "blank"
    assert errors["then.label"]["code"] == "blank"
    # and every other problem, as if the blanks were filled in
    assert errors["when.all[0].values[0]"]["code"] == "unit" and "cm" in errors["when.all[0].values[0]"]["message"]
    assert errors["when.all[2].feature"]["code"] == "unknown-feature"
    assert errors["when.all[2].feature"]["suggestion"] == "respiratory rate"
    assert errors["then.confidence"]["code"] == "bad-confidence"
    assert warnings["when.all[3].values[0]"]["code"] == "out-of-range"
    # nothing is said twice about one field
    assert len(body["errors"]) == len(errors)


def test_the_sentence_shows_what_the_form_holds_with_blanks(ws):
    body = check(ws.as_("Ana"), BLANK_AND_WRONG)
    assert body["text"] is None and body["structured"] is None  # not a rule yet: nothing to save or to show as text
    assert body["sentence"] == ('rule "Fast pulse"\n'
                                "when heart rate is above 100 cm\n"
                                "  and temperature is above …\n"
                                "  and respiratry rate is above 20\n"
                                "  and heart rate is below 400\n"
                                "  and … is above …\n"
                                "then sepsis risk is … with confidence 1.5")


def test_a_blank_name_and_a_blank_between_limit(ws):
    rule = {"name": "", "when": {"feature": "lesion diameter", "op": "between",
                                 "values": [None, {"number": 3, "unit": "kg"}]},
            "then": {"outcome": "sepsis risk", "label": "hihg"}}
    body = check(ws.as_("Ana"), rule)
    errors = {p["field"]: p for p in body["errors"]}
    assert errors["name"]["code"] == "blank"
    assert errors["when.values[0]"]["code"] == "blank"
    assert errors["when.values[1]"]["code"] == "unit"
    assert errors["then.label"]["code"] == "unknown-label" and errors["then.label"]["suggestion"] == "high"
    assert body["sentence"] == 'rule "…"\nwhen lesion diameter is between … and 3 kg\nthen sepsis risk is "hihg"'


def test_a_complete_rule_answers_as_before(ws):
    rule = {**BLANK_AND_WRONG, "when": {"feature": "heart rate", "op": "above", "values": [100]},
            "then": {"outcome": "sepsis risk", "label": "high", "confidence": 0.8}}
    body = check(ws.as_("Ana"), rule)
    assert body["valid"], body["errors"]
    assert body["text"] == body["sentence"] == ('rule "Fast pulse"\nwhen heart rate is above 100\n'
                                                'then sepsis risk is "high" with confidence 0.8')


def test_trying_a_draft_on_one_case_lists_every_problem_too(ws):
    answer = ws.as_("Ana").post("/api/check/case", json={"ruleset": "sepsis-triage", "rule": BLANK_AND_WRONG,
                                                         "case": {"heart rate": 120}})
    assert answer.status_code == 200
    fields = {p["field"] for p in answer.get_json()["errors"]}
    assert {"when.all[1].values[0]", "when.all[0].values[0]", "then.confidence"} <= fields


def test_the_example_in_the_api_guide(ws):
    """docs/api.md, "A structured rule that is not filled in yet"."""
    rule = {"name": "Fever", "when": {"feature": "temperature", "op": "above", "values": [None]},
            "then": {"outcome": "sepsis risk", "label": "high", "confidence": 1.5}}
    body = check(ws.as_("Ana"), rule)
    assert [(p["field"], p["code"]) for p in body["errors"]] == [("when.values[0]", "blank"),
                                                                 ("then.confidence", "bad-confidence")]
    assert body["sentence"] == ('rule "Fever"\nwhen temperature is above …\n'
                                'then sepsis risk is "high" with confidence 1.5')
