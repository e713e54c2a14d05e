"""One semantics, three backends: vectorized, per-row and SQL give identical answers, equal to a reference.

The reference is written here from DESIGN.md ("Semantics that every backend shares"), independently of the
library: ``reference_test`` gives one comparison's three-valued result and ``rules_dsl.logic.evaluate`` (the slow
Kleene evaluator) combines them; ``reference_rule`` goes further and reads the syntax tree itself (units, synonyms,
"between", "one of"), so the checker's translation is tested too.

Text for "contains" is ASCII in generated data: SQLite's lower() folds only A-Z (see backends/sql.py).
Category values match whatever their letter case and surrounding spaces (DESIGN.md: Unicode NFC, trimmed,
case-insensitive); the reference folds them with its own ``fold``.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_dsl import DataError
from rules_dsl import logic as L
from rules_dsl.errors import normalize_name
from rules_dsl.syntax import AllOf, AnyOf, AtLeast, Comparison, Not, Quantity
from tests.server.conftest import DATABASES, fresh_postgres_database

from .strategies import rules
from .vocab import CATEGORY_DATA, NOTES, NUMBERS, OTHER_NUMBERS, TEST_VOCABULARY, UNITS, VOCABULARY_DATA, build_ruleset

FEATURES = {f.column: f for f in TEST_VOCABULARY.features}  # data column -> feature
COLUMNS = list(FEATURES)


# ---- the reference -------------------------------------------------------------------------------------------

def fold(text: str) -> str:
    """How DESIGN.md says a category value is compared: Unicode NFC, surrounding spaces trimmed, case-insensitive."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).strip().casefold())


def reference_test(test: L.Test, row: dict):
    """One test's result from DESIGN.md: None (unknown) when the value is missing, except for missing / known."""
    x = row.get(test.column)
    if test.op == "missing":
        return x is None
    if test.op == "known":
        return x is not None
    if x is None:
        return None
    v = test.value
    if test.kind == "category":
        x, v = fold(x), tuple(map(fold, v)) if isinstance(v, tuple) else fold(v)
    if test.op == "contains":
        return v.lower() in x.lower()
    if test.op == "not_contains":
        return v.lower() not in x.lower()
    return {"eq": lambda: x == v, "ne": lambda: x != v, "gt": lambda: x > v, "ge": lambda: x >= v,
            "lt": lambda: x < v, "le": lambda: x <= v, "in": lambda: x in v, "not_in": lambda: x not in v}[test.op]()


def kleene_not(a):
    return None if a is None else not a


def reference_rule(condition, row: dict):
    """The condition's three-valued result, read straight from the syntax tree (the checker is not used)."""
    if isinstance(condition, Not):
        return kleene_not(reference_rule(condition.item, row))
    if isinstance(condition, (AllOf, AnyOf, AtLeast)):
        results = [reference_rule(item, row) for item in condition.items]
        true, false = results.count(True), results.count(False)
        if isinstance(condition, AllOf):
            return False if false else None if None in results else True
        if isinstance(condition, AnyOf):
            return True if true else None if None in results else False
        return True if true >= condition.count else False if len(results) - false < condition.count else None
    return reference_comparison(condition, row)


def _feature(name: str):
    for feature in TEST_VOCABULARY.features:
        if normalize_name(name) in {normalize_name(n) for n in (feature.name, *feature.synonyms)}:
            return feature
    raise AssertionError(name)


def _in_feature_unit(feature, value: Quantity) -> float:
    return float(value.number / UNITS[feature.name][value.unit])


def _category_value(feature, value) -> str:
    written = str(value.number) if isinstance(value, Quantity) else value.value
    return next(v for v in feature.values if normalize_name(v) == normalize_name(written))


def reference_comparison(c: Comparison, row: dict):
    feature = _feature(c.feature)
    x = row.get(feature.column)
    if c.op == "is missing":
        return x is None
    if c.op == "is known":
        return x is not None
    if x is None:
        return None
    if feature.type == "number":
        values = [_in_feature_unit(feature, v) for v in c.values]
    elif feature.type == "category":
        values = [fold(_category_value(feature, v)) for v in c.values]
        x = fold(x)
    else:
        values = [v.value for v in c.values]
    if c.op == "between":
        return values[0] <= x <= values[1]
    if c.op in ("contains", "does not contain"):
        return (values[0].lower() in x.lower()) == (c.op == "contains")
    return {"is": lambda: x == values[0], "is not": lambda: x != values[0], "above": lambda: x > values[0],
            "below": lambda: x < values[0], "at least": lambda: x >= values[0], "at most": lambda: x <= values[0],
            "one of": lambda: x in values, "not one of": lambda: x not in values}[c.op]()


