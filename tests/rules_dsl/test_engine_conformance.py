"""The conformance matrix: every operator and construct x every true/false/unknown input x every engine, each cell
checked against the reference evaluator (rules_dsl.logic.evaluate over test_parity's reference_test): 0 cells
differ.

Each construct is a condition over leaves whose truth the data controls: for every combination of true, false and
unknown (a missing value; in number columns both null and NaN, since NaN is missing on every engine) one row. Each
condition ``e`` comes as two rules, ``e`` and ``not (e)``: the first fires where e is true, the second where it is
false, neither where it is unknown, so a rule column that is only true-or-not still shows all three values.
All constructs run as one rule set over one frame, so each engine runs once per test.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_dsl import logic as L
from rules_dsl.engines import CONFIDENCE, DECIDING_RULE, DECISION, engine_name
from tests.conftest import SPARK_FORMS, engine_or_skip, spark_settings
from tests.server.conftest import fresh_postgres_database

from .strategies import rules
from .test_parity import COLUMNS, FEATURES, cases, reference_test, sql_matches
from .vocab import TEST_SETTINGS, TEST_VOCABULARY, build_ruleset

T, F, U = True, False, None

# ---- the leaves: one comparison each, with data values that make it true, false or unknown ----------------------
# name -> (condition text, column, {truth: [data values]}); unknown is a missing value (None, and NaN for numbers).
NAN = math.nan
LEAVES = {
    "above": ("temperature is above 38", "temperature", {T: [39.0], F: [38.0, 37.0], U: [None, NAN]}),
    "below": ("temperature is below 38", "temperature", {T: [37.0], F: [38.0, 39.0], U: [None, NAN]}),
    "at least": ("temperature is at least 38", "temperature", {T: [38.0, 39.0], F: [37.9], U: [None, NAN]}),
    "at most": ("temperature is at most 38", "temperature", {T: [38.0, 37.0], F: [38.1], U: [None, NAN]}),
    "between": ("temperature is between 36 and 39", "temperature", {T: [36.0, 39.0], F: [35.9, 39.5],
                                                                    U: [None, NAN]}),
    "is (number)": ("heart rate is 90", "hr", {T: [90.0], F: [91.0], U: [None, NAN]}),
    "is not (number)": ("heart rate is not 90", "hr", {T: [91.0], F: [90.0], U: [None, NAN]}),
    "one of (number)": ("white cell count is one of 4, 12", "white cell count", {T: [12.0], F: [5.0],
                                                                                 U: [None, NAN]}),
    "not one of (number)": ("white cell count is not one of 4, 12", "white cell count",
                            {T: [5.0], F: [4.0], U: [None, NAN]}),
    "is (category)": ('location is "margin"', "location", {T: ["margin", " Margin ", "MARGIN"], F: ["border"],
                                                           U: [None]}),
    "is not (category)": ('location is not "margin"', "location", {T: ["centre", "elsewhere"], F: ["margin\t"],
                                                                   U: [None]}),
    "one of (category)": ('location is one of "margin", "border"', "location", {T: ["BORDER"], F: ["centre"],
                                                                                U: [None]}),
    "not one of (category)": ('location is not one of "margin", "border"', "location",
                              {T: ["centre"], F: [" margin"], U: [None]}),
    "is (yes/no)": ("history of smoking is yes", "smoker", {T: [True], F: [False], U: [None]}),
    "is not (yes/no)": ("history of smoking is not yes", "smoker", {T: [False], F: [True], U: [None]}),
    "is (text)": ('notes is "fever"', "notes", {T: ["fever"], F: ["Fever", "cough"], U: [None]}),
    "is not (text)": ('notes is not "fever"', "notes", {T: ["cough"], F: ["fever"], U: [None]}),
    "contains": ('notes contains "biopsy"', "notes", {T: ["Biopsy done", "no BIOPSY"], F: ["fever", ""],
                                                      U: [None]}),
    "does not contain": ('notes does not contain "biopsy"', "notes", {T: ["fever"], F: ["biopsy"], U: [None]}),
    "is missing": ("temperature is missing", "temperature", {T: [None, NAN], F: [37.0]}),
    "is known": ("temperature is known", "temperature", {T: [37.0], F: [None, NAN]}),
    "units (cm to mm)": ("lesion diameter is above 0.3 cm", "diam_mm", {T: [4.0], F: [3.0, 2.0], U: [None, NAN]}),
    "units (months to years)": ("age at diagnosis is below 6 months", "age", {T: [0.4], F: [0.5, 2.0],
                                                                              U: [None, NAN]}),
}

# The connectives, over three leaves on three columns of three types.
A, B, C = 'heart rate is above 90', 'location is "margin"', 'notes contains "biopsy"'
ABC = {"A": ("hr", {T: [100.0], F: [80.0], U: [None, NAN]}), "B": ("location", {T: ["Margin"], F: ["border"],
                                                                               U: [None]}),
       "C": ("notes", {T: ["biopsy"], F: ["fever"], U: [None]})}
CONNECTIVES = {
    "and": "A and B", "or": "A or B", "not": "not A", "not not": "not not A",
    "and of three": "A and B and C", "or of three": "A or B or C", "and/or": "A or B and C",
    "not (and)": "not (A and B)", "not (or)": "not (A or B)",
    "at least 1 of": "at least 1 of (A, B, C)", "at least 2 of": "at least 2 of (A, B, C)",
    "at least 3 of": "at least 3 of (A, B, C)", "at least 2 of (nested)": "at least 2 of (A, not B, B or C)",
    "not at least 2 of": "not at least 2 of (A, B, C)", "at least 0 of": "at least 0 of (A, B)",
    "at least 3 of two": "at least 3 of (A, B)", "missing in a group": "A or temperature is missing",
}

CONSTRUCTS = {"above", "below", "at least", "at most", "between", "is", "is not", "one of", "not one of",
              "contains", "is missing", "is known", "and", "or", "not", "at least N of", "units"}


def _cases() -> tuple[list[str], dict[str, list], list[str]]:
    """(rule texts, column -> values, the construct of each row)."""
    texts, rows, kinds = [], [], []
    for name, (text, column, truths) in LEAVES.items():
        texts += [f'rule "{name}" when {text}', f'rule "negated {name}" when not ({text})']
        for truth, values in truths.items():
            for value in values:
                rows.append({column: value})
                kinds.append(f"{name}: {truth}")
    for name, condition in CONNECTIVES.items():
        text = re.sub(r"\b[ABC]\b", lambda m: {"A": A, "B": B, "C": C}[m.group()], condition)
        texts += [f'rule "{name}" when {text}', f'rule "negated {name}" when not ({text})']
        letters = sorted(set(re.findall(r"\b[ABC]\b", condition)))
        for combination in itertools.product(*[[(v, t) for t, vs in ABC[x][1].items() for v in vs]
                                               for x in letters]):
            row = {ABC[x][0]: value for x, (value, _) in zip(letters, combination)}
            if "temperature" in text:
                for temperature in (37.0, None):
                    rows.append({**row, "temperature": temperature})
                    kinds.append(f"{name}: {[t for _, t in combination]}, temperature {temperature}")
            else:
                rows.append(row)
                kinds.append(f"{name}: {[t for _, t in combination]}")
    data = {column: [row.get(column) for row in rows] for column in COLUMNS}
    return texts, data, kinds


TEXTS, DATA, KINDS = _cases()
RULESET = build_ruleset(TEXTS)


def test_the_matrix_covers_every_construct_of_the_language():
    covered = set()
    for name in [*LEAVES, *CONNECTIVES]:
        base = name.split(" (")[0]
        covered.add("at least N of" if base.startswith("at least") and (" of" in base) else base)
        if name.startswith("units"):
            covered.add("units")
    covered |= {"and", "or", "not"} & {w for c in CONNECTIVES.values() for w in c.split()}
    assert covered >= CONSTRUCTS, CONSTRUCTS - covered
    assert len(TEXTS) == 2 * (len(LEAVES) + len(CONNECTIVES))
    assert len(KINDS) > 200


def canonical(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def expected_matrix(ruleset, data: dict[str, list]) -> dict[str, list[bool]]:
    n = len(next(iter(data.values())))
    rows = [{c: canonical(v[i]) for c, v in data.items()} for i in range(n)]
    return {rule.id: [L.evaluate(rule.logic, lambda t, row=row: reference_test(t, row)) is True for row in rows]  # noqa: B023
            for rule in ruleset.active_rules}


# ---- every engine ------------------------------------------------------------------------------------------------

def pandas_frame(data: dict[str, list]) -> pd.DataFrame:
    columns = {}
    for column, values in data.items():
        if FEATURES[column].type == "number":
            columns[column] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        else:
            columns[column] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


def polars_frame(data: dict[str, list]):
    pl = engine_or_skip("polars")
    types = {"number": pl.Float64, "category": pl.String, "text": pl.String, "boolean": pl.Boolean}
    return pl.DataFrame({c: pl.Series(c, v, dtype=types[FEATURES[c].type]) for c, v in data.items()})


def _dask():
    engine_or_skip("dask")
    import dask.dataframe

    return dask.dataframe


SPARK_TYPES = {"number": "double", "boolean": "boolean"}  # everything else: string


def spark_frame(spark, data: dict[str, list]):
    """The cases as a Spark frame with each column typed from the vocabulary (an all-missing column would otherwise
    be typed void), from Python rows (no pandas conversion), numbers' missing values as NaN and NULL both."""
    columns = list(data)
    schema = ", ".join(f"`{c}` {SPARK_TYPES.get(FEATURES[c].type, 'string')}" for c in columns) + ", row_number int"
    rows = [tuple((float("nan") if i % 2 else None) if v is None and FEATURES[c].type == "number"
                  else (float(v) if FEATURES[c].type == "number" else v)
                  for c, v in ((c, data[c][i]) for c in columns)) + (i,)
            for i in range(len(data[columns[0]]))]
    return spark.createDataFrame(rows, schema)


