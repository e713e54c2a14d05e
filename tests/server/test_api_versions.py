"""GET /api/rulesets/<ruleset>/versions/<version>: who saved a version, when and why (the editor's banner)."""
from __future__ import annotations


def test_version_info_names_the_saved_version_and_its_release(ws):
    api = ws.as_("Ana")
    head = api.get("/api/rulesets/sepsis-triage").headers["ETag"].strip('"')
    body = api.get(f"/api/rulesets/sepsis-triage/versions/{head}").get_json()
    assert body["version"] == head and body["author"] == "Ana" and body["why"] == "Start"
    assert body["release"] is None


def test_version_info_refuses_what_is_not_a_version(ws):
    api = ws.as_("Ana")
    assert api.get("/api/rulesets/sepsis-triage/versions/HEAD").status_code == 422
    assert api.get("/api/rulesets/nothing-here/versions/" + "0" * 40).status_code in (404, 422)
    assert ws.as_("Mia").get("/api/rulesets/sepsis-triage/versions/v1").status_code == 403
