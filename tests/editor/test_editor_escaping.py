"""Whatever people type is shown as text, never run: a script payload in a rule's name, in a value of the rule,
in the reason for a change and in a feature's description (typed through the editor's own forms) appears
literally on every page that shows it, no dialog opens and no element is made from it.

Each test sets up what it starts from through the API (the author's test takes the payload rule and description
out if they are there; the readers' test puts them in if not), so they pass in any order.
"""
from __future__ import annotations

import pytest
from browser_support import call_api, pick_feature, signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAYLOAD = "<img src=x onerror=alert(1)>"
RULESET = "sepsis-triage"
PAYLOAD_RULE = f'rule "{PAYLOAD}"\nwhen notes contains "{PAYLOAD}"\nthen sepsis risk is "high"'


def assert_shown_as_text(page, where: str):
    expect(page.get_by_text(PAYLOAD, exact=False).first).to_be_visible()
    assert page.locator("img").count() == 0, f"an <img> element was made from the payload on {where}"
    assert page.evaluate("() => document.body.innerHTML.includes('<img')") is False, where


def payload_rule(bea) -> dict | None:
    rules = call_api(bea, "GET", f"/api/rulesets/{RULESET}/rules")["rules"]
    return next((r for r in rules if r["name"] == PAYLOAD), None)


def describe_notes(bea, description: str | None):
    """The 'notes' feature's description, set through the API if it is not already ``description``."""
    found = call_api(bea, "GET", f"/api/rulesets/{RULESET}/vocabulary")
    features = {f["name"]: {k: v for k, v in f.items() if k != "name" and not (k == "column" and v == f["name"])}
                for f in found["features"]}
    if features["notes"].get("description") == description:
        return
    features["notes"].pop("description", None)
    if description:
        features["notes"]["description"] = description
    call_api(bea, "PUT", f"/api/rulesets/{RULESET}/vocabulary",
             {"vocabulary": {"features": features}, "why": "Describe the notes field"}, version=found["version"])


def test_payloads_typed_into_the_editor_are_shown_as_text(people):
    bea = signed_in(people, "Bea Author")
    saved = payload_rule(bea)
    if saved:  # a test that ran before put it there
        call_api(bea, "DELETE", f"/api/rulesets/{RULESET}/rules/{saved['id']}", {"why": "Type it again"},
                 version=saved["version"])
    describe_notes(bea, None)
    page = bea.page
    bea.go("/rulesets/sepsis-triage/rules/new")
    page.get_by_label("Name of the rule").fill(PAYLOAD)
    pick_feature(page, "notes")
    page.get_by_label("Comparison").select_option("contains")
    page.get_by_label("Value", exact=True).fill(PAYLOAD)
    page.get_by_label("then sepsis risk is").select_option("high")
    expect(page.locator("#sentence")).to_contain_text(f'when notes contains "{PAYLOAD}"')
    expect(page.locator("#check-state")).to_have_text("No mistakes found.")
    page.get_by_role("button", name="Save…").click()
    page.get_by_label("Why are you making this change?").fill(PAYLOAD)
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-state")).to_contain_text("Saved by you")
    expect(page.locator("#rule-title")).to_have_text(PAYLOAD)
    assert_shown_as_text(page, "the editor")

    # A feature's description, through the vocabulary editor.
    bea.go("/rulesets/sepsis-triage/vocabulary")
    notes = page.locator("details.feature-editor").filter(has=page.locator("summary", has_text="notes"))
    notes.locator("summary").click()
    notes.get_by_label("Description").fill(PAYLOAD)
    page.get_by_role("button", name="Save the vocabulary…").click()
    page.get_by_label("Why are you making this change?").fill("Describe the notes field")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.get_by_text("The vocabulary is saved.")).to_be_visible()
    expect(notes.get_by_label("Description")).to_have_value(PAYLOAD)

    rules = bea.go("/rulesets/sepsis-triage")
    expect(rules.get_by_role("link", name=PAYLOAD)).to_be_visible()
    expect(rules.get_by_role("row", name=PAYLOAD)).to_contain_text(f'notes contains "{PAYLOAD}"')
    assert_shown_as_text(rules, "the rule set page")
    rules.get_by_role("link", name=PAYLOAD).click()
    rules.wait_for_load_state("networkidle")
    expect(rules.get_by_label("Name of the rule")).to_have_value(PAYLOAD)
    expect(rules.get_by_label("Value", exact=True)).to_have_value(PAYLOAD)
    expect(rules.locator(".feature-hint")).to_contain_text(PAYLOAD)     # the description, beside the feature
    expect(rules.locator("#saved-state")).to_contain_text(PAYLOAD)      # the why
    assert_shown_as_text(rules, "the rule editor")
    bea.screenshot("12-payload-shown-as-text")
    rule_url = rules.url

    history = bea.go("/rulesets/sepsis-triage/history")
    expect(history.locator("table tbody tr").filter(has_text="added a rule").first).to_contain_text(PAYLOAD)
    assert_shown_as_text(history, "the history")
    blame = bea.go(rule_url.split(bea.server.url, 1)[1] + "/blame")
    expect(blame.locator("table.blame-table")).to_contain_text(f'rule "{PAYLOAD}"')
    assert_shown_as_text(blame, "the blame")


def test_payloads_are_text_for_readers_too(people):
    bea = signed_in(people, "Bea Author")  # the payloads as the test before leaves them
    if payload_rule(bea) is None:
        call_api(bea, "POST", f"/api/rulesets/{RULESET}/rules", {"text": PAYLOAD_RULE, "why": PAYLOAD})
    describe_notes(bea, PAYLOAD)
    alex = signed_in(people, "Alex Auditor")
    page = alex.go("/rulesets/sepsis-triage/vocabulary")
    expect(page.get_by_role("row", name="notes")).to_contain_text(PAYLOAD)
    assert_shown_as_text(page, "the vocabulary (read only)")
    alex.go("/rulesets/sepsis-triage")
    page.get_by_role("link", name=PAYLOAD).click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#rule-title")).to_have_text(PAYLOAD)
    assert_shown_as_text(page, "the rule (read only)")
    alex.go("/audit")
    assert_shown_as_text(page, "the audit log")
