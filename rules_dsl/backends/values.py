"""How input values of each feature type are read, the same way by every backend (and by the server).

Missing is None or NaN (or a key that is absent), and in a number or yes/no column also one of the words pandas'
CSV reader reads as missing ("n/a", "NA", "null", ...: MISSING_WORDS), so a data frame built by hand and the same
data read from a CSV file give the same answers. A number feature takes ints and floats, never yes/no (a true/false
column where a number is expected is a mistake, not 1/0) and never an infinite number; a category or text feature
takes text, and numbers as their plain spelling (2.0 -> "2") because CSV readers turn category codes into numbers;
a boolean feature takes True/False, 1/0 and the words yes/no/true/false (and "1"/"0", which is how a CSV reader
leaves 1/0 in a column that also holds words).
Anything else is a DataError naming the column, never a silent mismatch.

A category value matches an allowed value when their ``category_key`` are equal: Unicode NFC, surrounding spaces
trimmed, case folded (docs/language.md, "How data values are matched"). Every backend applies this one function
(the SQL backend its nearest SQL equivalent, see backends/sql.py), to the values in rules and in data alike.
"""
from __future__ import annotations

import math
import sys
import unicodedata
from decimal import Decimal

import numpy as np

from ..errors import DataError

NAN = float("nan")
_BOOLEAN_WORDS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}

# The cells pandas' read_csv reads as missing by default (pandas._libs.parsers.STR_NA_VALUES; a test keeps the two
# equal). Compared exactly, as pandas does.
MISSING_WORDS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                           "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})

# The characters str.strip() removes: what "surrounding spaces" means for a category value (the SQL backend trims
# the same characters).
SPACES = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())


def category_key(value: str) -> str:
    """The form in which a data value and an allowed value of a category are compared: NFC, trimmed, case-folded.

    Canonical caseless matching (Unicode 3.13): NFD, case fold, then NFC so that the key is in the form data
    usually arrives in. ASCII, the common case, needs only strip and lower (1/5 of the time).
    """
    if value.isascii():
        return value.strip().lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", value).casefold()).strip()


def _type_name(value) -> str:
    return {str: "text", bool: "yes/no"}.get(type(value), type(value).__name__)


def number_value(value, column: str) -> float:
    """A float, NaN for missing."""
    if value is None:
        return NAN
    if isinstance(value, (bool, np.bool_)):
        raise DataError(f"'{column}' must be a number, but got yes/no {value!r}. A true/false column cannot be "
                        "compared with numbers: check that the column is the right one.", column)
    if isinstance(value, (float, int, np.integer, np.floating, Decimal)):
        try:
            number = float(value)
        except OverflowError:  # an integer of more than ~309 digits (JSON allows 4,300)
            raise DataError(f"'{column}' is too large a number ({len(str(value))} digits): check the value.",
                            column) from None
        if math.isinf(number):
            raise DataError(infinite_message(column, number), column)
        return number
    if isinstance(value, str) and value in MISSING_WORDS:
        return NAN
    if _is_na(value):
        return NAN
    raise DataError(f"'{column}' must be a number, but got {_type_name(value)} {value!r}.", column)


def infinite_message(column: str, number: float, row=None) -> str:
    where = f" in row {row}" if row is not None else ""
    return (f"'{column}' holds an infinite number ({number}){where}. Rulecraft takes finite numbers only: leave the "
            "cell empty when the value is unknown.")


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


def category_value(value, column: str) -> str | None:
    """A category value as it is compared (its category_key), None for missing."""
    text = text_value(value, column)
    return None if text is None else category_key(text)


def is_key(value: str) -> bool:
    """Whether ``value`` is its own category_key (then a data value spelt exactly so needs no normalising)."""
    return category_key(value) == value


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
    if isinstance(value, str):
        if value.strip().lower() in _BOOLEAN_WORDS:
            return _BOOLEAN_WORDS[value.strip().lower()]
        if value in MISSING_WORDS:
            return None
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
"""Type by type: a value as the data holds it (a category keeps its spelling; backends compare category_key)."""
