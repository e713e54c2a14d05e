"""The vocabulary (data dictionary) of a rule set, its outcome and its policy.

A feature is what rules talk about: a plain name people use ("worst radius"), its synonyms, its type (number,
category, boolean, text), its unit and range for numbers, its allowed values for categories, the data column it
reads and a description for the editor. Loading checks everything and reports every problem at once, naming the
file and the feature, because a vocabulary mistake would otherwise surface as a confusing rule error.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import DataError, Problem, RuleError, did_you_mean, invisible_character, normalize_name
from .gate import Gate
from .layout import SETTINGS_FILE, VOCABULARY_FILE
from .units import find_unit

FEATURE_TYPES = ("number", "category", "boolean", "text")
POLICIES = ("first match", "weighted vote")
ABSTAIN = "abstain"
_BY_COLUMN = object()  # where case_by_column's memo keeps the features by column
MAX_LABEL = 200  # characters in an outcome label
_FEATURE_KEYS = {"type", "unit", "column", "synonyms", "values", "range", "description"}


@dataclass(frozen=True)
class Feature:
    name: str
    type: str
    unit: str | None = None
    column: str = ""
    synonyms: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    description: str = ""

    def __post_init__(self):
        if not self.column:
            object.__setattr__(self, "column", self.name)

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"type": self.type}
        if self.unit:
            data["unit"] = self.unit
        if self.column != self.name:
            data["column"] = self.column
        if self.synonyms:
            data["synonyms"] = list(self.synonyms)
        if self.values:
            data["values"] = list(self.values)
        if self.range is not None:
            data["range"] = [_plain(x) for x in self.range]
        if self.description:
            data["description"] = self.description
        return data


def finite_number(x: Any) -> bool:
    """A JSON or YAML number that is an ordinary float: not a bool, not NaN or infinite, and not an integer too
    large for a float (JSON allows 4,300 digits; float() raises OverflowError above about 309)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _plain(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


@dataclass(frozen=True)
class Vocabulary:
    features: tuple[Feature, ...] = ()

    @cached_property
    def _index(self) -> dict[str, Feature]:
        index = {}
        for f in self.features:
            for name in (f.name, *f.synonyms):
                index[normalize_name(name)] = f
        return index

    def lookup(self, name: str) -> Feature | None:
        """The feature a name or synonym refers to (case, spacing and Unicode form do not matter)."""
        return self._index.get(normalize_name(name))

    def suggest(self, name: str) -> str | None:
        close = did_you_mean(name, [n for f in self.features for n in (f.name, *f.synonyms)])
        return self.lookup(close[0]).name if close else None

    def by_column(self) -> dict[str, Feature]:
        return {f.column: f for f in self.features}

    def case_by_column(self, case: Mapping, memo: dict | None = None) -> tuple[dict, list]:
        """One case's values by data column, and the keys that name no feature (or that lost to the column).

        A key is a feature's data column or its name or synonym, written in any case and spacing: the library
        (``matches_row``, ``decide_row``) and the server read cases the same way. When the data column and a name
        are both given, the data column counts; one feature given under two names is a DataError. ``memo`` (a dict
        the caller keeps) remembers what each key names, so that a row of many other keys is read quickly.
        """
        if memo is None:
            columns = self.by_column()
        else:
            columns = memo.get(_BY_COLUMN) or memo.setdefault(_BY_COLUMN, self.by_column())
        row: dict = {}
        ignored: list = []
        named: dict[str, list] = {}
        for key, value in case.items():
            if key in columns:
                row[key] = value
                continue
            if memo is not None and key in memo:
                feature = memo[key]
            else:
                feature = self.lookup(key) if isinstance(key, str) else None
                if memo is not None:
                    if len(memo) > 4096:
                        memo.clear()
                    memo[key] = feature
            if feature is None:
                ignored.append(key)
            else:
                named.setdefault(feature.column, []).append((key, value))
        for column, given in named.items():
            if column in row:
                ignored.extend(key for key, _ in given)
            elif len(given) > 1:
                keys = " and ".join(f"'{key}'" for key, _ in given)
                raise DataError(f"'{columns[column].name}' is given twice, as {keys}: give each value once.",
                                column)
            else:
                row[column] = given[0][1]
        return row, ignored

    def to_dict(self) -> dict:
        return {"features": {f.name: f.to_dict() for f in self.features}}

    def to_list(self) -> list[dict]:
        """The features in the author's order, each with its name (for JSON, whose objects have no order once
        keys are sorted)."""
        return [{"name": f.name, **f.to_dict()} for f in self.features]

    @classmethod
    def from_dict(cls, data: Any, file: str = VOCABULARY_FILE) -> Vocabulary:
        problems: list[Problem] = []

        def fail(message: str, path: str) -> None:
            problems.append(Problem("vocabulary", message, field=path, file=file))

        if data is None:
            data = {}
        if isinstance(data, dict) and isinstance(data.get("features"), list):
            # The ordered form: a list of features, each with its name (bundles use it).
            listed = data["features"]
            if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in listed):
                raise RuleError(Problem("vocabulary", "Each feature in the list needs a name.", file=file))
            data = {**data, "features": {item["name"]: {k: v for k, v in item.items() if k != "name"}
                                         for item in listed}}
        if not isinstance(data, dict) or not isinstance(data.get("features", {}), dict):
            raise RuleError(Problem("vocabulary", "The vocabulary must have a 'features:' section listing each "
                                    "feature by name.", file=file))
        features, seen = [], {}
        columns: dict[str, str] = {}
        for name, spec in (data.get("features") or {}).items():
            feature = _read_feature(str(name), spec, fail)
            if feature is None:
                continue
            for spelling in (feature.name, *feature.synonyms):
                key = normalize_name(spelling)
                if key in seen and seen[key] != feature.name:
                    fail(f"'{spelling}' names two features ('{seen[key]}' and '{feature.name}'); "
                         "each name and synonym must be unique.", f"features.{feature.name}")
                seen[key] = feature.name
            if feature.column in columns:
                fail(f"Features '{columns[feature.column]}' and '{feature.name}' read the same data column "
                     f"'{feature.column}'.", f"features.{feature.name}.column")
            columns[feature.column] = feature.name
            features.append(feature)
        if problems:
            raise RuleError(problems)
        return cls(tuple(features))


