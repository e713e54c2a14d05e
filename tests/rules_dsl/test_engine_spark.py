"""The Spark engine (rules_dsl/engines/spark.py) gives the reference's three-valued answers with native Columns.

Every operator and construct of the language x true / false / unknown inputs (missing as NULL and as NaN) is
checked against the reference of test_parity (``reference_test`` + ``logic.evaluate``) and against the pandas
engine; decisions against RuleSet.decide and decide_row, on the test vocabulary and on the demo rule set. Each
check runs one Spark job over many rows (a job costs a fraction of a second, a session ~14 s: one per run).
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rules_dsl import DataError, load_folder
from rules_dsl import logic as L
from rules_dsl.demo import demo_path, reference_data
from rules_dsl.vocabulary import Policy
from tests.conftest import SPARK_FORMS, engine_or_skip, spark_settings

from .test_parity import COLUMNS, FEATURES, KLEENE, TRUTH, A, B, C, reference_test
from .vocab import CATEGORY_DATA, NOTES, NUMBERS, OTHER_NUMBERS, build_ruleset

engine_or_skip("pyspark")

from pyspark.sql import functions as F  # noqa: E402, N812  (after the skip: PySpark is optional)
from pyspark.sql import types as T  # noqa: E402, N812

from rules_dsl.engines import spark as engine  # noqa: E402

SPARK_TYPES = {"number": T.DoubleType(), "category": T.StringType(), "text": T.StringType(),
               "boolean": T.BooleanType()}
SCHEMA = T.StructType([T.StructField("row_id", T.LongType())]
                      + [T.StructField(c, SPARK_TYPES[FEATURES[c].type]) for c in COLUMNS])



@pytest.fixture(params=list(SPARK_FORMS))
def spark(spark, request):
    """Every test here runs on both forms of the engine's expressions (compact and rails)."""
    with spark_settings(spark, SPARK_FORMS[request.param]) as session:
        assert engine.jit_compiles_stages(session) == (request.param == "rails")
        yield session


# One rule per operator and construct, over every feature type (categories spelt in other cases, with spaces).
OPERATORS = [
    "temperature is above 38", "temperature is below 38", "temperature is at least 38", "temperature is at most 38",
    "temperature is more than 37.5 °C", "temperature is between 37.5 and 38", "not (temperature is between 0 and 38)",
    "temperature is 38", "temperature is not 38", "temperature is one of 38, 0.5, 100",
    "temperature is not one of 38, 0.5", "temperature is missing", "temperature is known",
    "lesion diameter is above 0.2 cm", "lesion diameter is between 2500 µm and 0.5 cm", "age at diagnosis is 6 months",
    'location is "margin"', 'location is not "margin"', 'location is one of "border", "centre"',
    'location is not one of "border", "centre"', "location is missing", "location is known",
    'grade is 2', 'grade is one of 1, 3', 'grade is not 2',
    "history of smoking is yes", "history of smoking is not yes", "smoker is no", "smoker is missing",
    'notes contains "biopsy"', 'notes does not contain "fever"', 'notes is "fever"', 'notes is not "fever"',
    'notes is one of "fever", "BIOPSY"', 'notes is not one of "fever", ""', "notes is missing", 'notes contains "%"',
    "temperature is above 38 and heart rate is above 90", "temperature is above 38 or heart rate is above 90",
    "not (temperature is above 38)", "not (temperature is above 38 and smoker is yes)",
    'not (location is "margin" or notes contains "fever")',
    "at least 2 of (temperature is above 38, heart rate is above 90, white cell count is above 12)",
    "not at least 2 of (temperature is above 38, heart rate is above 90, white cell count is missing)",
    "at least 1 of (smoker is yes, grade is 3)", "at least 0 of (temperature is above 38)",
    "at least 3 of (temperature is above 38, heart rate is above 90)",
    'temperature is above 38 or location is "margin" and not (smoker is yes)',
]


