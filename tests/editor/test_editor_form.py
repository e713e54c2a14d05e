"""The rule form keeps what a person typed and says kindly what is still needed (issue 15, items 1 and 5)."""
from __future__ import annotations

import re

import pytest
from browser_support import pick_feature, signed_in
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
    pick_feature(page, "temperature")
    expect(needed).not_to_contain_text("Choose what this condition tests.")
    bea.discard_changes()


def test_choosing_another_feature_keeps_the_value_or_says_it_was_cleared(people):
    bea = signed_in(people, "Bea Author")
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_label("Name of the rule").fill("Fever")
    page.get_by_label("then sepsis risk is").select_option("high")
    pick_feature(page, "temperature")
    page.get_by_label("Value", exact=True).fill("39")
    expect(page.locator("#sentence")).to_contain_text("temperature is above 39")
    # Another number: the value stays.
    pick_feature(page, "heart rate")
    expect(page.get_by_label("Value", exact=True)).to_have_value("39")
    expect(page.locator(".cleared")).to_have_count(0)
    expect(page.locator("#sentence")).to_contain_text("heart rate is above 39")
    # A category cannot hold 39: cleared, and the row says so.
    pick_feature(page, "location")
    expect(page.locator(".cleared")).to_have_text("39 was cleared: “location” takes margin, border, centre.")
    bea.screenshot("form-value-cleared")
    bea.discard_changes()


def test_text_mode_wraps_long_lines_and_shows_where_a_mistake_is(people):
    """Issue 15, item 6: positions read 'Line 5, column 100' and the marked word could scroll out of sight."""
    bea = signed_in(people, "Bea Author", width=900)
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_role("button", name="Text").click()
    text = page.get_by_label("The rule as text")
    because = "a long explanation " * 12
    text.fill(f'rule "Long"\nwhen temperature is above 39\n  and heart rate is above 90\n  and white cell count '
              f'is above 12\n  and respiratry rate is above 20\nthen sepsis risk is "high"\nbecause "{because}"')
    summary = page.locator("#problems-summary")
    expect(summary).to_contain_text("Line 5, at “respiratry rate”: There is no feature called 'respiratry rate'")
    # No sideways scrolling: the long line wraps, in the box and in the layer of marks behind it.
    assert text.evaluate("t => t.scrollWidth <= t.clientWidth + 1")
    gutter = page.locator(".gutter > div")
    expect(gutter).to_have_count(7)
    heights = gutter.evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert heights[6] > 2 * heights[0], heights  # line 7 (the long "because") takes several rows, and its number too
    # The mark sits on the misspelt words: same place as the letters in the box.
    mark = page.locator(".mirror mark.error")
    expect(mark).to_have_text("respiratry rate")
    # "show" brings the marked place into view and selects it.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    summary.get_by_role("button", name="show").first.click()
    expect(mark).to_be_in_viewport()
    assert text.evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)") == "respiratry rate"
    bea.screenshot("text-mode-wrapped")
    bea.discard_changes()


def test_the_one_click_fix_is_offered_beside_the_field_in_the_form(people):
    """Issue 15, item 4: "Use 'temperature'" existed in text mode only."""
    bea = signed_in(people, "Bea Author")
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_role("button", name="Text").click()
    page.get_by_label("The rule as text").fill('rule "Fever"\nwhen temprature is above 39\nthen sepsis risk is "high"')
    expect(page.locator("#problems-summary")).to_contain_text("There is no feature called 'temprature'")
    page.get_by_role("button", name="Form").click()
    beside = page.locator(".field-problem").filter(has_text="temprature")
    expect(beside).to_be_visible()
    beside.get_by_role("button", name="Use “temperature”").click()
    expect(page.get_by_label("Feature")).to_have_value("temperature")
    expect(page.locator("#check-state")).to_have_text("No mistakes found.")
    expect(page.locator("#sentence")).to_contain_text("when temperature is above 39")
    bea.discard_changes()


def test_feature_names_are_not_cut_off_in_nested_groups_on_a_phone(people):
    """Issue 15, item 17: at 390 px, feature names were cut off three groups deep."""
    ana = signed_in(people, "Ana Author", width=390, height=844)
    page = ana.go("/rulesets/breast-mass-triage/rules/new")
    page.get_by_role("button", name="+ Add a group").click()
    page.locator("fieldset.group fieldset.group").first.get_by_role("button", name="+ Add a group").click()
    features = page.locator("input.feature")
    for i in range(features.count()):
        pick_feature(page, "worst concave points", nth=i)
    expect(features).to_have_count(5)  # one, a group of two, and a group of two in it
    # Each field is wide enough for the chosen name (measured in its own font) and its padding.
    cut = features.evaluate_all("""inputs => inputs.filter((s) => {
        const context = document.createElement("canvas").getContext("2d");
        const style = getComputedStyle(s);
        context.font = style.font;
        const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        return !s.value || context.measureText(s.value).width + padding > s.clientWidth;
    }).length""")
    assert cut == 0, f"{cut} feature names cut off"
    assert page.evaluate("document.documentElement.scrollWidth <= 390")  # no sideways scrolling
    ana.screenshot("form-nested-groups-390")
    ana.discard_changes()