def unusable_label(label) -> bool:
    """Whether an outcome label breaks what a label is: one line of visible text of at most ``MAX_LABEL``
    characters (Settings refuses it; a draft from a file says so before the person builds on it)."""
    return invisible_character(str(label).strip()) is not None or len(str(label)) > MAX_LABEL


def is_rule_name(name: str) -> bool:
    """Whether rules can write this name (the grammar reads it as one feature name)."""
    from .parser import lark_parser  # local: the vocabulary is usable without building the parser

    pattern = next(t.pattern for t in lark_parser().terminals if t.name == "NAME")
    return re.fullmatch(pattern.to_regexp(), name) is not None


def _read_feature(name: str, spec: Any, fail) -> Feature | None:
    path = f"features.{name}"
    where = f"Feature '{name}'"
    if not is_rule_name(" ".join(name.split())):
        fail(f"{where} cannot be written in rules: a name is one or more words starting with a letter, and must "
             "not contain words the rules use such as 'is', 'and', 'or', 'above', 'between' or 'one of'. "
             "Rename it (the data column can keep its name: set 'column').", path)
        return None
    name = " ".join(name.split())
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        fail(f"{where} needs at least a type, for example: {{type: number}}.", path)
        return None
    for key in sorted(set(spec) - _FEATURE_KEYS):
        fail(f"{where}: unknown setting '{key}' (allowed: {', '.join(sorted(_FEATURE_KEYS))}).", f"{path}.{key}")
    kind = spec.get("type")
    if kind not in FEATURE_TYPES:
        fail(f"{where}: type must be one of {', '.join(FEATURE_TYPES)}.", f"{path}.type")
        return None
    ok = True
    unit = spec.get("unit")
    if unit is not None:
        unit = str(unit).strip()
        if kind != "number":
            fail(f"{where}: only numbers have a unit.", f"{path}.unit")
            ok = False
        elif find_unit(unit) is None and not re.fullmatch(r"%|°[CF]?|[^\W\d][\w/·µ^]*", unit):
            fail(f"{where}: '{unit}' cannot be written after a number in a rule; use letters, '%' or '°C'.",
                 f"{path}.unit")
            ok = False
    synonyms = spec.get("synonyms") or []
    if isinstance(synonyms, str):
        synonyms = [synonyms]
    clean_synonyms = []
    for s in synonyms:
        s = " ".join(str(s).split())
        if not is_rule_name(s):
            fail(f"{where}: the synonym '{s}' cannot be written in rules (see the rules for names).",
                 f"{path}.synonyms")
            ok = False
        clean_synonyms.append(s)
    values: list[str] = []
    if kind == "category":
        raw = spec.get("values")
        if not isinstance(raw, list) or not raw:
            fail(f"{where} is a category, so it needs its allowed values, for example: values: [left, right].",
                 f"{path}.values")
            ok = False
        else:
            values = [str(v) for v in raw]
            if len({normalize_name(v) for v in values}) != len(values):
                fail(f"{where}: the allowed values repeat one another.", f"{path}.values")
                ok = False
    elif spec.get("values"):
        fail(f"{where}: only categories have a list of values.", f"{path}.values")
        ok = False
    value_range = spec.get("range")
    if value_range is not None:
        if (kind != "number" or not isinstance(value_range, list) or len(value_range) != 2
                or not all(finite_number(x) for x in value_range) or value_range[0] > value_range[1]):
            fail(f"{where}: range is written [lowest, highest], for example: range: [0, 120], and only numbers "
                 "have one.", f"{path}.range")
            ok = False
        else:
            value_range = (float(value_range[0]), float(value_range[1]))
    column = spec.get("column", name)
    if not isinstance(column, str) or not column.strip():
        fail(f"{where}: column must be the name of a data column.", f"{path}.column")
        ok = False
    description = spec.get("description") or ""
    if not ok:
        return None
    return Feature(name=name, type=kind, unit=unit, column=column, synonyms=tuple(clean_synonyms),
                   values=tuple(values), range=value_range, description=str(description).strip())


