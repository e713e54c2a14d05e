"""GET /api/rulesets/{id}/findings and the findings of a draft rule in POST /api/check (rules_dsl/verify.py)."""
from __future__ import annotations


def test_findings_of_a_version(ws):
    api = ws.as_("Alex")  # an auditor reads
    answer = api.get("/api/rulesets/sepsis-triage/findings")
    assert answer.status_code == 200
    body = answer.get_json()
    assert len(body["version"]) == 40
    conflict = next(f for f in body["findings"] if f["kind"] == "conflict")
    assert set(conflict["rules"]) == {"dot", "sirs"} and "'Small dot' (low)" in conflict["message"]
    assert conflict["witness"]["lesion diameter"] == 4.0
    gaps = [f for f in body["findings"] if f["kind"] == "gap"]
    assert gaps and all(f["region"] for f in gaps)
    same = api.get(f"/api/rulesets/sepsis-triage/findings?version={body['version']}").get_json()
    assert same == body


def test_findings_refusals(ws):
    api = ws.as_("Ana")
    assert api.get("/api/rulesets/nothing/findings").status_code == 404
    bad = api.get("/api/rulesets/sepsis-triage/findings?version=" + "0" * 40)
    assert bad.status_code in (400, 404, 422) and "message" in str(bad.get_json())
    assert ws.as_("Mia").get("/api/rulesets/sepsis-triage/findings").status_code == 403


def test_check_gives_the_findings_about_the_draft(ws):
    api = ws.as_("Ana")
    # within "Two or more SIRS criteria" (priority 2, same conclusion): redundant, and never decides
    text = 'rule "Hot" when temperature is above 39 and heart rate is above 100 then sepsis risk is "high"'
    body = api.post("/api/check", json={"ruleset": "sepsis-triage", "text": text}).get_json()
    kinds = {f["kind"] for f in body["findings"]}
    assert {"redundant", "unreachable"} <= kinds
    unreachable = next(f for f in body["findings"] if f["kind"] == "unreachable")
    assert unreachable["rules"][:2] == ["hot", "sirs"] and "'Hot' can never decide" in unreachable["message"]
    assert all("hot" in f["rules"] for f in body["findings"])
    # editing an existing rule: the draft replaces it
    edit = 'rule "Small dot" when lesion diameter is above 50 mm then sepsis risk is "low"'
    edited = api.post("/api/check", json={"ruleset": "sepsis-triage", "text": edit, "id": "dot"}).get_json()
    assert [f["kind"] for f in edited["findings"] if "dot" in f["rules"]] == ["conflict"]
    broken = api.post("/api/check", json={"ruleset": "sepsis-triage", "text": 'rule "x" when pulse is above'})
    assert broken.status_code == 200 and broken.get_json().get("findings") is None
