"""Reviewing and auditing (issue 15, items 9 and 10): a release request whose change was undone later says so before
"Approve", with who, when and why of each later save, and the reviewer compares the version asked for with the
current one; history, a rule's history and the audit log name rules by their names (the id in a tooltip); releases
show the request time and the approval time, both labelled, and no version id where a name or a date does.

Runs on its own rule set ("Review watch", made here through the API), so the other journeys are not disturbed.
"""
from __future__ import annotations

import re

import pytest
from browser_support import call_api, signed_in
from playwright.sync_api import expect
from test_editor_expected import accessible

pytestmark = pytest.mark.browser

TITLE = "Review watch"
SETTINGS = {"title": TITLE, "outcome": {"name": "review risk", "labels": ["low", "high"]}, "policy": "first match",
            "default": "low"}
VOCABULARY = {"features": {"temperature": {"type": "number", "unit": "°C", "range": [30, 45]}}}
NAME = "Fever above the threshold"
RULE = f'rule "{NAME}"\nwhen temperature is above 38\nthen review risk is "high"'
STRICTER = "Stricter fever threshold from the ward round"
UNDO = "Undo the stricter threshold: not agreed with the ward yet"
VERSION_ID = re.compile(r"\b[0-9a-f]{12,40}\b")


def edit_rule(visitor, ruleset: str, rule: str, old: str, new: str, why: str) -> None:
    current = visitor.page.request.get(f"{visitor.server.url}/api/rulesets/{ruleset}/rules/{rule}")
    call_api(visitor, "PUT", f"/api/rulesets/{ruleset}/rules/{rule}",
             {"text": current.json()["text"].replace(old, new), "why": why},
             version=current.headers["etag"].strip('"'))


def _undone(people, title: str):
    """Ana makes the rule set and a change, asks for its release; Bea then undoes the change. Answers (rule set id,
    rule id, the requested version)."""
    ana, bea = signed_in(people, "Ana Author"), signed_in(people, "Bea Author")
    ruleset = call_api(ana, "POST", "/api/rulesets", {"settings": {**SETTINGS, "title": title},
                                                      "vocabulary": VOCABULARY,
                                                      "why": "Start the review watch rules"})["id"]
    rule = call_api(ana, "POST", f"/api/rulesets/{ruleset}/rules", {"text": RULE, "why": "Fever above 38 °C"})["id"]
    edit_rule(ana, ruleset, rule, "above 38", "above 38.5", STRICTER)
    asked = call_api(ana, "POST", f"/api/rulesets/{ruleset}/releases", {})
    edit_rule(bea, ruleset, rule, "above 38.5", "above 38", UNDO)
    return ruleset, rule, asked["version"]


@pytest.fixture(scope="module")
def undone(people):
    """A request still waiting, its change undone since (the tests using it only look)."""
    return _undone(people, TITLE)


@pytest.fixture(scope="module")
def to_approve(people):
    """The same story on a rule set of its own, for the test that approves the request (any order of tests)."""
    return _undone(people, f"{TITLE} approved")


def test_the_reviewer_sees_the_undo_before_approving_and_compares(people, undone):
    ruleset, rule, requested = undone
    rui = signed_in(people, "Rui Reviewer")
    page = rui.go(f"/rulesets/{ruleset}/releases")
    request = page.locator("section.release").filter(has_text="waiting for a reviewer")
    warning = request.locator("section.saved-since")
    expect(warning).to_contain_text("1 change was saved after this request: Bea Author")
    expect(warning).to_contain_text(UNDO)
    expect(warning).to_contain_text("The last change in this request has been undone since")
    named = warning.get_by_role("link", name=NAME, exact=True)
    expect(named).to_have_attribute("title", f"rule id: {rule}")
    # Said before the decision, which stays possible (the request is for that exact version).
    assert warning.evaluate("(w) => !!(w.compareDocumentPosition(w.parentElement.querySelector('.decision')) & 4)")
    expect(request.get_by_role("button", name="Approve the release")).to_be_visible()
    expect(request).to_contain_text("Asked for by Ana Author")
    assert not VERSION_ID.search(request.inner_text()), request.inner_text()
    accessible(page)
    rui.screenshot("review-saved-after-request")

    warning.get_by_role("link", name="Compare the version asked for with the current one").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    page.wait_for_load_state("networkidle")
    assert f"from={requested}" in page.url
    expect(page.locator("#diff")).to_contain_text("1 rule changed")
    expect(page.locator("#diff")).to_contain_text(NAME)
    # Both versions are named by who saved them, when and why, not by their ids.
    chosen = page.evaluate("() => ['from', 'to'].map((id) => { const s = document.getElementById(id);"
                           " return s.options[s.selectedIndex].textContent; })")
    assert "Ana Author: " + STRICTER in chosen[0] and "Bea Author: Undo the stricter" in chosen[1], chosen
    rui.screenshot("review-compare-request-with-current")

    # An ML engineer reads released versions only: the count, without the drafts' who and why.
    mia = signed_in(people, "Mia ML Engineer")
    warning = mia.go(f"/rulesets/{ruleset}/releases").locator("section.saved-since")
    expect(warning).to_contain_text("1 change was saved after this request.")
    expect(warning).not_to_contain_text(UNDO)
    expect(warning.get_by_role("link")).to_have_count(0)


