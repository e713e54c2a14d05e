"""How input values of each feature type are read, the same way by every backend.

Missing is None or NaN (or a key that is absent). A number feature takes ints and floats (and booleans as 1/0);
a category or text feature takes text, and numbers as their plain spelling (2.0 -> "2") because CSV readers turn
category codes into numbers; a boolean feature takes True/False, 1/0 and the words yes/no/true/false (and "1"/"0",
which is how a CSV reader leaves 1/0 in a column that also holds words).
Anything else is a DataError naming the column, never a silent mismatch.
"""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from ..errors import DataError

NAN = float("nan")
_BOOLEAN_WORDS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


def _type_name(value) -> str:
    return {str: "text", bool: "yes/no"}.get(type(value), type(value).__name__)


def number_value(value, column: str) -> float:
    """A float, NaN for missing."""
    if value is None:
        return NAN
    if isinstance(value, (float, int, np.integer, np.floating, Decimal)) and not isinstance(value, np.bool_):
        return float(value)
    if isinstance(value, np.bool_):
        return float(bool(value))
    if _is_na(value):
        return NAN
    raise DataError(f"'{column}' must be a number, but got {_type_name(value)} {value!r}.", column)


def text_value(value, column: str) -> str | None:
    """Text, None for missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise DataError(f"'{column}' must be text, but got yes/no {value!r}.", column)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if _is_na(value):
        return None
    raise DataError(f"'{column}' must be text, but got {_type_name(value)} {value!r}.", column)


def boolean_value(value, column: str) -> bool | None:
    """True, False or None for missing."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        if value != value:
            return None
        if value in (0, 1):
            return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    if _is_na(value):
        return None
    raise DataError(f"'{column}' must be yes or no (true/false, 1/0), but got {value!r}.", column)


def _is_na(value) -> bool:
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover
        return False


READERS = {"number": number_value, "category": text_value, "text": text_value, "boolean": boolean_value}