def random_cases(n: int, seed: int) -> dict[str, list]:
    """Column -> values from the test vocabulary's pools, about one value in four missing."""
    rng = np.random.default_rng(seed)
    pools = {"number": [float(x) for x in NUMBERS] + OTHER_NUMBERS, "boolean": [True, False], "text": NOTES}
    data = {}
    for column in COLUMNS:
        feature = FEATURES[column]
        pool = CATEGORY_DATA[feature.name] if feature.type == "category" else pools[feature.type]
        data[column] = [None if rng.random() < 0.25 else pool[rng.integers(len(pool))] for _ in range(n)]
    return data


def spark_frame(spark, data: dict[str, list], nan: bool = True):
    """The cases as a Spark frame with a row_id; with ``nan``, every other missing number is NaN, not NULL."""
    n = len(next(iter(data.values())))
    rows = []
    for i in range(n):
        row = [i]
        for column in COLUMNS:
            value = data[column][i]
            if value is None and nan and FEATURES[column].type == "number" and i % 2:
                value = math.nan
            row.append(value)
        rows.append(tuple(row))
    return spark.createDataFrame(rows, SCHEMA)


def pandas_frame(data: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(v, dtype=float if FEATURES[c].type == "number" else object)
                         for c, v in data.items()})


def expected(ruleset, data: dict[str, list]) -> dict[str, list]:
    """Each rule's three-valued result per row from the reference."""
    n = len(next(iter(data.values())))
    rows = [{c: data[c][i] for c in COLUMNS} for i in range(n)]
    return {r.id: [L.evaluate(r.logic, lambda t, row=row: reference_test(t, row)) for row in rows]  # noqa: B023
            for r in ruleset.active_rules}


def collected(frame, columns: list[str]) -> dict[str, list]:
    rows = frame.orderBy("row_id").select(*[f"`{c}`" for c in columns]).collect()
    return {c: [row[j] for row in rows] for j, c in enumerate(columns)}


def assert_spark_agrees(spark, ruleset, data: dict[str, list]) -> None:
    frame = spark_frame(spark, data)
    want = expected(ruleset, data)
    ids = ruleset.rule_ids
    fired = collected(engine.with_matches(ruleset, frame, prefix="rule_"), [f"rule_{i}" for i in ids])
    three = collected(frame.select("row_id", *[c.alias(i) for i, c in ruleset.spark_columns().items()]), ids)
    pandas_fired = ruleset.matches(pandas_frame(data))
    for rule in ruleset.active_rules:
        assert fired[f"rule_{rule.id}"] == [w is True for w in want[rule.id]], f"with_matches: {rule.text}"
        assert three[rule.id] == want[rule.id], f"spark_columns: {rule.text}"
        assert pandas_fired[rule.id].tolist() == fired[f"rule_{rule.id}"], f"pandas engine: {rule.text}"


# ---- every operator x true / false / unknown ---------------------------------------------------------------------

def test_every_operator_against_the_reference_and_the_pandas_engine(spark):
    ruleset = build_ruleset([f'rule "op {i}" when {text}' for i, text in enumerate(OPERATORS)])
    data = random_cases(400, seed=16)
    assert_spark_agrees(spark, ruleset, data)
    verdicts = expected(ruleset, data)
    for rule in ruleset.active_rules:  # the data reaches every truth value of (nearly) every rule
        if not rule.text.count("is missing") and "at least 0" not in rule.text and "at least 3 of" not in rule.text:
            assert {True, False} <= set(verdicts[rule.id]), rule.text


def test_kleene_truth_tables_over_every_combination_of_inputs(spark):
    """Each condition of test_parity's KLEENE table, over all 27 true/false/unknown inputs of A, B and C."""
    conditions = sorted({condition for condition, *_ in KLEENE})
    texts = [re.sub(r"\b[ABC]\b", lambda m: {"A": A, "B": B, "C": C}[m.group()], c) for c in conditions]
    ruleset = build_ruleset([f'rule "k {i}" when {text}' for i, text in enumerate(texts)])
    combos = list(itertools.product([True, False, None], repeat=3))
    data = {c: [None] * len(combos) for c in COLUMNS}
    for column, position in (("temperature", 0), ("hr", 1), ("white cell count", 2)):
        data[column] = [TRUTH[column][combo[position]] for combo in combos]
    assert_spark_agrees(spark, ruleset, data)
    table = expected(ruleset, data)
    for condition, a, b, c, truth in KLEENE:  # and the table itself
        rule_id = ruleset.rule_ids[conditions.index(condition)]
        assert table[rule_id][combos.index((a, b, c))] is truth, condition