def test_history_and_the_audit_log_name_the_rule(people, undone):
    ruleset, rule, _ = undone
    alex = signed_in(people, "Alex Auditor")
    page = alex.go(f"/rulesets/{ruleset}/history")
    rows = page.locator("table.history-table tbody tr")
    expect(rows.first).to_contain_text(UNDO)
    links = rows.get_by_role("link", name=NAME, exact=True)
    expect(links).to_have_count(3)  # added, made stricter, undone
    expect(links.first).to_have_attribute("title", f"rule id: {rule}")
    assert rule not in page.locator("#history").inner_text()
    alex.screenshot("review-history-names")

    links.first.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#history-title")).to_have_text(f"History of “{NAME}”")
    assert rule not in page.locator("#history").inner_text()

    page = alex.go("/audit")
    page.get_by_label("Rule set").select_option(label=TITLE)
    page.get_by_role("button", name="Show").click()
    audit = page.locator("#audit table tbody")
    expect(audit.locator("tr").first).to_contain_text(UNDO)
    named = audit.get_by_role("link", name=NAME, exact=True)
    expect(named.first).to_have_attribute("title", f"rule id: {rule}")
    assert rule not in page.locator("#audit").inner_text()
    alex.screenshot("review-audit-names")


def test_a_release_shows_when_it_was_asked_for_and_when_approved(people, to_approve):
    ruleset, _, _ = to_approve
    rui = signed_in(people, "Rui Reviewer")
    page = rui.go(f"/rulesets/{ruleset}/releases")
    request = page.locator("section.release").filter(has_text="waiting for a reviewer")
    request.get_by_role("button", name="Approve the release").click()
    expect(request).to_contain_text("Approved: this version is now release v1")
    released = page.locator("section.release").first
    expect(released).to_contain_text("Release v1")
    times = released.locator("dl.release-times")
    expect(times.locator("dt")).to_have_text(["Asked for", "Approved"])
    expect(times).to_contain_text("Asked for by Ana Author, ")
    expect(times).to_contain_text("Approved by Rui Reviewer, ")
    expect(times.locator("time")).to_have_count(2)
    # The version id stays in a tooltip: the release's name says which rules these are.
    expect(released.get_by_role("link", name="Open the rules of release v1")).to_have_attribute(
        "title", re.compile(r"^version [0-9a-f]{40}$"))
    assert not VERSION_ID.search(" ".join(released.locator("h3, .release-times, .release-version").all_inner_texts()))
    accessible(page)
    rui.screenshot("review-release-both-times")

    # Where releases are offered beside saved versions, they are dated by both times, labelled.
    page = rui.go(f"/rulesets/{ruleset}/compare")
    option = page.locator("#from optgroup[label=Releases] option").first
    expect(option).to_have_text(re.compile(r"^Release v1 \(asked for .+, approved .+\)$"))


def test_a_threshold_moved_without_effect_says_so_and_compare_fits_a_phone(people):
    from test_editor_keep_and_improve import make_lesion_rule_set

    ana = signed_in(people, "Ana Author")
    ruleset, rule = make_lesion_rule_set(ana)
    edit_rule(ana, ruleset, rule, "above 1500", "above 1700",
              "Threshold of the new guideline agreed at the regional tumour board")
    rui = signed_in(people, "Rui Reviewer", width=390, height=800)
    page = rui.go(f"/rulesets/{ruleset}/compare")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#diff")).to_contain_text("1 rule changed")
    # The same reference cases fire before and after: said in those words, not as "0 cases, but …".
    expect(page.locator("section.diff-rule .rule-impact")).to_have_text(
        "On the reference cases: fires on the same cases as before, so no answer changes because of it.")
    # Long version names are cut inside their boxes: nothing is wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    rui.screenshot("review-compare-phone")