# ---- generated cases -------------------------------------------------------------------------------------------

def _maybe_missing(values: st.SearchStrategy) -> st.SearchStrategy:
    """About one value in five missing."""
    return st.tuples(st.integers(0, 4), values).map(lambda p: None if p[0] == 0 else p[1])


# How people type a category value: any letter case, spaces (tab, no-break space) around it.
_AROUND = st.sampled_from(["", " ", "  ", "\t", "\u00a0", " \n"])
_LETTER_CASES = st.sampled_from([str.lower, str.upper, str.title, str.swapcase])


def _spelt(values: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda before, value, case, after: before + case(value) + after,
                     _AROUND, st.sampled_from(values), _LETTER_CASES, _AROUND)


def _column_values(feature) -> st.SearchStrategy:
    if feature.type == "category":
        return st.one_of(st.sampled_from(CATEGORY_DATA[feature.name]), _spelt(CATEGORY_DATA[feature.name]))
    if feature.type == "number":
        return st.sampled_from([float(x) for x in NUMBERS] + OTHER_NUMBERS)
    return st.booleans() if feature.type == "boolean" else st.sampled_from(NOTES)


# Built once (a strategy built inside a draw is validated again on every example).
_ROWS = st.lists(st.tuples(*[_maybe_missing(_column_values(f)) for f in FEATURES.values()]), min_size=1,
                 max_size=15)


def cases() -> st.SearchStrategy[dict[str, list]]:
    """Column -> values (None for missing), in canonical Python types: float, bool, str."""
    return _ROWS.map(lambda rows: {column: [row[j] for row in rows] for j, column in enumerate(COLUMNS)})


# How a column may arrive in a data frame: the dtypes people and CSV readers produce.
try:
    import pyarrow  # noqa: F401 - pd.ArrowDtype text needs it

    _HAS_PYARROW = True
except ImportError:
    _HAS_PYARROW = False


def _as_series(kind: str, values: list, style: str) -> pd.Series:
    if style == "object":
        return pd.Series(values, dtype=object)
    if kind == "number":
        if style == "float64":
            return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        return pd.Series([pd.NA if v is None else v for v in values], dtype=style)  # Int64, Float64
    if kind == "boolean":
        if style == "float64":
            return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
        return pd.Series([pd.NA if v is None else v for v in values], dtype=style)  # boolean, Int64 (1/0)
    if style == "object-int":  # category codes read as numbers: 2 rather than "2"
        return pd.Series([int(v) if v is not None and v.isdigit() else v for v in values], dtype=object)
    if style == "Int64":
        return pd.Series([pd.NA if v is None else int(v) for v in values], dtype="Int64")
    if style == "ArrowDtype":  # what dtype_backend="pyarrow" reads: Arrow strings, <NA> for missing
        import pyarrow as pa

        return pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
    return pd.Series(values, dtype=style)  # category, string, str


def _styles(kind: str, values: list) -> list[str]:
    known = [v for v in values if v is not None]
    if kind == "number":
        return ["float64", "object", "Float64"] + (["Int64"] if all(float(v).is_integer() for v in known) else [])
    if kind == "boolean":
        return ["object", "boolean", "float64", "Int64"]
    styles = ["object", "string", "str"] + (["ArrowDtype"] if _HAS_PYARROW else [])
    if kind == "category":
        styles.append("category")
        if all(v.isdigit() for v in known):
            styles += ["object-int", "Int64"]
    return styles


_CHOICES = st.lists(st.integers(0, 11), min_size=len(COLUMNS) + 1, max_size=len(COLUMNS) + 1)


