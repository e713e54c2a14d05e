"""A rule set as an Excel workbook (.xlsx) and back, losing nothing.

    from rules_dsl import workbook
    workbook.save(ruleset, "triage.xlsx")          # or save(ruleset, path, files=folder_files) to keep every file
    ruleset = workbook.load("triage.xlsx")          # RuleError naming sheet and cell: "Rules!C7: ..."

Sheets: **Rules** (the decision table of decision_table.py), **Vocabulary** (one feature per row), **Settings**
(title, outcome, labels, policy, default, and the version it was exported from), one sheet per CSV file of the
rule-set folder (**Examples** for examples.csv, **Tests** for tests.csv, any other by its name), and two hidden
sheets: **Files** (every other file of the folder, and the original ruleset.yaml / vocabulary.yaml so that their
comments survive when nothing in them changed) and **Lists** (the allowed values the cells offer as lists).

Lossless: ``load(save(rs))`` compiles to the same rules with the same bundle hash (tests/rules_dsl/
test_workbook.py, for the demo, generated rule sets and rules that do not fit the table). Every refusal names the
sheet and the cell, and says how to fix it: a workbook from another tool, an empty or missing sheet, merged cells, a
formula, an unknown feature, a wrong unit.

Layer rule: the only module of rules_dsl that imports openpyxl (tests/rules_dsl/test_layers.py), and only this
module's callers load it: ``import rules_dsl`` does not.
"""
from __future__ import annotations

import base64
import csv
import io
import math
import zipfile
from collections.abc import Container, Mapping
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from . import decision_table as dt
from .errors import Problem, RuleError
from .layout import (
    EXAMPLES_FILE,
    SETTINGS_FILE,
    TESTS_FILE,
    VOCABULARY_FILE,
    dump_yaml,
    parse_yaml,
    rule_file,
    rule_stem,
)
from .ruleset import RuleSet, ruleset_from_files
from .vocabulary import ABSTAIN, FEATURE_TYPES, POLICIES, Settings, Vocabulary

RULES, VOCABULARY, SETTINGS, FILES, LISTS = "Rules", "Vocabulary", "Settings", "Files", "Lists"
REQUIRED = (RULES, VOCABULARY, SETTINGS)
CSV_SHEETS = {EXAMPLES_FILE: "Examples", TESTS_FILE: "Tests"}
VOCABULARY_COLUMNS = ("name", "type", "unit", "column", "synonyms", "values", "lowest", "highest", "description")
SETTING_ROWS = ("title", "description", "outcome", "labels", "outcome description", "policy", "default",
                "rule set", "version", "release")
CHUNK = 30_000     # characters per cell of the Files sheet (a cell holds at most 32,767)
LIST_SEPARATOR = "\n"   # synonyms, values and labels: one per line inside the cell (Alt+Enter in Excel)


class WorkbookError(RuleError):
    """A workbook that cannot be read as a rule set; every problem names its sheet and cell (``Problem.file``)."""


# ---- rule set -> workbook ----------------------------------------------------------------------------------------

def folder_files(ruleset: RuleSet) -> dict[str, bytes]:
    """The files of the rule set's folder, as write_folder writes them (examples.csv from its examples)."""
    files = {SETTINGS_FILE: dump_yaml(ruleset.settings.to_dict()).encode(),
             VOCABULARY_FILE: dump_yaml(ruleset.vocabulary.to_dict()).encode()}
    for rule in ruleset.rules:
        files[rule_file(rule.id)] = (rule.text + "\n").encode()
    if ruleset.examples is not None:
        files[EXAMPLES_FILE] = ruleset.examples.to_csv(index=False, lineterminator="\n").encode()
    return files


def save(ruleset: RuleSet, path: str | Path, files: Mapping[str, bytes] | None = None) -> None:
    """Write the rule set as a workbook. ``files``: the rule-set folder's files (the store's, or a folder's), so
    that examples, tests and any other file travel too; by default, what the rule set itself holds."""
    Path(path).write_bytes(to_bytes(ruleset, files))


