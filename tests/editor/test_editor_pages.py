"""The editor's other pages as people use them: the vocabulary editor refusing a change that would break rules,
opening and bringing back an earlier version, every field labelled, and pages readable at tablet width."""
from __future__ import annotations

import re

import pytest
from browser_support import UNLABELLED, call_api, signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def assert_labelled(page):
    assert page.evaluate(UNLABELLED) == [], f"unlabelled controls on {page.url}"


def assert_fits(page, width: int):
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= width, f"{page.url} is {overflow}px wide in a {width}px window"


def test_a_vocabulary_change_that_would_break_rules_is_refused_with_the_rules(people):
    bea = signed_in(people, "Bea Author")
    page = bea.page
    bea.allowed_status.add(422)
    bea.go("/rulesets/sepsis-triage/vocabulary")
    assert_labelled(page)
    location = page.locator("details.feature-editor").filter(has=page.locator("summary", has_text="location"))
    location.locator("summary").click()
    location.get_by_label("Kind of value").select_option("number")
    page.get_by_role("button", name="Save the vocabulary…").click()
    page.get_by_label("Why are you making this change?").fill("Locations become numbers")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    refusal = page.get_by_role("alert").filter(has_text="Not saved.")
    # The rule by its name (issue 15, item 10), its id only in the link's address and tooltip.
    expect(refusal).to_contain_text("This change would break 1 rule(s): “Small dot”")
    link = refusal.get_by_role("link", name="Small dot", exact=True)
    expect(link).to_have_attribute("href", "/rulesets/sepsis-triage/rules/dot")
    expect(link).to_have_attribute("title", "rule id: dot")
    bea.screenshot("13-vocabulary-refused")


def test_an_earlier_version_of_a_rule_is_opened_and_brought_back(people):
    bea = signed_in(people, "Bea Author")
    page = bea.go("/rulesets/sepsis-triage/rules/new")
    page.get_by_role("button", name="Text").click()
    text = page.get_by_label("The rule as text")
    text.fill('rule "High fever"\nwhen temperature is above 39.5\nthen sepsis risk is "high"')
    expect(page.locator("#check-state")).to_have_text("No mistakes found.")
    page.get_by_role("button", name="Save…").click()
    page.get_by_label("Why are you making this change?").fill("Very high fever alone is a warning sign")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-state")).to_contain_text("Saved by you")
    page.get_by_role("button", name="Text").click()
    text.fill(text.input_value().replace("39.5", "39"))
    page.get_by_role("button", name="Save…").click()
    page.get_by_label("Why are you making this change?").fill("Lower the fever threshold")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-state")).to_contain_text("Saved by you")

    page.get_by_role("link", name="History of this rule").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("History of “High fever”")
    rows = page.locator("table.history-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Lower the fever threshold")
    rows.nth(1).get_by_role("link", name="Open").click()
    page.wait_for_load_state("networkidle")
    banner = page.locator(".banner.earlier")
    expect(banner).to_contain_text("This is an earlier version, saved by Bea Author")
    expect(banner).to_contain_text("saved by Bea Author")
    expect(page.locator("#rule-text-view")).to_contain_text("temperature is above 39.5")
    bea.screenshot("14-earlier-version")
    banner.get_by_role("button", name="Bring this rule back as it was here…").click()
    page.get_by_label("Why are you making this change?").fill("39 caught too many ordinary fevers")
    page.get_by_role("dialog").get_by_role("button", name="Bring it back").click()
    page.wait_for_url(re.compile(r"/rulesets/sepsis-triage/rules/high-fever$"))
    page.wait_for_load_state("networkidle")
    expect(page.locator("#sentence")).to_contain_text("temperature is above 39.5")
    history = bea.go("/rulesets/sepsis-triage/rules/high-fever/history")
    expect(history.locator("table.history-table tbody tr").first).to_contain_text("brought back an earlier version")

    # The whole rule set at an earlier version, with who saved it.
    rule_set = bea.go("/rulesets/sepsis-triage/history")
    rule_set.locator("table.history-table tbody tr").last.get_by_role("link", name="Open").click()
    rule_set.wait_for_load_state("networkidle")
    expect(rule_set.locator(".banner.earlier")).to_contain_text("saved by Bea Author")
    expect(rule_set.locator(".banner.earlier")).to_contain_text("Start the sepsis triage rules")
    expect(rule_set.get_by_role("link", name="New rule")).to_have_count(0)
    expect(rule_set.locator("#rule-count")).to_have_text("2 rules")


