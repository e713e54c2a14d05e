"""Every text representation pandas hands over gives the same answers (issue 16, part 2): object, pandas' str on
Python or Arrow storage, category, and pd.ArrowDtype(pa.string()). Arrow-backed text is factorized by Arrow's
dictionary encoding (backends/vectorized.py), never turned into one Python object per row."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .vocab import build_ruleset

pa = pytest.importorskip("pyarrow")

DTYPES = {"object": object, "str python": pd.StringDtype("python", na_value=np.nan),
          "str arrow": pd.StringDtype("pyarrow", na_value=np.nan), "string arrow": pd.StringDtype("pyarrow"),
          "category": "category", "ArrowDtype": pd.ArrowDtype(pa.string())}

RULES = ['rule "a" when location is "margin"', 'rule "b" when location is not "margin"',
         'rule "c" when location is one of "border", "centre"', 'rule "d" when location is not one of "border"',
         'rule "e" when location is missing', 'rule "f" when grade is one of 1, 3', 'rule "g" when grade is not 2',
         'rule "h" when notes contains "AB"', 'rule "i" when notes is one of "xab", "y", "z", "q"',
         'rule "j" when notes is "y"', 'rule "k" when notes is not "y"', 'rule "l" when notes is known']


@pytest.mark.parametrize("n", [7, 6000])
@pytest.mark.parametrize("dtype", list(DTYPES.values()), ids=list(DTYPES))
def test_every_text_dtype_agrees_with_the_row_backend(dtype, n):
    ruleset = build_ruleset(RULES)
    rng = np.random.default_rng(n)
    pools = {"location": ["margin", " Margin", "border", "CENTRE", "elsewhere", None],
             "grade": ["1", "2", "3", " 3", None], "notes": ["xab", "y", "z", "AbC", None, "q", ""]}
    data = {c: [pool[i] for i in rng.integers(0, len(pool), n)] for c, pool in pools.items()}
    frame = pd.DataFrame({c: pd.Series(v, dtype=dtype) for c, v in data.items()})
    assert {str(frame[c].dtype) for c in frame} == {str(pd.Series(["x"], dtype=dtype).dtype)}
    fired = ruleset.matches(frame)
    rows = [dict(zip(data, values)) for values in zip(*data.values())]
    expected = [ruleset.matches_row(row) for row in rows]
    got = [[rule_id for rule_id, flag in zip(fired.columns, flags) if flag] for flags in fired.itertuples(index=False)]
    assert got == expected
    if n > 100:
        assert fired.sum().min() > 0  # every rule fires somewhere


def test_arrow_text_is_not_turned_into_python_objects(monkeypatch):
    """The Arrow path factorizes with Arrow; converting the column to an object array is what made it 3.7x slower."""
    ruleset = build_ruleset(RULES)
    frame = pd.DataFrame({c: pd.Series(["margin", None, "2"] * 3000, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
                          for c in ("location", "grade", "notes")})
    expected = ruleset.matches(frame.astype(object))
    seen = []
    original = pd.Series.to_numpy

    def spy(self, *args, **kwargs):
        seen.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.Series, "to_numpy", spy)
    assert ruleset.matches(frame).equals(expected)
    assert not set(seen) & {"location", "grade", "notes"}