@dataclass(frozen=True)
class Outcome:
    """What the rule set decides: a name ("diagnosis") and its labels ("benign", "malignant")."""

    name: str
    labels: tuple[str, ...]
    description: str = ""

    def label(self, written: str) -> str | None:
        for label in self.labels:
            if normalize_name(label) == normalize_name(written):
                return label
        return None


@dataclass(frozen=True)
class Policy:
    """How firing rules become one prediction, and what is answered when none fires (None = abstain)."""

    kind: str = "first match"
    default: str | None = None


@dataclass(frozen=True)
class Settings:
    """The content of ruleset.yaml."""

    title: str
    outcome: Outcome
    policy: Policy = field(default_factory=Policy)
    description: str = ""
    gate: Gate | None = None   # the release gate (gate.py), when declared
    shadow_keeps_values: bool = False   # a shadow run may store the values of the cases it samples

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"title": self.title}
        if self.description:
            data["description"] = self.description
        data["outcome"] = {"name": self.outcome.name, "labels": list(self.outcome.labels)}
        if self.outcome.description:
            data["outcome"]["description"] = self.outcome.description
        data["policy"] = self.policy.kind
        data["default"] = self.policy.default if self.policy.default is not None else ABSTAIN
        if self.gate is not None:
            data["gate"] = self.gate.to_dict()
        if self.shadow_keeps_values:
            data["shadow keeps values"] = True
        return data

    @classmethod
    def from_dict(cls, data: Any, file: str = SETTINGS_FILE) -> Settings:
        problems: list[Problem] = []

        def fail(message: str, path: str) -> None:
            problems.append(Problem("ruleset", message, field=path, file=file))

        if not isinstance(data, dict):
            raise RuleError(Problem("ruleset", f"{SETTINGS_FILE} must hold title, outcome, policy and default.",
                                    file=file))
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            fail("The rule set needs a title, for example: title: Breast mass triage", "title")
        elif invisible_character(title.strip()) is not None:
            fail("The title must be one line of visible text (no line breaks, NUL or other invisible characters).",
                 "title")
        outcome = data.get("outcome")
        name = labels = None
        if not isinstance(outcome, dict):
            fail("The rule set needs an outcome, for example: outcome: {name: diagnosis, labels: [benign, "
                 "malignant]}", "outcome")
        else:
            name = " ".join(str(outcome.get("name") or "").split())
            if not name or not is_rule_name(name):
                fail("The outcome needs a name that rules can write, for example: diagnosis", "outcome.name")
            labels = outcome.get("labels")
            if not isinstance(labels, list) or not labels or not all(
                    isinstance(x, (str, int)) and str(x).strip() for x in labels):
                fail("The outcome needs its labels, for example: labels: [benign, malignant]", "outcome.labels")
                labels = None
            elif any(unusable_label(x) for x in labels):
                fail(f"Each label is one line of visible text of at most {MAX_LABEL} characters (no line breaks, "
                     "NUL or other invisible characters).", "outcome.labels")
                labels = None
            elif len({normalize_name(str(x)) for x in labels}) != len(labels):
                fail("The outcome's labels repeat one another.", "outcome.labels")
        kind = " ".join(str(data.get("policy", "first match")).lower().replace("_", " ").split())
        if kind not in POLICIES:
            fail(f"policy must be 'first match' or 'weighted vote', not '{data.get('policy')}'.", "policy")
        default = data.get("default", ABSTAIN)
        default = None if default is None or str(default).lower() == ABSTAIN else str(default)
        keeps = data.get("shadow keeps values", False)
        if keeps not in (True, False) and str(keeps).strip().lower() not in ("yes", "no", "true", "false"):
            fail(f"shadow keeps values: is yes or no, not '{keeps}'.", "shadow keeps values")
        keeps = keeps is True or str(keeps).strip().lower() in ("yes", "true")
        gate = None
        if data.get("gate") is not None:
            try:
                gate = Gate.from_dict(data["gate"], file)
            except RuleError as e:
                problems.extend(e.problems)
        if problems:
            raise RuleError(problems)
        out = Outcome(name, tuple(str(x) for x in labels), str(outcome.get("description") or "").strip())
        if default is not None:
            canonical = out.label(default)
            if canonical is None:
                raise RuleError(Problem("ruleset", f"The default '{default}' is not one of the outcome's labels "
                                        f"({', '.join(out.labels)}); use one of them or 'abstain'.",
                                        field="default", file=file))
            default = canonical
        return cls(title=title.strip(), outcome=out, policy=Policy(kind, default),
                   description=str(data.get("description") or "").strip(), gate=gate, shadow_keeps_values=keeps)