def frame_of(data: dict[str, list], choices: list[int]) -> pd.DataFrame:
    """The cases as a data frame, each column in one of the dtypes it may arrive in, with one of three indexes."""
    columns = {}
    for (column, values), choice in zip(data.items(), choices):
        kind = FEATURES[column].type
        styles = _styles(kind, values)
        columns[column] = _as_series(kind, values, styles[choice % len(styles)])
    n = len(next(iter(data.values())))
    indexes = [pd.RangeIndex(n), pd.Index([f"case-{i}" for i in range(n)]), pd.Index(list(range(n))[::-1]) * 7]
    frame = pd.DataFrame(columns)
    frame.index = indexes[choices[-1] % len(indexes)]
    return frame


def row_records(data: dict[str, list], missing: str) -> list[dict]:
    """One dict per case; missing values as None, as NaN, or as absent keys."""
    n = len(next(iter(data.values())))
    records = []
    for i in range(n):
        record = {}
        for column, values in data.items():
            if values[i] is not None:
                record[column] = values[i]
            elif missing == "none":
                record[column] = None
            elif missing == "nan":
                record[column] = math.nan
        records.append(record)
    return records


# ---- running every backend -------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def engine() -> sa.Engine:
    return sa.create_engine("sqlite://")


@pytest.fixture(scope="module", params=DATABASES)
def sql_engine(request):
    """The databases the SQL backend is proved on: SQLite, and PostgreSQL when RULECRAFT_TEST_POSTGRES_URL names a
    server (the server stores the rule sets there; a report or a data team's query runs the same SQL)."""
    if request.param == "sqlite":
        yield engine()
        return
    with fresh_postgres_database() as url:
        bind = sa.create_engine(url)
        yield bind
        bind.dispose()


_SQL_TYPES = {"number": sa.Float, "category": sa.String, "text": sa.String, "boolean": sa.Boolean}


def sql_matches(ruleset, data: dict[str, list], bind: sa.Engine | None = None) -> dict[str, list[bool]]:
    """Each rule's 0/1 column computed by the database (SQLite unless ``bind`` says), missing values as NULL."""
    metadata = sa.MetaData()
    table = sa.Table("cases", metadata, sa.Column("row_id", sa.Integer, primary_key=True),
                     *[sa.Column(c, _SQL_TYPES[FEATURES[c].type]) for c in data])
    n = len(next(iter(data.values())))
    conditions = ruleset.sql_conditions(table)
    query = sa.select(*[sa.case((expr, 1), else_=0).label(rule_id) for rule_id, expr in conditions.items()])
    with (bind or engine()).begin() as connection:
        metadata.drop_all(connection)
        metadata.create_all(connection)
        connection.execute(table.insert(), [{"row_id": i, **{c: v[i] for c, v in data.items()}} for i in range(n)])
        rows = connection.execute(query.order_by(table.c.row_id)).all()
        metadata.drop_all(connection)
    return {rule_id: [bool(r[j]) for r in rows] for j, rule_id in enumerate(conditions)}


def canonical_row(data: dict[str, list], i: int) -> dict:
    return {column: values[i] for column, values in data.items()}


def assert_backends_agree(ruleset, data: dict[str, list], frame: pd.DataFrame, syntax=None, bind=None) -> None:
    n = len(frame)
    ids = ruleset.rule_ids
    vectorized = ruleset.matches(frame)
    assert list(vectorized.columns) == ids
    assert vectorized.index.equals(frame.index)
    assert all(vectorized.dtypes == bool)  # noqa: E721
    by_row = {missing: [ruleset.matches_row(r) for r in row_records(data, missing)]
              for missing in ("none", "nan", "absent")}
    by_row["frame records"] = [ruleset.matches_row(r) for r in frame.to_dict("records")]
    sql = sql_matches(ruleset, data, bind)
    for rule in ruleset.active_rules:
        expected = [L.evaluate(rule.logic, lambda t, row=canonical_row(data, i): reference_test(t, row)) is True  # noqa: B008
                    for i in range(n)]
        if syntax is not None:
            from_syntax = [reference_rule(syntax[rule.id].condition, canonical_row(data, i)) is True
                           for i in range(n)]
            assert from_syntax == expected, f"checker's logic differs from the syntax tree: {rule.text}"
        assert vectorized[rule.id].tolist() == expected, f"vectorized: {rule.text}"
        for missing, fired in by_row.items():
            assert [rule.id in f for f in fired] == expected, f"per-row ({missing}): {rule.text}"
        assert sql[rule.id] == expected, f"SQL: {rule.text}"


