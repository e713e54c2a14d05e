"""The Polars engine's fast routes for String category columns, and its "at least n of" on bitmaps: which route a
column takes, and the same answers as the NumPy engine on every route (the conformance matrix covers the rest)."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from tests.conftest import engine_or_skip

from .vocab import build_ruleset

RULES = [
    'rule "margin" when location is "margin"',
    'rule "not margin" when location is not "margin"',
    'rule "edge" when location is one of "margin", "border"',
    'rule "not edge" when location is not one of "margin", "border"',
    'rule "grade 2 or hot" when grade is "2" or temperature is above 38',
    'rule "not (grade 3 and margin)" when not (grade is "3" and location is "margin")',
    'rule "two of three" when at least 2 of (location is "centre", grade is not "1", heart rate is above 90)',
    'rule "not two of three" when not at least 2 of (location is "centre", grade is not "1", heart rate is above 90)',
    'rule "location missing" when location is missing',
    'rule "grade known" when grade is known',
]
RULESET = build_ruleset(RULES)
N = 400


def _data(location_values, grade_values, seed=3) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    temperature = rng.choice([36.0, 39.0, np.nan], N).tolist()
    return {"location": rng.choice(np.array(location_values, dtype=object), N).tolist(),
            "grade": rng.choice(np.array(grade_values, dtype=object), N).tolist(),
            "temperature": [None if t != t else t for t in temperature],
            "hr": rng.choice([80.0, 100.0, np.nan], N).tolist()}


def _route(pl, frame):
    from rules_dsl.engines.polars import _kinds, _spelt

    spelt = _spelt(RULESET, frame, _kinds(RULESET._pairs), frame.schema)
    return {c: ("masks, found " + ", ".join(map(repr, sorted(spelt.found[c]))) if c in spelt.found else "masks")
            if c in spelt.masks else "enum" if c in spelt.enums else "key lookup" for c in ("location", "grade")}


def _same_as_numpy(pl, data):
    frame = pl.DataFrame({"location": pl.Series(data["location"], dtype=pl.String),
                          "grade": pl.Series(data["grade"], dtype=pl.String),
                          "temperature": pl.Series(data["temperature"], dtype=pl.Float64),
                          "hr": pl.Series(data["hr"], dtype=pl.Float64)})
    got = RULESET.with_matches(frame, prefix="m_")
    assert got.select(frame.columns).equals(frame), "the input columns come back as they were"
    want = RULESET.matches_array(pd.DataFrame({c: pd.Series(v, dtype=object if c in ("location", "grade")
                                                            else float) for c, v in data.items()}))
    have = got.select([f"m_{i}" for i in RULESET.rule_ids]).to_numpy()
    assert have.dtype == bool
    assert (have == want).all(), [RULES[j] for j in range(len(RULES)) if (have[:, j] != want[:, j]).any()]
    return frame


EXPECTED = (["margin", "border", "centre", None], ["1", "2", "3", None])


@pytest.mark.parametrize("equalities, route", [(12, "masks"), (0, "enum")])
def test_a_column_spelt_as_expected_takes_a_fast_route_with_the_numpy_engines_answers(monkeypatch, equalities,
                                                                                      route):
    pl = engine_or_skip("polars")
    from rules_dsl.engines import polars as engine

    monkeypatch.setattr(engine, "EQUALITIES", equalities)  # few spellings: masks; more than EQUALITIES: an Enum
    frame = _same_as_numpy(pl, _data(*EXPECTED))
    assert _route(pl, frame) == {"location": route, "grade": route}


@pytest.mark.parametrize("odd", [" Margin", "MARGIN", "margin\t", "elsewhere", "", "Straße", "e\u0301"])
def test_a_few_other_spellings_or_unknown_values_found_in_the_data_are_compared_like_the_expected_ones(odd):
    # The other spellings are found in the data (filter, unique) and keyed like the lookup keys them, once each.
    pl = engine_or_skip("polars")
    location, grade = EXPECTED
    frame = _same_as_numpy(pl, _data(location + [odd, "BORDER "], grade))
    found = ", ".join(map(repr, sorted([odd, "BORDER "])))
    assert _route(pl, frame) == {"location": f"masks, found {found}", "grade": "masks"}


@pytest.mark.parametrize("odd", [" Margin", "elsewhere"])
def test_with_an_enum_for_many_spellings_another_spelling_keeps_the_key_lookup(monkeypatch, odd):
    pl = engine_or_skip("polars")
    from rules_dsl.engines import polars as engine

    monkeypatch.setattr(engine, "EQUALITIES", 0)
    location, grade = EXPECTED
    frame = _same_as_numpy(pl, _data(location + [odd], grade))
    assert _route(pl, frame) == {"location": "key lookup", "grade": "enum"}


def test_more_spellings_than_equalities_keep_the_key_lookup():
    pl = engine_or_skip("polars")
    location, grade = EXPECTED
    many = [f"{v}{' ' * i}" for v in ("margin", "Border") for i in range(1, 7)]  # 12 others + 3 expected > 12
    frame = _same_as_numpy(pl, _data(location + many, grade + [" 2", "3 "]))
    assert _route(pl, frame) == {"location": "key lookup", "grade": "masks, found ' 2', '3 '"}


def test_columns_with_only_nulls_or_only_one_value_give_the_numpy_engines_answers():
    pl = engine_or_skip("polars")
    for location, grade in (([None], ["2"]), (["border"], [None]), (["centre"], ["3"])):
        frame = _same_as_numpy(pl, _data(location, grade))
        assert set(_route(pl, frame).values()) <= {"masks"}


def test_a_spelling_the_rules_never_test_still_counts_as_expected():
    # "centre" is in the vocabulary but tested only by one rule; a column of vocabulary values is fast even so,
    # and a rule about a value the column never holds is false, null where the value is missing.
    pl = engine_or_skip("polars")
    frame = _same_as_numpy(pl, _data(["centre", None], ["1", None]))
    assert _route(pl, frame) == {"location": "masks", "grade": "masks"}


def test_a_data_column_named_like_a_temporary_mask_column_is_kept_and_not_read():
    pl = engine_or_skip("polars")
    data = _data(*EXPECTED)
    frame = pl.DataFrame({"location": pl.Series(data["location"], dtype=pl.String),
                          "grade": pl.Series(data["grade"], dtype=pl.String),
                          "temperature": data["temperature"], "hr": data["hr"],
                          "__rulecraft_0_0": ["mine"] * N, "__rulecraft_0": [1] * N})
    got = RULESET.with_matches(frame, prefix="m_")
    assert got["__rulecraft_0_0"].to_list() == ["mine"] * N and got["__rulecraft_0"].to_list() == [1] * N
    plain = RULESET.with_matches(frame.drop("__rulecraft_0_0", "__rulecraft_0"), prefix="m_")
    assert got.drop("__rulecraft_0_0", "__rulecraft_0").equals(plain)


def test_a_lazy_frame_gives_the_same_answers_as_the_eager_fast_route():
    pl = engine_or_skip("polars")
    frame = _same_as_numpy(pl, _data(*EXPECTED))
    assert RULESET.with_matches(frame.lazy(), prefix="m_").collect().equals(RULESET.with_matches(frame, prefix="m_"))


@pytest.mark.parametrize("k", range(0, 9))
def test_at_least_n_of_k_on_bitmaps_or_sums_counts_right(k):
    pl = engine_or_skip("polars")
    from rules_dsl.engines.polars import _at_least

    rows = list(itertools.product([False, True], repeat=k))
    frame = pl.DataFrame({"row": range(len(rows)), **{f"b{i}": [row[i] for row in rows] for i in range(k)}},
                         schema={"row": pl.Int64, **{f"b{i}": pl.Boolean for i in range(k)}})
    parts = [pl.col(f"b{i}") for i in range(k)]
    for n in range(-1, k + 2):
        got = frame.with_columns(_at_least(n, parts).alias("x"))["x"].to_list()  # a constant: one per row too
        assert got == [sum(row) >= n for row in rows], (k, n)
