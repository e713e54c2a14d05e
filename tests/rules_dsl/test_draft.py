"""The vocabulary drafted from a CSV file (rules_dsl/draft.py) and the sample reader it uses (tables.read_sample)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_dsl.backends.values import MISSING_WORDS
from rules_dsl.draft import MAX_CATEGORY_VALUES, check_header, draft_vocabulary, readable_name, readable_range
from rules_dsl.errors import DataError
from rules_dsl.tables import CsvError, read_sample
from rules_dsl.vocabulary import Vocabulary, is_rule_name

HEADER = ["mean_area", "Age (years)", "sex", "smoker", "diagnosis", "notes", "diameter_mm"]
ROWS = [["143.5", "45", "F", "yes", "benign", "first visit", "2.5"],
        ["2501", "61", "M", "no", "malignant", "referred", "12"],
        ["NA", "33", "f", "", "benign", "came back", "7"],
        ["600", "", "M", "yes", "benign", "", "3.3"]]


def by_name(draft):
    return {f.name: f for f in draft.vocabulary.features}


def test_each_column_gets_a_guessed_type_a_readable_name_and_keeps_its_column():
    features = by_name(draft_vocabulary(HEADER, ROWS))
    area = features["mean area"]
    assert (area.type, area.column, area.range) == ("number", "mean_area", (100, 2600))
    age = features["age"]
    assert (age.type, age.unit, age.column, age.range) == ("number", "years", "Age (years)", (33, 61))
    assert features["diameter"].unit == "mm"
    sex = features["sex"]
    assert (sex.type, sex.values, sex.column) == ("category", ("F", "M"), "sex")
    assert features["smoker"].type == "boolean"
    assert features["notes"].type == "text"
    assert features["diagnosis"].type == "category"


def test_the_outcome_column_is_left_out_and_its_values_offered_as_labels():
    draft = draft_vocabulary(HEADER, ROWS, "diagnosis")
    assert "diagnosis" not in by_name(draft)
    assert draft.labels == ("benign", "malignant")
    assert draft.suggested_outcome == "diagnosis"
    assert [c.feature for c in draft.columns if c.column == "diagnosis"] == [None]


def test_missing_cells_are_ignored_and_counted():
    draft = draft_vocabulary(["a", "b"], [["1", ""], ["NA", "x"], ["3", "null"], ["n/a", "x"]])
    assert by_name(draft)["a"].range == (1, 3)
    notes = {c.column: c for c in draft.columns}
    assert (notes["a"].filled, notes["a"].missing) == (2, 2)
    assert (notes["b"].filled, notes["b"].missing) == (2, 2)


def test_a_column_without_values_is_text_and_an_empty_outcome_says_so():
    draft = draft_vocabulary(["a", "outcome"], [["", ""], ["", ""]], "outcome")
    assert by_name(draft)["a"].type == "text"
    assert draft.labels == ()
    assert "no values" in draft.notes[0]


@pytest.mark.parametrize("values, kind", [
    (["0", "1", "1"], "boolean"), (["true", "False"], "boolean"), (["yes", "no", "1"], "boolean"),
    (["1", "1"], "number"), (["0", "2"], "number"), (["1e3", "-2.5"], "number"), (["inf", "1"], "category"),
    (["a", "b", "a", "b"], "category"), (["a", "b", "c", "d"], "text"), (["only"], "category"),
    ([str(i) + "x" for i in range(MAX_CATEGORY_VALUES + 1)] * 3, "text"),
])
def test_the_type_is_guessed_from_the_values(values, kind):
    draft = draft_vocabulary(["col"], [[v] for v in values])
    assert draft.vocabulary.features[0].type == kind


@pytest.mark.parametrize("column, name", [
    ("mean_area", "mean area"), ("meanArea", "mean area"), ("Mean  Area", "mean area"), ("area_2", "area2"),
    ("2nd_opinion", "opinion"), ("age is known", "age known"), ("between", "between"),
    ("and", "feature"), ("???", "feature"),
    ("heart rate (bpm)", "heart rate bpm"), ("size_and_shape", "size shape"),
])
def test_readable_names(column, name):
    assert readable_name(column) == name


def test_a_column_name_is_kept_as_written_and_names_that_come_out_alike_are_made_unique():
    draft = draft_vocabulary([" age ", "Age"], [["1", "2"]])
    assert [(f.name, f.column) for f in draft.vocabulary.features] == [("age", " age "), ("age2", "Age")]


def test_names_that_come_out_alike_are_made_unique():
    draft = draft_vocabulary(["mean_area", "Mean Area"], [["1", "2"]])
    assert [f.name for f in draft.vocabulary.features] == ["mean area", "mean area2"]
    Vocabulary.from_dict({"features": draft.vocabulary.to_list()})


@pytest.mark.parametrize("header, words", [
    ([], "empty"), (["", ""], "empty"), (["a", ""], "Column 2 has no name"),
    (["a", "b", "a"], "Two columns are called 'a' (columns 1 and 3)"), (["1", "2.5"], "numbers, not column names"),
])
def test_a_header_that_does_not_name_the_columns_is_refused(header, words):
    with pytest.raises(DataError, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_header(header)


def test_an_outcome_that_is_not_a_column_is_refused():
    with pytest.raises(DataError, match="no column 'risk'"):
        draft_vocabulary(["a"], [["1"]], "risk")


@pytest.mark.parametrize("low, high, expected", [
    (6.981, 28.11, (6, 29)), (143.5, 2501, (100, 2600)), (0.05, 0.1, (0.05, 0.1)), (5, 5, (5, 5)),
    (0, 0, (0, 0)), (-3.25, 0.7, (-3.3, 0.7)), (0.0524, 0.1634, (0.05, 0.17)),
])
def test_readable_range(low, high, expected):
    assert readable_range(low, high) == expected


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@settings(max_examples=300, deadline=None)
@given(finite, finite)
def test_a_readable_range_holds_both_ends_and_is_not_much_wider(a, b):
    low, high = sorted((a, b))
    lo, hi = readable_range(low, high)
    assert lo <= low and high <= hi
    spread = (high - low) or max(abs(low), abs(high))
    assert (hi - lo) <= (high - low) + spread * 0.2 + 1e-9 * max(1.0, abs(low), abs(high))
    step = 10.0 ** (math.floor(math.log10(spread)) - 1) if spread else 1.0
    for x in (lo, hi):   # a whole number of steps of a tenth of the spread's order of magnitude
        assert abs(x / step - round(x / step)) < 1e-6


cells = st.one_of(st.sampled_from(["", "NA", "yes", "no", "0", "1", "a", "b", "B "]),
                  finite.map(repr), st.text(max_size=5))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12).filter(str.strip), min_size=1, max_size=5, unique=True),
       st.data())
def test_any_draft_is_a_vocabulary_that_loads_and_keeps_every_column(header, data):
    try:
        check_header(header)
    except DataError:
        return
    rows = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=12))
    draft = draft_vocabulary(header, rows)
    loaded = Vocabulary.from_dict({"features": draft.vocabulary.to_list()})
    assert sorted(f.column for f in loaded.features) == sorted(header)
    assert all(is_rule_name(f.name) for f in loaded.features)
    for feature, column in zip(loaded.features, draft.columns):
        values = [r[header.index(column.column)].strip() for r in rows]
        numbers = [float(v) for v in values if feature.type == "number" and v not in MISSING_WORDS]
        if numbers:
            assert feature.range[0] <= min(numbers) and max(numbers) <= feature.range[1]


def test_read_sample_reads_the_header_and_the_first_rows_only():
    data = b"\xef\xbb\xbfa,b\n1,x\n\n2,\"y, z\"\n3,w\n"
    assert read_sample(data, 2) == (["a", "b"], [["1", "x"], ["2", "y, z"]])


@pytest.mark.parametrize("data, code", [
    (b"", "empty"), (b"  \n", "empty"), (b"PK\x03\x04rest", "binary"), (b"a,b\n1,2,3\n", "ragged"),
    (b"a,b\n1,2\n1,2,3\n", "ragged"), (b"a,b\n\xff\xfe,1\n", "encoding"),
])
def test_read_sample_refuses_what_is_not_a_table(data, code):
    with pytest.raises(CsvError) as caught:
        read_sample(data, 10)
    assert caught.value.code == code


def test_the_language_guide_example_prints_what_it_says():
    """docs/language.md's draft example: each expression followed by ``# value`` lines gives that value."""
    import ast
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- example: draft -->\n```python\n(.*?)```", guide, flags=re.S).group(1)
    lines = code.splitlines()
    namespace: dict = {}
    checked = 0
    for node in ast.parse(code).body:
        source = ast.get_source_segment(code, node)
        after = []
        for line in lines[node.end_lineno:]:
            if not line.startswith("#"):
                break
            after.append(line[2:])
        if after:
            assert eval(source, namespace) == ast.literal_eval("\n".join(after))  # noqa: S307 (the guide's code)
            checked += 1
        else:
            exec(source, namespace)  # noqa: S102 (the guide's own code)
    assert checked == 2