def test_generated_rules_agree(spark):
    """Rules drawn by the parity test's strategy (a fixed sample, one Spark job)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from .strategies import rules

    drawn = []

    @settings(max_examples=1, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(rules(checked=True, max_leaves=6), min_size=60, max_size=60))
    def draw(trees):
        drawn.extend(trees)

    draw()
    trees = [replace(tree, name=f"rule {i}", enabled=True) for i, tree in enumerate(drawn)]
    assert_spark_agrees(spark, build_ruleset(trees), random_cases(300, seed=7))


# ---- decisions -------------------------------------------------------------------------------------------------

CONCLUDING = ['rule "a" when temperature is above 38 then risk is "high" with confidence 0.8',
              'rule "b" when heart rate is above 90 then risk is "medium" with confidence 0.6',
              'rule "c" priority 5 when location is "margin" then risk is "low"',
              'rule "d" when smoker is yes then risk is "medium" with confidence 0.2',
              'rule "e" when notes contains "biopsy" then risk is "high" with confidence 0.4',
              'rule "f" when grade is 3', 'rule "g" priority 5 when white cell count is above 12 then risk is "low"']


@pytest.mark.parametrize("policy", [Policy("first match", None), Policy("weighted vote", None),
                                    Policy("weighted vote", "low"), Policy("first match", "medium")],
                         ids=["first-match", "vote", "vote-default", "first-match-default"])
def test_decisions_equal_decide_and_decide_row(spark, policy):
    ruleset = build_ruleset(CONCLUDING)
    ruleset = type(ruleset)(replace(ruleset.settings, policy=policy), ruleset.vocabulary, ruleset.rules)
    data = random_cases(300, seed=3)
    decided = collected(engine.with_decisions(ruleset, spark_frame(spark, data), prefix="p_"),
                        ["p_decision", "p_deciding_rule", "p_confidence"])
    assert decided["p_decision"] == ruleset.decide(pandas_frame(data)).tolist()
    rows = pandas_frame(data).to_dict("records")
    for i, row in enumerate(rows):
        decision = ruleset.decide_row(row)
        assert decided["p_decision"][i] == decision.label
        assert decided["p_deciding_rule"][i] == (decision.deciding[0] if decision.deciding else None)
        if decision.deciding:
            share = decision.scores[decision.label] / sum(decision.scores.values())
            assert decided["p_confidence"][i] == pytest.approx(share if policy.kind == "weighted vote"
                                                               else decision.scores[decision.label])
        else:
            assert decided["p_confidence"][i] is None
    assert len(set(decided["p_decision"])) >= 3  # the data reaches several answers


def demo_cases() -> pd.DataFrame:
    """The demo's reference data with holes: every 7th value missing (NaN), so that unknown matters."""
    frame = reference_data().drop(columns="diagnosis")
    values = frame.to_numpy(copy=True)
    values[np.arange(values.size).reshape(values.shape) % 7 == 0] = np.nan
    return pd.DataFrame(values, columns=frame.columns).reset_index(names="row_id")


