"""A save whose answer never reached the browser, pressed again: saved once, and said so, never a conflict with the
person's own change (the editor names each save with an Idempotency-Key and sends the same name again)."""
from __future__ import annotations

import pytest
from browser_support import call_api, signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RULESET = "sepsis-triage"  # not the journey's rule set: its release steps count the rules added
NAME = "Answer lost on the way back"


def the_rule(visitor) -> dict:
    """This test's own rule (made through the API the first time), so that it needs no other test's state."""
    rules = call_api(visitor, "GET", f"/api/rulesets/{RULESET}/rules")["rules"]
    found = next((r for r in rules if r["name"] == NAME), None)
    if found is None:
        call_api(visitor, "POST", f"/api/rulesets/{RULESET}/rules",
                 {"text": f'rule "{NAME}"\nwhen temperature is above 40\nthen sepsis risk is "high"',
                  "why": "A rule for the lost-answer test"})
        return the_rule(visitor)
    return found


def test_a_save_sent_again_after_its_answer_was_lost_is_saved_once(people):
    ana = signed_in(people, "Ana Author")
    rule = the_rule(ana)
    before = call_api(ana, "GET", f"/api/rulesets/{RULESET}/history?page=1&per_page=5")
    threshold = "41" if "above 40" in rule["text"] else "40"
    page = ana.go(f"/rulesets/{RULESET}/rules/{rule['id']}")
    page.get_by_label("Value", exact=True).first.fill(threshold)
    expect(page.locator("#sentence")).to_contain_text(f"temperature is above {threshold}")

    # The first try reaches the server and is saved, but its answer is lost on the way back.
    sent_keys = []

    def lose_the_answer(route):
        sent_keys.append(route.request.headers.get("idempotency-key"))
        route.fetch()
        route.abort("connectionreset")

    page.route(f"**/api/rulesets/{RULESET}/rules/{rule['id']}", lose_the_answer)
    page.get_by_role("button", name="Save…").click()
    page.get_by_label("Why are you making this change?").fill("Move the threshold")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_contain_text("Rulecraft cannot be reached")
    page.unroute(f"**/api/rulesets/{RULESET}/rules/{rule['id']}")
    ana.problems[:] = [p for p in ana.problems if "ERR_CONNECTION_RESET" not in p and "ERR_FAILED" not in p]

    # Pressed again, the same change with the same why: the server knows it, and the page says it is saved.
    sent_again = []
    page.on("request", lambda r: sent_again.append(r.headers.get("idempotency-key"))
            if r.method == "PUT" else None)
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-state")).to_contain_text("This change was already saved")
    expect(page.locator("#conflict")).to_be_empty()
    assert sent_keys[0] and sent_again == sent_keys, "the same change must carry the same save name"

    after = call_api(ana, "GET", f"/api/rulesets/{RULESET}/history?page=1&per_page=5")
    made = [v for v in after["versions"] if v not in before["versions"]]
    assert len(made) == 1, f"saved {len(made)} times"
    assert f"above {threshold}" in the_rule(ana)["text"]