def to_bytes(ruleset: RuleSet, files: Mapping[str, bytes] | None = None) -> bytes:
    files = dict(folder_files(ruleset) if files is None else files)
    book = openpyxl.Workbook()
    rules = book.active
    rules.title = RULES
    table = dt.table(ruleset)
    for row in table.as_rows():
        _append(rules, row)
    _style(rules, hidden=[len(table.header)])
    _write_vocabulary(book.create_sheet(VOCABULARY), ruleset.vocabulary)
    _write_settings(book.create_sheet(SETTINGS), ruleset)
    extra = book.create_sheet(FILES)
    _append(extra, ["file", "sheet", "encoding", "text"])
    taken = set(REQUIRED) | {FILES, LISTS}
    for name in sorted(files):
        if rule_stem(name) is not None:
            continue
        data = files[name]
        sheet = None
        if name.endswith(".csv") and "/" not in name:
            rows = _csv_rows(data)
            if rows is not None:
                sheet = _sheet_name(CSV_SHEETS.get(name) or Path(name).stem.title(), taken)
                ws = book.create_sheet(sheet)
                for row in rows:
                    _append(ws, [_csv_cell(v) for v in row])
                _style(ws)
                _append(extra, [name, sheet, "csv", ""])
                continue
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(data).decode("ascii"), "base64"
        chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        _append(extra, [name, "", encoding, *chunks])
    extra.sheet_state = "hidden"
    _add_lists(book, ruleset, table)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _append(ws, values: list) -> None:
    """One row; text that starts with "=" stays text, never a formula. (Reading ``ws.max_row`` after each append
    instead cost a scan of every cell per row: 10 s to write 1,000 rules.)"""
    ws.append([_text_cell(ws, v) if isinstance(v, str) and v.startswith("=") else v for v in values])


def _text_cell(ws, value: str) -> Cell:
    cell = Cell(ws, value=value)
    cell.data_type = "s"
    return cell


def _style(ws, hidden: list[int] = ()) -> None:
    from openpyxl.styles import Alignment, Font

    ws.freeze_panes = "A2"
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for index in range(1, ws.max_column + 1):
        letter = get_column_letter(index)
        longest = max((len(str(c.value)) for c in ws[letter][:200] if c.value is not None), default=8)
        ws.column_dimensions[letter].width = min(60, max(10, longest + 2))
        if index in hidden:
            ws.column_dimensions[letter].hidden = True
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and LIST_SEPARATOR in cell.value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _write_vocabulary(ws, vocabulary: Vocabulary) -> None:
    _append(ws, list(VOCABULARY_COLUMNS))
    for f in vocabulary.features:
        low, high = (None, None) if f.range is None else (_plain(f.range[0]), _plain(f.range[1]))
        _append(ws, [f.name, f.type, f.unit or "", "" if f.column == f.name else f.column,
                     LIST_SEPARATOR.join(f.synonyms), LIST_SEPARATOR.join(f.values), low, high, f.description])
    _style(ws)
    types = DataValidation(type="list", formula1='"' + ",".join(FEATURE_TYPES) + '"', allow_blank=False)
    types.error = "The type is number, category, boolean or text."
    ws.add_data_validation(types)
    types.add(f"B2:B{max(2, ws.max_row + 200)}")


def _write_settings(ws, ruleset: RuleSet) -> None:
    s = ruleset.settings
    values = {"title": s.title, "description": s.description, "outcome": s.outcome.name,
              "labels": LIST_SEPARATOR.join(s.outcome.labels), "outcome description": s.outcome.description,
              "policy": s.policy.kind, "default": s.policy.default or ABSTAIN, "rule set": ruleset.id,
              "version": ruleset.version or "", "release": ruleset.release or ""}
    _append(ws, ["setting", "value"])
    for key in SETTING_ROWS:
        _append(ws, [key, values[key]])
    _style(ws)
    policy = DataValidation(type="list", formula1='"' + ",".join(POLICIES) + '"')
    ws.add_data_validation(policy)
    policy.add(f"B{SETTING_ROWS.index('policy') + 2}")