@pytest.mark.parametrize("policy", ["first match", "weighted vote"])
def test_demo_rule_set_equals_the_pandas_engine(spark, policy):
    demo = load_folder(demo_path())
    ruleset = type(demo)(replace(demo.settings, policy=Policy(policy, demo.policy.default)), demo.vocabulary,
                         demo.rules)
    cases = demo_cases()
    # from rows, not from pandas: PySpark 4.x warns that it does not fully support pandas 3 yet
    rows = [tuple(None if isinstance(v, float) and math.isnan(v) and i % 2 else v for v in row)
            for i, row in enumerate(cases.itertuples(index=False))]
    schema = T.StructType([T.StructField("row_id", T.LongType())]
                          + [T.StructField(c, T.DoubleType()) for c in cases.columns[1:]])
    frame = spark.createDataFrame([(int(r[0]), *map(_float, r[1:])) for r in rows], schema)
    result = engine.with_decisions(ruleset, engine.with_matches(ruleset, frame, prefix="r:"))
    got = collected(result, [f"r:{i}" for i in ruleset.rule_ids] + ["decision"])
    matches = ruleset.matches(cases)
    for rule_id in ruleset.rule_ids:
        assert got[f"r:{rule_id}"] == matches[rule_id].tolist(), rule_id
    assert got["decision"] == ruleset.decide(cases).tolist()
    assert matches.to_numpy().any(axis=0).all()  # every demo rule fires somewhere


# ---- native expressions ----------------------------------------------------------------------------------------

def _float(value):
    return None if value is None else float(value)


PYTHON_NODES = ("BatchEvalPython", "ArrowEvalPython", "PythonUDF", "MapInPandas", "MapInArrow", "FlatMapGroupsIn")


def test_the_plan_is_native_and_filters_reach_the_parquet_scan(spark, tmp_path):
    ruleset = build_ruleset([f'rule "op {i}" when {text}' for i, text in enumerate(OPERATORS)])
    path = str(tmp_path / "cases.parquet")
    data = random_cases(50, seed=1)
    spark_frame(spark, data).write.parquet(path)
    frame = spark.read.parquet(path)
    decided = engine.with_decisions(ruleset, engine.with_matches(ruleset, frame, prefix="rule_"))
    plan = decided._jdf.queryExecution().executedPlan().toString()
    assert not [node for node in PYTHON_NODES if node in plan], plan
    assert "WholeStageCodegen" in plan or "*(" in plan  # generated code, not interpreted rows
    fever = build_ruleset(["rule \"fever\" when temperature is above 38 and location is \"margin\""])
    filtered = engine.with_matches(fever, frame).where("r000")
    scan = filtered._jdf.queryExecution().executedPlan().toString()
    assert re.search(r"PushedFilters: \[[^\]]*GreaterThan\(temperature,38\.0\)", scan), scan
    assert filtered.count() == fever.matches(pandas_frame(data))["r000"].sum() > 0


def test_the_form_follows_the_settings_that_let_the_jvm_compile_a_stage(spark):
    plain = {"spark.sql.codegen.hugeMethodLimit": "65535", "spark.sql.codegen.wholeStage": "true"}
    for settings, compiled in (({}, False), ({"spark.sql.codegen.hugeMethodLimit": "8000"}, True),
                               ({"spark.sql.codegen.hugeMethodLimit": "7999"}, True),
                               ({"spark.sql.codegen.hugeMethodLimit": "8001"}, False),
                               ({"spark.sql.codegen.wholeStage": "false"}, True)):
        with spark_settings(spark, {**plain, **settings}):
            assert engine.jit_compiles_stages(spark) is compiled, settings
            ruleset = build_ruleset(['rule "m" when location is "margin" and temperature is above 38'])
            plan = engine.with_matches(ruleset, spark_frame(spark, {c: [None] for c in COLUMNS})) \
                ._jdf.queryExecution().optimizedPlan().toString()
            # rails: the raw value spelt as the key is compared as it is (no per-row trim); compact: the key first
            assert bool(re.search(r"CASE WHEN NOT location#\d+ IN \(", plan)) is compiled, plan


