"""A rule set as a decision table, and a table back to rules.

One row per rule, one column per feature the rules use, each cell in the same plain words as the rules with the
feature name left out ("above 17", "between 2 cm and 5 cm", "one of margin, border", empty = any value), then the
rule's other columns:

    id | rule | <feature> ... | other conditions | conclusion | confidence | priority | in use | because | text

A rule fits the table when its condition is one comparison or an "and" of comparisons. Each feature's first
comparison goes in its cell; what does not fit (an `or`, `at least N of`, `not (...)`, a second comparison of the
same feature) goes in "other conditions" as rule text, so every rule has a row and nothing is lost.

The way back (``rules_from_rows``) reads rows of cells (from a spreadsheet or a CSV file) and compiles each rule;
every problem names its cell, ``Rules!C7: ...``. The last column, "text", holds the rule's canonical text as it was
written out; it is read for one thing only, the order of the conditions, so that a table written and read again
gives byte-identical rule texts (and the same bundle hash). Without it (a new row, a deleted column), the
conditions follow the columns.

Layer rule: the standard library and this package only (the workbook module adds openpyxl).
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .errors import Problem, RuleError
from .formatter import format_comparison, format_condition, format_number, format_syntax, quote
from .layout import ID_WORDS, RULE_ID
from .parser import parse_rule
from .ruleset import CompiledRule, RuleSet, compile_rule, slugify
from .syntax import AllOf, Comparison, Conclusion, Condition, Rule, Text
from .vocabulary import Feature, Settings, Vocabulary

ID, NAME, OTHER, CONCLUSION, CONFIDENCE, PRIORITY, IN_USE, BECAUSE, TEXT = (
    "id", "rule", "other conditions", "conclusion", "confidence", "priority", "in use", "because", "text")
LEADING = (ID, NAME)
TRAILING = (OTHER, CONCLUSION, CONFIDENCE, PRIORITY, IN_USE, BECAUSE, TEXT)
YES, NO = "yes", "no"
# The comparisons a cell can start with, by feature type (the lists a spreadsheet offers).
COMPARISONS = {
    "number": ("above", "below", "at least", "at most", "between", "not", "one of", "missing", "known"),
    "category": ("one of", "not one of", "not", "missing", "known"),
    "boolean": ("yes", "no", "missing", "known"),
    "text": ("contains", "does not contain", "not", "one of", "missing", "known"),
}
_CATEGORY_OPS = ("is", "is not", "one of", "not one of")
_EXAMPLES = {"number": "above 17, between 2 and 5, at most 40", "category": "one of left, right",
             "boolean": "yes, no", "text": 'contains "fever"'}
_NO_VALUE = re.compile(r"(?i)(is\s+)?(missing|unknown|known|present|recorded|not\s+(known|missing|recorded))")
_OWN_VERB = re.compile(r"(?i)(is|contains|does\s+not|doesn't|doesn’t)\b")
_CATEGORY_CELL = re.compile(r"(?is)(?:is\s+)?(not\s+one\s+of\b|one\s+of\b|not\b)?\s*(.*)")


@dataclass
class Row:
    id: str
    name: str
    cells: dict[str, str] = field(default_factory=dict)   # feature name -> cell text
    other: str = ""
    conclusion: str = ""
    confidence: Decimal | None = None
    priority: int = 0
    in_use: bool = True
    because: str = ""
    text: str = ""

    def values(self, features: Sequence[str]) -> list:
        """The row's cells in the order of ``header(features)``: text, numbers and yes / no."""
        confidence = None if self.confidence is None else _plain_number(self.confidence)
        return ([self.id, self.name] + [self.cells.get(f, "") for f in features]
                + [self.other, self.conclusion, confidence, self.priority, YES if self.in_use else NO,
                   self.because, self.text])


@dataclass
class DecisionTable:
    features: list[str]
    rows: list[Row]

    @property
    def header(self) -> list[str]:
        return header(self.features)

    def as_rows(self) -> list[list]:
        """The header and one list of cell values per rule."""
        return [self.header] + [row.values(self.features) for row in self.rows]


