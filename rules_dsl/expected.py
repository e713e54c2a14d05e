"""A rule set's expected outcomes (tests.csv): cases with the answer the rules must give, run like tests of code.

tests.csv sits beside examples.csv in the rule-set folder and is versioned with the rules. Its first line names the
columns:

- ``case``: a name for each case (required, each name once);
- the feature columns, named as in examples.csv (the feature's data column: ``column:`` in vocabulary.yaml, else
  the feature's name); a cell left empty is a missing value;
- ``expect`` (required): the label the rules must answer, or ``no answer`` when they must abstain;
- ``expect fires`` (optional): names of rules that must fire for this case, separated by ``;``;
- ``note`` (optional): why the case is there, for the person reading a failure.

``read_tests`` reads the file with the same CSV reading as examples.csv (``examples.read_records``, after the
shared reader's ``tables.check_head``) and checks every value against the vocabulary and every expectation against
the outcome's labels and the rules' names, each problem with the file and its line. ``run_tests`` answers each
case with the per-row backend under the rule set's policy and says, for each failure, in plain words what was
expected, what the rules answered and which rule decided.

Layer rule: the standard library and this package only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .backends.values import category_key
from .errors import WARNING, Problem, RuleError, did_you_mean, quote_list
from .examples import _missing, _unread_column, _value_problem, named_twice, read_records, wrong_width
from .layout import TESTS_FILE
from .tables import CsvError, check_head

if TYPE_CHECKING:
    from .ruleset import RuleSet

CASE_COLUMN = "case"
EXPECT_COLUMN = "expect"
FIRES_COLUMN = "expect fires"
NOTE_COLUMN = "note"
NO_ANSWER = "no answer"
RESERVED = (CASE_COLUMN, EXPECT_COLUMN, FIRES_COLUMN, NOTE_COLUMN)
MAX_CASES = 10_000  # a tests file is written by people; more cases belong in a reference data set


@dataclass(frozen=True)
class Expectation:
    """One line of tests.csv: the case's values by data column (missing values left out), the expected label
    (None: no answer) and the names of the rules that must fire."""
    case: str
    line: int
    values: dict
    expect: str | None
    fires: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class TestResult:
    expectation: Expectation
    answered: str | None               # None: the rules gave no answer
    deciding: tuple[str, ...] = ()     # names of the rules that carried the answer
    fired: tuple[str, ...] = ()        # names of every rule that fired
    not_fired: tuple[str, ...] = ()    # expected to fire, did not

    @property
    def passed(self) -> bool:
        return self.answered == self.expectation.expect and not self.not_fired

    def describe(self, file: str = TESTS_FILE) -> str:
        """The failure in plain words: the case, what was expected, what the rules answered and which rule
        decided."""
        e = self.expectation
        where = f"Case '{e.case}' ({file} line {e.line})"
        parts = []
        if self.answered != e.expect:
            if self.deciding:
                decided = f" (decided by {_names(self.deciding)})"
            elif self.answered is None:
                decided = " (no rule with a conclusion fired, and the rule set has no default)"
            else:
                decided = f" (no rule with a conclusion fired; {_label(self.answered)} is the default)"
            parts.append(f"expected {_label(e.expect)}, but the rules answered {_label(self.answered)}{decided}")
        if self.not_fired:
            fired = _names(self.fired) if self.fired else "no rule"
            rule_s = "these rules to fire" if len(self.not_fired) > 1 else "this rule to fire"
            parts.append(f"expected {rule_s}: {_names(self.not_fired)}, but they did not (what fired: {fired})"
                         if len(self.not_fired) > 1 else
                         f"expected {rule_s}: {_names(self.not_fired)}, but it did not (what fired: {fired})")
        text = f"{where}: " + "; ".join(parts) + "."
        return text + (f" Note: {e.note}" if e.note else "")

    def to_dict(self, file: str = TESTS_FILE) -> dict:
        e = self.expectation
        out = {"case": e.case, "line": e.line, "passed": self.passed, "expected": e.expect,
               "answered": self.answered, "deciding": list(self.deciding), "fired": list(self.fired),
               "expected_fires": list(e.fires), "not_fired": list(self.not_fired), "note": e.note}
        if not self.passed:
            out["message"] = self.describe(file)
        return out


@dataclass
class TestReport:
    results: list[TestResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)   # warnings of the file (errors stop the run)

    @property
    def failures(self) -> list[TestResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def to_dict(self, file: str = TESTS_FILE) -> dict:
        return {"cases": len(self.results), "passed": self.passed, "failed": self.failed,
                "failures": [r.to_dict(file) for r in self.failures],
                "results": [r.to_dict(file) for r in self.results],
                "warnings": [p.to_dict() for p in self.problems]}


def _label(label: str | None) -> str:
    return "no answer" if label is None else f"'{label}'"


def _names(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


def read_tests(data: bytes, ruleset: RuleSet, file: str = TESTS_FILE) -> tuple[list[Expectation], list[Problem]]:
    """The cases of ``data`` (the bytes of tests.csv) and every problem found, in line order; the cases are only
    to be run when no problem is an error."""
    try:
        if data.strip():
            check_head(data[:1 << 20])
    except CsvError as e:
        return [], [Problem("bad-tests", e.message, line=e.line or 1, file=file)]
    records, problems = read_records(data, file)
    problems = [Problem("bad-tests", p.message, line=p.line, file=file) for p in problems]
    if not records:
        return [], problems or [Problem("bad-tests", f"{file} is empty: its first line names the columns "
                                        f"('{CASE_COLUMN}', the features, '{EXPECT_COLUMN}'), each further line is "
                                        "one case.", line=1, file=file)]
    (_, header), rows = records[0], records[1:]
    header = [h.strip() for h in header]
    problems.extend(named_twice(header, "bad-tests", file))
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name, i)
    for needed, what in ((CASE_COLUMN, "a name for each case"), (EXPECT_COLUMN, "the expected answer: a label of "
                         f"'{ruleset.outcome.name}' ({quote_list(ruleset.outcome.labels)}) or '{NO_ANSWER}'")):
        if needed not in index:
            problems.append(Problem("bad-tests", f"{file} has no column '{needed}': add it to the first line, "
                                    f"holding {what}.", line=1, file=file, field=needed))
    features = ruleset.vocabulary.by_column()
    for name in index:
        if name not in features and name not in RESERVED:
            problems.append(_unread_column(name, ruleset, file))
    if len(rows) > MAX_CASES:
        problems.append(Problem("bad-tests", f"{file} has {len(rows):,} cases; a tests file holds at most "
                                f"{MAX_CASES:,}. Put larger sets of cases in a reference data set.", file=file))
        rows = rows[:MAX_CASES]
    names = {category_key(r.name): r for r in ruleset.rules}
    seen: dict[str, int] = {}
    cases: list[Expectation] = []
    for line, values in rows:
        if len(values) != len(header):
            problems.append(wrong_width(values, header, line, "bad-tests", file))
            continue
        cell = {name: values[i] for name, i in index.items()}
        case = cell.get(CASE_COLUMN, "").strip() or f"line {line}"
        if case in seen:
            problems.append(Problem("bad-tests", f"The case '{case}' is named twice (lines {seen[case]} and "
                                    f"{line}); give each case its own name.", line=line, file=file,
                                    field=CASE_COLUMN))
        seen.setdefault(case, line)
        expect, found = _expected(cell.get(EXPECT_COLUMN, ""), ruleset, line, file)
        problems.extend(found)
        fires, found = _fires(cell.get(FIRES_COLUMN, ""), names, line, file)
        problems.extend(found)
        row = {}
        for name, value in cell.items():
            feature = features.get(name)
            if feature is None or name in RESERVED or _missing(value):
                continue
            problem = _value_problem(value, feature, line, file)
            if problem is not None:
                problems.append(problem)
                if problem.is_error:
                    continue
            row[name] = float(value) if feature.type == "number" else value
        cases.append(Expectation(case, line, row, expect, fires, cell.get(NOTE_COLUMN, "").strip()))
    return cases, sorted(problems, key=lambda p: (p.line or 0, p.line is None))


def _expected(value: str, ruleset: RuleSet, line: int, file: str) -> tuple[str | None, list[Problem]]:
    outcome = ruleset.outcome
    text = value.strip()
    choices = f"a label of '{outcome.name}' ({quote_list(outcome.labels)}) or '{NO_ANSWER}'"
    if not text:
        return None, [Problem("bad-tests", f"This case has no expected answer: write {choices} in the column "
                              f"'{EXPECT_COLUMN}'.", line=line, file=file, field=EXPECT_COLUMN)]
    if category_key(text) == NO_ANSWER:
        return None, []
    if text in outcome.labels:
        return text, []
    close = outcome.label(text)
    if close is not None:
        return close, [Problem("bad-tests", f"'{text}' is written '{close}' in the outcome's labels; write it so "
                               "(labels are compared exactly).", severity=WARNING, line=line, file=file,
                               field=EXPECT_COLUMN, suggestion=close)]
    near = did_you_mean(text, [*outcome.labels, NO_ANSWER])
    hint = f" Did you mean '{near[0]}'?" if near else ""
    return None, [Problem("unknown-label", f"'{text}' is not an answer the rules can give: write {choices}.{hint}",
                          line=line, file=file, field=EXPECT_COLUMN, suggestion=near[0] if near else None)]


def _fires(value: str, names: dict, line: int, file: str) -> tuple[tuple[str, ...], list[Problem]]:
    fires, problems = [], []
    for written in (part.strip() for part in value.split(";")):
        if not written:
            continue
        rule = names.get(category_key(written))
        if rule is None:
            near = did_you_mean(written, [r.name for r in names.values()])
            hint = f" Did you mean '{near[0]}'?" if near else " Write rule names as in the rule list, separated by ;."
            problems.append(Problem("unknown-rule", f"There is no rule called '{written}' (column "
                                    f"'{FIRES_COLUMN}').{hint}", line=line, file=file, field=FIRES_COLUMN,
                                    suggestion=near[0] if near else None))
            continue
        if not rule.enabled:
            problems.append(Problem("disabled-rule", f"The rule '{rule.name}' is switched off, so it never fires; "
                                    "this case will fail until it is switched on.", severity=WARNING, line=line,
                                    file=file, field=FIRES_COLUMN))
        fires.append(rule.name)
    return tuple(dict.fromkeys(fires)), problems


def check_tests(data: bytes, ruleset: RuleSet, file: str = TESTS_FILE) -> list[Problem]:
    """Every problem of tests.csv for ``ruleset`` (values against the vocabulary, answers against the outcome,
    rule names against the rules), each with ``file`` and its line."""
    return read_tests(data, ruleset, file)[1]


def run_tests(data: bytes, ruleset: RuleSet, file: str = TESTS_FILE) -> TestReport:
    """Run every case of tests.csv; raises RuleError (every problem, with file:line) when the file has errors."""
    cases, problems = read_tests(data, ruleset, file)
    if any(p.is_error for p in problems):
        raise RuleError(problems)
    return TestReport([run_case(case, ruleset) for case in cases], problems)


def run_case(case: Expectation, ruleset: RuleSet) -> TestResult:
    """One case answered under the rule set's policy (the per-row backend, as the server's predictions)."""
    decision = ruleset.decide_row(case.values)
    name = {r.id: r.name for r in ruleset.rules}
    fired = tuple(name[i] for i in decision.fired)
    deciding = tuple(name[i] for i in decision.deciding)
    fired_keys = {category_key(n) for n in fired}
    not_fired = tuple(n for n in case.fires if category_key(n) not in fired_keys)
    return TestResult(case, decision.label, deciding, fired, not_fired)