# ---- the generated parity test ---------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(rules(checked=True, max_leaves=6), min_size=1, max_size=6), cases(), _CHOICES)
def test_generated_rules_and_data_agree_in_every_backend_and_with_the_reference(sql_engine, trees, data, choices):
    trees = [replace(tree, name=f"rule {i}", enabled=True) for i, tree in enumerate(trees)]
    ruleset = build_ruleset(trees)
    syntax = {f"r{i:03d}": tree for i, tree in enumerate(trees)}
    assert_backends_agree(ruleset, data, frame_of(data, choices), syntax, sql_engine)


# ---- Kleene truth tables -----------------------------------------------------------------------------------------

# Three comparisons whose truth we control: True, False or unknown (missing value).
A, B, C = "temperature is above 38", "heart rate is above 90", "white cell count is above 12"
TRUTH = {"temperature": {True: 39.0, False: 37.0, None: None}, "hr": {True: 100.0, False: 80.0, None: None},
         "white cell count": {True: 13.0, False: 11.0, None: None}}
T, F, U = True, False, None

KLEENE = [
    # (condition, truth of A, B, C, expected truth)
    ("A", T, U, U, T), ("A", U, U, U, U), ("A", F, U, U, F),
    ("not A", U, U, U, U), ("not A", T, U, U, F), ("not not A", U, U, U, U),
    ("A and B", T, T, U, T), ("A and B", F, U, U, F), ("A and B", U, F, U, F), ("A and B", T, U, U, U),
    ("A and B", U, U, U, U),
    ("A or B", T, U, U, T), ("A or B", U, T, U, T), ("A or B", F, U, U, U), ("A or B", F, F, U, F),
    ("not (A and B)", F, U, U, T), ("not (A or B)", F, U, U, U), ("not (A or B)", T, U, U, F),
    ("A or B and C", U, T, F, U), ("(A or B) and C", U, T, F, F), ("A or B and C", T, U, U, T),
    ("at least 2 of (A, B, C)", T, U, F, U),
    ("at least 2 of (A, B, C)", T, T, U, T),
    ("at least 2 of (A, B, C)", F, F, U, F),
    ("at least 2 of (A, B, C)", T, F, F, F),
    ("at least 2 of (A, B, C)", U, U, U, U),
    ("at least 1 of (A, B, C)", U, U, U, U),
    ("at least 1 of (A, B, C)", F, F, F, F),
    ("at least 1 of (A)", F, U, U, F), ("at least 1 of (A)", T, U, U, T),  # one item: mutant row._sum_22
    ("at least 3 of (A, B, C)", T, T, U, U),
    ("at least 0 of (A)", U, U, U, T),
    ("at least 3 of (A, B)", T, T, U, F),
    ("not at least 2 of (A, B, C)", T, U, F, U),
    ("not at least 2 of (A, B, C)", F, U, F, T),
    ("temperature is missing", U, U, U, T), ("temperature is missing", F, U, U, F),
    ("temperature is known", U, U, U, F), ("not (temperature is known)", U, U, U, T),
    ("temperature is not 38", U, U, U, U), ("temperature is not 39", T, U, U, F),
    ("temperature is not one of 38, 39", U, U, U, U), ("temperature is between 36 and 39", T, U, U, T),
    ("temperature is between 36 and 39", U, U, U, U), ("not (temperature is between 38 and 40)", F, U, U, T),
    ("A or temperature is missing", U, U, U, T), ("A and temperature is missing", U, U, U, U),
]


def truth_of(ruleset, expression_data: dict, bind: sa.Engine | None = None) -> set:
    """The expression's truth value as each backend shows it: fires(e) -> True, fires(not e) -> False."""
    data = {c: [expression_data.get(c)] for c in COLUMNS}
    frame = pd.DataFrame({c: pd.Series(v, dtype=float if FEATURES[c].type == "number" else object)
                          for c, v in data.items()})
    assert_backends_agree(ruleset, data, frame, bind=bind)
    fired = ruleset.matches(frame).iloc[0]
    assert not (fired["r000"] and fired["r001"])
    return True if fired["r000"] else False if fired["r001"] else None