def spark_rows(frame) -> list[dict]:
    return [row.asDict() for row in frame.orderBy("row_number").collect()]


def _bools(values) -> list[bool]:
    return [bool(v) for v in values]


def run_engine(name: str, ruleset, data: dict[str, list], request) -> dict[str, list[bool]]:
    """{rule id: fired per row} as the engine computes it."""
    ids = ruleset.rule_ids
    if name == "pandas":
        out = ruleset.with_matches(pandas_frame(data), prefix="m_")
        return {i: _bools(out["m_" + i]) for i in ids}
    if name == "per row":
        n = len(next(iter(data.values())))
        fired = [set(ruleset.matches_row({c: v[i] for c, v in data.items() if v[i] is not None})) for i in range(n)]
        return {i: [i in f for f in fired] for i in ids}
    if name in ("sqlite", "postgresql"):
        sql_data = {c: [canonical(v) for v in values] for c, values in data.items()}  # NaN is a value in SQL
        if name == "sqlite":
            return sql_matches(ruleset, sql_data)
        import sqlalchemy as sa

        with fresh_postgres_database() as url:
            bind = sa.create_engine(url)
            try:
                return sql_matches(ruleset, sql_data, bind)
            finally:
                bind.dispose()
    if name == "polars streamed":  # only row-by-row expressions, as `rulecraft evaluate --engine polars` runs them
        from rules_dsl.engines.polars import _fired

        lazy, _ = _fired(ruleset, polars_frame(data).lazy(), [f"m_{i}" for i in ids], elementwise=True)
        out = lazy.collect(engine="streaming")
        return {i: out["m_" + i].to_list() for i in ids}
    if name == "polars enum":  # category columns as Enum: keyed in Python, compared by code
        pl = engine_or_skip("polars")
        frame = polars_frame(data)
        enums = {c: pl.Enum(sorted({v for v in data[c] if v is not None} | {"unused", " Margin"}))
                 for c in COLUMNS if FEATURES[c].type == "category"}
        out = ruleset.with_matches(frame.cast(enums), prefix="m_")
        return {i: out["m_" + i].to_list() for i in ids}
    if name.startswith("polars"):
        frame = polars_frame(data)
        out = ruleset.with_matches(frame.lazy() if name == "polars lazy" else frame, prefix="m_")
        if name == "polars lazy":
            assert type(out).__name__ == "LazyFrame"
            out = out.collect()
        return {i: out["m_" + i].to_list() for i in ids}
    if name == "duckdb":
        duckdb = engine_or_skip("duckdb")
        connection = duckdb.connect()
        relation = connection.from_arrow(polars_frame(data).with_row_index("row_number").to_arrow())
        out = ruleset.with_matches(relation, prefix="m_")
        assert engine_name(out) == "duckdb"
        rows = out.order("row_number").project(", ".join(f'"m_{i}"' for i in ids)).fetchall()
        return {i: [row[j] for row in rows] for j, i in enumerate(ids)}
    if name == "dask":
        dd = _dask()
        out = ruleset.with_matches(dd.from_pandas(pandas_frame(data), npartitions=3), prefix="m_")
        assert engine_name(out) == "dask"
        computed = out.compute()
        return {i: _bools(computed["m_" + i]) for i in ids}
    if name.startswith("spark"):  # "spark": the compact form; "spark rails": the form for compiled stages
        spark = request.getfixturevalue("spark")
        with spark_settings(spark, SPARK_FORMS["rails" if name == "spark rails" else "compact"]):
            rows = spark_rows(ruleset.with_matches(spark_frame(spark, data), prefix="m_"))
        return {i: _bools(row["m_" + i] for row in rows) for i in ids}
    raise AssertionError(name)


