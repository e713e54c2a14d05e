"""The release gate declared in ruleset.yaml: what a version must show before it is released.

    gate:
      tests: pass                 # every case of tests.csv passes (the default when a gate is declared)
      dataset: admissions 2025    # the reference data set the figures below are measured on (its name)
      max broken: 0               # answers right with the latest release and wrong with this version
      min accuracy: 85%           # right answers among the cases answered
      min answered: 90%           # cases the rules answer (do not abstain on)
      group: sex                  # a column of the data set ...
      max group loss: 5           # ... no group of which loses more than 5 points of accuracy against the release

Every key is optional; ``Gate.from_dict`` refuses a misspelt key or a figure out of range in plain words. The
figures are measured by ``evaluate`` (pure: the caller hands it the rule sets, the data and the test report), and
each criterion comes back with its figure, its limit and whether it is met.

Layer rule: the standard library and this package; NumPy and pandas only inside the functions that measure (so
that reading ruleset.yaml loads neither).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import DataError, Problem, RuleError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from .expected import TestReport
    from .ruleset import RuleSet

KEYS = ("tests", "dataset", "max broken", "min accuracy", "min answered", "group", "max group loss")


@dataclass(frozen=True)
class Gate:
    tests: bool = True
    dataset: str | None = None
    max_broken: int | None = None
    min_accuracy: float | None = None     # a share, 0 to 1
    min_answered: float | None = None     # a share, 0 to 1
    group: str | None = None
    max_group_loss: float | None = None   # points of accuracy (0 to 100)

    @property
    def needs_data(self) -> bool:
        return any(x is not None for x in (self.max_broken, self.min_accuracy, self.min_answered,
                                           self.max_group_loss))

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"tests": "pass" if self.tests else "ignore"}
        if self.dataset is not None:
            out["dataset"] = self.dataset
        if self.max_broken is not None:
            out["max broken"] = self.max_broken
        for key, share in (("min accuracy", self.min_accuracy), ("min answered", self.min_answered)):
            if share is not None:
                out[key] = f"{share * 100:g}%"
        if self.group is not None:
            out["group"] = self.group
        if self.max_group_loss is not None:
            out["max group loss"] = self.max_group_loss
        return out

    @classmethod
    def from_dict(cls, data: Any, file: str = "ruleset.yaml") -> Gate:
        problems: list[Problem] = []

        def fail(message: str, key: str | None = None) -> None:
            problems.append(Problem("gate", message, field=f"gate.{key}" if key else "gate", file=file))

        if not isinstance(data, dict):
            raise RuleError(Problem("gate", "gate: holds the criteria, one per line, for example  gate: {tests: "
                                    "pass, dataset: admissions, min accuracy: 85%}", field="gate", file=file))
        values = {}
        for key, value in data.items():
            name = " ".join(str(key).lower().replace("_", " ").split())
            if name not in KEYS:
                close = did_you_mean(name, KEYS)
                fail(f"The gate has no criterion '{key}'." + (f" Did you mean '{close[0]}'?" if close else
                     f" It takes: {', '.join(KEYS)}."), str(key))
                continue
            values[name] = value
        tests = values.get("tests", "pass")
        if isinstance(tests, bool):
            tests_on = tests
        elif str(tests).strip().lower() in ("pass", "yes", "true", "must pass"):
            tests_on = True
        elif str(tests).strip().lower() in ("ignore", "no", "false"):
            tests_on = False
        else:
            fail(f"tests: is 'pass' (every case of tests.csv must pass) or 'ignore', not '{tests}'.", "tests")
            tests_on = True
        dataset = _text(values.get("dataset"), "dataset", fail)
        group = _text(values.get("group"), "group", fail)
        max_broken = values.get("max broken")
        if max_broken is not None and (isinstance(max_broken, bool) or not isinstance(max_broken, int)
                                       or max_broken < 0):
            fail(f"max broken: is a whole number of cases, 0 or more, not '{max_broken}'.", "max broken")
            max_broken = None
        shares = {key: _share(values.get(key), key, fail) for key in ("min accuracy", "min answered")}
        loss = values.get("max group loss")
        if loss is not None:
            try:
                loss = float(str(loss).replace("points", "").replace("point", "").strip())
                if not 0 <= loss <= 100:
                    raise ValueError
            except ValueError:
                fail("max group loss: is a number of points of accuracy from 0 to 100, not "
                     f"'{values['max group loss']}'.", "max group loss")
                loss = None
        gate = cls(tests_on, dataset, max_broken, shares["min accuracy"], shares["min answered"], group, loss)
        if gate.needs_data and dataset is None:
            fail("The gate measures figures on a reference data set: name it, for example  dataset: admissions "
                 "2025", "dataset")
        if (loss is None) != (group is None):
            fail("group: and max group loss: go together: the column to split the cases by, and the most points "
                 "of accuracy any group may lose.", "group" if group is None else "max group loss")
        if problems:
            raise RuleError(problems)
        return gate


def _text(value, key: str, fail) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text or "\n" in text:
        fail(f"{key}: is a name on one line.", key)
        return None
    return text


def _share(value, key: str, fail) -> float | None:
    """85%, 0.85 -> 0.85."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        if share > 1 and not text.endswith("%"):
            raise ValueError
        if not 0 <= share <= 1:
            raise ValueError
    except ValueError:
        fail(f"{key}: is a share such as 85% (or 0.85), not '{value}'.", key)
        return None
    return share