def header(features: Sequence[str]) -> list[str]:
    return [*LEADING, *features, *TRAILING]


def _plain_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


# ---- rules -> table ----------------------------------------------------------------------------------------------

def cell_text(comparison: Comparison, feature: Feature | None) -> str:
    """A comparison without its feature name: "above 17", "between 2 cm and 5 cm", "one of margin, border".

    Category values are written without quotes when reading the cell gives the same comparison back."""
    text = format_comparison(comparison)[len(comparison.feature) + 1:]
    text = text[3:] if text.startswith("is ") else text
    if feature is not None and feature.type == "category" and comparison.op in _CATEGORY_OPS:
        words = {"is": "", "is not": "not ", "one of": "one of ", "not one of": "not one of "}[comparison.op]
        bare = words + ", ".join(v.value for v in comparison.values if isinstance(v, Text))
        try:
            if _cell_condition(feature, bare) == comparison:
                return bare
        except RuleError:
            pass
    return text


def _split(rule: CompiledRule, vocabulary: Vocabulary) -> tuple[dict[str, str], list[Condition]]:
    """The cells of a rule's comparisons (feature -> text) and the conditions that do not fit a cell."""
    condition = rule.syntax.condition
    items = [condition] if isinstance(condition, Comparison) else list(condition.items) \
        if isinstance(condition, AllOf) else [condition]
    cells: dict[str, str] = {}
    other: list[Condition] = []
    for item in items:
        feature = vocabulary.lookup(item.feature) if isinstance(item, Comparison) else None
        if feature is not None and feature.name not in cells:
            cells[feature.name] = cell_text(item, feature)
        else:
            other.append(item)
    if not cells or (len(other) == 1 and isinstance(other[0], AllOf)):
        # no cell: the condition is kept whole, as text; "(b and c)" beside cells would read back as the rule's
        # own "and", so such a rule is kept whole too
        return {}, [condition]
    return cells, other


def _other_text(other: list[Condition], whole: bool) -> str:
    if not other:
        return ""
    if whole:
        return format_condition(other[0])
    return " and ".join(format_condition(item, nested=True) for item in other)


def table(ruleset: RuleSet) -> DecisionTable:
    """The rule set as a table: rows in the order of priority (highest first), then name."""
    rows = [_row(rule, ruleset.vocabulary)
            for rule in sorted(ruleset.rules, key=lambda r: (-r.priority, r.name.casefold(), r.id))]
    used = {name for row in rows for name in row.cells}
    features = [f.name for f in ruleset.vocabulary.features if f.name in used]
    return DecisionTable(features, rows)


def _row(rule: CompiledRule, vocabulary: Vocabulary) -> Row:
    cells, other = _split(rule, vocabulary)
    c = rule.syntax.conclusion
    return Row(id=rule.id, name=rule.name, cells=cells, other=_other_text(other, whole=not cells),
               conclusion="" if c is None else c.label, confidence=None if c is None else c.confidence,
               priority=rule.priority, in_use=rule.enabled, because=rule.syntax.because or "", text=rule.text)


# ---- table -> rules ----------------------------------------------------------------------------------------------

def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_value_text(value) -> str:
    """A cell's value as the text a person typed: numbers without a needless ".0", yes / no for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value).strip()


def _cell_condition(feature: Feature, cell: str) -> Condition:
    """Read one cell of a feature's column as a condition (raises RuleError from the parser)."""
    if feature.type == "category" and '"' not in cell and not _NO_VALUE.fullmatch(cell):
        m = _CATEGORY_CELL.fullmatch(cell)
        words, rest = " ".join((m[1] or "").lower().split()), m[2].strip()
        if rest:
            values = [v.strip() for v in rest.split(",")] if "one of" in words else [rest]
            cell = f"{words} {', '.join(quote(v) for v in values)}".strip()
    text = f"{feature.name} {cell}" if _OWN_VERB.match(cell) else f"{feature.name} is {cell}"
    return parse_rule(f'rule "cell" when {text}').condition


