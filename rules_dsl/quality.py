"""The data report: what in a data set does not fit the vocabulary, said in plain words, never absorbed silently.

Per feature whose column the data holds: how many values are missing, how many numbers fall outside the
vocabulary's declared range (a column in months where the vocabulary says years), how many category values are
none of the allowed values (compared as the rules compare them: backends/values.category_key), each with a few
examples, and the problem when a column cannot be read as its type at all (the message evaluation would give).
Columns the rules read but the data lacks are listed too. ``RuleSet.data_report`` builds it; the command line
prints ``lines()``, the server returns ``to_dict()`` (its ``warnings`` are the problems only, not missing values).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .backends.values import READERS, category_key
from .backends.vectorized import _booleans, _numbers
from .errors import DataError
from .vocabulary import Feature, Vocabulary

EXAMPLES = 3  # values shown per problem


@dataclass(frozen=True)
class ColumnReport:
    """One feature's column: ``outside`` counts numbers outside the range or categories outside the allowed values;
    ``examples`` are such values, the most frequent first; ``problem`` says why the column cannot be read."""

    column: str
    feature: Feature
    rows: int
    missing: int = 0
    outside: int = 0
    examples: tuple = ()
    problem: str | None = None

    @property
    def name(self) -> str:
        if self.column == self.feature.name:
            return f"'{self.column}'"
        return f"'{self.column}' ('{self.feature.name}')"

    def warnings(self) -> list[dict]:
        out = []
        if self.problem:
            out.append(self._warning("wrong-type", self.rows, self.problem))
        if self.outside:
            out.append(self._warning("outside-range" if self.feature.type == "number" else "unknown-values",
                                     self.outside, self._outside_words()))
        return out

    def _warning(self, code: str, count: int, message: str) -> dict:
        return {"code": code, "column": self.column, "feature": self.feature.name, "count": count,
                "examples": [_plain(x) for x in self.examples] if code != "wrong-type" else [],
                "message": message}

    def _outside_words(self) -> str:
        f = self.feature
        examples = ", ".join(_shown(x) for x in self.examples)
        share = f"{self.outside:,} of {self.rows:,} values"
        if f.type == "number":
            low, high = (_number(x) for x in f.range)
            unit = f" {f.unit}" if f.unit else ""
            hint = " Is the column in another unit?" if f.unit else ""
            return (f"{self.name}: {share} are outside the range {low} to {high}{unit} of the vocabulary, "
                    f"e.g. {examples}.{hint}")
        allowed = ", ".join(f"'{v}'" for v in f.values)
        return (f"{self.name}: {share} are none of the allowed values ({allowed}), e.g. {examples}; "
                "no rule's value matches them.")

    def lines(self) -> list[str]:
        out = [w["message"] for w in self.warnings()]
        if self.missing and not self.problem:
            out.append(f"{self.name}: {self.missing:,} of {self.rows:,} values missing.")
        return out

    def to_dict(self) -> dict:
        return {"column": self.column, "feature": self.feature.name, "type": self.feature.type, "rows": self.rows,
                "missing": self.missing, "outside": self.outside, "examples": [_plain(x) for x in self.examples],
                "problem": self.problem}

    def __add__(self, other: ColumnReport) -> ColumnReport:
        examples = tuple(dict.fromkeys(self.examples + other.examples))[:EXAMPLES]
        return replace(self, rows=self.rows + other.rows, missing=self.missing + other.missing,
                       outside=self.outside + other.outside, examples=examples,
                       problem=self.problem or other.problem)


@dataclass(frozen=True)
class DataReport:
    """The report on a data set (``rows`` cases): one ColumnReport per feature the data holds, and the columns the
    rules read that it lacks (``absent``: column -> feature name)."""

    rows: int
    columns: tuple[ColumnReport, ...] = ()
    absent: dict[str, str] = field(default_factory=dict)

    @property
    def warnings(self) -> list[dict]:
        """The problems (wrong types, values outside the vocabulary, absent columns), each with its message."""
        out = [w for c in self.columns for w in c.warnings()]
        for column, name in self.absent.items():
            out.append({"code": "absent-column", "column": column, "feature": name, "count": self.rows,
                        "examples": [], "message": self._absent_words(column, name)})
        return out

    @staticmethod
    def _absent_words(column: str, name: str) -> str:
        shown = f"'{column}'" if column == name else f"'{column}' ('{name}')"
        return f"The data has no column {shown}: the rules count it as missing in every case."

    def lines(self) -> list[str]:
        """Plain words, one line per finding; one line saying all is well when nothing was found."""
        out = [line for c in self.columns for line in c.lines()]
        out += [self._absent_words(column, name) for column, name in self.absent.items()]
        if not out:
            return [f"All {self.rows:,} cases fit the vocabulary: no missing values, nothing outside it."]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict:
        return {"rows": self.rows, "columns": [c.to_dict() for c in self.columns], "absent": dict(self.absent),
                "warnings": self.warnings, "lines": self.lines()}

    def __add__(self, other: DataReport) -> DataReport:
        """The report on both data sets together (chunks of one file)."""
        mine = {c.column: c for c in self.columns}
        for c in other.columns:
            mine[c.column] = mine[c.column] + c if c.column in mine else c
        return DataReport(self.rows + other.rows, tuple(mine.values()), {**self.absent, **other.absent})


def report_frame(vocabulary: Vocabulary, frame: pd.DataFrame, read: Iterable[str] = ()) -> DataReport:
    """The report on a data frame; ``read``: the columns the rules read (absent ones are listed)."""
    present = set(frame.columns)
    columns = []
    for feature in vocabulary.features:
        if feature.column not in present:
            continue
        series = frame[feature.column]
        if isinstance(series, pd.DataFrame):  # a column given twice: evaluation refuses it
            columns.append(ColumnReport(feature.column, feature, len(frame),
                                        problem=f"The data has more than one column named '{feature.column}'."))
            continue
        columns.append(_column(feature, series))
    absent = {c: vocabulary.by_column()[c].name for c in read if c not in present and c in vocabulary.by_column()}
    return DataReport(len(frame), tuple(columns), absent)


def report_cases(vocabulary: Vocabulary, cases: Iterable[Mapping], read: Iterable[str] = ()) -> DataReport:
    """The report on cases given one by one (keys: data columns, feature names or synonyms), without pandas."""
    rows = [vocabulary.case_by_column(case)[0] for case in cases]
    columns = []
    for feature in vocabulary.features:
        if not any(feature.column in row for row in rows):
            continue
        counts = Counter(_hashable(row.get(feature.column)) for row in rows)
        columns.append(_from_counts(feature, len(rows), counts.items()))
    absent = {c: vocabulary.by_column()[c].name for c in read
              if c in vocabulary.by_column() and not any(c in row for row in rows)}
    return DataReport(len(rows), tuple(columns), absent)


def _column(feature: Feature, series: pd.Series) -> ColumnReport:
    n = len(series)
    try:
        if feature.type == "number":
            numbers = _numbers(series, feature.column)
            missing = np.isnan(numbers)
            if feature.range is None:
                return ColumnReport(feature.column, feature, n, int(missing.sum()))
            low, high = feature.range
            outside = (numbers < low) | (numbers > high)
            examples = pd.Series(numbers[outside]).value_counts(sort=True).index[:EXAMPLES].tolist()
            return ColumnReport(feature.column, feature, n, int(missing.sum()), int(outside.sum()), tuple(examples))
        if feature.type == "boolean":
            return ColumnReport(feature.column, feature, n, int(np.isnan(_booleans(series, feature.column)).sum()))
    except DataError as e:
        return ColumnReport(feature.column, feature, n, problem=e.message)
    try:
        counts = series.astype(object).value_counts(dropna=False, sort=True)
    except TypeError:  # unhashable values (lists): counted one by one
        return _from_counts(feature, n, Counter(_hashable(v) for v in series).items())
    return _from_counts(feature, n, ((value, int(count)) for value, count in counts.items() if count))


def _from_counts(feature: Feature, n: int, counts) -> ColumnReport:
    """From (value, count) pairs, the most frequent first for the examples to be the common ones."""
    read = READERS[feature.type]
    allowed = {category_key(v) for v in feature.values}
    missing = outside = 0
    examples: list = []
    for value, count in sorted(counts, key=lambda pair: -pair[1]):
        try:
            known = read(value, feature.column)
        except DataError as e:
            return ColumnReport(feature.column, feature, n, problem=e.message)
        if known is None or (isinstance(known, float) and known != known):
            missing += count
        elif _outside(feature, known, allowed):
            outside += count
            if known not in examples:
                examples.append(known)
    return ColumnReport(feature.column, feature, n, missing, outside, tuple(examples[:EXAMPLES]))


def _outside(feature: Feature, known, allowed: set[str]) -> bool:
    if feature.type == "category":
        return category_key(known) not in allowed
    return feature.type == "number" and feature.range is not None and not feature.range[0] <= known <= feature.range[1]


def _hashable(value):
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def _number(x: float) -> str:
    return f"{x:g}"


def _shown(value) -> str:
    return _number(value) if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _plain(value):
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, np.integer):
        return int(value)
    return value
