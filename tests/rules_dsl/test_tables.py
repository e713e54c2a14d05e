"""The one CSV reader (rules_dsl/tables.py): a line with more values than the first line names columns is refused
with its line number, never read with every value under the neighbouring column's name (issue 13, item 8)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import rules_dsl
from rules_dsl import RuleError
from rules_dsl.tables import MAX_COLUMNS, CsvError, read_csv

from .conftest import REPO_ROOT, SEPSIS


@pytest.mark.parametrize("data, line", [
    (b"a,b\n1,2,\n3,4,\n", 2),                 # a comma at the end of every line: pandas shifted every column
    (b"a,b\n1,2,9\n3,4,5\n", 2),
    (b"a,b\n1,2\n3,4,\n", 3),
    (b"a,b,c\n1,2\n3,4,5,6\n", 3),
    (b'a,"b\nc",d\n1,2,3,4\n', 3),             # a line break inside quotes is part of the column name
    (b"\xef\xbb\xbfa,b\n\n1,2,\n", 3),         # byte order mark and a blank line
])
def test_a_line_with_more_values_than_columns_is_refused_with_its_line(data, line):
    with pytest.raises(CsvError) as e:
        read_csv(data)
    assert e.value.code == "ragged" and e.value.line == line and f"Line {line} has" in e.value.message
    with pytest.raises(CsvError):
        read_csv(data, keep={"a"})


def test_values_stay_under_their_own_column():
    frame = read_csv(b"a,b,c\n1,2,3\n4,,\n7\n")
    assert list(frame.columns) == ["a", "b", "c"] and list(frame.index) == [0, 1, 2]
    assert frame["a"].tolist() == [1, 4, 7] and frame["b"].isna().tolist() == [False, True, True]
    assert read_csv(b"a,b,c\n1,2,3\n", keep={"c", "z"}).to_dict("list") == {"c": [3]}


def test_columns_and_rows_are_bounded():
    wide = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)).encode() + b"\n"
    with pytest.raises(CsvError, match="2,001 columns") as e:
        read_csv(wide + b"1\n")
    assert e.value.code == "columns"
    assert len(read_csv(b"a\n" + b"1\n" * 50, max_rows=50, keep={"a"})) == 50
    with pytest.raises(CsvError) as e:
        read_csv(b"a\n" + b"1\n" * 51, max_rows=50, keep={"a"})
    assert e.value.code == "rows"


@pytest.mark.parametrize("data, code", [(b"", "empty"), (b"  \n", "empty"), (b"PK\x03\x04zip", "binary"),
                                        (b"a,b\n1,\xff\n", "encoding"), (b'a,b\n1,"x\n', "quote")])
def test_unreadable_files_are_csv_errors(data, code):
    with pytest.raises(CsvError) as e:
        read_csv(data)
    assert e.value.code == code and e.value.message


def test_examples_csv_of_a_rule_set_with_trailing_commas_is_a_rule_error(tmp_path):
    folder = tmp_path / "sepsis"
    shutil.copytree(SEPSIS, folder)
    (folder / "examples.csv").write_text("temperature,heart rate\n39,120,\n")
    with pytest.raises(RuleError) as e:
        rules_dsl.load(folder)
    assert e.value.problems[0].file == "examples.csv" and e.value.problems[0].line == 2


def test_the_command_line_refuses_trailing_commas_with_the_line(tmp_path):
    data, out = tmp_path / "cases.csv", tmp_path / "fired.csv"
    data.write_text("temperature,heart rate,respiratory rate\n39,120,30,\n")
    for command in (["evaluate", SEPSIS, "--data", data, "--out", out],
                    ["analyze", SEPSIS, "--data", data, "--label", "temperature"]):
        result = subprocess.run([sys.executable, "-m", "server", *map(str, command)], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        assert result.returncode == 2 and "Line 2 has 4 values" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not out.exists()
