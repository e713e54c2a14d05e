"""Decision tables and workbooks: lossless both ways, and every refusal at its sheet and cell."""
from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules_dsl
from rules_dsl import decision_table as dt
from rules_dsl import workbook
from rules_dsl.bundle import bundle_dict
from rules_dsl.demo import demo_path
from rules_dsl.errors import RuleError
from rules_dsl.ruleset import RuleSet
from rules_dsl.syntax import AllOf, Comparison, Quantity

from .strategies import rules
from .vocab import build_ruleset


def folder(path: Path) -> dict[str, bytes]:
    return {f.relative_to(path).as_posix(): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}


def same_rules(a: RuleSet, b: RuleSet) -> None:
    assert [(r.id, r.text) for r in a.rules] == [(r.id, r.text) for r in b.rules]
    assert bundle_dict(a)["hash"] == bundle_dict(b)["hash"]


def unique_names(syntaxes):
    seen, out = set(), []
    for rule in syntaxes:
        key = rules_dsl.errors.name_key(rule.name)
        if key not in seen:
            seen.add(key)
            out.append(rule)
    return out


# ---- the table ---------------------------------------------------------------------------------------------------

def test_the_demo_as_a_table_reads_like_the_rules():
    table = dt.table(rules_dsl.load(demo_path()))
    row = next(r for r in table.rows if r.id == "large-evenly-stained-smooth-nuclei")
    assert row.cells == {"worst radius": "between 17 and 20", "mean texture": "below 16"}
    assert row.other == "not (worst concave points is above 0.15 or worst concavity is above 0.4)"
    assert (row.conclusion, row.priority, row.in_use) == ("benign", 5, True)
    whole = next(r for r in table.rows if r.id == "several-signs-of-malignancy")
    assert whole.cells == {} and whole.other.startswith("at least 3 of (")
    assert table.header[:2] == ["id", "rule"] and table.header[-7:] == list(dt.TRAILING)


def test_cells_in_plain_words_and_back():
    rs = build_ruleset([
        'rule "a" when lesion diameter is between 2 and 5 cm and location is one of "margin", "border" '
        'and history of smoking is yes and notes contains "fever" then risk is "high" with confidence 0.8',
        'rule "b" when location is not "centre" and temperature is missing',
    ])
    table = dt.table(rs)
    a = next(r for r in table.rows if r.name == "a")
    assert a.cells == {"lesion diameter": "between 2 cm and 5 cm", "location": "one of margin, border",
                       "history of smoking": "yes", "notes": 'contains "fever"'}
    b = next(r for r in table.rows if r.name == "b")
    assert b.cells == {"location": "not centre", "temperature": "missing"}
    same_rules(rs, RuleSet(rs.settings, rs.vocabulary, dt.rules_from_rows(table.as_rows(), rs.vocabulary,
                                                                          rs.settings), id=rs.id))


def test_a_person_can_type_cells_without_quotes_or_order():
    rs = build_ruleset([])
    rows = [dt.header(["location", "temperature"]),
            ["", "New rule", "one of margin, border", "above 38", "", "high", 0.9, 3, "yes", "", ""]]
    (rule,) = dt.rules_from_rows(rows, rs.vocabulary, rs.settings)
    assert rule.id == "new-rule"
    assert rule.text == ('rule "New rule"\npriority 3\nwhen location is one of "margin", "border"\n'
                         '  and temperature is above 38\nthen risk is "high" with confidence 0.9')


# ---- lossless ----------------------------------------------------------------------------------------------------

def test_the_demo_folder_comes_back_byte_for_byte(tmp_path):
    files = folder(Path(demo_path()))
    files["tests.csv"] = b"case,mean radius,expect,note\n1,12,benign,\n2,,no answer,nothing known\n"
    files["notes/why.md"] = "Notes with an accent: é\n".encode()
    files["logo.bin"] = bytes(range(256))
    rs = rules_dsl.load(demo_path())
    workbook.save(rs, tmp_path / "demo.xlsx", files)
    back, meta = workbook.read_files((tmp_path / "demo.xlsx").read_bytes())
    assert back == files
    assert meta["rule set"] == "breast-mass-triage"
    same_rules(rs, workbook.load(tmp_path / "demo.xlsx"))
    book = openpyxl.load_workbook(tmp_path / "demo.xlsx")
    assert book.sheetnames[:5] == ["Rules", "Vocabulary", "Settings", "Files", "Examples"]
    assert "Tests" in book.sheetnames and book["Files"].sheet_state == "hidden"