def _add_lists(book, ruleset: RuleSet, table: dt.DecisionTable) -> None:
    """Drop-down lists on the Rules sheet: yes / no, the labels, each category's values, the comparisons.
    Category and comparison lists only offer (a cell may say "one of a, b"), they do not refuse."""
    lists = book.create_sheet(LISTS)
    lists.sheet_state = "hidden"
    rules = book[RULES]
    last = max(rules.max_row + 200, 2)
    columns = {name: index + 1 for index, name in enumerate(table.header)}

    def offer(values: list[str], column: int, strict: bool, prompt: str = "") -> None:
        index = lists.max_column + 1 if lists["A1"].value is not None else 1
        for row, value in enumerate(values, start=1):
            cell = lists.cell(row=row, column=index, value=value)
            cell.data_type = "s"
        letter = get_column_letter(index)
        check = DataValidation(type="list", formula1=f"{LISTS}!${letter}$1:${letter}${len(values)}",
                               showErrorMessage=strict, allow_blank=True)
        if prompt:
            check.prompt, check.showInputMessage = prompt, True
        rules.add_data_validation(check)
        target = get_column_letter(column)
        check.add(f"{target}2:{target}{last}")

    offer([dt.YES, dt.NO], columns[dt.IN_USE], True)
    offer(list(ruleset.outcome.labels), columns[dt.CONCLUSION], False)
    for name in table.features:
        feature = ruleset.vocabulary.lookup(name)
        hint = "Empty = any value. " + ", ".join(dt.COMPARISONS[feature.type])
        values = list(feature.values) if feature.type == "category" else list(dt.COMPARISONS[feature.type])
        offer(values, columns[name], False, hint[:250])


def _plain(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _sheet_name(wanted: str, taken: set[str]) -> str:
    name = "".join(c for c in wanted if c not in "[]:*?/\\")[:28] or "Data"
    candidate, n = name, 2
    while candidate.lower() in {t.lower() for t in taken}:
        candidate, n = f"{name} {n}", n + 1
    taken.add(candidate)
    return candidate


def _csv_rows(data: bytes) -> list[list[str]] | None:
    try:
        text = data.decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error):
        return None


def _csv_cell(value: str):
    """A CSV value as a cell: a number when it reads back as the same text, else text (empty: no value)."""
    if value == "":
        return None
    try:
        if value == str(int(value)):
            return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
        if math.isfinite(number) and value == repr(number) and not number.is_integer():
            return number
    except ValueError:
        pass
    return value


# ---- workbook -> rule set ----------------------------------------------------------------------------------------

def load(path: str | Path) -> RuleSet:
    """A rule set from a workbook written by ``save`` (and edited by a person). Raises WorkbookError naming the
    sheet and cell of every problem."""
    files, meta = read_files(Path(path).read_bytes())
    ruleset = ruleset_from_files(files, id=meta["rule set"], version=meta["version"] or None,
                                 release=meta["release"] or None)
    return ruleset


def read_files(data: bytes, used: Container[str] = ()) -> tuple[dict[str, bytes], dict[str, str]]:
    """The rule-set folder's files from a workbook's bytes, and what it says it was exported from
    ({"rule set", "version", "release"}). Every rule is checked here, so problems name their cells. A row without
    an id gets one not among ``used`` (decision_table.rules_from_rows)."""
    book = _open(data)
    problems: list[Problem] = []
    for name in REQUIRED:
        _check_sheet(book[name], problems)
    if problems:
        raise WorkbookError(problems)
    stored = _stored_files(book, problems)
    settings_rows = _rows(book[SETTINGS])
    settings, meta = _read_settings(settings_rows, problems)
    vocabulary = _read_vocabulary(_rows(book[VOCABULARY]), problems)
    if problems:
        raise WorkbookError(problems)
    try:
        rules = dt.rules_from_rows(_rows(book[RULES]), vocabulary, settings, RULES, used)
    except RuleError as e:
        raise WorkbookError(e.problems) from None
    files: dict[str, bytes] = {}
    files[SETTINGS_FILE] = _original(stored, SETTINGS_FILE, settings.to_dict(),
                                     lambda d: Settings.from_dict(d).to_dict())
    files[VOCABULARY_FILE] = _original(stored, VOCABULARY_FILE, vocabulary.to_dict(),
                                       lambda d: Vocabulary.from_dict(d).to_dict())
    for rule in rules:
        files[rule_file(rule.id)] = (rule.text + "\n").encode()
    for name, (sheet, content) in stored.items():
        if name in (SETTINGS_FILE, VOCABULARY_FILE):
            continue
        if sheet:
            if sheet not in book.sheetnames:
                continue  # the sheet was deleted: so was the file
            ws = book[sheet]
            _check_sheet(ws, problems, empty_ok=True)
            files[name] = _csv_bytes(_rows(ws))
        else:
            files[name] = content
    if problems:
        raise WorkbookError(problems)
    return files, meta