def test_many_rules_under_settings_that_leave_them_to_the_interpreter_warn_how_to_fix_it(spark):
    import warnings

    many = build_ruleset([f'rule "r {i}" when temperature is above {i}' for i in range(engine.SLOW_STAGE_RULES)])
    few = build_ruleset([f'rule "r {i}" when temperature is above {i}' for i in range(engine.SLOW_STAGE_RULES - 1)])
    frame = spark_frame(spark, {c: [None] for c in COLUMNS})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.with_matches(many, frame)
        engine.with_matches(few, frame)
    slow = [w for w in caught if issubclass(w.category, engine.SlowSparkStage)]
    if engine.jit_compiles_stages(spark):
        assert slow == []
    else:
        assert len(slow) == 1 and "spark.sql.codegen.hugeMethodLimit" in str(slow[0].message)
        assert "20 rules" in str(slow[0].message) and slow[0].filename == __file__


def test_values_reach_spark_sql_exactly_as_written(spark):
    # Rules are handed to Spark as SQL text: every value must come back from Spark as the same string or number.
    texts = ["it's", "back\\slash", "\\'", "new\nline", "tab\t", "\u00a0nbsp\u3000", "emoji \U0001f600", "é\u0301",
             "\x00nul", '"double"', "`tick`", "--", "/* c */", "${x}", "\\u0041"]
    numbers = [0.1, -5.0, 1e-07, 1.7976931348623157e308, 5e-324, 38.0]
    row = spark.range(1).select(*[F.expr(engine._text(t)).alias(f"t{i}") for i, t in enumerate(texts)],
                                *[F.expr(engine._number(n)).alias(f"n{i}") for i, n in enumerate(numbers)]).first()
    assert [row[f"t{i}"] for i in range(len(texts))] == texts
    assert [row[f"n{i}"] for i in range(len(numbers))] == numbers
    assert engine._quoted("a`b.c d") == "`a``b.c d`"


def test_category_data_spelt_as_keys_or_not_gives_the_same_answers(spark):
    # The rails form compares data spelt as an allowed value's key (ASCII, lower-case, no spaces) as it is and
    # computes the key of anything else; every other spelling, an unknown value and NULL still give the reference.
    ruleset = build_ruleset(['rule "m" when location is "margin"', 'rule "n" when location is not "margin"',
                             'rule "o" when location is one of "border", "centre"',
                             'rule "p" when location is not one of "border", "centre"',
                             'rule "q" when not (location is "margin") and location is known',
                             'rule "r" when at least 1 of (location is "centre", location is not "border")'])
    values = ["margin", "border", "centre", "Margin", " margin", "MARGIN ", "elsewhere", "", None, "Border",
              "centre\u00a0"]
    data = {c: [None] * len(values) for c in COLUMNS}
    data["location"] = values
    assert_spark_agrees(spark, ruleset, data)


def test_category_values_with_unicode_spaces_at_either_end_match_as_trimmed(spark):
    # The Spark key trims " " cheaply and runs the full Unicode trim only where an end is another space: every
    # mix of the two must still match, and a zero-width space (not a space in Unicode) must not be trimmed.
    ruleset = build_ruleset(['rule "m" when location is "margin"', 'rule "b" when location is one of "border"'])
    values = ["\u00a0margin", " \u3000Margin \t", "\u2003 margin\u00a0 ", "margin\u200b", "\tBORDER\u2029", " ",
              "", "\u00a0", "mar gin", " border  ", "\u00a0 \u00a0border"]
    data = {c: [None] * len(values) for c in COLUMNS}
    data["location"] = values
    assert_spark_agrees(spark, ruleset, data)
    fired = collected(engine.with_matches(ruleset, spark_frame(spark, data)), ruleset.rule_ids)
    assert [a or b for a, b in zip(*fired.values())] == [True, True, True, False, True, False, False, False, False,
                                                         True, True]


# ---- refusals --------------------------------------------------------------------------------------------------

def test_a_name_collision_is_a_clear_error(spark):
    ruleset = build_ruleset(['rule "a" when temperature is above 38'])
    frame = spark.createDataFrame([(39.0, True)], "temperature double, r000 boolean")
    with pytest.raises(ValueError, match="already has a column named 'r000'.*prefix"):
        engine.with_matches(ruleset, frame)
    assert engine.with_matches(ruleset, frame, prefix="rule_").columns == ["temperature", "r000", "rule_r000"]
    with pytest.raises(ValueError, match="'decision'"):
        engine.with_decisions(ruleset, frame.withColumnRenamed("r000", "decision"))