def test_version_and_release_travel_so_the_bundle_hash_is_the_same(tmp_path):
    rs = rules_dsl.load(demo_path())
    rs.version, rs.release = "a" * 40, "v3"
    workbook.save(rs, tmp_path / "v3.xlsx")
    back = workbook.load(tmp_path / "v3.xlsx")
    assert (back.version, back.release) == ("a" * 40, "v3")
    same_rules(rs, back)


@pytest.mark.parametrize("text", [
    'rule "or" when temperature is above 38 or heart rate is above 90 then risk is "high"',
    'rule "at least" when at least 2 of (temperature is above 38, heart rate is above 90, grade is "3")',
    'rule "not group" when not (location is "margin" and grade is "1")',
    'rule "same feature twice" when temperature is above 36 and temperature is below 38',
    'rule "nested and" when grade is "2" and (temperature is above 36 and heart rate is below 50)',
    'rule "mixed" priority -1 disabled when notes does not contain "x" and (grade is "1" or smoker is no)',
    'rule "=SUM(A1)" when notes is "=1+1" because "=A2"',
    'rule " spaces " when location is " margin" because "  two  "',
    'rule "Quotes \\"in\\" names" when notes is one of "a, b", "c\\"d"',
])
def test_rules_that_do_not_fit_the_table_survive(tmp_path, text):
    rs = build_ruleset([text])
    workbook.save(rs, tmp_path / "odd.xlsx")
    same_rules(rs, workbook.load(tmp_path / "odd.xlsx"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rules(checked=True, max_leaves=6), min_size=0, max_size=6).map(unique_names))
def test_generated_rule_sets_survive_the_workbook(syntaxes):
    rs = build_ruleset(syntaxes)
    data = workbook.to_bytes(rs)
    files, meta = workbook.read_files(data)
    back = rules_dsl.ruleset.ruleset_from_files(files, id=meta["rule set"])
    same_rules(rs, back)


# ---- refusals: sheet and cell ------------------------------------------------------------------------------------

def demo_book(tmp_path) -> tuple[Path, openpyxl.Workbook]:
    path = tmp_path / "demo.xlsx"
    workbook.save(rules_dsl.load(demo_path()), path)
    return path, openpyxl.load_workbook(path)


def problems(path: Path) -> list[str]:
    with pytest.raises(RuleError) as caught:
        workbook.load(path)
    return [str(p) for p in caught.value.problems]


def column_of(book, title: str) -> str:
    for cell in book["Rules"][1]:
        if cell.value == title:
            return cell.column_letter
    raise KeyError(title)


def test_a_misspelt_feature_in_a_condition_names_the_cell(tmp_path):
    path, book = demo_book(tmp_path)
    other = column_of(book, "other conditions")
    book["Rules"][f"{other}7"] = "worst radus is above 3"
    book.save(path)
    (message,) = problems(path)
    assert message.startswith(f"Rules!{other}7: There is no feature called 'worst radus'")
    assert "Did you mean 'worst radius'?" in message


def test_a_misspelt_feature_column_names_the_header_cell(tmp_path):
    path, book = demo_book(tmp_path)
    letter = column_of(book, "worst radius")
    book["Rules"][f"{letter}1"] = "worst radus"
    book.save(path)
    assert problems(path) == [f"Rules!{letter}1: There is no feature called 'worst radus'. "
                              "Did you mean 'worst radius'?"]


def test_a_wrong_unit_names_the_cell(tmp_path):
    rs = build_ruleset(['rule "a" when lesion diameter is above 2 mm'])
    path = tmp_path / "a.xlsx"
    workbook.save(rs, path)
    book = openpyxl.load_workbook(path)
    book["Rules"]["C2"] = "above 2 kg"
    book.save(path)
    (message,) = problems(path)
    assert message.startswith("Rules!C2: ") and "kg" in message


