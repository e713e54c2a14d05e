"""The Table page: the rules as a decision table, the workbook downloaded, edited in a spreadsheet and uploaded,
with what it changes shown rule by rule before it is saved with a why (issue 19)."""
from __future__ import annotations

import openpyxl
import pytest
from browser_support import UNLABELLED, signed_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_table_and_a_workbook_round_trip(people, tmp_path):
    bea = signed_in(people, "Bea Author")
    page = bea.go("/rulesets/sepsis-triage/table")
    table = page.locator("table.decision-table")
    expect(table.locator("tbody tr").filter(has_text="at least 2 of (temperature is above 38")).to_have_count(1)
    expect(table.locator("thead")).to_contain_text("other conditions")
    expect(table.get_by_role("link", name="Small dot")).to_have_attribute(
        "href", "/rulesets/sepsis-triage/rules/dot")
    assert page.evaluate(UNLABELLED) == []
    bea.screenshot("30-table")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the workbook (.xlsx)").click()
    path = tmp_path / "sepsis.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    rules = book["Rules"]
    priority = next(c.column_letter for c in rules[1] if c.value == "priority")
    row = next(c.row for c in rules["A"] if c.value == "dot")
    rules[f"{priority}{row}"] = 12
    book.save(path)

    page.get_by_label("Upload an edited workbook").set_input_files(str(path))
    changes = page.locator(".workbook-changes")
    expect(changes).to_contain_text("0 added, 1 changed, 0 deleted.")
    expect(changes.locator("pre.after")).to_contain_text("priority 12")
    bea.screenshot("31-workbook-preview")
    page.get_by_role("button", name="Save these changes…").click()
    page.get_by_label("Why are you making this change?").fill("The dot rule decides before the others")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator("#workbook-preview")).to_contain_text("Saved as version")
    history = bea.go("/rulesets/sepsis-triage/history")
    expect(history.locator("table.history-table tbody tr").first).to_contain_text("saved changes from a workbook")


def test_a_bad_workbook_shows_each_problem_at_its_cell(people, tmp_path):
    bea = signed_in(people, "Bea Author")
    bea.allowed_status.add(422)
    page = bea.go("/rulesets/sepsis-triage/table")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the workbook (.xlsx)").click()
    path = tmp_path / "bad.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    book["Rules"]["B2"] = "=A1"
    book.save(path)
    page.get_by_label("Upload an edited workbook").set_input_files(str(path))
    problems = page.locator(".workbook-problems")
    expect(problems).to_contain_text("Rules!B2: This cell holds a formula (=A1)")
    bea.screenshot("32-workbook-refused")
