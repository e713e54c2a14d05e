"""How good the rules are, and what a change does to the outcomes, as auditors, reviewers and authors see them in a
real browser: the analysis page draws its plots and holds the same figures as the API; splitting by a column flags
the largest gap in plain words; an author adds reference cases (a bad file is refused beside the field); switching
a rule off shows its effect beside the text of the change, on the compare page and in the release review.

The tests share the server with the other modules and run in any order: the rule switched off is switched back on,
byte for byte, and the release asked for is turned down; the reference cases added in the page have a name of their
own, and the test that splits by size band adds its cases through the API when they are not there. Figures are
compared with the API's own answer for the same question.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import pytest
from browser_support import UNLABELLED, signed_in
from playwright.sync_api import expect

from rules_dsl.demo import reference_data

pytestmark = pytest.mark.browser

RULESET = "breast-mass-triage"
RULE = "small-regular-nuclei"
BANDED = "Wisconsin cases with size bands"
BANDED_IN_THE_PAGE = "Wisconsin cases with size bands, added in the page"  # a name no other test adds
PAYLOAD = "<img src=x onerror=alert(1)>"


def api(visitor, path: str, **query):
    """The API's answer, asked with the visitor's own session (the page's cookies)."""
    url = visitor.server.url + path
    if query:
        url += "?" + "&".join(f"{k}={quote(str(v))}" for k, v in query.items())
    response = visitor.page.request.get(url)
    assert response.ok, f"{url}: {response.status} {response.text()[:300]}"
    return response.json()


def percent(share, decimals: int = 0) -> str:
    """The page's way of writing a share (figures.js), rounding half up as JavaScript's toFixed does."""
    if share is None:
        return "–"
    value = share * 100
    if value in (0, 100):
        return f"{value:g}%"
    if value < 1 or value > 99:
        decimals = max(1, decimals)
    return f"{Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)}%"


def banded_cases() -> bytes:
    data = reference_data()
    data["size band"] = ["large" if r > 15 else "small" for r in data["mean radius"]]
    data[PAYLOAD] = "x"  # a column name that must stay text everywhere it is shown
    return data.to_csv(index=False).encode()


def banded_dataset(people) -> int:
    """The id of the reference cases with size bands (added through the API the first time)."""
    ana = signed_in(people, "Ana Author")
    found = [d for d in api(ana, f"/api/rulesets/{RULESET}/datasets")["datasets"] if d["name"] == BANDED]
    if found:
        return found[0]["id"]
    page = ana.go(f"/rulesets/{RULESET}")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    response = page.request.post(f"{ana.server.url}/api/rulesets/{RULESET}/datasets?name={quote(BANDED)}"
                                 "&label=diagnosis&group=size%20band", data=banded_cases(),
                                 headers={"Content-Type": "text/csv", "X-CSRF-Token": token})
    assert response.status == 201, response.text()
    return response.json()["id"]


def test_the_analysis_page_draws_the_figures_the_api_gives(people):
    alex = signed_in(people, "Alex Auditor")
    page = alex.go(f"/rulesets/{RULESET}")
    page.get_by_role("link", name="How good the rules are").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("Version of the rules").select_option("v1")
    expect(page).to_have_url(re.compile(r"version=v1"))
    figures = api(alex, f"/api/rulesets/{RULESET}/analysis", version="v1")
    summary = figures["summary"]
    expect(page.locator(".analysis-status")).to_contain_text("release v1")

    # The whole rule set: right answers, answered, and the simplest alternative, as figures and as a plot.
    key = page.locator(".key-figure")
    expect(key.nth(0)).to_contain_text(f"{percent(summary['accuracy'], 1)}right answers")
    expect(key.nth(1)).to_contain_text(f"{percent(summary['coverage'], 1)}of the cases answered")
    expect(key.nth(2)).to_contain_text(f"{percent(summary['baseline']['accuracy'], 1)}always answering “benign”")
    against = page.locator("figure.chart").filter(has_text="the rules against the simplest alternative")
    expect(against.locator("g.bar")).to_have_count(3)
    expect(against.locator("g.bar").first).to_have_attribute("aria-label", re.compile(
        f"These rules are right on {round(summary['accuracy'] * 569)} of 569 cases"))

    # Rule by rule: plots with one bar per rule; each bar's figures on focus, the arrow keys move between bars.
    fires = page.locator("figure.chart").filter(has_text="How often each rule fires")
    expect(fires.locator("g.bar")).to_have_count(len(figures["rules"]))
    precision = page.locator("figure.chart").filter(has_text="Precision: when the rule fires")
    expect(precision.locator("g.bar")).to_have_count(12)
    stacked = page.locator("figure.chart").filter(has_text="What the cases each rule fires on really were")
    expect(stacked.locator("rect.segment.seg-1").first).to_be_visible()
    fires.locator("g.bar").first.focus()
    expect(fires.locator(".chart-readout")).to_contain_text("“Very large nuclei” fires on 124 of 569 cases")
    page.keyboard.press("ArrowDown")
    expect(fires.locator(".chart-readout")).to_contain_text("“Large nuclei with indented outlines” fires on")
    fires.locator("g.bar").nth(6).hover()
    expect(fires.locator(".chart-readout")).to_contain_text("“Small regular nuclei” fires on 343 of 569 cases")

    # The same figures in a table, equal to the API's.
    page.get_by_text("The figures as a table").click()
    table = page.locator("#rule-figures")
    for rule in figures["rules"]:
        cells = table.locator(f"tr[data-rule='{rule['id']}'] td")
        expected = [rule["label"] or "nothing (feature)", str(rule["fires"]), percent(rule["coverage"]),
                    percent(rule["overlaps"]), percent(rule["conflicts"]) if rule["label"] else "–",
                    percent(rule["precision"]) if rule["label"] else "–",
                    str(rule["fires_by_label"]["benign"]), str(rule["fires_by_label"]["malignant"])]
        expect(cells).to_have_text(expected)
    assert page.evaluate(UNLABELLED) == []
    alex.screenshot("20-analysis")

    tablet = signed_in(people, "Alex Auditor", width=800, height=1100)
    narrow = tablet.go(f"/rulesets/{RULESET}/analysis?version=v1")
    expect(narrow.locator("figure.chart")).to_have_count(5)
    assert narrow.evaluate("() => document.documentElement.scrollWidth") <= 800
    tablet.screenshot("20-analysis-tablet")


def test_an_author_adds_reference_cases_and_a_bad_file_is_refused_beside_the_field(people):
    ana = signed_in(people, "Ana Author")
    ana.allowed_status.add(422)
    page = ana.go(f"/rulesets/{RULESET}/reference-cases")
    expect(page.locator("section.dataset").first).to_contain_text("Wisconsin diagnostic cases (569)")

    file = page.get_by_label("CSV file")
    file.set_input_files(files=[{"name": "ragged.csv", "mimeType": "text/csv",
                                 "buffer": b"mean radius,diagnosis\n12,benign\n13,benign,extra,values\n"}])
    expect(page.get_by_label("Name of these cases")).to_have_value("ragged")
    page.get_by_role("button", name="Add these reference cases").click()
    beside = page.locator(f"#{file.get_attribute('aria-describedby').split()[-1]}")
    expect(beside).to_contain_text("Line 3 has 4 values, but the first line names 2 columns. Every line needs one "
                                   "value per column (leave a value empty with two commas in a row).")
    expect(file).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Not added: see the message beside the field.")
    ana.screenshot("21-reference-cases-refused")

    file.set_input_files(files=[{"name": "banded.csv", "mimeType": "text/csv", "buffer": banded_cases()}])
    expect(file).not_to_have_attribute("aria-invalid", "true")
    preview = page.locator("table.preview").filter(has_text="The first rows of the file")
    expect(preview.get_by_role("columnheader", name="size band")).to_be_visible()
    expect(preview.get_by_role("columnheader", name=PAYLOAD)).to_be_visible()
    outcome = page.get_by_label("Column with the true outcome")
    expect(outcome).to_have_value("diagnosis")  # guessed from the rule set's outcome
    outcome.select_option("size band")  # a column that cannot be the outcome: said before anything is sent
    outcome_problem = page.locator(f"#{outcome.get_attribute('aria-describedby').split()[-1]}")
    expect(outcome_problem).to_contain_text("but the rules answer “benign” or “malignant”")
    outcome.select_option("diagnosis")
    expect(outcome_problem).to_be_hidden()
    page.get_by_label("Name of these cases").fill(BANDED_IN_THE_PAGE)
    page.get_by_role("group", name="Columns to split by (optional)").get_by_label("size band").check()
    page.get_by_role("button", name="Add these reference cases").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(
        f"Added “{BANDED_IN_THE_PAGE}”: 569 cases, 33 columns.")
    added = page.locator("section.dataset").filter(has_text=BANDED_IN_THE_PAGE)
    expect(added).to_contain_text("size band")
    expect(added.locator("table.preview tbody tr")).to_have_count(5)
    expect(added.get_by_role("columnheader", name="diagnosis (true outcome)")).to_be_visible()
    report = page.get_by_role("region", name="Data check")
    expect(report).to_contain_text("All 569 cases fit the vocabulary")
    assert page.evaluate(UNLABELLED) == []
    ana.screenshot("22-reference-cases-added")


def test_values_outside_the_vocabulary_are_shown_after_an_upload(people):
    """Sizes measured ten times larger than the vocabulary's range (as a column in months where it says years):
    the data check says so at once, with examples, instead of letting the figures change silently."""
    ana = signed_in(people, "Ana Author")
    page = ana.go(f"/rulesets/{RULESET}/reference-cases")
    data = reference_data().head(12)
    data["mean radius"] = data["mean radius"] * 10
    page.get_by_label("CSV file").set_input_files(files=[{"name": "tenfold.csv", "mimeType": "text/csv",
                                                          "buffer": data.to_csv(index=False).encode()}])
    page.get_by_label("Name of these cases").fill("Radius ten times too large")
    page.get_by_role("button", name="Add these reference cases").click()
    report = page.get_by_role("region", name="Data check")
    expect(report).to_contain_text("One finding needs a look")
    expect(report.get_by_role("listitem")).to_have_text(
        ["'mean radius': 12 of 12 values are outside the range 5 to 30 of the vocabulary, e.g. 179.9, 205.7, "
         "196.9."])
    assert page.evaluate(UNLABELLED) == []


def test_splitting_by_a_column_flags_the_largest_gaps_in_plain_words(people):
    dataset = banded_dataset(people)
    alex = signed_in(people, "Alex Auditor")
    page = alex.go(f"/rulesets/{RULESET}/analysis?version=v1")
    page.get_by_label("Reference cases", exact=True).select_option(str(dataset))
    page.get_by_label("Split by (optional)").select_option("size band")
    expect(page).to_have_url(re.compile(r"group=size\+band"))
    figures = api(alex, f"/api/rulesets/{RULESET}/analysis", version="v1", dataset=dataset, group="size band")
    gap = next(g for g in figures["subgroups"]["gaps"] if g["rule"] == RULE and g["figure"] == "rule coverage")
    sentence = (f"“Small regular nuclei” fires on {percent(gap['high'])} of the cases where size band is "
                f"“{gap['high_group']}”, but on {percent(gap['low'])} of those where size band is "
                f"“{gap['low_group']}”.")
    assert sentence.startswith("“Small regular nuclei” fires on 86% of the cases where size band is “small”, "
                               "but on 2%")
    expect(page.locator(".gaps li").filter(has_text="“Small regular nuclei” fires on")).to_contain_text(sentence)
    precision_gap = figures["subgroups"]["gaps_by_figure"]["rule precision"][0]
    expect(page.locator(".gap-list").filter(has_text="In being right").locator("li").first).to_contain_text(
        f"right {percent(precision_gap['high'])} of the time where size band is “{precision_gap['high_group']}”")
    by_group = page.locator("figure.chart").filter(has_text="How often each rule fires, by group")
    expect(by_group.locator("g.bar")).to_have_count(2 * 12)
    page.get_by_text("The figures by group as tables").click()
    rows = page.locator("#group-figures tbody tr")
    expect(rows).to_have_text([re.compile(r"^large\s*173"), re.compile(r"^small\s*396")])
    alex.screenshot("23-analysis-by-size-band")

    # A column of numbers is cut into bands of about as many cases each.
    page.get_by_label("Split by (optional)").select_option("mean radius")
    expect(page.locator("#groups-heading")).to_have_text("By mean radius")
    expect(page.locator("section[aria-labelledby=groups-heading]")).to_contain_text("cut into 4 bands of mean radius")
    expect(page.locator("#group-figures tbody tr").first).to_contain_text("below ")


def test_switching_a_rule_off_shows_its_effect_beside_the_change_and_in_the_release_review(people):
    ana = signed_in(people, "Ana Author")
    before = api(ana, f"/api/rulesets/{RULESET}")["version"]
    original = api(ana, f"/api/rulesets/{RULESET}/rules/{RULE}")["text"]
    page = ana.go(f"/rulesets/{RULESET}/rules/{RULE}")
    page.get_by_label("In use (the rule takes part in decisions)").uncheck()
    page.get_by_role("button", name="Save…").click()
    page.get_by_label("Why are you making this change?").fill("See what the rules do without it")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#saved-state")).to_contain_text("Saved by you")
    after = api(ana, f"/api/rulesets/{RULESET}")["version"]
    impact = api(ana, f"/api/rulesets/{RULESET}/impact", **{"from": before, "to": after})
    assert 90 <= impact["changed"] <= 120, impact["changed"]  # about a hundred cases lose their answer
    moved = {(t["old"], t["new"]): t["rows"] for t in impact["transitions"]}

    try:
        alex = signed_in(people, "Alex Auditor")
        page = alex.go(f"/rulesets/{RULESET}/compare?from={before}&to={after}")
        expect(page.locator(".diff-summary")).to_have_text("1 rule changed")
        headline = (f"{impact['changed']} of 569 reference cases ({percent(impact['summary']['share_changed'])}) "
                    "get a different answer.")
        panel = page.locator("section.impact")
        expect(panel.locator(".impact-headline")).to_have_text(headline)
        expect(page.locator(".impact-line")).to_contain_text(headline)  # beside the text, at the top
        expect(page.locator("section.diff-rule .rule-impact")).to_have_text(
            f"On the reference cases: fires differently on {impact['rule_changes'][0]['firing_differs']} cases; "
            f"{impact['changed']} answers change with it.")
        cell = panel.locator("table.transitions td[data-old='benign'][data-new='(abstain)']")
        expect(cell).to_have_text(str(moved[("benign", "(abstain)")]))
        expect(cell).to_have_class(re.compile(r"\bmoved\b"))
        summary = impact["summary"]
        expect(panel.locator(".impact-correctness")).to_contain_text(
            f"Right answers go from {percent(summary['accuracy_old'], 1)} to {percent(summary['accuracy_new'], 1)}. "
            f"{summary['fixed']} cases fixed")
        expect(panel.locator(".impact-correctness")).to_contain_text(f"{summary['broken']} cases broken")
        cause = panel.locator("table.rule-changes tr[data-rule='small-regular-nuclei']")
        expect(cause.locator("td")).to_have_text(["taken out of use", "343 cases", str(impact["changed"]), "0"])
        alex.screenshot("24-compare-impact")

        # For whom: split into bands of a measurement.
        panel.get_by_label("Split by (optional)").select_option("worst radius")
        groups = panel.locator(".impact-group-table tbody tr")
        expect(groups).to_have_count(4)
        changed = [int(groups.nth(i).locator("td").nth(1).text_content()) for i in range(4)]
        assert sum(changed) == impact["changed"]
        panel.locator("details.impact-cases > summary").click()
        expect(panel.locator("details.impact-cases tbody tr")).to_have_count(20)
        expect(panel.locator("details.impact-cases tbody tr").first).to_contain_text("Small regular nuclei")
        alex.screenshot("25-compare-impact-by-group")

        # The reviewer deciding on a release sees the same beside the diff to the last release.
        releases = ana.go(f"/rulesets/{RULESET}/releases")
        releases.get_by_role("button", name="Ask for a release").click()
        expect(releases.locator("#releases")).to_contain_text("waiting for a reviewer")
        rui = signed_in(people, "Rui Reviewer")
        review = rui.go(f"/rulesets/{RULESET}/releases")
        request = review.locator("section.release").filter(has_text="waiting for a reviewer")
        expect(request.locator(".impact-headline")).to_have_text(headline)
        # (other tests sharing this server may have changed other rules since the last release: one line each)
        expect(request.locator(".rule-impact").filter(has_text="fires differently on 343 cases")).to_have_count(1)
        rui.screenshot("26-release-review-impact")
        request.get_by_label(re.compile("Your comment")).fill("It loses too many benign answers; keep it in use.")
        request.get_by_role("button", name="Turn it down").click()
        expect(request).to_contain_text("Turned down.")
    finally:
        # Back in use, exactly as it was, for the other tests sharing this server.
        page = ana.go(f"/rulesets/{RULESET}/rules/{RULE}")
        page.get_by_label("In use (the rule takes part in decisions)").check()
        page.get_by_role("button", name="Save…").click()
        page.get_by_label("Why are you making this change?").fill("Back in use")
        page.get_by_role("dialog").get_by_role("button", name="Save").click()
        expect(page.locator("#saved-state")).to_contain_text("Saved by you")
        assert api(ana, f"/api/rulesets/{RULESET}/rules/{RULE}")["text"] == original
