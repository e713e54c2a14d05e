"""Dask: the NumPy engine (backends/vectorized.py) on every partition, through ``map_partitions``.

Dask has no expression language of its own; each partition is a pandas DataFrame, which the vectorized engine
evaluates natively (no per-row Python). ``meta`` declares the result's columns and types, so Dask builds the graph
without running the rules on an empty frame. The answers are the pandas engine's, partition by partition.
"""
from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd

from . import check_new_columns, decision_columns, match_columns, pandas_engine


def _check(ruleset, frame: dd.DataFrame, names: list[str], prefix: str) -> None:
    from ..backends.vectorized import check_columns

    check_new_columns(frame.columns, names, prefix)
    check_columns(frame.columns, ruleset._pairs)


def with_matches(ruleset, frame: dd.DataFrame, prefix: str) -> dd.DataFrame:
    names = match_columns(ruleset, prefix)
    _check(ruleset, frame, names, prefix)
    meta = frame._meta.assign(**{name: pd.Series([], dtype=bool) for name in names})
    return frame.map_partitions(_matches, ruleset, prefix, meta=meta)


def with_decisions(ruleset, frame: dd.DataFrame, prefix: str) -> dd.DataFrame:
    names = decision_columns(prefix)
    _check(ruleset, frame, names, prefix)
    meta = frame._meta.assign(**{names[0]: pd.Series([], dtype=object), names[1]: pd.Series([], dtype=object),
                                 names[2]: pd.Series([], dtype=np.float64)})
    return frame.map_partitions(_decisions, ruleset, prefix, meta=meta)


def _matches(partition: pd.DataFrame, ruleset, prefix: str) -> pd.DataFrame:
    return pandas_engine.with_matches(ruleset, partition, prefix)


def _decisions(partition: pd.DataFrame, ruleset, prefix: str) -> pd.DataFrame:
    return pandas_engine.with_decisions(ruleset, partition, prefix)