@pytest.mark.parametrize("condition, a, b, c, expected", KLEENE)
def test_kleene_truth_tables(sql_engine, condition, a, b, c, expected):
    """On every database (mutation testing found "at least N of" summed as text survived on SQLite alone)."""
    text = re.sub(r"\b[ABC]\b", lambda m: {"A": A, "B": B, "C": C}[m.group()], condition)
    ruleset = build_ruleset([f'rule "e" when {text}', f'rule "n" when not ({text})'])
    values = {"temperature": TRUTH["temperature"][a], "hr": TRUTH["hr"][b],
              "white cell count": TRUTH["white cell count"][c]}
    assert truth_of(ruleset, values, sql_engine) is expected


def test_a_rule_fires_only_when_true():
    ruleset = build_ruleset([f'rule "e" when not ({A})'])
    assert ruleset.matches_row({"temperature": None}) == []
    assert ruleset.matches_row({"temperature": 37.0}) == ["r000"]


def test_is_not_and_not_one_of_on_every_type_are_unknown_when_missing():
    ruleset = build_ruleset(['rule "a" when history of smoking is not yes',
                             'rule "b" when location is not one of "margin", "border"',
                             'rule "c" when notes does not contain "biopsy"',
                             'rule "d" when notes is not "fever"',
                             'rule "e" when grade is not 2'])
    data = {c: [None] for c in COLUMNS}
    assert_backends_agree(ruleset, data, pd.DataFrame({c: pd.Series([None], dtype=object) for c in COLUMNS}))
    assert ruleset.matches_row({}) == []
    known = {"smoker": False, "location": "centre", "notes": "FEVER", "grade": "3"}
    assert ruleset.matches_row(known) == ["r000", "r001", "r002", "r003", "r004"]


# ---- data types ------------------------------------------------------------------------------------------------

def test_a_text_column_read_as_numbers_is_compared_as_text_like_per_row():
    """A reader makes a column of numbers float64 even where the vocabulary says text; the vectorized backend must
    then compare their text as the per-row one does (mutation testing: mutant ``_is_plain_text__mutmut_3`` sent
    such a column down the direct path, where 1.5 never equals "1.5")."""
    ruleset = build_ruleset(['rule "a" when notes is "1.5"'])
    frame = pd.DataFrame({"notes": [1.5, 2.0, None]})
    assert ruleset.matches(frame)["r000"].tolist() == [True, False, False]
    assert [ruleset.matches_row(r) for r in frame.to_dict("records")] == [["r000"], [], []]


def test_categorical_columns_with_unused_and_missing_categories():
    ruleset = build_ruleset(['rule "a" when location is one of "margin", "border", "centre"',
                             'rule "b" when location is not "margin"', 'rule "c" when location is missing',
                             'rule "d" when grade is one of 1, 3'])
    location = pd.Categorical(["margin", None, "centre", "elsewhere"],
                              categories=["elsewhere", "border", "centre", "margin", "unused"])
    grade = pd.Categorical([1, 3, None, 2], categories=[3, 2, 1])
    frame = pd.DataFrame({"location": location, "grade": grade})
    assert ruleset.matches(frame).to_dict("list") == {
        "r000": [True, False, True, False], "r001": [False, False, True, True],
        "r002": [False, True, False, False], "r003": [True, True, False, False]}
    data = {"location": ["margin", None, "centre", "elsewhere"], "grade": ["1", "3", None, "2"]}
    full = {c: data.get(c, [None] * 4) for c in COLUMNS}
    assert_backends_agree(ruleset, full, frame.assign(**{c: [None] * 4 for c in COLUMNS if c not in data}))


@pytest.mark.parametrize("dtype", ["string", "str", object, "category"])
def test_text_dtypes_with_missing_values(dtype):
    ruleset = build_ruleset(['rule "a" when notes contains "ab"', 'rule "b" when notes is "x" or notes is "y"',
                             'rule "c" when location is "margin"', 'rule "d" when notes is not "x"',
                             'rule "e" when notes is one of "x", "y", "z"', 'rule "f" when notes is known'])
    notes = ["xab", None, "x", "y"]
    location = ["margin", None, "border", "margin"]
    frame = pd.DataFrame({"notes": pd.Series(notes, dtype=dtype), "location": pd.Series(location, dtype=dtype)})
    assert ruleset.matches(frame).to_dict("list") == {
        "r000": [True, False, False, False], "r001": [False, False, True, True],
        "r002": [True, False, False, True], "r003": [True, False, False, True],
        "r004": [False, False, True, True], "r005": [True, False, True, True]}
    data = {c: [None] * 4 for c in COLUMNS} | {"notes": notes, "location": location}
    assert_backends_agree(ruleset, data, frame.assign(**{c: [None] * 4 for c in COLUMNS if c not in frame}))