@pytest.mark.parametrize("path", ["/", "/rulesets/breast-mass-triage", "/rulesets/breast-mass-triage/rules/new",
                                  "/rulesets/breast-mass-triage/rules/very-large-nuclei",
                                  "/rulesets/breast-mass-triage/history", "/rulesets/breast-mass-triage/compare",
                                  "/rulesets/breast-mass-triage/vocabulary", "/rulesets/breast-mass-triage/releases",
                                  "/rulesets/breast-mass-triage/analysis",
                                  "/rulesets/breast-mass-triage/reference-cases",
                                  "/password"])
def test_pages_are_labelled_and_fit_a_tablet(people, path):
    ana = signed_in(people, "Ana Author", width=800, height=1100)
    page = ana.go(path)
    page.wait_for_timeout(400)  # the live check of the editor
    assert_labelled(page)
    assert_fits(page, 800)
    name = path.strip("/").replace("/", "-").replace("rulesets-breast-mass-triage", "tablet") or "tablet-home"
    ana.screenshot(f"15-{name if name.startswith('tablet') else 'tablet-' + name}")


def test_the_header_says_who_is_signed_in_and_pages_follow_the_role(people, server):
    rui = signed_in(people, "Rui Reviewer")
    page = rui.go("/")
    expect(page.locator("header .who")).to_contain_text("Signed in as Rui Reviewer")
    expect(page.locator("header .badge.role")).to_have_text("reviewer")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    rui.go("/rulesets/breast-mass-triage/rules/very-large-nuclei")
    expect(page.locator("input, textarea, select")).to_have_count(0)
    rui.allowed_status.add(403)  # the "not for your role" page answers 403
    assert rui.go("/audit").locator("h1").text_content() == "This page is not for your role"
    # Signing out ends the session: the pages ask to sign in again.
    page = rui.go("/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/sign-in"))
    rui.go("/rulesets/breast-mass-triage")
    assert "/sign-in?next=" in page.url


def test_every_demo_rule_goes_through_the_form_and_the_text_unchanged(people, server):
    """Form and text lose nothing: each rule, loaded into the form, is written back by the server exactly as it
    was saved (nested groups, 'at least N of', 'not', 'or' included), and text -> form -> text is the same."""
    ana = signed_in(people, "Ana Author")
    page = ana.go("/rulesets/breast-mass-triage")
    links = page.locator("table.rules-table tbody th a")
    targets = [(links.nth(i).text_content(), links.nth(i).get_attribute("href")) for i in range(links.count())]
    assert len(targets) >= 12
    for name, href in targets:
        page = ana.go(href)
        stored = page.locator("#sentence")
        expect(page.locator("#check-state")).to_have_text(re.compile(r"^No mistakes"))
        saved_text = ana.page.evaluate(
            "async (href) => (await (await fetch('/api' + href)).json()).text", href)
        expect(stored).to_have_text(saved_text)
        page.get_by_role("button", name="Text").click()
        expect(page.get_by_label("The rule as text")).to_have_value(saved_text)
        page.get_by_role("button", name="Form").click()
        page.get_by_role("button", name="Text").click()
        expect(page.get_by_label("The rule as text")).to_have_value(saved_text)
        if name == "Several signs of malignancy":
            page.get_by_role("button", name="Form").click()
            expect(page.get_by_label("The rule applies when:")).to_have_value("atleast")
            expect(page.get_by_label("How many:")).to_have_value("3")
            expect(page.get_by_label("Feature")).to_have_count(6)