def _open(data: bytes):
    try:
        book = openpyxl.load_workbook(io.BytesIO(data))
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise WorkbookError(Problem("not-a-workbook", "This file is not an Excel workbook (.xlsx). Save it from "
                                    "Excel as 'Excel Workbook (.xlsx)', or export one from Rulecraft.")) from None
    missing = [name for name in REQUIRED if name not in book.sheetnames]
    if len(missing) == len(REQUIRED):
        raise WorkbookError(Problem(
            "not-rulecraft", "This workbook has none of Rulecraft's sheets (Rules, Vocabulary, Settings); it seems "
            f"to come from another tool (its sheets: {', '.join(book.sheetnames)}). Export a rule set from "
            "Rulecraft and fill in that workbook, or copy your rows into its Rules sheet."))
    if missing:
        raise WorkbookError([Problem("missing-sheet", f"The workbook has no '{name}' sheet; Rulecraft needs it. "
                                     "Export the rule set again to get every sheet, and copy your changes over.",
                                     file=name) for name in missing])
    return book


def _check_sheet(ws, problems: list[Problem], empty_ok: bool = False) -> None:
    """Merged cells, formulas and an empty sheet are refused with their place."""
    for merged in ws.merged_cells.ranges:
        problems.append(Problem("merged-cells", f"Cells {merged.coord} are merged; Rulecraft reads one value per "
                                "cell. Unmerge them (Home > Merge & Center > Unmerge Cells) and write the value in "
                                "each cell.", file=f"{ws.title}!{merged.coord}"))
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                formula = str(cell.value)[:40]
                problems.append(Problem("formula", f"This cell holds a formula ({formula}); Rulecraft reads values, "
                                        "not formulas. Type the value itself (or Copy, then Paste Values).",
                                        file=f"{ws.title}!{cell.coordinate}"))
    if not empty_ok and (ws.max_row < 1 or not any(c.value not in (None, "") for c in ws[1])):
        problems.append(Problem("empty-sheet", f"The {ws.title} sheet is empty: its first row must name the "
                                "columns. Export the rule set again to see the layout.", file=f"{ws.title}!A1"))


def _rows(ws) -> list[list]:
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    while rows and not any(dt.cell_value_text(v) for v in rows[-1]):
        rows.pop()
    return rows


def _stored_files(book, problems: list[Problem]) -> dict[str, tuple[str, bytes]]:
    stored: dict[str, tuple[str, bytes]] = {}
    if FILES not in book.sheetnames:
        return stored
    for number, row in enumerate(book[FILES].iter_rows(min_row=2, values_only=True), start=2):
        if not row or not row[0]:
            continue
        name, sheet, encoding = str(row[0]), str(row[1] or ""), str(row[2] or "utf-8")
        text = "".join(str(v) for v in row[3:] if v is not None)
        try:
            content = base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")
        except ValueError:
            problems.append(Problem("bad-file", f"The stored file {name} is damaged.", file=f"{FILES}!D{number}"))
            continue
        if name.startswith("/") or ".." in name.split("/") or rule_stem(name) is not None:
            problems.append(Problem("bad-file", f"'{name}' cannot be a file of a rule set.",
                                    file=f"{FILES}!A{number}"))
            continue
        stored[name] = (sheet, content)
    return stored


def _original(stored: dict, name: str, wanted: dict, read) -> bytes:
    """The file as it was exported (comments and all) when it still says the same; else written anew."""
    if name in stored:
        try:
            if read(parse_yaml(stored[name][1], name)) == wanted:
                return stored[name][1]
        except RuleError:
            pass
    return dump_yaml(wanted).encode()


