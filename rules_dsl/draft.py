"""A first vocabulary drafted from a CSV file's column names and a sample of its rows: the starting point of a new
rule set in the editor, where a person checks and corrects every guess before anything is saved.

Pure: strings in (the header and the rows as the csv module reads them), a ``Draft`` out; nothing is read from
disk and nothing is saved. The draft is an ordinary ``Vocabulary`` (the same format as vocabulary.yaml, so the
editor sends it back unchanged to ``POST /api/rulesets``), plus per column a note of what was seen, and the labels
of the outcome column when the person says which column that is (it is then left out of the vocabulary).

Guesses, per column, from its non-missing cells (missing: an empty cell or one of the words a CSV reader reads as
missing, ``MISSING_WORDS``):
- yes/no when every cell is yes/no, true/false or 1/0 (the words a yes/no feature reads, backends/values.py),
  unless the only values are 0 or 1 alone (then number);
- number when every cell is a finite number; the range is the smallest and largest seen, rounded outward to a
  step of a tenth of the order of magnitude of their spread (6.98..28.11 -> 6..29; 143.5..2501 -> 100..2600);
- category when at most ``MAX_CATEGORY_VALUES`` distinct values occur and most values repeat (a sample of ten
  different names is text, not a category of ten);
- text otherwise.
A name is the column name in words (``mean_area`` -> "mean area"); the column is kept as the feature's ``column``.
A unit written in the column name ("Age (years)", "diameter_mm") becomes the feature's unit when it is one the
language knows.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .backends.values import _BOOLEAN_WORDS as BOOLEAN_WORDS
from .backends.values import MISSING_WORDS, category_key
from .errors import DataError
from .units import find_unit
from .vocabulary import MAX_LABEL, Feature, Vocabulary, is_rule_name, unusable_label

MAX_CATEGORY_VALUES = 20   # more distinct values than this is text (a vocabulary of 300 features stays readable)
MAX_SAMPLE_ROWS = 1_000    # the rows a draft looks at; the editor sends the first ones of the file
OUTCOME_WORDS = ("outcome", "diagnosis", "label", "class", "target", "result", "risk", "decision")
_BOOLEAN = frozenset(BOOLEAN_WORDS)   # the words a yes/no feature reads in data
_ZERO_ONE = {"0", "1"}


@dataclass(frozen=True)
class ColumnNote:
    """What was seen in one column: how many cells had a value, and the distinct values (at most a few)."""

    column: str
    feature: str | None      # the feature's name, None for the outcome column
    filled: int
    missing: int
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"column": self.column, "feature": self.feature, "filled": self.filled, "missing": self.missing,
                "examples": list(self.examples)}


@dataclass(frozen=True)
class Draft:
    vocabulary: Vocabulary
    columns: tuple[ColumnNote, ...]
    rows: int                          # rows looked at
    outcome_column: str | None = None
    labels: tuple[str, ...] = ()       # the outcome column's distinct values, most frequent first
    suggested_outcome: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"features": self.vocabulary.to_list(), "columns": [c.to_dict() for c in self.columns],
                "rows": self.rows, "outcome": {"column": self.outcome_column, "labels": list(self.labels)},
                "suggested_outcome": self.suggested_outcome, "notes": list(self.notes)}


def draft_vocabulary(header: Sequence[str], rows: Iterable[Sequence[str]], outcome_column: str | None = None,
                     *, max_rows: int = MAX_SAMPLE_ROWS) -> Draft:
    """The vocabulary guessed from ``header`` and the first ``max_rows`` of ``rows`` (lists of cell strings; a
    short row counts its missing cells as missing). DataError when the header is unusable (no names, an empty
    or repeated name) or ``outcome_column`` is not one of the columns."""
    header = [str(h) for h in header]   # kept as written: the data column is read by its exact name
    check_header(header)
    if outcome_column is not None and outcome_column not in header:
        raise DataError(f"There is no column '{outcome_column}' in the file; choose the outcome among: "
                        f"{', '.join(header)}.", outcome_column)
    cells: list[list[str]] = [[] for _ in header]
    count = 0
    for row in rows:
        if count >= max_rows:
            break
        count += 1
        for i in range(len(header)):
            value = row[i].strip() if i < len(row) and row[i] is not None else ""
            if value not in MISSING_WORDS:
                cells[i].append(value)
    features: list[Feature] = []
    notes: list[ColumnNote] = []
    taken: set[str] = set()
    labels: tuple[str, ...] = ()
    for column, values in zip(header, cells):
        examples = tuple(v for v, _ in Counter(values).most_common(5))
        if column == outcome_column:
            labels = _distinct(values)
            notes.append(ColumnNote(column, None, len(values), count - len(values), examples))
            continue
        feature = _guess(column, values, taken)
        taken.add(category_key(feature.name))
        features.append(feature)
        notes.append(ColumnNote(column, feature.name, len(values), count - len(values), examples))
    unusable = next((label for label in labels if unusable_label(label)), None)
    if unusable is not None:  # else the draft was answered, and creating the rule set from it refused
        raise DataError(f"The outcome column '{outcome_column}' holds {ascii(unusable[:60])}, which cannot be a "
                        f"label: a label is one line of visible text of at most {MAX_LABEL} characters, without "
                        "invisible characters such as a zero-width space. Correct it in the file and choose the file "
                        "again, or choose another outcome column.", outcome_column)
    messages = []
    if outcome_column is not None and not labels:
        messages.append(f"The outcome column '{outcome_column}' has no values in the first {count} rows; type its "
                        "labels.")
    return Draft(Vocabulary(tuple(features)), tuple(notes), count, outcome_column, labels,
                 suggest_outcome(header, cells), tuple(messages))


def check_header(header: Sequence[str]) -> None:
    """Refuse a first line that does not name the columns: empty, a blank name, a name given twice, or numbers
    only (a file without its line of column names)."""
    if not header or all(not h.strip() for h in header):
        raise DataError("The first line of the file must name the columns (for example: age,mean area,"
                        "diagnosis), but it is empty.")
    for i, name in enumerate(header, 1):
        if not name.strip():
            raise DataError(f"Column {i} has no name on the first line. Give every column a name.", f"column {i}")
    seen: dict[str, int] = {}
    for i, name in enumerate(header, 1):
        if name in seen:
            raise DataError(f"Two columns are called '{name.strip()}' (columns {seen[name]} and {i}). Give each "
                            "column its own name on the first line.", name)
        seen[name] = i
    if all(_number(h) is not None for h in header):
        raise DataError("The first line holds numbers, not column names. Add a first line that names the "
                        "columns (for example: age,mean area,diagnosis).")


def suggest_outcome(header: Sequence[str], cells: Sequence[Sequence[str]]) -> str | None:
    """The column that looks like the outcome: named like one (diagnosis, label, class, ...) with a few distinct
    values. Only a suggestion: the person chooses."""
    for column, values in zip(header, cells):
        words = set(_words(column))
        if words & set(OUTCOME_WORDS) and 0 < len(set(map(category_key, values))) <= MAX_CATEGORY_VALUES:
            return column
    return None


def readable_name(column: str) -> str:
    """The column name in words that rules can write: ``mean_area`` -> "mean area", ``meanArea`` -> "mean area",
    ``area_2`` -> "area2". Words the rules use ("is", "and", "between", ...) are dropped; "feature" when nothing
    remains."""
    kept: list[str] = []
    for word in _words(column):
        if word[0].isdigit():
            if kept:
                kept[-1] += word
            continue
        if is_rule_name(" ".join([*kept, word])):
            kept.append(word)
    return " ".join(kept) or "feature"


def readable_range(low: float, high: float) -> tuple[float, float]:
    """[low, high] widened to round numbers: a step of a tenth of the order of magnitude of the spread (of the
    value itself when low == high), so the range reads well and still holds every value seen."""
    spread = high - low
    scale = spread if spread > 0 else max(abs(low), abs(high))
    if scale == 0:
        return (0.0, 0.0)
    exponent = math.floor(math.log10(scale)) - 1
    step = Decimal(1).scaleb(exponent)
    lo = (Decimal(repr(low)) / step).to_integral_value(rounding="ROUND_FLOOR") * step
    hi = (Decimal(repr(high)) / step).to_integral_value(rounding="ROUND_CEILING") * step
    return (float(lo), float(hi))


def _guess(column: str, values: list[str], taken: set[str]) -> Feature:
    lowered = {v.lower() for v in values}
    numbers = [_number(v) for v in values]
    if values and lowered <= _BOOLEAN and (lowered - _ZERO_ONE or lowered == _ZERO_ONE):
        kind = "boolean"
    elif values and all(n is not None for n in numbers):
        kind = "number"
    else:
        distinct = _distinct(values)
        few = len(distinct) <= MAX_CATEGORY_VALUES and (len(distinct) <= 2 or len(distinct) * 2 <= len(values))
        kind = "category" if values and few else "text"
    base, unit = _strip_unit(column) if kind == "number" else (column, None)
    name = _unique(readable_name(base), taken)
    keep_column = column if column != name else ""
    if kind == "number":
        return Feature(name, kind, unit=unit, column=keep_column, range=readable_range(min(numbers), max(numbers)))
    if kind == "category":
        return Feature(name, kind, column=keep_column, values=distinct)
    return Feature(name, kind, column=keep_column)


def _distinct(values: list[str]) -> tuple[str, ...]:
    """Distinct values (compared as categories are matched), most frequent first, in their commonest spelling."""
    spellings: dict[str, Counter] = {}
    for v in values:
        spellings.setdefault(category_key(v), Counter())[v] += 1
    ranked = sorted(spellings.values(), key=lambda c: (-sum(c.values()), c.most_common(1)[0][0]))
    return tuple(c.most_common(1)[0][0] for c in ranked)


def _number(text: str) -> float | None:
    try:
        x = float(text.replace("_", "x"))
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)   # meanArea -> mean Area
    return [w.lower() for w in re.findall(r"[^\W_]+(?:'[^\W_]+)?", spaced)]


def _strip_unit(column: str) -> tuple[str, str | None]:
    """A unit written in the column name: in brackets ("Age (years)", "weight [kg]") or as the last word
    ("diameter_mm"), when the language knows it. Single letters are left alone ("vitamin_d")."""
    bracket = re.fullmatch(r"(.*?)\s*[(\[]\s*([^()\[\]]+?)\s*[)\]]\s*", column)
    if bracket and find_unit(bracket.group(2)) is not None:
        return bracket.group(1), find_unit(bracket.group(2)).symbol
    words = re.split(r"[\s_]+", column.strip())
    if len(words) > 1 and len(words[-1]) > 1 and find_unit(words[-1]) is not None:
        return " ".join(words[:-1]), find_unit(words[-1]).symbol
    return column, None


def _unique(name: str, taken: set[str]) -> str:
    if category_key(name) not in taken:
        return name
    n = 2
    while category_key(f"{name}{n}") in taken:
        n += 1
    return f"{name}{n}"