def test_a_checkbox_keeps_its_label_beside_it_on_a_phone(people):
    """At 390 px, "The rule concludes something about …" wrapped below its box, which stood alone on a line."""
    ana = signed_in(people, "Ana Author", width=390, height=844)
    page = ana.go("/rulesets/breast-mass-triage/rules/new")
    for label in ("The rule concludes something about diagnosis", "In use (the rule takes part in decisions)"):
        box = page.get_by_label(label).bounding_box()
        text = page.locator("label", has_text=label).bounding_box()
        assert text["x"] > box["x"] + box["width"] and text["y"] < box["y"] + box["height"], (label, box, text)
    ana.discard_changes()


def test_a_unit_on_a_feature_without_one_can_be_removed_in_the_form(people):
    """Issue 15, item 3: "2 cm" typed in text mode became a fixed label in the form, while the message said to remove
    the unit."""
    bea = signed_in(people, "Bea Author")
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_role("button", name="Text").click()
    text = 'rule "Pulse"\nwhen heart rate is above 100 cm\nthen sepsis risk is "high"'
    page.get_by_label("The rule as text").fill(text)
    expect(page.locator("#problems-summary")).to_contain_text("cm")
    page.get_by_role("button", name="Form").click()
    unit = page.get_by_label("Unit of value")
    expect(unit).to_have_value("cm")
    unit.select_option(label="no unit")
    expect(page.locator("#check-state")).to_have_text("No mistakes found.")
    expect(page.locator("#sentence")).to_contain_text("when heart rate is above 100\n")
    bea.discard_changes()


def test_a_blank_field_does_not_hide_the_other_mistakes(people):
    """Issue 15, item 2: while one field was blank, every other problem (confidence 1.5, a "cm" unit) vanished from
    the form, and the sentence panel kept the old text."""
    bea = signed_in(people, "Bea Author")
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_role("button", name="Text").click()
    page.get_by_label("The rule as text").fill('rule "Fast and hot"\nwhen heart rate is above 100 cm\n'
                                               '  and temperature is above 39\nthen sepsis risk is "high"')
    expect(page.locator("#problems-summary")).to_contain_text("without 'cm'")
    page.get_by_role("button", name="Form").click()
    page.get_by_label("with confidence").fill("1.5")
    page.get_by_label("Value", exact=True).nth(1).fill("")  # temperature: blank
    beside = page.locator(".field-problem")
    blank = beside.filter(has_text="Enter a number.")
    confidence = beside.filter(has_text="Confidence is a number above 0 and at most 1")
    unit = beside.filter(has_text="'heart rate' has no unit in the vocabulary, so write the number without 'cm'.")
    for message in (blank, confidence, unit):
        expect(message).to_be_visible()
    summary = page.locator("#problems-summary")
    expect(summary).to_contain_text("3 mistakes to fix")
    expect(page.locator("#check-state")).to_have_text("3 mistakes to fix before saving.")
    # Each "show" is named with its own mistake, so a screen reader tells them apart.
    expect(summary.get_by_role("button", name=re.compile(r"^show\W+Confidence is a number above 0"))).to_have_count(1)
    summary.get_by_role("button", name=re.compile(r"^show\W+Enter a number\.")).click()
    expect(page.get_by_label("Value", exact=True).nth(1)).to_be_focused()
    # The sentence shows what the form holds, the blank as "…".
    expect(page.locator("#sentence")).to_have_text('rule "Fast and hot"\nwhen heart rate is above 100 cm\n'
                                                   '  and temperature is above …\n'
                                                   'then sepsis risk is "high" with confidence 1.5')
    expect(page.locator("#sentence")).not_to_have_class(re.compile("stale"))
    bea.screenshot("form-blank-among-other-mistakes")
    # Filling the blank in: it goes, the two others stay.
    page.get_by_label("Value", exact=True).nth(1).fill("39")
    expect(blank).to_have_count(0)
    expect(confidence).to_be_visible()
    expect(unit).to_be_visible()
    expect(page.locator("#sentence")).to_contain_text("and temperature is above 39\n")
    bea.discard_changes()


def test_mistakes_show_while_untouched_fields_are_still_to_fill_in(people):
    """Issue 15, items 2 and 5: on a new rule, a mistake shows at once beside its field, and the fields not visited
    yet stay a kind list of what to fill in, next to it."""
    bea = signed_in(people, "Bea Author")
    page = bea.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_label("Name of the rule").fill("Fast pulse")
    pick_feature(page, "heart rate")
    page.get_by_label("with confidence").fill("1.5")
    expect(page.locator(".field-problem").filter(has_text="Confidence is a number above 0")).to_be_visible()
    summary = page.locator("#problems-summary")
    expect(summary).to_contain_text("1 mistake to fix")
    expect(summary.locator(".still-needed")).to_contain_text("Enter a number.")
    expect(summary.locator(".still-needed")).to_contain_text("Choose what the rule concludes about sepsis risk.")
    expect(page.locator("#sentence")).to_have_text('rule "Fast pulse"\nwhen heart rate is above …\n'
                                                   "then sepsis risk is … with confidence 1.5")
    bea.screenshot("form-mistake-and-still-to-fill-in")
    bea.discard_changes()