def _condition_text(text: str) -> Condition:
    return parse_rule(f'rule "cell" when {text}').condition


def _ordered(items: list[tuple], text: str) -> list[tuple]:
    """``items`` ((condition, origin) pairs) in the order the conditions have in the rule text ``text``; an edited
    cell takes the place of its feature's condition, new conditions go last, in the order of the columns."""
    try:
        condition = parse_rule(text).condition
    except RuleError:
        return items
    before = list(condition.items) if isinstance(condition, AllOf) else [condition]

    free = list(range(len(before)))
    places: list[int | None] = [None] * len(items)

    def take(index: int, test) -> None:
        for i in free:
            if test(before[i]):
                places[index] = i
                free.remove(i)
                return

    for index, (item, _) in enumerate(items):        # the same condition (each place used once: "a and a")
        take(index, lambda c, item=item: c == item)
    for index, (item, _) in enumerate(items):        # an edited cell takes its feature's place
        if places[index] is None and isinstance(item, Comparison):
            take(index, lambda c, item=item: isinstance(c, Comparison)
                 and c.feature.casefold() == item.feature.casefold())
    order = sorted(range(len(items)), key=lambda i: len(before) if places[i] is None else places[i])
    return [items[i] for i in order]


class _Reader:
    def __init__(self, sheet: str, vocabulary: Vocabulary, settings: Settings):
        self.sheet = sheet
        self.vocabulary = vocabulary
        self.settings = settings
        self.problems: list[Problem] = []

    def fail(self, row: int, column: int | None, message: str, code: str = "table") -> None:
        where = f"{self.sheet}!{column_letter(column)}{row}" if column else f"{self.sheet}!{row}:{row}"
        self.problems.append(Problem(code, message, file=where))


def rules_from_rows(rows: Sequence[Sequence], vocabulary: Vocabulary, settings: Settings,
                    sheet: str = "Rules", used: Container[str] = (),
                    known: Mapping[str, CompiledRule] | None = None) -> list[CompiledRule]:
    """Compile the rules of a table: ``rows[0]`` is the header, each further row one rule (blank rows skipped).

    A row with an empty id is a new rule: its id comes from its name, unique in the table and not among ``used``
    (the server gives the ids some rule of the rule set ever had, so a new rule named like a deleted one gets a
    history of its own). An id written in the row is kept: that row is the rule of that id (a rule restored from
    an older workbook keeps its history). ``known``: rules already compiled against this vocabulary and settings,
    by id (the version the table was opened at); a row whose "text" is such a rule's text is not compiled again
    (the Table page's check of 1,000 rows parsed 1,000 unchanged rules on every edit). Raises RuleError listing
    every problem, each at its cell (``Problem.file`` is ``"Rules!C7"``)."""
    reader = _Reader(sheet, vocabulary, settings)
    if not rows or not any(cell_value_text(v) for v in rows[0]):
        reader.fail(1, None, f"The first row must name the columns: {', '.join(header(['<feature>', '...']))}. "
                             "Export a rule set to see the layout.", "empty-sheet")
        raise RuleError(reader.problems)
    columns = _read_header(reader, [cell_value_text(v) for v in rows[0]])
    rules: list[CompiledRule] = []
    taken = {cell_value_text(r[columns[ID]]) for r in rows[1:] if ID in columns and len(r) > columns[ID]}
    seen: dict[str, int] = {}
    for number, values in enumerate(rows[1:], start=2):
        texts = [cell_value_text(v) for v in values]
        if not any(texts):
            continue
        rule = _read_row(reader, number, values, texts, columns, taken, used, known or {})
        if rule is None:
            continue
        if rule.id in seen:   # at the second row, where the person typed it (it was reported at the header)
            reader.fail(number, columns.get(ID, 0) + 1, f"The id '{rule.id}' is also the id of row {seen[rule.id]}; "
                        "give each rule its own id (or leave it empty for a new rule).", "duplicate-id")
        seen.setdefault(rule.id, number)
        rules.append(rule)
    if reader.problems:
        raise RuleError(reader.problems)
    return rules