@pytest.mark.parametrize("series", [
    pd.Series([1, None, 0, 1], dtype="Int64"),
    pd.Series([1.0, None, 0.0, 1.0], dtype="Float64"),
    pd.Series([True, None, False, True], dtype="boolean"),
    pd.Series([True, None, False, True], dtype=object),
    pd.Series(["yes", None, "no", "TRUE"], dtype=object),
    pd.Series(["1", None, " No", "true"], dtype=object),
    pd.Series([1.0, np.nan, 0.0, 1.0]),
], ids=["Int64", "Float64", "boolean", "object", "words", "text 1/0", "float64"])
def test_nullable_and_other_boolean_columns(series):
    ruleset = build_ruleset(['rule "a" when smoker is yes', 'rule "b" when smoker is not yes',
                             'rule "c" when smoker is missing'])
    assert ruleset.matches(pd.DataFrame({"smoker": series})).to_dict("list") == {
        "r000": [True, False, False, True], "r001": [False, False, True, False], "r002": [False, True, False, False]}
    assert [ruleset.matches_row({"smoker": v}) for v in series.tolist()] == [["r000"], ["r002"], ["r001"], ["r000"]]


def test_nullable_integer_numbers_and_numpy_scalars():
    ruleset = build_ruleset(['rule "a" when heart rate is above 90', 'rule "b" when heart rate is not 90',
                             'rule "c" when heart rate is missing'])
    frame = pd.DataFrame({"hr": pd.Series([100, None, 90, 80], dtype="Int64")})
    assert ruleset.matches(frame).to_dict("list") == {
        "r000": [True, False, False, False], "r001": [True, False, False, True], "r002": [False, True, False, False]}
    for value, fired in [(np.int64(100), ["r000", "r001"]), (np.float32(80), ["r001"]), (pd.NA, ["r002"]),
                         (np.nan, ["r002"]), (Decimal("90"), []), ("n/a", ["r002"]), ("NA", ["r002"])]:
        assert ruleset.matches_row({"hr": value}) == fired, value
    for value in (True, np.bool_(False), math.inf, -math.inf, np.float32("inf"), Decimal("-Infinity")):
        with pytest.raises(DataError) as info:  # yes/no is no number; infinite numbers are refused
            ruleset.matches_row({"hr": value})
        assert info.value.column == "hr", value


def test_category_codes_given_as_numbers():
    ruleset = build_ruleset(['rule "a" when grade is 2', 'rule "b" when grade is one of "1", "3"'])
    for column in ([2, 1, None, 3], [2.0, 1.0, np.nan, 3.0], ["2", "1", None, "3"]):
        frame = pd.DataFrame({"grade": pd.Series(column, dtype=object if None in column else None)})
        assert ruleset.matches(frame).to_dict("list") == {"r000": [True, False, False, False],
                                                          "r001": [False, True, False, True]}, column
        assert [ruleset.matches_row({"grade": v}) for v in column] == [["r000"], ["r001"], [], ["r001"]]


WRONG_TYPES = [
    ("hr", "heart rate is above 90", "fast"),
    ("hr", "heart rate is above 90", "95"),
    ("hr", "heart rate is missing", [95]),
    ("smoker", "smoker is yes", "maybe"),
    ("smoker", "smoker is yes", 2),
    ("notes", 'notes contains "a"', True),
    ("location", 'location is "margin"', 3.5j),
]


@pytest.mark.parametrize("column, condition, bad", WRONG_TYPES)
def test_wrong_data_types_are_data_errors_naming_the_column(column, condition, bad):
    ruleset = build_ruleset([f'rule "a" when {condition}'])
    good = {"hr": 95.0, "smoker": True, "notes": "abc", "location": "margin"}[column]
    frame = pd.DataFrame({column: pd.Series([good, bad, None], dtype=object)})
    with pytest.raises(DataError) as info:
        ruleset.matches(frame)
    assert info.value.column == column and f"'{column}'" in info.value.message
    with pytest.raises(DataError) as info:
        ruleset.matches_row({column: bad})
    assert info.value.column == column and f"'{column}'" in info.value.message