def test_a_cell_that_is_not_a_condition_says_how_to_write_one(tmp_path):
    path, book = demo_book(tmp_path)
    letter = column_of(book, "worst radius")
    book["Rules"][f"{letter}3"] = "abov 17"
    book.save(path)
    (message,) = problems(path)
    assert message.startswith(f"Rules!{letter}3: 'abov 17' cannot be read as a condition on worst radius")
    assert "above 17" in message


def test_merged_cells_are_refused(tmp_path):
    path, book = demo_book(tmp_path)
    book["Rules"].merge_cells("C3:C5")
    book.save(path)
    (message,) = problems(path)
    assert message.startswith("Rules!C3:C5: Cells C3:C5 are merged") and "Unmerge" in message


def test_a_formula_is_refused(tmp_path):
    path, book = demo_book(tmp_path)
    letter = column_of(book, "priority")
    book["Rules"][f"{letter}4"] = "=10+20"
    book.save(path)
    (message,) = problems(path)
    assert message.startswith(f"Rules!{letter}4: This cell holds a formula (=10+20)")


def test_an_empty_sheet_is_refused(tmp_path):
    path, book = demo_book(tmp_path)
    book.remove(book["Vocabulary"])
    book.create_sheet("Vocabulary")
    book.save(path)
    (message,) = problems(path)
    assert message.startswith("Vocabulary!A1: The Vocabulary sheet is empty")


def test_a_workbook_from_another_tool_is_refused(tmp_path):
    path = tmp_path / "other.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Budget"
    book.active.append(["item", "cost"])
    book.save(path)
    (message,) = problems(path)
    assert "none of Rulecraft's sheets" in message and "Budget" in message


def test_a_missing_sheet_and_a_file_that_is_no_workbook(tmp_path):
    path, book = demo_book(tmp_path)
    book.remove(book["Settings"])
    book.save(path)
    assert problems(path)[0].startswith("Settings: The workbook has no 'Settings' sheet")
    (tmp_path / "text.xlsx").write_text("case,age\n1,2\n")
    assert "not an Excel workbook" in problems(tmp_path / "text.xlsx")[0]


def test_bad_settings_and_vocabulary_name_their_cells(tmp_path):
    path, book = demo_book(tmp_path)
    book["Settings"]["B8"] = "maybe"     # default: not a label
    book["Vocabulary"]["B3"] = "numbr"   # the second feature's type
    book.save(path)
    found = problems(path)
    assert any(m.startswith("Settings!B8: ") and "maybe" in m for m in found)
    assert any(m.startswith("Vocabulary!B3: ") and "type must be one of" in m for m in found)


def test_bad_priority_in_use_and_confidence_name_their_cells(tmp_path):
    path, book = demo_book(tmp_path)
    sheet = book["Rules"]
    sheet[f"{column_of(book, 'priority')}2"] = "high"
    sheet[f"{column_of(book, 'in use')}3"] = "perhaps"
    sheet[f"{column_of(book, 'conclusion')}4"] = "maybe"
    book.save(path)
    found = problems(path)
    assert len(found) == 3
    assert found[0].startswith(f"Rules!{column_of(book, 'priority')}2: The priority must be a whole number")
    assert found[1].startswith(f"Rules!{column_of(book, 'in use')}3: 'in use' is yes or no")
    assert found[2].startswith(f"Rules!{column_of(book, 'conclusion')}4: ")


def test_an_edited_cell_changes_only_that_rule(tmp_path):
    path, book = demo_book(tmp_path)
    letter = column_of(book, "worst radius")
    row = next(c.row for c in book["Rules"]["A"] if c.value == "small-regular-nuclei")
    book["Rules"][f"{letter}{row}"] = "below 15"
    book.save(path)
    before, after = rules_dsl.load(demo_path()), workbook.load(path)
    changed = [r.id for r in after.rules if r.text != before.rule(r.id).text]
    assert changed == ["small-regular-nuclei"]
    condition = after.rule("small-regular-nuclei").syntax.condition
    assert isinstance(condition, AllOf)
    assert condition.items[0] == Comparison("worst radius", "below", (Quantity(Decimal(15)),))