def test_missing_columns_and_wrong_types_are_data_errors_naming_the_column(spark):
    ruleset = build_ruleset(['rule "a" when heart rate is above 90', 'rule "b" when location is "margin"'])
    with pytest.raises(DataError) as info:
        engine.with_matches(ruleset, spark.createDataFrame([("margin",)], "location string"))
    assert info.value.column == "hr" and "'hr' (needed by r000)" in info.value.message
    with pytest.raises(DataError) as info:
        engine.with_matches(ruleset, spark.createDataFrame([("95", "margin")], "hr string, location string"))
    assert info.value.column == "hr" and "number" in info.value.message and "cast" in info.value.message.lower()


def test_other_column_types_integers_decimals_and_codes(spark):
    ruleset = build_ruleset(['rule "a" when heart rate is above 90', 'rule "b" when smoker is yes',
                             'rule "c" when grade is one of 1, 3', 'rule "d" when smoker is missing',
                             'rule "e" when white cell count is not 12'])
    rows = [(100, 1, 1, 12.5), (90, 0, 2, 12.0), (None, None, None, None), (95, 1, 3, float("nan"))]
    frame = spark.createDataFrame([(i, *r) for i, r in enumerate(rows)],
                                  "row_id int, hr int, smoker int, grade long, `white cell count` float")
    got = collected(engine.with_matches(ruleset, frame), ruleset.rule_ids)
    assert got == {"r000": [True, False, False, True], "r001": [True, False, False, True],
                   "r002": [True, False, False, True], "r003": [False, False, True, False],
                   "r004": [True, False, False, False]}


# ---- the spark-submit job of docs/scale.md -----------------------------------------------------------------------

def test_the_spark_submit_job_runs_a_signed_bundle(spark, tmp_path):
    import importlib.util

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from rules_dsl import BundleError
    from rules_dsl.bundle import bundle_bytes, bundle_dict
    from server.signing import SigningKey

    job_path = demo_path().parents[2] / "docs" / "examples" / "spark_job.py"
    spec = importlib.util.spec_from_file_location("spark_job", job_path)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)

    demo = load_folder(demo_path())
    key = SigningKey(Ed25519PrivateKey.generate())
    (tmp_path / "key.pem").write_text(key.public_pem)
    (tmp_path / "v3.json").write_bytes(bundle_bytes(key.sign(bundle_dict(demo))))
    cases = demo_cases().iloc[:120]
    schema = T.StructType([T.StructField("row_id", T.LongType())]
                          + [T.StructField(c, T.DoubleType()) for c in cases.columns[1:]])
    rows = [(int(r[0]), *map(_float, (None if math.isnan(v) else v for v in r[1:])))
            for r in cases.itertuples(index=False)]
    spark.createDataFrame(rows, schema).write.parquet(str(tmp_path / "cases"))

    ran = job.score(spark, str(tmp_path / "v3.json"), str(tmp_path / "key.pem"), str(tmp_path / "cases"),
                    str(tmp_path / "scored"))
    assert ran.signed_by == key.id
    scored = collected(spark.read.parquet(str(tmp_path / "scored")),
                       ["decision", "deciding_rule", "confidence", *[f"rule_{i}" for i in demo.rule_ids]])
    assert scored["decision"] == demo.decide(cases).tolist()
    for rule_id in demo.rule_ids:
        assert scored[f"rule_{rule_id}"] == demo.matches(cases)[rule_id].tolist()

    other = SigningKey(Ed25519PrivateKey.generate())
    (tmp_path / "other.pem").write_text(other.public_pem)
    with pytest.raises(BundleError, match="signed with key"):
        job.score(spark, str(tmp_path / "v3.json"), str(tmp_path / "other.pem"), str(tmp_path / "cases"),
                  str(tmp_path / "never"))
    assert not (tmp_path / "never").exists()