ENGINES = ["pandas", "per row", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "duckdb",
           "polars eager", "polars lazy", "polars streamed", "polars enum", "dask", "spark", "spark rails"]


def differing_cells(ruleset, data, got: dict[str, list[bool]], kinds=None) -> list[str]:
    expected = expected_matrix(ruleset, data)
    texts = {r.id: r.text.splitlines()[1].strip() if len(r.text.splitlines()) > 1 else r.text
             for r in ruleset.active_rules}
    out = []
    for rule_id, column in expected.items():
        assert len(got[rule_id]) == len(column), rule_id
        for row, (want, have) in enumerate(zip(column, got[rule_id])):
            if bool(have) != want or have is None:
                where = kinds[row] if kinds else row
                out.append(f"{rule_id} ({texts[rule_id]}) row {row} [{where}]: expected {want}, got {have}")
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_every_construct_and_truth_value_gives_the_reference_answer_on_every_engine(engine, request):
    got = run_engine(engine, RULESET, DATA, request)
    cells = differing_cells(RULESET, DATA, got, KINDS)
    assert cells == [], f"{len(cells)} cells differ on {engine}:\n" + "\n".join(cells[:20])


def test_polars_text_columns_spelt_as_allowed_values_are_compared_by_code_with_the_same_answers():
    # An eager frame's String category column that holds only allowed spellings is read without keying each row
    # (compared to each spelling, or cast to an Enum once and compared by code: the fast path); a column with any
    # other spelling (" BORDER", "Margin", an unknown value) has them found in the data and keyed once each (or,
    # with many, keeps the key lookup). Every route gives the reference answers.
    pl = engine_or_skip("polars")
    from rules_dsl.backends.values import category_key
    from rules_dsl.engines.polars import _kinds, _spelt

    categories = [c for c in _kinds(RULESET._pairs) if FEATURES[c].type == "category"]
    assert "location" in categories
    spelling = {c: {category_key(v): v for v in FEATURES[c].values} for c in categories}
    spelt = {c: [spelling[c].get(category_key(v)) if c in spelling and v is not None else v for v in values]
             for c, values in DATA.items()}
    mixed = {**spelt, "location": DATA["location"]}
    for data, fast in ((spelt, set(categories)), (mixed, set(categories) - {"location"})):
        frame = polars_frame(data)
        route = _spelt(RULESET, frame, _kinds(RULESET._pairs), frame.schema)
        assert (set(route.masks) - set(route.found)) | set(route.enums) == fast
        assert set(route.found) == set(categories) - fast  # a few other spellings: found in the data, keyed once
        cells = differing_cells(RULESET, data, run_engine("polars eager", RULESET, data, None))
        assert cells == [], "\n".join(cells[:20])
        assert frame.schema == ruleset_out_schema(RULESET.with_matches(frame), frame), "input columns keep their type"
    assert pl.String in polars_frame(spelt).schema.values()


