"""Accessibility as a check, not a hope (issue 15, item 18): axe-core, from the npm registry, runs on every page of
every role's journey; no serious or critical violation. And keyboard focus goes where the person's attention is.

axe-core is found at RULECRAFT_AXE (a path to axe.min.js; .ci/run installs it with npm) or in a node_modules folder
beside the repository; without it these tests skip, or fail under RULECRAFT_REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_support import call_api, signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RULESET = "breast-mass-triage"


def axe_source() -> str:
    candidates = [os.environ.get("RULECRAFT_AXE", ""), ROOT / "node_modules/axe-core/axe.min.js",
                  ROOT / ".ci/node_modules/axe-core/axe.min.js"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text(encoding="utf-8")
    why = "axe-core is not installed (npm install axe-core; or set RULECRAFT_AXE to axe.min.js)"
    if os.environ.get("RULECRAFT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why}; RULECRAFT_REQUIRE_BROWSER=1 says the accessibility checks must run")
    pytest.skip(why)


@pytest.fixture(scope="module")
def axe():
    return axe_source()


def violations(page, axe: str) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line each."""
    # Evaluated through the browser's debugging protocol, which the page's Content-Security-Policy does not govern.
    page.evaluate(axe)
    found = page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}x, e.g. ${v.nodes[0].target.join(" ")})`);
    }""")
    return found


def one_rule(visitor) -> str:
    return call_api(visitor, "GET", f"/api/rulesets/{RULESET}/rules")["rules"][0]["id"]


# Every page, as the role that works on it. Paths with {rule} use the rule set's first rule.
PAGES = {
    "Ana Author": ["/", "/rulesets/{rs}", "/rulesets/{rs}/rules/new", "/rulesets/{rs}/rules/{rule}",
                   "/rulesets/{rs}/rules/{rule}/history", "/rulesets/{rs}/vocabulary", "/rulesets/{rs}/history",
                   "/rulesets/{rs}/reference-cases", "/rulesets/{rs}/table", "/rulesets/{rs}/suggestions",
                   "/rulesets/{rs}/findings", "/rulesets/{rs}/tests", "/password", "/new-ruleset"],
    # A reviewer on a rule's page: read only, with "Improve this rule" and the explorer (the list it opens and the
    # dialog of "Keep this case as a test" are checked in test_editor_keep_and_improve.py).
    "Rui Reviewer": ["/rulesets/{rs}/releases", "/rulesets/{rs}/analysis", "/rulesets/{rs}/compare",
                     "/rulesets/{rs}/rules/{rule}"],
    "Alex Auditor": ["/audit", "/rulesets/{rs}/rules/{rule}/blame", "/rulesets/{rs}/history"],
    "Mia ML Engineer": ["/rulesets/{rs}/releases", "/"],
    "Ada Admin": ["/", "/audit", "/people"],
}


@pytest.mark.parametrize("person", sorted(PAGES))
def test_no_serious_accessibility_violation_on_any_page_of_a_role(people, axe, person):
    visitor = signed_in(people, person)
    rule = one_rule(visitor) if any("{rule}" in path for path in PAGES[person]) else ""
    found = {}
    for path in PAGES[person]:
        page = visitor.go(path.format(rs=RULESET, rule=rule))
        problems = violations(page, axe)
        if problems:
            found[path] = problems
    assert not found, f"accessibility violations for {person}: {found}"


def test_the_sign_in_page_has_no_serious_accessibility_violation(browser, server, axe):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url + "/sign-in")
        assert violations(page, axe) == []
    finally:
        context.close()


def test_after_adding_a_group_the_focus_is_in_the_new_group(people):
    ana = signed_in(people, "Ana Author")
    page = ana.go(f"/rulesets/{RULESET}/rules/new")
    page.get_by_role("button", name="+ Add a group").click()
    groups = page.locator("fieldset.group")
    # The new group's first field has the focus, so that a keyboard user goes on where the group appeared.
    focused_in_last_group = page.evaluate(
        """() => { const gs = document.querySelectorAll("fieldset.group"); const last = gs[gs.length - 1];
                   const at = document.activeElement;
                   return !!last && last.contains(at) && at.tagName !== "FIELDSET"; }""")
    assert groups.count() >= 1 and focused_in_last_group
    expect(page.locator(":focus")).to_be_visible()
    ana.discard_changes()