def test_a_missing_column_names_the_column_and_the_rules():
    ruleset = build_ruleset(['rule "a" when heart rate is above 90', 'rule "b" when pulse is below 50',
                             'rule "c" when smoker is yes'])
    with pytest.raises(DataError) as info:
        ruleset.matches(pd.DataFrame({"smoker": [True]}))
    assert info.value.column == "hr"
    assert "'hr' (needed by r000, r001)" in info.value.message
    table = sa.Table("t", sa.MetaData(), sa.Column("smoker", sa.Boolean))
    with pytest.raises(DataError) as info:
        ruleset.sql_conditions(table)
    assert info.value.column == "hr" and "r000, r001" in info.value.message
    assert ruleset.matches_row({"smoker": True}) == ["r002"]  # one case: an absent key is a missing value


def test_a_column_given_twice_is_a_data_error():
    ruleset = build_ruleset(['rule "a" when heart rate is above 90'])
    frame = pd.DataFrame([[100.0, 50.0, 1]], columns=["hr", "hr", "other"])
    with pytest.raises(DataError) as info:
        ruleset.matches(frame)
    assert info.value.column == "hr" and "more than one column named 'hr'" in info.value.message
    frame = pd.DataFrame([[100.0, 1, 2]], columns=["hr", "other", "other"])
    assert ruleset.matches(frame)["r000"].tolist() == [True]  # a repeated column no rule reads is no problem


def test_empty_frame_and_index_are_kept():
    ruleset = build_ruleset(['rule "a" when heart rate is above 90'])
    empty = ruleset.matches(pd.DataFrame({"hr": pd.Series([], dtype=float)}))
    assert empty.shape == (0, 1) and list(empty.columns) == ["r000"]
    frame = pd.DataFrame({"hr": [100.0, 50.0]}, index=pd.Index(["b", "a"], name="case"))
    result = ruleset.matches(frame)
    assert result.index.equals(frame.index) and result["r000"].tolist() == [True, False]


def test_contains_escapes_sql_wildcards(sql_engine):
    ruleset = build_ruleset(['rule "a" when notes contains "50%"', 'rule "b" when notes contains "_"',
                             'rule "c" when notes does not contain "%"'])
    notes = ["50% better", "500 better", "under_score", "underscore", None]
    data = {c: [None] * 5 for c in COLUMNS} | {"notes": notes}
    assert_backends_agree(ruleset, data, pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()}),
                          bind=sql_engine)
    assert ruleset.matches(pd.DataFrame({"notes": notes})).to_dict("list") == {
        "r000": [True, False, False, False, False], "r001": [False, False, True, False, False],
        "r002": [False, True, True, True, False]}


def test_non_ascii_text_outside_sql():
    """Python's lower() folds every letter; vectorized and per-row agree (SQLite folds only A-Z, documented)."""
    ruleset = build_ruleset(['rule "a" when notes contains "ÉCHO"'])
    notes = ["échographie", "ECHO", None]
    assert ruleset.matches(pd.DataFrame({"notes": notes}))["r000"].tolist() == [True, False, False]
    assert [ruleset.matches_row({"notes": n}) for n in notes] == [["r000"], [], []]


def test_units_compile_to_the_vocabulary_unit():
    ruleset = build_ruleset(['rule "a" when lesion diameter is 0.3 cm', 'rule "b" when age at diagnosis is 6 months',
                             'rule "c" when lesion diameter is between 2500 µm and 0.3 cm',
                             'rule "d" when age at diagnosis is 182.625 days'])
    frame = pd.DataFrame({"diam_mm": [3.0, 2.9999999], "age": [0.5, 0.49]})
    assert ruleset.matches(frame).to_dict("list") == {"r000": [True, False], "r001": [True, False],
                                                      "r002": [True, True], "r003": [True, False]}
    tests = {t.op: t.value for r in ruleset.active_rules for t in L.tests(r.logic) if t.column == "diam_mm"}
    assert tests["eq"] == 3.0 and tests["ge"] == 2.5 and tests["le"] == 3.0