def ruleset_out_schema(out, frame):
    return {c: out.schema[c] for c in frame.columns}


# ---- generated rule sets and data on the fast engines ------------------------------------------------------------

FAST = ["pandas", "duckdb", "polars eager", "polars lazy", "polars streamed", "polars enum"]


@settings(max_examples=60, deadline=None)
@given(st.lists(rules(checked=True, max_leaves=6), min_size=1, max_size=6), cases())
def test_generated_rules_and_data_give_the_reference_answer_on_the_fast_engines(trees, data):
    trees = [replace(tree, name=f"rule {i}", enabled=True) for i, tree in enumerate(trees)]
    ruleset = build_ruleset(trees)
    for engine in FAST:
        cells = differing_cells(ruleset, data, run_engine(engine, ruleset, data, None))
        assert cells == [], f"{engine}:\n" + "\n".join(cells[:10])


# ---- decisions ---------------------------------------------------------------------------------------------------

DECIDING = ['rule "fever" priority 2 when temperature is above 38 then risk is "high" with confidence 0.8',
            'rule "fast" priority 1 when heart rate is above 90 then risk is "medium" with confidence 0.6',
            'rule "margin" when location is "margin" then risk is "high" with confidence 0.3',
            'rule "calm" when heart rate is below 70 then risk is "low"',
            'rule "feature" when notes contains "biopsy"']


