"""A release request says what was saved after its version (issue 15, item 9): a reviewer must not approve a change
that was undone since without a word. GET /api/rulesets/<id>/releases gives ``newer_versions`` for each request
waiting for a reviewer: how many saves came after, the newest with who/when/why and the rule's name, the current
version to compare with, and whether the rule set now reads as the request, as the last release or as before the
request."""
from __future__ import annotations

URL = "/api/rulesets/sepsis-triage"


def etag(response) -> str:
    return response.headers["ETag"]


def save_sirs(api, text: str, why: str) -> None:
    current = api.get(f"{URL}/rules/sirs")
    saved = api.put(f"{URL}/rules/sirs", json={"text": text, "why": why}, headers={"If-Match": etag(current)})
    assert saved.status_code == 200, saved.get_json()


def sirs_text(api) -> str:
    return api.get(f"{URL}/rules/sirs").get_json()["text"]


def waiting(api) -> dict:
    found = [r for r in api.get(f"{URL}/releases").get_json()["releases"] if r["status"] == "requested"]
    assert len(found) == 1, found
    return found[0]


def test_a_request_with_no_later_save_says_so(ws):
    asked = ws.as_("Ana").post(f"{URL}/releases", json={}).get_json()
    assert asked["newer_versions"] is None  # only the list works it out
    newer = waiting(ws.as_("Rui"))["newer_versions"]
    assert newer == {"count": 0, "current": asked["version"], "current_is": "as-requested", "release": None,
                     "versions": []}


def test_a_change_undone_after_the_request_is_named_with_who_when_why(ws):
    ana, bea = ws.as_("Ana"), ws.as_("Bea")
    before = sirs_text(ana)
    save_sirs(ana, before.replace("above 38,", "above 38.5,"), "Fever threshold from the 2026 guideline")
    asked = ana.post(f"{URL}/releases", json={}).get_json()
    save_sirs(bea, before, "Undo the fever threshold: the guideline is not adopted yet")

    listed = waiting(ws.as_("Rui"))
    assert listed["id"] == asked["id"] and listed["version"] == asked["version"]
    newer = listed["newer_versions"]
    assert newer["count"] == 1 and newer["current"] != asked["version"]
    assert newer["current_is"] == "as-before-request"  # no release yet: back to before the request
    (undo,) = newer["versions"]
    assert undo["version"] == newer["current"] and undo["author"] == "Bea"
    assert undo["why"].startswith("Undo the fever threshold")
    assert undo["rule"] == "sirs" and undo["rule_name"] == "Two or more SIRS criteria"
    # The two versions compare (the editor links the request to the current version).
    diff = ws.as_("Rui").get(f"{URL}/diff?from={asked['version']}&to={newer['current']}")
    assert diff.status_code == 200 and diff.get_json()["counts"]["changed"] == 1


def test_back_to_the_last_release_and_back_to_the_request(ws):
    ana, bea, rui = ws.as_("Ana"), ws.as_("Bea"), ws.as_("Rui")
    first = ana.post(f"{URL}/releases", json={}).get_json()
    assert rui.post(f"{URL}/releases/{first['id']}/approve", json={}).status_code == 200
    before = sirs_text(ana)
    changed = before.replace("above 90", "above 100")
    save_sirs(ana, changed, "Heart rate above 100")
    ana.post(f"{URL}/releases", json={})
    save_sirs(bea, before, "Back to 90")
    newer = waiting(rui)["newer_versions"]
    assert (newer["count"], newer["current_is"], newer["release"]) == (1, "as-release", "v1")

    save_sirs(bea, changed, "100 after all")  # the later saves cancel out
    newer = waiting(rui)["newer_versions"]
    assert newer["count"] == 2 and newer["current_is"] == "as-requested" and newer["release"] is None
    assert [v["why"] for v in newer["versions"]] == ["100 after all", "Back to 90"]  # newest first

    save_sirs(bea, changed.replace("above 20", "above 22"), "Respiratory rate above 22")
    newer = waiting(rui)["newer_versions"]
    assert newer["count"] == 3 and newer["current_is"] is None


def test_decided_requests_carry_no_newer_versions(ws):
    ana, rui = ws.as_("Ana"), ws.as_("Rui")
    asked = ana.post(f"{URL}/releases", json={}).get_json()
    rui.post(f"{URL}/releases/{asked['id']}/approve", json={})
    save_sirs(ana, sirs_text(ana).replace("above 90", "above 95"), "Heart rate above 95")
    (released,) = rui.get(f"{URL}/releases").get_json()["releases"]
    assert released["status"] == "approved" and released["newer_versions"] is None


def test_a_long_run_of_later_saves_is_counted_and_the_newest_listed(ws):
    ana = ws.as_("Ana")
    ana.post(f"{URL}/releases", json={})
    text = sirs_text(ana)
    for n in range(12):
        text = text.replace(f"above {90 + n}", f"above {91 + n}")
        save_sirs(ana, text, f"Heart rate above {91 + n}")
    newer = waiting(ws.as_("Rui"))["newer_versions"]
    assert newer["count"] == 12 and len(newer["versions"]) == 10
    assert newer["versions"][0]["why"] == "Heart rate above 102" and newer["current_is"] is None


def test_who_may_not_read_rules_gets_the_count_only(ws):
    ana = ws.as_("Ana")
    ana.post(f"{URL}/releases", json={})
    save_sirs(ana, sirs_text(ana).replace("above 90", "above 95"), "Heart rate above 95")
    newer = waiting(ws.as_("Mia"))["newer_versions"]  # an ML engineer: released versions only
    assert newer == {"count": 1, "current": None, "current_is": None, "release": None, "versions": []}