def test_columns_named_like_the_vocabulary_says(vocabulary):
    assert VOCABULARY_DATA["features"]["heart rate"]["column"] == "hr"
    ruleset = build_ruleset(['rule "a" when pulse is above 90'])
    assert ruleset.columns == ["hr"]
    assert ruleset.matches_row({"hr": 100.0}) == ["r000"]
    # the feature's name or a synonym, in any case, as the server reads a case; the data column wins over them
    assert ruleset.matches_row({"heart rate": 100.0}) == ["r000"]
    assert ruleset.matches_row({"Pulse": 100.0, "other": 1}) == ["r000"]
    assert ruleset.matches_row({"hr": 50.0, "heart rate": 100.0}) == []
    with pytest.raises(DataError) as info:
        ruleset.matches_row({"heart rate": 100.0, "pulse": 100.0})
    assert info.value.column == "hr" and "given twice" in info.value.message


@pytest.mark.parametrize("dtype", [object, "str", "string"])
def test_large_text_columns_agree_with_the_row_backend(dtype):
    """Columns of 5,000+ rows take the vectorized backend's factorization by object identity: the same text in
    several objects, missing values of every kind, numbers as category codes and a wrong type must all give the
    answers the per-row backend gives (tests of a few rows never reach that path)."""
    ruleset = build_ruleset(['rule "a" when location is "margin"', 'rule "b" when location is not "margin"',
                             'rule "c" when location is one of "border", "centre"',
                             'rule "d" when location is not one of "border", "centre"',
                             'rule "e" when location is missing', 'rule "f" when grade is one of 1, 3',
                             'rule "g" when grade is not 2', 'rule "h" when notes contains "AB"',
                             'rule "i" when notes is one of "xab", "y", "z", "q"'])
    rng = np.random.default_rng(3)
    n = 6000
    margin_copies = ["".join(["mar", "gin"]) for _ in range(5)]  # equal text, distinct objects
    pool = ["margin", "border", "centre", None, *margin_copies]
    location = [pool[i] for i in rng.integers(0, len(pool), n)]
    grade_pool = [1, 2, 3, 2.0, "3", None, float("nan")] if dtype is object else ["1", "2", "3", None]
    grade = [grade_pool[i] for i in rng.integers(0, len(grade_pool), n)]
    notes_pool = ["xab", "y", "z", "AbC", None, "q"]
    notes = [notes_pool[i] for i in rng.integers(0, len(notes_pool), n)]
    frame = pd.DataFrame({"location": pd.Series(location, dtype=dtype), "grade": pd.Series(grade, dtype=dtype),
                          "notes": pd.Series(notes, dtype=dtype)})
    fired = ruleset.matches(frame)
    expected = [ruleset.matches_row({"location": a, "grade": b, "notes": c})
                for a, b, c in zip(location, grade, notes)]
    got = [[rule_id for rule_id in fired.columns if row[rule_id]] for _, row in fired.iterrows()]
    assert got == expected
    assert fired.sum().min() > 0  # every rule fires somewhere: the data reaches every test

    bad = pd.Series(location[:-1] + [3.5j], dtype=object)
    with pytest.raises(DataError):
        ruleset.matches(frame.assign(location=bad))


def test_per_row_reads_any_mapping_and_absent_keys_are_missing():
    """The per-row function reads a plain dict by subscripts and falls back to .get when a key is absent; other
    mappings are always read with .get, so a defaultdict or a Counter cannot invent a value for an absent key."""
    from collections import Counter, defaultdict
    from types import MappingProxyType

    ruleset = build_ruleset(['rule "a" when heart rate is missing', 'rule "b" when location is "margin"',
                             'rule "c" when heart rate is not 0 or location is missing'])
    full = {"hr": 0.0, "location": "margin"}
    assert ruleset.matches_row(full) == ["r001"]
    assert ruleset.matches_row({"location": "margin"}) == ["r000", "r001"]
    assert ruleset.matches_row({}) == ["r000", "r002"]
    invented = defaultdict(lambda: 0.0, location="border")
    assert ruleset.matches_row(invented) == ["r000"] and "hr" not in invented
    assert ruleset.matches_row(Counter(location=1)) == ["r000"]  # a count of 1 is the category "1", not margin
    assert ruleset.matches_row(MappingProxyType(full)) == ["r001"]
    assert ruleset.matches_row(pd.Series(full, dtype=object)) == ["r001"]
