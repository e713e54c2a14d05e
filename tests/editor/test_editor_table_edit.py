"""The Table page edited in place: a cell's mistake shown at the cell, fixed, a row added, all saved as one version
with one why (issue 19, item 2). Works on a rule set of its own, so other tests' state is left alone."""
from __future__ import annotations

import uuid

import pytest
from browser_support import UNLABELLED, call_api, signed_in
from playwright.sync_api import expect
from test_editor_accessibility import axe_source, violations

pytestmark = pytest.mark.browser


def own_ruleset(visitor) -> str:
    title = f"Table edit {uuid.uuid4().hex[:8]}"
    made = call_api(visitor, "POST", "/api/rulesets", {
        "settings": {"title": title, "outcome": {"name": "sepsis risk", "labels": ["low", "high"]},
                     "policy": "first match", "default": "low"},
        "vocabulary": {"features": {
            "temperature": {"type": "number", "unit": "°C", "range": [30, 45]},
            "heart rate": {"type": "number", "range": [20, 250]},
            "location": {"type": "category", "values": ["margin", "border", "centre"]}}},
        "why": "A rule set for the table-edit test"})
    ruleset = made["id"]
    for text in ('rule "Fever" when temperature is above 38 then sepsis risk is "high"',
                 'rule "Fast heart" priority 1 when heart rate is above 120 and location is "centre" then '
                 'sepsis risk is "high"',
                 'rule "Either" when temperature is below 35 or heart rate is below 40 then sepsis risk is "high"'):
        call_api(visitor, "POST", f"/api/rulesets/{ruleset}/rules", {"text": text, "why": "Start"})
    return ruleset


def test_edit_a_cell_see_the_mistake_fix_it_add_a_row_and_save(people):
    bea = signed_in(people, "Bea Author")
    ruleset = own_ruleset(bea)
    before = len(call_api(bea, "GET", f"/api/rulesets/{ruleset}/history")["versions"])
    page = bea.go(f"/rulesets/{ruleset}/table")
    page.get_by_role("button", name="Edit the table here").click()
    table = page.locator("table.decision-table.editing")
    # the rule with an "or" does not fit: read-only, with its form one click away
    fixed = table.locator("tr.fixed")
    expect(fixed).to_contain_text("Does not fit the table")
    expect(fixed.get_by_role("link", name="Either")).to_have_attribute("href", f"/rulesets/{ruleset}/rules/either")

    cell = page.get_by_label("temperature of Fever")
    cell.fill("abvoe 39")
    expect(cell).to_have_attribute("aria-invalid", "true")
    message = cell.locator("xpath=following-sibling::p[contains(@class, 'field-error')]")
    expect(message).to_contain_text("cannot be read as a condition on temperature")
    expect(page.locator(".table-status")).to_contain_text("1 problem to fix")
    assert page.evaluate(UNLABELLED) == []
    assert violations(page, axe_source()) == []
    bea.screenshot("33-table-edit-mistake")

    cell.fill("above 39")
    expect(cell).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator(".table-status")).to_contain_text("Ready to save: 0 added, 1 changed, 0 removed.")

    page.get_by_label("priority of Fast heart").fill("5")
    page.get_by_role("button", name="Add a row").click()
    page.get_by_label("rule of the new rule").fill("Cold and slow")
    page.get_by_label("temperature of Cold and slow").fill("below 35")
    page.get_by_label("heart rate of Cold and slow").fill("below 50")
    page.get_by_label("conclusion of Cold and slow").fill("high")
    expect(page.locator(".table-status")).to_contain_text("Ready to save: 1 added, 2 changed, 0 removed.")
    bea.screenshot("34-table-edit-ready")

    page.get_by_role("button", name="Save changes…").click()
    page.get_by_label("Why are you making this change?").fill("Thresholds from the ward audit")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#table")).to_contain_text("Saved as version")
    expect(page.locator("table.decision-table")).to_contain_text("Cold and slow")

    history = call_api(bea, "GET", f"/api/rulesets/{ruleset}/history")["versions"]
    assert len(history) == before + 1 and history[0]["why"] == "Thresholds from the ward audit"
    rules = {r["id"]: r["text"] for r in call_api(bea, "GET", f"/api/rulesets/{ruleset}/rules")["rules"]}
    assert "temperature is above 39" in rules["fever"]
    assert "priority 5" in rules["fast-heart"]
    assert "temperature is below 35" in rules["cold-and-slow"] and "heart rate is below 50" in rules["cold-and-slow"]
    assert "or heart rate is below 40" in rules["either"]


def test_a_stale_table_is_refused_with_a_way_to_reload(people):
    bea = signed_in(people, "Bea Author")
    bea.allowed_status.add(409)
    ruleset = own_ruleset(bea)
    page = bea.go(f"/rulesets/{ruleset}/table")
    page.get_by_role("button", name="Edit the table here").click()
    page.get_by_label("priority of Fever").fill("3")
    expect(page.locator(".table-status")).to_contain_text("Ready to save")
    # someone else changes the same rule in between
    fever = call_api(bea, "GET", f"/api/rulesets/{ruleset}/rules/fever")
    call_api(bea, "PUT", f"/api/rulesets/{ruleset}/rules/fever",
             {"text": 'rule "Fever" when temperature is above 38.5 then sepsis risk is "high"', "why": "Meanwhile"},
             version=fever["version"])
    page.get_by_role("button", name="Save changes…").click()
    page.get_by_label("Why are you making this change?").fill("Fever first")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator(".table-status")).to_contain_text("Someone else saved a change to this rule set")
    bea.screenshot("35-table-edit-stale")
    page.get_by_role("button", name="Load the current table (your edits are dropped)").click()
    expect(page.locator("table.decision-table")).to_contain_text("above 38.5")