def test_a_session_that_ends_while_writing_loses_nothing(people, server):
    """Signed out in another tab while writing: the editor keeps the rule and says so; after signing in again
    (in that other tab) the same page checks and saves, with the new session's token. The rule is put back as it
    was afterwards: a release asked for later (the journey's) shows only its own change."""
    ana = signed_in(people, "Ana Author")
    rule = "/api/rulesets/breast-mass-triage/rules/very-large-nuclei"
    original = call_api(ana, "GET", rule)["text"]
    try:
        _sign_out_while_writing_and_save(ana, server)
    finally:
        found = call_api(ana, "GET", rule)
        if found["text"] != original:
            call_api(ana, "PUT", rule, {"text": original, "why": "Back as it was"}, version=found["version"])


def _sign_out_while_writing_and_save(ana, server):
    ana.allowed_status.update({401, 403})
    page = ana.go("/rulesets/breast-mass-triage/rules/very-large-nuclei")
    expect(page.locator("#check-state")).to_have_text(re.compile(r"^No mistakes"))
    other = ana.context.new_page()
    other.goto(server.url + "/")
    other.get_by_role("button", name="Sign out").click()
    other.wait_for_url(re.compile("/sign-in"))
    page.get_by_label("Because (optional)").fill("Marked nuclear enlargement is a classic feature of malignancy.")
    expect(page.locator("#signed-out")).to_contain_text("You have been signed out")
    assert "/rulesets/breast-mass-triage/rules/very-large-nuclei" in page.url
    other.get_by_label("Your name").fill("Ana Author")
    other.get_by_label("Password").fill(server.password_of("Ana Author"))
    other.get_by_role("button", name="Sign in").click()
    other.wait_for_url(server.url + "/")
    other.close()
    page.get_by_label("Because (optional)").fill("Marked nuclear enlargement is a classic sign of malignancy.")
    expect(page.locator("#signed-out")).to_be_empty()
    expect(page.locator("#sentence")).to_contain_text("classic sign of malignancy")
    page.get_by_role("button", name="Save…").click()
    page.get_by_label("Why are you making this change?").fill("Shorter reason")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-state")).to_contain_text("Saved by you")


def test_a_rule_is_written_and_saved_with_the_keyboard_alone(people):
    bea = signed_in(people, "Bea Author")
    page = bea.go("/rulesets/sepsis-triage/rules/new")
    keys = page.keyboard
    keys.type("Fever and a fast pulse")                       # the name field has focus on a new rule
    for _ in range(3):
        keys.press("Tab")                                     # group kind, "not", the feature field
    keys.type("temper")                                       # found by typing (issue 15, item 13)
    keys.press("Enter")                                       # the first match, highlighted: temperature
    keys.press("Tab")                                         # comparison: "is above" for a number
    keys.press("Tab")
    keys.type("38")
    keys.press("Tab")                                         # remove
    keys.press("Tab")                                         # + Add a condition
    keys.press("Enter")                                       # the new row's feature field gets focus
    keys.type("pulse")                                        # a synonym finds heart rate
    keys.press("ArrowDown")                                   # arrow keys move in the list (one match: stays)
    keys.press("Enter")
    keys.press("Tab")
    keys.press("Tab")
    keys.type("90")
    for _ in range(5):
        keys.press("Tab")                                     # remove, add, add group, concludes, the label
    keys.type("high")
    expect(page.locator("#sentence")).to_have_text(
        'rule "Fever and a fast pulse"\nwhen temperature is above 38\n  and heart rate is above 90\n'
        'then sepsis risk is "high"')
    expect(page.locator("#check-state")).to_have_text("No mistakes found.")
    page.get_by_role("button", name="Save…").focus()
    keys.press("Enter")
    keys.type("Two SIRS signs together")                      # the reason field has focus in the dialog
    keys.press("Tab")
    keys.press("Enter")
    expect(page.locator("#saved-state")).to_contain_text("Saved by you")
