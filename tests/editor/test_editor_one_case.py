"""Try a rule on one typed case, and find a feature by typing (issue 15, items 12 and 13)."""
from __future__ import annotations

import pytest
from browser_support import signed_in
from playwright.sync_api import expect
from test_editor_accessibility import axe_source, violations

pytestmark = pytest.mark.browser


def test_one_typed_case_shows_each_condition_and_the_rule_sets_answer(people):
    bea = signed_in(people, "Bea Author")
    page = bea.go("/rulesets/sepsis-triage/rules/new")
    page.get_by_role("button", name="Text").click()
    page.locator("#rule-text-mode textarea").fill(
        'rule "Hot and fast"\npriority 5\nwhen temperature is above 39\n  and heart rate is above 100\n'
        'then sepsis risk is "high"')
    panel = page.locator("#one-case-panel")
    # The rule's features are listed to fill in; blank is unknown, never false.
    expect(panel.get_by_label("temperature", exact=True)).to_be_visible()
    panel.get_by_label("temperature", exact=True).fill("40")
    conditions = panel.locator(".one-case-conditions li")
    expect(conditions.nth(0)).to_contain_text("holds")
    expect(conditions.nth(1)).to_contain_text("unknown")
    expect(conditions.nth(1)).to_contain_text("no value for heart rate")
    expect(panel.locator(".one-case-whole")).to_contain_text("Not known with these values")
    # white cell count is unknown and temperature above 38: "Two or more SIRS criteria" decides
    expect(panel.locator(".one-case-answer")).to_contain_text("Decided by “Two or more SIRS criteria”")
    panel.get_by_label("heart rate", exact=True).fill("80")
    expect(conditions.nth(1)).to_contain_text("does not hold")
    panel.get_by_label("heart rate", exact=True).fill("120")
    expect(panel.locator(".one-case-whole")).to_contain_text("the rule fires")
    expect(panel.locator(".one-case-answer")).to_contain_text("Answers high. Decided by “Hot and fast”")
    # Any other feature can be added by typing its synonym; a value that cannot be read is named, not a 500.
    panel.get_by_label("Add to the case (type a name)").fill("puls")
    expect(panel.locator("[role=listbox] [role=option]")).to_have_count(0)  # heart rate (alias pulse) is listed already
    panel.get_by_label("Add to the case (type a name)").fill("white")
    panel.get_by_label("Add to the case (type a name)").press("Enter")
    expect(panel.get_by_label("white cell count", exact=True)).to_be_focused()
    page.keyboard.type("lots")
    expect(panel.locator(".one-case-result")).to_contain_text("white cell count:")
    panel.get_by_label("white cell count", exact=True).fill("7")
    expect(panel.locator(".one-case-answer")).to_contain_text("Decided by “Hot and fast”")
    panel.scroll_into_view_if_needed()
    bea.screenshot("one-case")
    bea.discard_changes()


def test_a_feature_is_found_by_typing_names_synonyms_and_descriptions(people):
    ana = signed_in(people, "Ana Author")
    page = ana.go("/rulesets/sepsis-triage/rules/new")
    find = page.locator("#one-case-panel").get_by_role("combobox", name="Add to the case (type a name)")
    find.fill("body temp")  # the description of "temperature"
    options = page.locator("#one-case-panel [role=listbox] [role=option]")
    expect(options.first).to_contain_text("temperature")
    expect(find).to_have_attribute("aria-expanded", "true")
    expect(find).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    ana.screenshot("feature-combobox")
    find.fill("rate")  # multi-word names: type-ahead past the first space
    expect(options).to_have_count(2)
    find.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    find.press("Enter")
    expect(page.locator("#one-case-panel").get_by_label("respiratory rate", exact=True)).to_be_visible()
    find.fill("zzz")
    expect(page.locator(".feature-option.none")).to_contain_text("No feature matches")
    find.press("Escape")
    expect(find).to_have_attribute("aria-expanded", "false")
    ana.discard_changes()


def test_the_open_feature_list_has_no_serious_accessibility_violation(people):
    axe = axe_source()
    ana = signed_in(people, "Ana Author")
    page = ana.go("/rulesets/breast-mass-triage/rules/new")
    page.locator("#one-case-panel").get_by_role("combobox", name="Add to the case (type a name)").fill("worst")
    expect(page.locator("#one-case-panel [role=option]").first).to_be_visible()
    assert violations(page, axe) == []
    ana.discard_changes()


def test_the_forms_feature_is_found_by_typing_past_the_first_space(people):
    """Issue 15, item 13: the list's own type-ahead stops at the first space and a plain list of 300 names does not
    serve: the Feature field itself is the search (names, synonyms, descriptions; arrow keys, Enter)."""
    ana = signed_in(people, "Ana Author")
    page = ana.go("/rulesets/breast-mass-triage/rules/new")
    feature = page.get_by_role("combobox", name="Feature", exact=True)
    expect(feature).to_have_count(1)
    expect(page.locator("#rule-form select.feature")).to_have_count(0)  # no plain list of names any more
    feature.press_sequentially("concave worst")  # words in any order
    expect(feature).to_have_attribute("aria-expanded", "true")
    options = page.locator("#rule-form [role=listbox] [role=option]")
    expect(options.first).to_contain_text("worst concave points")
    ana.screenshot("form-feature-combobox")
    feature.press("Enter")
    # The field shows the choice and keeps the focus, and the rule reads it.
    expect(feature).to_have_value("worst concave points")
    expect(feature).to_be_focused()
    expect(feature).to_have_attribute("aria-expanded", "false")
    page.get_by_label("Value", exact=True).fill("0.2")
    page.get_by_label("Name of the rule").fill("Concave")
    page.get_by_label("then diagnosis is").select_option("malignant")
    expect(page.locator("#sentence")).to_contain_text("worst concave points is above 0.2")
    # A synonym and words of a description find features too; arrow keys move through the matches.
    feature.fill("")
    feature.press_sequentially("indented portions")  # only in the descriptions of the concave points features
    expect(options.first).to_contain_text("concave points")
    expect(options.first).to_have_attribute("aria-selected", "true")
    feature.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(feature).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    # Escape closes the list; a second Escape puts the chosen name back.
    feature.press("Escape")
    expect(feature).to_have_attribute("aria-expanded", "false")
    feature.press("Escape")
    expect(feature).to_have_value("worst concave points")
    feature.fill("")
    feature.press_sequentially("largest concave")  # the synonym of worst concave points
    expect(options.first).to_contain_text("also called “largest concave points”")
    feature.press("Enter")
    expect(feature).to_have_value("worst concave points")
    # Tab takes the highlighted match on the way out, as Enter does.
    feature.fill("")
    feature.press_sequentially("mean radi")
    feature.press("Tab")
    expect(feature).to_have_value("mean radius")
    expect(page.get_by_label("Comparison")).to_be_focused()
    feature.fill("")
    feature.press_sequentially("worst concave points")
    feature.press("Enter")
    # A name typed that is not in the vocabulary is kept as typed, and the check offers the fix beside it.
    feature.fill("worst concave pionts")
    page.get_by_label("Value", exact=True).focus()
    beside = page.locator(".field-problem").filter(has_text="There is no feature called 'worst concave pionts'")
    expect(beside).to_be_visible()
    beside.get_by_role("button", name="Use “worst concave points”").click()
    expect(feature).to_have_value("worst concave points")
    expect(page.locator("#check-state")).to_have_text("No mistakes found.")
    expect(page.get_by_label("Value", exact=True)).to_have_value("0.2")  # the value stayed
    ana.discard_changes()
