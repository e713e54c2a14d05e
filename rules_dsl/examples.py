"""A rule set's example cases (examples.csv), checked against its vocabulary and outcome with file:line positions.

examples.csv holds a few cases that the editor tries every rule on as it is written. Its first line names the
columns: one per feature, named as the feature's data column (``column:`` in vocabulary.yaml, else the feature's
name); optionally ``case`` (a name for each case) and a column named as the outcome (the case's true label). A cell
left empty is a missing value. ``check_examples`` says, line by line, what the rules could not read or match: a
number that is not a number, a category value that is not one of the allowed values, a yes/no that is neither, a
label that is not one of the outcome's labels, a line with too few or too many values; and, as warnings, numbers
outside a feature's usual range and columns no feature reads.

Layer rule: the standard library, pandas' list of missing-value words, and this package only.
"""
from __future__ import annotations

import csv
import io
import math
from typing import TYPE_CHECKING

from .backends.values import MISSING_WORDS, boolean_value, category_key
from .errors import WARNING, DataError, Problem, did_you_mean, quote_list
from .layout import EXAMPLES_FILE

if TYPE_CHECKING:
    from .ruleset import RuleSet

CASE_COLUMN = "case"  # the column that names each example case
SHOWN = 5             # problems of one kind listed per column; the rest are counted in one more line


def check_examples(data: bytes, ruleset: RuleSet, file: str = EXAMPLES_FILE) -> list[Problem]:
    """Every problem of ``data`` (the bytes of examples.csv) for ``ruleset``, in line order, each with ``file``
    and its line."""
    records, problems = read_records(data, file)
    if not records:
        return problems or [Problem("empty-examples", f"{file} is empty: its first line names the columns, each "
                                    "further line is one case.", severity=WARNING, line=1, file=file)]
    (_, header), rows = records[0], records[1:]
    problems.extend(named_twice(header, "bad-examples", file))
    features = ruleset.vocabulary.by_column()
    outcome = ruleset.outcome
    for name in dict.fromkeys(header):
        if name not in features and name not in (CASE_COLUMN, outcome.name):
            problems.append(_unread_column(name, ruleset, file))
    counted: dict[tuple[str, str], int] = {}
    for line, values in rows:
        if len(values) != len(header):
            problems.append(wrong_width(values, header, line, "bad-examples", file))
            continue
        for name, value in zip(header, values):
            if _missing(value):
                continue
            if name == outcome.name:
                found = _label_problem(value, outcome, line, file)
            elif name in features:
                found = _value_problem(value, features[name], line, file)
            else:
                found = None
            if found is not None:
                key = (name, found.code)
                counted[key] = counted.get(key, 0) + 1
                if counted[key] <= SHOWN:
                    problems.append(found)
    for (name, code), count in counted.items():
        if count > SHOWN:
            problems.append(Problem(code, f"... and {count - SHOWN} more cases with the same problem in the column "
                                    f"'{name}'.", line=None, file=file, field=name))
    return sorted(problems, key=lambda p: (p.line or 0, p.line is None))


