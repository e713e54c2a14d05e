"""The logic check in the browser: a page of its own listing every finding with its example case (linked from the
rule set's navigation), and the findings about the rule being edited beside the form."""
from __future__ import annotations

import pytest
from browser_support import signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RULESET = "breast-mass-triage"


def test_the_findings_page_lists_the_findings_with_example_cases(people):
    alex = signed_in(people, "Alex Auditor")
    page = alex.go(f"/rulesets/{RULESET}")
    page.get_by_role("link", name="Logic check").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="Logic check", level=1)).to_be_visible()
    conflicts = page.locator("#kind-conflict")
    expect(conflicts.get_by_role("heading")).to_contain_text("Rules that disagree on the same case")
    expect(conflicts.locator("li").first).to_contain_text("can both fire on the same case")
    expect(conflicts.locator("table.witness").first).to_contain_text("worst radius")
    gaps = page.locator("#kind-gap")
    expect(gaps.locator("li").first).to_contain_text("goes back to a person")
    alex.screenshot("findings")


def test_the_rule_editor_shows_the_findings_about_the_rule_beside_the_form(people):
    ana = signed_in(people, "Ana Author")
    page = ana.go(f"/rulesets/{RULESET}/rules/small-regular-nuclei")
    findings = page.locator("#rule-findings")
    expect(findings.locator("li").first).to_contain_text("'Small regular nuclei'", timeout=15_000)
    expect(findings).to_contain_text("conflict")
    expect(page.get_by_role("link", name="Every finding about this rule set")).to_be_visible()
    ana.screenshot("rule-findings")
