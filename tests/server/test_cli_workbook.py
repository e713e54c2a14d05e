"""`rulecraft export --format xlsx|csv` and `rulecraft import book.xlsx` (issue 19)."""
from __future__ import annotations

import csv

import openpyxl
import pytest
from test_process import rulecraft

import rules_dsl
from rules_dsl import workbook
from rules_dsl.bundle import bundle_dict
from tests.server.conftest import FIXTURES

SEPSIS = FIXTURES / "sepsis-triage"


@pytest.fixture
def data(tmp_path):
    data = tmp_path / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    rulecraft("import", str(SEPSIS), "--as", "Ana", "--why", "Start", data_dir=data)
    return data


def test_export_a_workbook_and_import_it_as_a_new_rule_set(data, tmp_path):
    book = tmp_path / "sepsis.xlsx"
    done = rulecraft("export", "sepsis-triage", "--format", "xlsx", "--out", str(book), data_dir=data)
    assert "Wrote sepsis-triage" in done.stdout
    exported = workbook.load(book)
    assert [(r.id, r.text) for r in exported.rules] == [(r.id, r.text) for r in rules_dsl.load(SEPSIS).rules]
    rulecraft("import", str(book), "--as", "Ana", "--why", "A copy from the workbook", "--name", "sepsis copy",
              data_dir=data)
    again = tmp_path / "copy.xlsx"
    rulecraft("export", "sepsis-copy", "--format", "xlsx", "--out", str(again), data_dir=data)
    copy = workbook.load(again)
    assert [(r.id, r.text) for r in copy.rules] == [(r.id, r.text) for r in exported.rules]
    copy.id, copy.version, exported.version = exported.id, None, None
    assert bundle_dict(copy)["hash"] == bundle_dict(exported)["hash"]


def test_a_workbook_brings_every_file_of_the_folder(data, tmp_path):
    files = {p.relative_to(SEPSIS).as_posix(): p.read_bytes() for p in SEPSIS.rglob("*") if p.is_file()}
    files["tests.csv"] = b"case,expected\nA1,high\n"
    files["notes/source.md"] = b"From the 2021 guideline.\n"
    book = tmp_path / "full.xlsx"
    workbook.save(rules_dsl.load(SEPSIS), book, files)
    rulecraft("import", str(book), "--as", "Ana", "--why", "With its tests", "--name", "sepsis full", data_dir=data)
    again = tmp_path / "again.xlsx"
    rulecraft("export", "sepsis-full", "--format", "xlsx", "--out", str(again), data_dir=data)
    back, _ = workbook.read_files(again.read_bytes())
    assert back["tests.csv"] == files["tests.csv"] and back["notes/source.md"] == files["notes/source.md"]


def test_export_the_rules_table_as_csv(data, tmp_path):
    out = tmp_path / "rules.csv"
    rulecraft("export", "sepsis-triage", "--format", "csv", "--out", str(out), data_dir=data)
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[0][:2] == ["id", "rule"] and rows[0][-1] == "text"
    assert len(rows) == 1 + len(rules_dsl.load(SEPSIS).rules)


def test_a_bad_workbook_is_refused_at_its_cell_and_nothing_is_saved(data, tmp_path):
    book = tmp_path / "bad.xlsx"
    rulecraft("export", "sepsis-triage", "--format", "xlsx", "--out", str(book), data_dir=data)
    opened = openpyxl.load_workbook(book)
    opened["Rules"]["B2"] = "=A1"
    opened.save(book)
    refused = rulecraft("import", str(book), "--as", "Ana", "--why", "Bad", "--name", "other", data_dir=data,
                        check=False)
    assert refused.returncode == 1
    assert "Rules!B2: This cell holds a formula (=A1)" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_workbook_needs_a_file_to_go_to(data):
    refused = rulecraft("export", "sepsis-triage", "--format", "xlsx", data_dir=data, check=False)
    assert refused.returncode == 2 and "--out" in refused.stderr


def read_rows(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_a_csv_table_goes_back_into_its_rule_set(data, tmp_path):
    out = tmp_path / "rules.csv"
    rulecraft("export", "sepsis-triage", "--format", "csv", "--out", str(out), data_dir=data)
    same = rulecraft("import", str(out), "--into", "sepsis-triage", "--as", "Ana", "--why", "Same", data_dir=data,
                     check=False)
    assert same.returncode == 1 and "nothing to save" in same.stderr  # lossless: the table is the rule set
    rows = read_rows(out)
    sirs = next(r for r in rows if r[0] == "sirs")
    sirs[rows[0].index("priority")] = "7"
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    preview = rulecraft("import", str(out), "--into", "sepsis-triage", "--as", "Ana", "--why", "SIRS first",
                        "--dry-run", data_dir=data)
    assert "changed: rule 'sirs'" in preview.stdout and "nothing saved" in preview.stdout
    saved = rulecraft("import", str(out), "--into", "sepsis-triage", "--as", "Ana", "--why", "SIRS first",
                      data_dir=data)
    assert "Saved sepsis-triage as version" in saved.stdout and "1 changed" in saved.stdout
    again = tmp_path / "again.csv"
    rulecraft("export", "sepsis-triage", "--format", "csv", "--out", str(again), data_dir=data)
    back = {row[0]: row for row in read_rows(again)}  # every cell as edited; the canonical text follows
    assert {k: r[:-1] for k, r in back.items()} == {r[0]: r[:-1] for r in rows} and "priority 7" in back["sirs"][-1]


def test_a_bad_csv_cell_is_named_by_row_and_column_and_nothing_is_saved(data, tmp_path):
    out = tmp_path / "rules.csv"
    rulecraft("export", "sepsis-triage", "--format", "csv", "--out", str(out), data_dir=data)
    rows = read_rows(out)
    rows[1][rows[0].index("in use")] = "perhaps"
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    refused = rulecraft("import", str(out), "--into", "sepsis-triage", "--as", "Ana", "--why", "Bad", data_dir=data,
                        check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    letter = chr(ord("A") + rows[0].index("in use"))
    assert f"rules.csv!{letter}2 (row 2, column 'in use'): 'in use' is yes or no" in refused.stderr
    no_target = rulecraft("import", str(out), "--as", "Ana", "--why", "Bad", data_dir=data, check=False)
    assert no_target.returncode == 2 and "--into" in no_target.stderr