def _read_header(reader: _Reader, names: list[str]) -> dict:
    """{column name or feature name: 0-based index}; unknown columns are reported at their cell."""
    columns: dict = {}
    fixed = {*LEADING, *TRAILING}
    for index, name in enumerate(names):
        if not name:
            continue
        key = name.lower()
        if key in fixed:
            columns[key] = index
            continue
        feature = reader.vocabulary.lookup(name)
        if feature is None:
            suggestion = reader.vocabulary.suggest(name)
            hint = f" Did you mean '{suggestion}'?" if suggestion else (
                " Check the spelling, or add the feature on the Vocabulary sheet.")
            reader.fail(1, index + 1, f"There is no feature called '{name}'.{hint}", "unknown-feature")
        elif feature.name in columns:
            reader.fail(1, index + 1, f"'{feature.name}' has two columns; keep one.", "duplicate-column")
        else:
            columns[feature.name] = index
    if NAME not in columns:
        reader.fail(1, None, "No column is called 'rule': the rules' names go there.", "missing-column")
    return columns


def _read_row(reader: _Reader, number: int, values: Sequence, texts: list[str], columns: dict,
              taken: set[str], used: Container[str] = (), known: Mapping[str, CompiledRule] | None = None
              ) -> CompiledRule | None:
    def text(key: str) -> str:
        index = columns.get(key)
        return texts[index] if index is not None and index < len(texts) else ""

    def raw(key: str):
        index = columns.get(key)
        return values[index] if index is not None and index < len(values) else None

    def exact(key: str) -> str:
        """Names, reasons and labels as typed: their spaces are part of them (the text form keeps them too)."""
        value = raw(key)
        return value if isinstance(value, str) and value.strip() else text(key)

    def at(key: str) -> int | None:
        return None if key not in columns else columns[key] + 1

    if text(ID) and not RULE_ID.fullmatch(text(ID)):
        # Found only when the store refused the file name: a vague refusal with no cell (red team, round 3).
        reader.fail(number, at(ID), f"'{text(ID)[:70]}' cannot be a rule's id: an id is {ID_WORDS}. Correct it, "
                    "or empty the cell for a new rule.", "bad-id")
        return None
    if text(TEXT) and text(ID):
        unchanged = _unchanged(reader, text(ID), text(TEXT), columns, exact, text, raw, known)
        if unchanged is not None:
            taken.add(unchanged.id)
            return unchanged
    before = len(reader.problems)
    name = exact(NAME)
    if not name:
        reader.fail(number, at(NAME), "The rule needs a name.")
    items: list[Condition] = []
    origins: list[int | None] = []
    for key, index in columns.items():
        feature = reader.vocabulary.lookup(key) if key not in {*LEADING, *TRAILING} else None
        if feature is None or index >= len(texts) or not texts[index]:
            continue
        try:
            items.append(_cell_condition(feature, texts[index]))
            origins.append(index + 1)
        except RuleError as e:
            reader.fail(number, index + 1, f"'{texts[index]}' cannot be read as a condition on {feature.name}. "
                        f"Write it without the feature's name, for example: {_EXAMPLES[feature.type]}; an empty "
                        f"cell means any value. ({e.message})", e.code)
    whole = None
    if text(OTHER):
        try:
            parsed = _condition_text(text(OTHER))
            if not items:
                whole = parsed
            extra = list(parsed.items) if isinstance(parsed, AllOf) else [parsed]
            items.extend(extra)
            origins.extend([at(OTHER)] * len(extra))
        except RuleError as e:
            reader.fail(number, at(OTHER), f"These conditions cannot be read: {e.message}", e.code)
    if not items and len(reader.problems) == before:
        reader.fail(number, None, f"Row {number} has no condition: fill at least one feature's cell (or 'other "
                    "conditions'); empty cells mean any value.", "no-condition")
    priority = _whole_number(reader, number, at(PRIORITY), raw(PRIORITY))
    in_use = _yes_no(reader, number, at(IN_USE), text(IN_USE))
    confidence = _confidence(reader, number, at(CONFIDENCE), raw(CONFIDENCE))
    for key in (NAME, BECAUSE, CONCLUSION):
        if "\n" in exact(key) or "\r" in exact(key):
            reader.fail(number, at(key), "This cell must fit on one line (remove the line break).")
    if len(reader.problems) > before:
        return None
    if whole is None:
        if text(TEXT):
            order = _ordered(list(zip(items, origins, strict=True)), text(TEXT))
            items, origins = [i for i, _ in order], [o for _, o in order]
        condition = items[0] if len(items) == 1 else AllOf(tuple(items))
    else:
        condition = whole
    conclusion = None
    if text(CONCLUSION):
        conclusion = Conclusion(reader.settings.outcome.name, exact(CONCLUSION), confidence)
    elif confidence is not None:
        reader.fail(number, at(CONFIDENCE), "A confidence needs a conclusion: fill in the conclusion, or empty "
                    "this cell.")
        return None
    syntax = Rule(name=name, condition=condition, conclusion=conclusion, because=exact(BECAUSE) or None,
                  priority=priority, enabled=in_use)
    rule_id = text(ID) or _new_id(name, taken, used)
    taken.add(rule_id)
    try:
        return compile_rule(format_syntax(syntax), reader.vocabulary, reader.settings, rule_id)
    except RuleError as e:
        for p in e.errors:
            reader.fail(number, _column_of(p, columns, origins, at), p.message, p.code)
        return None