def test_the_language_guide_workbook_example_runs(monkeypatch):
    guide = Path(__file__).resolve().parents[2] / "docs" / "language.md"
    text = guide.read_text(encoding="utf-8")
    start = text.index("<!-- workbook example -->\n```python\n") + len("<!-- workbook example -->\n```python\n")
    code = text[start:text.index("```", start)]
    monkeypatch.chdir(guide.parents[1])
    namespace: dict = {}
    exec(compile(code, "docs/language.md", "exec"), namespace)  # the guide's own example, not user text
    assert namespace["back"].id == "breast-mass-triage"


@pytest.mark.parametrize(("title", "value", "expected"), [
    ("rule", "Renamed", 'rule "Renamed"'), ("because", "New reason", 'because "New reason"'),
    ("in use", "no", "\ndisabled\n"), ("conclusion", "malignant", 'then diagnosis is "malignant"'),
    ("confidence", 0.5, "with confidence 0.5"), ("priority", 3, "priority 3"),
    ("other conditions", "worst symmetry is above 0.3", "worst symmetry is above 0.3"),
])
def test_every_column_counts_although_the_hidden_text_is_unchanged(tmp_path, title, value, expected):
    path, book = demo_book(tmp_path)
    row = next(c.row for c in book["Rules"]["A"] if c.value == "small-regular-nuclei")
    book["Rules"][f"{column_of(book, title)}{row}"] = value
    book.save(path)
    assert expected in workbook.load(path).rule("small-regular-nuclei").text


# ---- the rules table as CSV (rulecraft export --format csv / import rules.csv --into) ----------------------------

def same_rules_any_order(rs: RuleSet, rules) -> None:
    back = RuleSet(rs.settings, rs.vocabulary, sorted(rules, key=lambda r: [x.id for x in rs.rules].index(r.id)),
                   id=rs.id)
    same_rules(rs, back)


def test_the_demo_comes_back_from_csv():
    rs = rules_dsl.load(demo_path())
    text = dt.to_csv(rs)
    same_rules_any_order(rs, dt.rules_from_csv(text.encode(), rs.vocabulary, rs.settings))
    same_rules_any_order(rs, dt.rules_from_csv(b"\xef\xbb\xbf" + text.encode(), rs.vocabulary, rs.settings))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rules(checked=True, max_leaves=6), min_size=0, max_size=6).map(unique_names))
def test_generated_rule_sets_survive_csv(syntaxes):
    rs = build_ruleset(syntaxes)
    same_rules_any_order(rs, dt.rules_from_csv(dt.to_csv(rs), rs.vocabulary, rs.settings))


def test_a_csv_mistake_names_its_cell():
    rs = rules_dsl.load(demo_path())
    rows = dt.rows_from_csv(dt.to_csv(rs))
    column = rows[0].index("worst radius")
    row = next(i for i, r in enumerate(rows) if r[column])
    rows[row][column] = "abvoe 17"
    rows[1][rows[0].index("priority")] = "high"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    with pytest.raises(RuleError) as caught:
        dt.rules_from_csv(out.getvalue().encode(), rs.vocabulary, rs.settings, "edited.csv")
    cells = [p.file for p in caught.value.problems]
    assert f"edited.csv!{dt.column_letter(column + 1)}{row + 1}" in cells
    assert f"edited.csv!{dt.column_letter(rows[0].index('priority') + 1)}2" in cells


def test_a_file_that_is_not_utf8_csv_says_how_to_save_it():
    rs = rules_dsl.load(demo_path())
    with pytest.raises(RuleError) as caught:
        dt.rules_from_csv("id;rule\n".encode("utf-16"), rs.vocabulary, rs.settings)
    assert "CSV UTF-8" in caught.value.message


def test_rules_already_compiled_are_reused_only_for_their_own_text():
    rs = rules_dsl.load(demo_path())
    rows = dt.table(rs).as_rows()
    known = {r.id: r for r in rs.rules}
    back = dt.rules_from_rows(rows, rs.vocabulary, rs.settings, known=known)
    assert all(rule is known[rule.id] for rule in back)  # nothing parsed again
    first, second = rs.rules[0], rs.rules[1]
    stale = {second.id: dataclasses.replace(first, id=second.id)}  # another text under that id: not taken
    back = dt.rules_from_rows(rows, rs.vocabulary, rs.settings, known=stale)
    assert next(r for r in back if r.id == second.id).text == second.text
    same_rules_any_order(rs, back)