def read_records(data: bytes, file: str = EXAMPLES_FILE) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """The non-blank lines of a CSV file as (line number, values); a file that cannot be read gives a problem
    saying where (a value in quotes may span lines, so a case's line is the one it starts on)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return [], [Problem("bad-examples", f"{file} is not UTF-8 text (byte {e.start + 1}). Save it as CSV in "
                            "UTF-8 (spreadsheets offer \"CSV UTF-8\").", line=line, file=file)]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for values in reader:
            if any(v.strip() for v in values) or len(values) > 1:
                records.append((last + 1, values))
            last = reader.line_num
    except csv.Error as e:
        message = ("A value in quotes starts on this line but its closing quote is missing: add the closing \" "
                   "(or remove the opening one)." if "end of data" in str(e) else
                   f"This line is not well-formed CSV ({e}). Put a value that holds quotes or commas in quotes, "
                   "writing a quote inside it twice (\"\").")
        return records, [Problem("bad-examples", message, line=last + 1, file=file)]
    return records, []


def named_twice(header: list[str], code: str, file: str) -> list[Problem]:
    """A problem for each column named again in the first line of a file of cases."""
    seen: set[str] = set()
    problems = []
    for name in header:
        if name in seen:
            problems.append(Problem(code, f"The column '{name}' is named twice in the first line; name each column "
                                    "once.", line=1, file=file, field=name))
        seen.add(name)
    return problems


def wrong_width(values: list[str], header: list[str], line: int, code: str, file: str) -> Problem:
    """The problem of a case line with more or fewer values than the first line names columns."""
    return Problem(code, f"This case has {len(values)} values, but the first line names {len(header)} columns. "
                   "Every line needs one value per column (leave a value empty with two commas in a row).",
                   line=line, file=file)


def unreadable(data: bytes, error: Exception, file: str = EXAMPLES_FILE) -> Problem:
    """The problem to report when pandas cannot read examples.csv: positioned when the file's lines say where."""
    _, problems = read_records(data, file)
    if problems:
        return problems[0]
    message = getattr(error, "message", None) or str(error)
    return Problem("bad-examples", f"{file} cannot be read: {message}", file=file, line=getattr(error, "line", None))


def _missing(value: str) -> bool:
    return value in MISSING_WORDS or not value.strip()


def _unread_column(name: str, ruleset: RuleSet, file: str) -> Problem:
    feature = ruleset.vocabulary.lookup(name) if name.strip() else None
    if feature is not None:
        hint = (f" The feature '{feature.name}' reads the column '{feature.column}': name the column so, or leave "
                "it out.")
    else:
        hint = (f" The rules read a feature's data column; the true label goes in a column named '"
                f"{ruleset.outcome.name}', a name for each case in '{CASE_COLUMN}'.")
    return Problem("unknown-column", f"No feature reads the column '{name}'." + hint, severity=WARNING, line=1,
                   file=file, field=name)


def _label_problem(value: str, outcome, line: int, file: str) -> Problem | None:
    if value in outcome.labels:
        return None
    labels = quote_list(outcome.labels)
    close = outcome.label(value)
    if close is not None:
        return Problem("unknown-label", f"'{value}' is not a label of '{outcome.name}': {labels}. Write it as "
                       f"'{close}' (labels are compared exactly).", line=line, file=file, field=outcome.name,
                       suggestion=close)
    return Problem("unknown-label", f"'{value}' is not a label of '{outcome.name}': {labels}.", line=line, file=file,
                   field=outcome.name)


def _value_problem(value: str, feature, line: int, file: str) -> Problem | None:
    column = feature.column
    if feature.type == "number":
        try:
            number = float(value)
        except ValueError:
            return Problem("wrong-type", f"'{column}' is a number, but this case has '{value}'.", line=line,
                           file=file, field=column)
        if not math.isfinite(number):
            return Problem("wrong-type", f"'{column}' must be a finite number, not '{value}'; leave the value empty "
                           "when it is unknown.", line=line, file=file, field=column)
        if feature.range is not None and not feature.range[0] <= number <= feature.range[1]:
            low, high = (f"{x:g}" for x in feature.range)
            unit = f" {feature.unit}" if feature.unit else ""
            return Problem("out-of-range", f"'{column}' is {value.strip()} here, outside its usual range ({low} to "
                           f"{high}{unit}).", severity=WARNING, line=line, file=file, field=column)
    elif feature.type == "category":
        allowed = {category_key(v): v for v in feature.values}
        if category_key(value) not in allowed and category_key(_plain_number(value)) not in allowed:
            close = did_you_mean(value.strip(), feature.values)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            return Problem("unknown-value", f"'{column}' is '{value}' here, which is not one of its values: "
                           f"{quote_list(feature.values)}.{hint}", line=line, file=file, field=column,
                           suggestion=close[0] if close else None)
    elif feature.type == "boolean":
        try:
            boolean_value(value, column)
        except DataError as e:
            return Problem("wrong-type", e.message, line=line, file=file, field=column)
    return None


def _plain_number(value: str) -> str:
    """'2.0' -> '2': pandas reads a column of codes as numbers, and a number matches a category by its spelling."""
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if math.isfinite(number) and number.is_integer() else value