@dataclass(frozen=True)
class Criterion:
    name: str            # tests, max broken, min accuracy, min answered, max group loss
    words: str           # the criterion in plain words
    figure: str          # what was measured, as shown
    limit: str           # the limit, as shown
    passed: bool
    detail: str = ""

    def to_dict(self) -> dict:
        return {"criterion": self.name, "words": self.words, "figure": self.figure, "limit": self.limit,
                "passed": bool(self.passed), "detail": self.detail}


@dataclass
class GateResult:
    criteria: list[Criterion] = field(default_factory=list)
    dataset: str | None = None
    compared_with: str | None = None   # the release the broken answers and group losses are measured against

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)

    def failing(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.passed]

    def to_dict(self) -> dict:
        return {"passed": self.passed, "dataset": self.dataset, "compared_with": self.compared_with,
                "criteria": [c.to_dict() for c in self.criteria]}


def _percent(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def evaluate(gate: Gate, candidate: RuleSet, *, tests: TestReport | None = None, tests_error: str | None = None,
             data: pd.DataFrame | None = None, label_column: str | None = None,
             released: RuleSet | None = None, released_name: str | None = None) -> GateResult:
    """Each criterion of ``gate`` measured for ``candidate``: ``tests`` its tests.csv report (None: it has none;
    ``tests_error``: the file has errors), ``data`` the reference data set's cases with the true outcome in
    ``label_column``, ``released`` the latest release (None: nothing to compare with, so nothing can break)."""
    result = GateResult(dataset=gate.dataset, compared_with=released_name)
    if gate.tests:
        if tests_error is not None:
            result.criteria.append(Criterion("tests", "every test case passes", "the tests file has errors",
                                             "all pass", False, tests_error))
        elif tests is None or not tests.results:
            result.criteria.append(Criterion("tests", "every test case passes", "no test cases", "all pass", True,
                                             "The rule set has no tests.csv cases yet."))
        else:
            detail = "; ".join(f.expectation.case for f in tests.failures[:5])
            result.criteria.append(Criterion(
                "tests", "every test case passes", f"{tests.failed} of {len(tests.results)} fail", "0 fail",
                tests.failed == 0, f"Failing: {detail}" if detail else ""))
    if not gate.needs_data:
        return result
    if data is None or label_column is None:
        for name, words, limit in _data_criteria(gate):
            result.criteria.append(Criterion(name, words, "not measured", limit, False,
                                             f"The reference data set '{gate.dataset}' is not registered for this "
                                             "rule set or has no true-outcome column: register it (Data sets)."))
        return result
    try:
        truth = _labels(data[label_column])
        new = _labels(candidate.decide(data))
        old = None if released is None else _labels(released.decide(data))
    except DataError as e:
        for name, words, limit in _data_criteria(gate):
            result.criteria.append(Criterion(name, words, "not measured", limit, False,
                                             f"The reference data set '{gate.dataset}' does not fit the rules: "
                                             f"{e.message}"))
        return result
    answered = new != ""
    right_new = answered & (new == truth)
    n = len(data)
    if gate.max_broken is not None:
        if released is None:
            result.criteria.append(Criterion("max broken", "answers right with the release, wrong now", "0",
                                             f"at most {gate.max_broken}", True,
                                             "No release yet to compare with."))
        else:
            broken = int(((old == truth) & (old != "") & ~right_new).sum())
            result.criteria.append(Criterion("max broken", "answers right with the release, wrong now",
                                             str(broken), f"at most {gate.max_broken}", broken <= gate.max_broken))
    if gate.min_accuracy is not None:
        accuracy = float(right_new.sum() / answered.sum()) if answered.any() else None
        result.criteria.append(Criterion("min accuracy", "right answers among the cases answered",
                                         _percent(accuracy), f"at least {_percent(gate.min_accuracy)}",
                                         accuracy is not None and accuracy >= gate.min_accuracy - 1e-12))
    if gate.min_answered is not None:
        share = float(answered.sum() / n) if n else None
        result.criteria.append(Criterion("min answered", "cases the rules answer", _percent(share),
                                         f"at least {_percent(gate.min_answered)}",
                                         share is not None and share >= gate.min_answered - 1e-12))
    if gate.max_group_loss is not None:
        result.criteria.append(_group_loss(gate, data, truth, new, old))
    return result


def _data_criteria(gate: Gate):
    if gate.max_broken is not None:
        yield "max broken", "answers right with the release, wrong now", f"at most {gate.max_broken}"
    if gate.min_accuracy is not None:
        yield "min accuracy", "right answers among the cases answered", f"at least {_percent(gate.min_accuracy)}"
    if gate.min_answered is not None:
        yield "min answered", "cases the rules answer", f"at least {_percent(gate.min_answered)}"
    if gate.max_group_loss is not None:
        yield "max group loss", f"points of accuracy any group of '{gate.group}' loses", \
            f"at most {gate.max_group_loss:g} points"


def _group_loss(gate: Gate, data: pd.DataFrame, truth, new, old) -> Criterion:
    import numpy as np
    import pandas as pd

    words = f"points of accuracy any group of '{gate.group}' loses against the release"
    limit = f"at most {gate.max_group_loss:g} points"
    if gate.group not in data.columns:
        return Criterion("max group loss", words, "not measured", limit, False,
                         f"The data set has no column '{gate.group}'.")
    if old is None:
        return Criterion("max group loss", words, "0 points", limit, True, "No release yet to compare with.")
    groups = np.array(["(missing)" if pd.isna(v) else str(v) for v in data[gate.group]], dtype=object)
    worst, where = 0.0, ""
    for group in pd.unique(groups):
        mask = groups == group
        loss = 100 * (float(((old == truth) & mask).sum()) - float(((new == truth) & (new != "") & mask).sum())) \
            / mask.sum()
        if loss > worst + 1e-12:
            worst, where = loss, str(group)
    detail = f"Largest loss: '{where}'." if where else "No group loses accuracy."
    return Criterion("max group loss", words, f"{worst:.1f} points", limit, worst <= gate.max_group_loss + 1e-9,
                     detail)


def _labels(values):
    """Labels as text, "" for no answer (None/NaN), as a NumPy array."""
    import numpy as np

    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip())
    return np.array(out, dtype=object)