def _decision_ruleset(policy: str, default: str | None):
    settings_data = {**TEST_SETTINGS.to_dict(), "policy": policy, "default": default or "abstain"}
    from rules_dsl import Settings

    ruleset = build_ruleset(DECIDING, TEST_VOCABULARY, Settings.from_dict(settings_data))
    assert ruleset.policy.kind == policy
    return ruleset


def _decision_data() -> dict[str, list]:
    temperature, hr, location = [39.0, 37.0, None], [100.0, 60.0, 80.0, None], ["margin", "centre", None]
    rows = list(itertools.product(temperature, hr, location))
    return {c: ([r[0] for r in rows] if c == "temperature" else [r[1] for r in rows] if c == "hr" else
                [r[2] for r in rows] if c == "location" else [None] * len(rows)) for c in COLUMNS}


def run_decisions(name: str, ruleset, data, request) -> list[tuple]:
    if name == "pandas":
        out = ruleset.with_decisions(pandas_frame(data), prefix="d_")
    elif name.startswith("polars"):
        frame = polars_frame(data)
        out = ruleset.with_decisions(frame.lazy() if name == "polars lazy" else frame, prefix="d_")
        out = (out.collect() if name == "polars lazy" else out).to_pandas()
    elif name == "duckdb":
        duckdb = engine_or_skip("duckdb")
        relation = duckdb.connect().from_arrow(polars_frame(data).with_row_index("row_number").to_arrow())
        out = ruleset.with_decisions(relation, prefix="d_").order("row_number").df()
    elif name == "dask":
        dd = _dask()
        out = ruleset.with_decisions(dd.from_pandas(pandas_frame(data), npartitions=2), prefix="d_").compute()
    else:
        spark = request.getfixturevalue("spark")
        with spark_settings(spark, SPARK_FORMS["rails" if name == "spark rails" else "compact"]):
            out = pd.DataFrame(spark_rows(ruleset.with_decisions(spark_frame(spark, data), prefix="d_")))
    names = ["d_" + DECISION, "d_" + DECIDING_RULE, "d_" + CONFIDENCE]
    return [tuple(None if (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v for v in row)
            for row in out[names].itertuples(index=False)]


@pytest.mark.parametrize("policy, default", [("first match", None), ("first match", "low"),
                                             ("weighted vote", None), ("weighted vote", "low")])
@pytest.mark.parametrize("engine", ["pandas", "duckdb", "polars eager", "polars lazy", "dask", "spark",
                                    "spark rails"])
def test_decisions_are_decide_row_on_every_engine(engine, policy, default, request):
    ruleset = _decision_ruleset(policy, default)
    data = _decision_data()
    got = run_decisions(engine, ruleset, data, request)
    n = len(data["hr"])
    for i in range(n):
        decision = ruleset.decide_row({c: v[i] for c, v in data.items() if v[i] is not None})
        deciding = decision.deciding[0] if decision.deciding else None
        if deciding is None:
            confidence = None
        elif policy == "first match":
            confidence = decision.scores[decision.label]
        else:
            confidence = decision.scores[decision.label] / sum(decision.scores.values())
        label, rule, share = got[i]
        assert (label, rule) == (decision.label, deciding), (engine, i)
        assert (share is None) == (confidence is None) and (share is None or math.isclose(share, confidence)), \
            (engine, i, share, confidence)


# ---- the verbs' contract -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ["pandas", "polars eager", "duckdb", "dask"])
def test_a_rule_column_named_like_an_input_column_is_a_clear_error(engine):
    from rules_dsl import DataError

    data = {**{c: DATA[c][:3] for c in COLUMNS}}
    frame = pandas_frame(data).assign(r000=1.0)
    if engine.startswith("polars"):
        frame = engine_or_skip("polars").from_pandas(frame)
    elif engine == "duckdb":
        frame = engine_or_skip("duckdb").connect().from_arrow(engine_or_skip("polars").from_pandas(frame).to_arrow())
    elif engine == "dask":
        frame = _dask().from_pandas(frame, npartitions=1)
    with pytest.raises(DataError, match="already has a column named 'r000'.*prefix"):
        RULESET.with_matches(frame)
    with pytest.raises(DataError, match="already has a column named 'd_decision'"):
        RULESET.with_decisions(frame.assign(d_decision=1) if engine in ("pandas", "dask") else
                               _renamed(frame, engine), prefix="d_")


def _renamed(frame, engine):
    if engine.startswith("polars"):
        return frame.rename({"r000": "d_decision"})
    return frame.project('* EXCLUDE ("r000"), "r000" AS d_decision')


def test_anything_but_a_frame_is_a_clear_type_error():
    with pytest.raises(TypeError, match="pandas DataFrame, a Polars DataFrame or LazyFrame, a DuckDB relation"):
        RULESET.with_matches([{"hr": 1}])
    with pytest.raises(TypeError, match="matches_row"):
        RULESET.matches({"hr": 1})


def test_matches_and_polars_expressions_on_polars_frames():
    pl = engine_or_skip("polars")
    frame = polars_frame(DATA)
    expected = expected_matrix(RULESET, DATA)
    assert RULESET.matches(frame).to_dict(as_series=False) == expected
    assert RULESET.matches(frame.lazy()).collect().to_dict(as_series=False) == expected
    expressions = RULESET.polars_expressions()
    assert list(expressions) == RULESET.rule_ids
    three_valued = frame.select(**expressions)
    assert three_valued[RULESET.rule_ids[0]].null_count() > 0  # unknown is null, not false
    fired = three_valued.select(pl.all().fill_null(False))
    assert fired.to_dict(as_series=False) == expected


def test_engines_read_category_codes_and_yes_no_held_in_other_types():
    pl = engine_or_skip("polars")
    duckdb = engine_or_skip("duckdb")
    ruleset = build_ruleset(['rule "g" when grade is one of 1, 3', 'rule "s" when history of smoking is yes',
                             'rule "n" when grade is not 2'])
    data = {"grade": [1, 2, 3, None], "smoker": [1, 0, None, 1]}
    frame = pl.DataFrame(data, schema={"grade": pl.Int64, "smoker": pl.Int64})
    expected = {"r000": [True, False, True, False], "r001": [True, False, False, True],
                "r002": [True, False, True, False]}
    assert ruleset.matches(frame).to_dict(as_series=False) == expected
    out = ruleset.with_matches(duckdb.connect().from_arrow(frame.to_arrow()))
    assert {i: [r[j] for r in out.project(", ".join(expected)).fetchall()] for j, i in enumerate(expected)} == expected
    floats = pl.DataFrame({"grade": [1.0, 2.0, 3.0, float("nan")], "smoker": ["yes", "no", None, "Yes"]})
    assert ruleset.matches(floats).to_dict(as_series=False) == expected


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_a_text_column_where_numbers_are_expected_is_a_clear_error(engine):
    from rules_dsl import DataError

    pl = engine_or_skip("polars")
    frame = pl.DataFrame({"hr": ["90", "n/a"]})
    if engine == "duckdb":
        frame = engine_or_skip("duckdb").connect().from_arrow(frame.to_arrow())
    ruleset = build_ruleset(["rule \"a\" when heart rate is above 90"])
    with pytest.raises(DataError, match="'hr' must be a number, but the column's type is"):
        ruleset.with_matches(frame)
