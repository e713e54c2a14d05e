"""The rule form keeps what a person typed and says kindly what is still needed (issue 15, items 1 and 5)."""
from __future__ import annotations

import pytest
from browser_support import signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RULESET = "sepsis-triage"


def test_an_empty_new_rule_lists_what_to_fill_in_not_mistakes(people):
    bea = signed_in(people, "Bea Author")
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    needed = page.locator("#problems-summary")
    expect(needed).to_contain_text("Still to fill in")
    expect(needed).to_contain_text("Choose what this condition tests.")
    expect(page.locator("#check-state")).to_have_text("A few fields are still to fill in.")
    assert "mistakes to fix" not in page.locator("main").inner_text()
    bea.screenshot("form-new-rule-still-to-fill-in")
    # Once a field is filled in, it leaves the list.
    page.get_by_label("Feature").select_option("temperature")
    expect(needed).not_to_contain_text("Choose what this condition tests.")
    bea.discard_changes()


def test_choosing_another_feature_keeps_the_value_or_says_it_was_cleared(people):
    bea = signed_in(people, "Bea Author")
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_label("Name of the rule").fill("Fever")
    page.get_by_label("then sepsis risk is").select_option("high")
    page.get_by_label("Feature").select_option("temperature")
    page.get_by_label("Value", exact=True).fill("39")
    expect(page.locator("#sentence")).to_contain_text("temperature is above 39")
    # Another number: the value stays.
    page.get_by_label("Feature").select_option("heart rate")
    expect(page.get_by_label("Value", exact=True)).to_have_value("39")
    expect(page.locator(".cleared")).to_have_count(0)
    expect(page.locator("#sentence")).to_contain_text("heart rate is above 39")
    # A category cannot hold 39: cleared, and the row says so.
    page.get_by_label("Feature").select_option("location")
    expect(page.locator(".cleared")).to_have_text("39 was cleared: “location” takes margin, border, centre.")
    bea.screenshot("form-value-cleared")
    bea.discard_changes()