def _new_id(name: str, taken: set[str], used: Container[str]) -> str:
    """An id for a new row: from its name, not in the table (``taken``) and not one some rule ever had."""
    tried = set(taken)
    while (rule_id := slugify(name, tried)) in used:
        tried.add(rule_id)
    return rule_id


def _unchanged(reader: _Reader, rule_id: str, rule_text: str, columns: dict, exact, text, raw,
               known: Mapping[str, CompiledRule] | None = None) -> CompiledRule | None:
    """The rule of the row's "text" cell when every other cell of the row still says what that text says: one
    parse instead of one per cell (reading 1,000 unchanged rules took 10 s cell by cell), none when ``known``
    holds the rule with that text. None otherwise."""
    rule = (known or {}).get(rule_id)
    if rule is None or rule.text != rule_text:
        try:
            rule = compile_rule(rule_text, reader.vocabulary, reader.settings, rule_id)
        except RuleError:
            return None
    row = _row(rule, reader.vocabulary)
    features = {key for key in columns if key not in {*LEADING, *TRAILING}}
    if not set(row.cells) <= features or any(text(f) != row.cells.get(f, "") for f in features):
        return None
    problems = len(reader.problems)
    same = (exact(NAME) == row.name and text(OTHER) == row.other and exact(CONCLUSION) == row.conclusion
            and exact(BECAUSE) == row.because
            and _confidence(reader, 0, None, raw(CONFIDENCE)) == row.confidence
            and _whole_number(reader, 0, None, raw(PRIORITY)) == row.priority
            and _yes_no(reader, 0, None, text(IN_USE)) == row.in_use)
    if len(reader.problems) > problems:  # a cell that cannot be read: the row is read again, cell by cell, and
        del reader.problems[problems:]    # its problems reported there with their cells
        return None
    return rule if same else None


def _column_of(problem: Problem, columns: dict, origins: list, at) -> int | None:
    """The cell a problem of the assembled rule belongs to, from the field it names (when.all[2].values ...)."""
    path = problem.field or ""
    if path.startswith("then.confidence"):
        return at(CONFIDENCE)
    if path.startswith("then"):
        return at(CONCLUSION)
    if path.startswith(("name", "because", "priority")):
        return at({"name": NAME, "because": BECAUSE, "priority": PRIORITY}[path.split(".")[0]])
    m = re.match(r"when\.all\[(\d+)\]", path)
    if m and int(m[1]) < len(origins):
        return origins[int(m[1])]
    if path.startswith("when") and len(origins) == 1:
        return origins[0]
    return None


