"""Rules suggested from the reference cases, in a real browser (issue 18): an author asks for suggestions, starts
from one, moves a threshold in the explorer plot, and saves it with the why prefilled from where it came from.

Runs in any order with the other modules: the rule saved here has a name of its own and is deleted at the end."""
from __future__ import annotations

import os

import pytest
from browser_support import call_api, signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RULESET = "breast-mass-triage"
NAME = "Started from a suggestion in the browser"


def remove_rule(visitor):
    found = call_api(visitor, "GET", f"/api/rulesets/{RULESET}/rules")
    for rule in found["rules"]:
        if rule["name"] == NAME:
            call_api(visitor, "DELETE", f"/api/rulesets/{RULESET}/rules/{rule['id']}",
                     {"why": "Tidy up after the suggestions journey"}, version=rule["version"])


def test_ask_for_suggestions_start_from_one_move_a_threshold_and_save(people, tmp_path):
    ana = signed_in(people, "Ana Author")
    remove_rule(ana)
    page = ana.go(f"/rulesets/{RULESET}")
    page.get_by_role("link", name="Suggest rules").click()
    page.get_by_label("Rules concluding").select_option("malignant")
    page.get_by_role("button", name="Suggest rules").click()
    first = page.locator("li.suggestion").first
    expect(first).to_contain_text('then diagnosis is "malignant"')
    expect(first).to_contain_text("held out from the search")
    expect(first).to_contain_text("Existing rules on the same cases")
    suggested = first.locator("pre").inner_text()
    page.screenshot(path=str(tmp_path / "suggestions.png"), full_page=True)

    first.get_by_role("button", name="Start from this").click()
    expect(page.locator("#saved-state")).to_contain_text("Started from a suggested rule")
    sentence = page.locator("#sentence")
    expect(sentence).to_have_text(suggested)
    plot = page.locator("#explore-plot")
    expect(plot).to_be_visible()
    box = plot.bounding_box()
    plot.click(position={"x": box["width"] * 0.3, "y": box["height"] / 2})
    expect(sentence).not_to_have_text(suggested)
    expect(page.locator("#explore-readout")).to_contain_text("right in")
    moved = sentence.inner_text()
    page.get_by_label("Name of the rule").fill(NAME)
    page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)

    page.get_by_role("button", name="Save…").click()
    why = page.get_by_label("Why are you making this change?")
    assert "suggested by the data set" in why.input_value()
    why.fill(why.input_value() + " Moved the threshold after looking at the plot.")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-state")).to_contain_text("Saved by you")
    saved = next(r for r in call_api(ana, "GET", f"/api/rulesets/{RULESET}/rules")["rules"] if r["name"] == NAME)
    assert saved["text"].split("\n", 1)[1] == moved.split("\n", 1)[1]
    if os.environ.get("RULECRAFT_KEEP_SCREENSHOTS"):
        page.screenshot(path=os.environ["RULECRAFT_KEEP_SCREENSHOTS"] + "/explorer-saved.png", full_page=True)
    remove_rule(ana)