def _read_settings(rows: list[list], problems: list[Problem]) -> tuple[Settings | None, dict[str, str]]:
    where: dict[str, int] = {}
    values: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        key = dt.cell_value_text(row[0] if row else None).lower()
        if key:
            where[key] = number
            values[key] = dt.cell_value_text(row[1] if len(row) > 1 else None)
    meta = {k: values.get(k, "") for k in ("rule set", "version", "release")}
    data = {"title": values.get("title", ""), "description": values.get("description", ""),
            "outcome": {"name": values.get("outcome", ""),
                        "labels": [x for x in values.get("labels", "").split(LIST_SEPARATOR) if x.strip()],
                        "description": values.get("outcome description", "")},
            "policy": values.get("policy") or "first match", "default": values.get("default") or ABSTAIN}
    try:
        return Settings.from_dict(data), meta
    except RuleError as e:
        for p in e.problems:
            key = {"outcome.name": "outcome", "outcome.labels": "labels"}.get(p.field or "", p.field or "title")
            key = "outcome" if key == "outcome" or key.startswith("outcome") and key not in where else key
            cell = f"{SETTINGS}!B{where[key]}" if key in where else f"{SETTINGS}!A{len(rows) + 1}"
            problems.append(Problem(p.code, p.message.replace("ruleset.yaml", "the Settings sheet"), file=cell))
        return None, meta


def _read_vocabulary(rows: list[list], problems: list[Problem]) -> Vocabulary | None:
    header = [dt.cell_value_text(v).lower() for v in rows[0]]
    missing = [c for c in ("name", "type") if c not in header]
    if missing:
        problems.append(Problem("missing-column", f"The Vocabulary sheet needs the columns {', '.join(missing)} in "
                                f"its first row (all columns: {', '.join(VOCABULARY_COLUMNS)}).",
                                file=f"{VOCABULARY}!A1"))
        return None
    column = {name: header.index(name) for name in VOCABULARY_COLUMNS if name in header}
    features: dict = {}
    where: dict[str, int] = {}

    def get(row, key):
        index = column.get(key)
        return row[index] if index is not None and index < len(row) else None

    for number, row in enumerate(rows[1:], start=2):
        name = dt.cell_value_text(get(row, "name"))
        if not name:
            if any(dt.cell_value_text(v) for v in row):
                problems.append(Problem("vocabulary", "This feature has no name.", file=f"{VOCABULARY}!A{number}"))
            continue
        spec: dict = {"type": dt.cell_value_text(get(row, "type")).lower()}
        for key in ("unit", "column", "description"):
            text = dt.cell_value_text(get(row, key))
            if text:
                spec[key] = text
        for key in ("synonyms", "values"):
            text = dt.cell_value_text(get(row, key))
            if text:
                spec[key] = [x for x in text.split(LIST_SEPARATOR) if x.strip()]
        low, high = get(row, "lowest"), get(row, "highest")
        if low not in (None, "") or high not in (None, ""):
            spec["range"] = [_number(low), _number(high)]
        if name in features:
            problems.append(Problem("vocabulary", f"'{name}' is on two rows; keep one.",
                                    file=f"{VOCABULARY}!A{number}"))
        features[name] = spec
        where[name] = number
    try:
        return Vocabulary.from_dict({"features": features})
    except RuleError as e:
        letters = {key: get_column_letter(index + 1) for key, index in column.items()}
        for p in e.problems:
            parts = (p.field or "").split(".")
            name = parts[1] if len(parts) > 1 else ""
            key = "lowest" if parts[-1] == "range" else parts[-1] if len(parts) > 2 else "name"
            row = where.get(name) or where.get(" ".join(name.split()))
            cell = f"{VOCABULARY}!{letters.get(key, 'A')}{row}" if row else f"{VOCABULARY}!A1"
            problems.append(Problem(p.code, p.message.replace("vocabulary.yaml", "the Vocabulary sheet"), file=cell))
        return None


def _number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    try:
        return float(str(value).strip())
    except ValueError:
        return value  # Vocabulary.from_dict says what a range must be


def _csv_bytes(rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else str(v) for v in row])
    return out.getvalue().encode("utf-8")