def _whole_number(reader: _Reader, row: int, column: int | None, value) -> int:
    if value is None or value == "":
        return 0
    try:
        number = Decimal(cell_value_text(value))
        if number != number.to_integral_value() or abs(number) > 1_000_000:
            raise InvalidOperation
        return int(number)
    except (InvalidOperation, ValueError):
        reader.fail(row, column, f"The priority must be a whole number such as 0 or 10, not '{value}'.")
        return 0


def _yes_no(reader: _Reader, row: int, column: int | None, text: str) -> bool:
    if text.lower() in ("", YES, "true", "1"):
        return True
    if text.lower() in (NO, "false", "0"):
        return False
    reader.fail(row, column, f"'in use' is yes or no, not '{text}'.")
    return True


def _confidence(reader: _Reader, row: int, column: int | None, value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidOperation
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(cell_value_text(value))
        if not number.is_finite():
            raise InvalidOperation
        return Decimal(format_number(number))
    except (InvalidOperation, ValueError):
        reader.fail(row, column, f"The confidence is a number between 0 and 1 such as 0.8, not '{value}'.")
        return None


# ---- CSV: the rules table alone (rulecraft export --format csv / import rules.csv) --------------------------------
# A CSV file holds the table only, not the vocabulary or the settings: it is read back into a rule set that has
# them. Rows are counted as a spreadsheet shows the file (the header is row 1; a cell with line breaks, such as
# "text", is still one row), so "rules.csv!C7" is the cell a person sees when opening the file.

# A cell a spreadsheet would run as a formula when it opens the file ("CSV injection": a value, a name or a reason
# drafted from someone's data such as =cmd|' /C calc'!A0 or =HYPERLINK(...)) is written after an apostrophe, which
# spreadsheets take as "this is text", and read back without it. Cells that start with apostrophes and then such a
# character get one more, so that every cell comes back as it was.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _cell_out(value):
    if isinstance(value, str) and _FORMULA_START.match(value) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _cell_in(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _FORMULA_START.match(cell, 1) else cell


def to_csv(ruleset: RuleSet) -> str:
    """The rules table as CSV text: the header, then one line per rule (its "text" cell may span lines); a cell
    that a spreadsheet would take for a formula is written as text (``_cell_out``)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([_cell_out(v) for v in row] for row in table(ruleset).as_rows())
    return out.getvalue()


def rows_from_csv(data: bytes | str, name: str = "rules.csv") -> list[list[str]]:
    """The rows of a CSV file's bytes (UTF-8, with or without the BOM spreadsheets write); RuleError at ``name``
    when it is not UTF-8 text or not CSV."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise RuleError([Problem("csv", f"The file is not UTF-8 text (a byte that is not, at position {e.start})."
                                     " Save it from the spreadsheet as 'CSV UTF-8'.", file=name)]) from None
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        return [[_cell_in(cell) for cell in row] for row in reader]
    except csv.Error as e:
        raise RuleError([Problem("csv", f"Row {reader.line_num} cannot be read as CSV ({e}). Save the file from the "
                                 "spreadsheet as 'CSV UTF-8'.", file=f"{name}!{reader.line_num}:{reader.line_num}")]
                        ) from None


def rules_from_csv(data: bytes | str, vocabulary: Vocabulary, settings: Settings, name: str = "rules.csv",
                   used: Container[str] = ()) -> list[CompiledRule]:
    """The rules of a CSV rules table (``to_csv``'s, perhaps edited), compiled against a rule set's vocabulary and
    settings; RuleError listing every problem at its cell, ``rules.csv!C7`` (``rules_from_rows``)."""
    return rules_from_rows(rows_from_csv(data, name), vocabulary, settings, name, used)
