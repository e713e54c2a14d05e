"""Arrow text read straight from Arrow's buffers by the vectorized engine (backends/vectorized.py, _arrow_codes).

Two code paths: text of at most 7 bytes in every row becomes one integer per row (bytes + length) that is
factorized; longer text is dictionary-encoded by Arrow. Both are checked on the dtypes pandas hands over
(pandas' str on Arrow with NaN for missing, the nullable string[pyarrow] with <NA>, pd.ArrowDtype(pa.string())
with <NA>), on chunked arrays of several chunks (as read_csv makes them), on sliced chunks, on an all-null column
and on a column with zero rows: the codes must give back every value, and the rules the row backend's answers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rules_dsl.backends import vectorized

from .vocab import build_ruleset

pa = pytest.importorskip("pyarrow")

# "Mârgin" is 7 bytes in UTF-8, " BORDER" 7, "border\x00" 7 (a NUL byte that must not read as "border").
SHORT = ["margin", "Mârgin", " BORDER", "centre", "", "border\x00", "é", "border", None]
# Some rows longer than 7 bytes: Arrow's dictionary encoding.
LONG = ["margin", "elsewhere", "Centre\t\t", " BORDER ", "", None, "margin  ", "centre"]


def chunked(values: list, chunks: int, large: bool) -> pa.ChunkedArray:
    """The values as an Arrow string array of ``chunks`` chunks, the middle ones sliced out of bigger arrays (so
    that their offset is not 0), plus an empty chunk."""
    kind = pa.large_string() if large else pa.string()
    bounds = np.linspace(0, len(values), chunks + 1).astype(int)
    parts = []
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        part = values[start:stop]
        if i % 2:  # a slice of a longer array
            parts.append(pa.array(["padding", None] + part + ["tail"], type=kind).slice(2, len(part)))
        else:
            parts.append(pa.array(part, type=kind))
    parts.insert(1, pa.array([], type=kind))
    return pa.chunked_array(parts, type=kind)


def series(values: list, form: str, chunks: int = 4) -> pd.Series:
    """A column in one of the Arrow forms, keeping the chunks."""
    if form == "ArrowDtype string (<NA>)":
        return pd.Series(pd.arrays.ArrowExtensionArray(chunked(values, chunks, large=False)))
    dtype = {"str on Arrow (NaN)": pd.StringDtype("pyarrow", na_value=np.nan),
             "string[pyarrow] (<NA>)": pd.StringDtype("pyarrow")}[form]
    return pd.Series(pd.arrays.ArrowStringArray(chunked(values, chunks, large=True), dtype=dtype))


FORMS = ["str on Arrow (NaN)", "string[pyarrow] (<NA>)", "ArrowDtype string (<NA>)"]


def decoded(s: pd.Series) -> list:
    codes, uniques, sentinel = vectorized._arrow_codes(s)
    assert codes.shape == (len(s),)
    assert sentinel or not (codes < 0).any()  # tests skip code -1 when it cannot occur
    return [uniques[c] if c >= 0 else None for c in codes.tolist()]


@pytest.mark.parametrize("block", [None, 7])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("pool", ["short", "long"])
def test_codes_give_back_every_value_over_several_chunks(form, pool, block, monkeypatch):
    if block:  # short text is read in blocks of rows: here many blocks per chunk, most ending mid-chunk
        monkeypatch.setattr(vectorized, "_BLOCK", block)
    values = [(SHORT if pool == "short" else LONG)[i] for i in np.random.default_rng(3).integers(0, 8, 5000)]
    values[:9] = SHORT if pool == "short" else LONG + [None]
    s = series(values, form)
    assert s.array.__arrow_array__().num_chunks > 3
    assert s.isna().sum() > 0
    short = vectorized._short_keys(s.array.__arrow_array__(),
                                   np.int32 if form.startswith("ArrowDtype") else np.int64)
    assert (short is not None) == (pool == "short")  # the path this case is about
    assert decoded(s) == values
    codes, uniques, _ = vectorized._arrow_codes(s)
    assert len(uniques) == len(set(uniques))  # each distinct text (and missing) once


@pytest.mark.parametrize("form", FORMS)
def test_an_all_null_column_and_a_column_with_zero_rows(form):
    assert decoded(series([None] * 50, form)) == [None] * 50
    assert decoded(series([], form, chunks=1)) == []
    ruleset = build_ruleset(['rule "a" when location is "margin"', 'rule "b" when location is missing',
                             'rule "c" when notes contains "x"', 'rule "d" when notes is known'])
    for n in (0, 50):
        frame = pd.DataFrame({"location": series([None] * n, form, chunks=1),
                              "notes": series([None] * n, form, chunks=1)})
        fired = ruleset.matches(frame)
        assert fired.shape == (n, 4)
        missing = fired.columns[1]
        assert fired[missing].all() and not fired.drop(columns=missing).to_numpy().any()


def test_anything_but_arrow_strings_is_left_to_pandas():
    assert vectorized._arrow_codes(pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([[1, 2, None]])))) \
        is None
    dictionary = pa.chunked_array([pa.array(["a", "b", None, "a"]).dictionary_encode()])
    assert vectorized._arrow_codes(pd.Series(pd.arrays.ArrowExtensionArray(dictionary))) is None


RULES = ['rule "a" when location is "margin"', 'rule "b" when location is not "border"',
         'rule "c" when location is one of "border", "centre"', 'rule "d" when location is not one of "margin"',
         'rule "e" when location is missing', 'rule "f" when notes contains "r"', 'rule "g" when notes is "é"',
         'rule "h" when notes is one of "", "centre", "margin  ", "elsewhere"', 'rule "i" when notes is known',
         'rule "j" when not (location is "centre" and notes is not "border")']


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("pool", ["short", "long"])
def test_rules_on_chunked_arrow_text_agree_with_the_row_backend(form, pool):
    ruleset = build_ruleset(RULES)
    values = SHORT if pool == "short" else LONG
    rng = np.random.default_rng(5)
    data = {c: [values[i] for i in rng.integers(0, len(values), 6000)] for c in ("location", "notes")}
    frame = pd.DataFrame({c: series(v, form) for c, v in data.items()})
    fired = ruleset.matches(frame)
    rows = [dict(zip(data, values)) for values in zip(*data.values())]
    expected = [ruleset.matches_row(row) for row in rows]
    got = [[rule_id for rule_id, flag in zip(fired.columns, flags) if flag] for flags in fired.itertuples(index=False)]
    assert got == expected
    assert fired.to_numpy().any(axis=0).sum() >= 8  # most rules fire somewhere
    assert ruleset.matches(frame.astype(object)).equals(fired)
