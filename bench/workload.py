"""The seeded workload: rules over 20 features, written as Rulecraft rule text, and data to run them on.

Every engine gets the same rules. They are generated once as a small neutral tree (``Cond``, ``Group``,
``AtLeast``, ``Not``), printed as Rulecraft rule TEXT with a vocabulary (compiled by rules_dsl like any author's
rule set), and translated from the same tree into each peer's own format (bench/peers.py).

Features: 14 numbers (12 measurements in [0, 100] with one decimal, one of them in mm and sometimes written in cm by
the rules; 2 counts 0..9) with about 2% missing, and 6 categories of 3 to 8 values with about 1% missing.
Thresholds are round numbers, as people write them, so several rules share a threshold and some data values sit
exactly on one (which tells ``at least`` from ``above``).

The same data comes in the forms users have (``FORMS``, ``data_forms``): what ``read_csv`` gives with pyarrow
installed and without it, text decoded from JSON (one string object per row), ``category``, and object columns
built from a handful of shared string objects.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

MEASURES = [f"m{i:02d}" for i in range(1, 13)]           # data columns of the 12 measurements
COUNTS = ["n13", "n14"]                                  # two counts 0..9
NUMBERS = MEASURES + COUNTS
CATEGORY_VALUES = {
    "g1": ["red", "green", "blue"],
    "g2": ["north", "south", "east", "west"],
    "g3": ["alpha", "beta", "gamma", "delta", "epsilon"],
    "g4": ["spring", "summer", "autumn", "winter", "monsoon", "dry"],
    "g5": ["oak", "ash", "elm", "yew", "fir", "pine", "larch"],
    "g6": ["one", "two", "three", "four", "five", "six", "seven", "eight"],
}
CATEGORIES = list(CATEGORY_VALUES)
COLUMNS = NUMBERS + CATEGORIES
MM_COLUMN = "m01"  # the measurement with a unit (mm): rules sometimes write it in cm


_WORDS = ["amber", "basil", "cedar", "dune", "ember", "flint", "garnet", "hazel", "iris", "jade", "kelp", "lumen"]
_NAMES = {**{c: f"{w} level" for c, w in zip(MEASURES, _WORDS)}, MM_COLUMN: "lesion diameter",
          "n13": "prior visits", "n14": "symptom count", "g1": "colour group", "g2": "home region",
          "g3": "stage name", "g4": "season of onset", "g5": "tree type", "g6": "number word"}


def feature_name(column: str) -> str:
    """The name authors use in rule text (several words, as in real vocabularies)."""
    return _NAMES[column]


# ---- the neutral rule tree ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cond:
    column: str
    op: str      # gt lt ge le between eq ne in not_in missing known
    value: object = None  # float, str, (lo, hi) for between, tuple for in / not_in


@dataclass(frozen=True)
class Group:
    kind: str    # "all" | "any"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AtLeast:
    count: int
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Cond | Group | AtLeast | Not


@dataclass(frozen=True)
class BenchRule:
    id: str
    name: str
    condition: Node
    label: str
    confidence: float


def is_number(column: str) -> bool:
    return column in NUMBERS


def conditions(node: Node) -> list[Cond]:
    if isinstance(node, Cond):
        return [node]
    if isinstance(node, Not):
        return conditions(node.item)
    return [c for item in node.items for c in conditions(item)]


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def cond(self) -> Cond:
        rng = self.rng
        r = rng.random()
        if r < 0.62:  # measurement
            column = rng.choice(MEASURES)
            threshold = float(rng.randrange(10, 95, 5))
            op = rng.choices(["gt", "lt", "ge", "le", "between", "ne", "missing", "known"],
                             [26, 24, 14, 14, 16, 2, 2, 2])[0]
            if op == "between":
                return Cond(column, op, (threshold, threshold + float(rng.choice([10, 15, 20, 30]))))
            if op == "ne":
                return Cond(column, op, threshold)
            if op in ("missing", "known"):
                return Cond(column, op)
            return Cond(column, op, threshold)
        if r < 0.72:  # count
            column = rng.choice(COUNTS)
            op = rng.choice(["eq", "ne", "in", "ge", "le", "gt"])
            if op == "in":
                return Cond(column, op, tuple(sorted(float(v) for v in rng.sample(range(10), 3))))
            return Cond(column, op, float(rng.randrange(0, 10)))
        column = rng.choice(CATEGORIES)
        values = CATEGORY_VALUES[column]
        op = rng.choices(["eq", "ne", "in", "not_in", "missing"], [40, 15, 30, 13, 2])[0]
        if op in ("in", "not_in"):
            return Cond(column, op, tuple(rng.sample(values, rng.randint(2, min(3, len(values) - 1)))))
        if op == "missing":
            return Cond(column, op)
        return Cond(column, op, rng.choice(values))

    def conds(self, k: int) -> tuple[Cond, ...]:
        return tuple(self.cond() for _ in range(k))

    def condition(self) -> Node:
        rng = self.rng
        shape = rng.random()
        if shape < 0.36:
            items = self.conds(rng.randint(1, 4))
            return items[0] if len(items) == 1 else Group("all", items)
        if shape < 0.60:
            return Group("any", self.conds(rng.randint(2, 4)))
        if shape < 0.80:
            rest = self.conds(rng.randint(1, 2))
            return Group("all", (Group("any", self.conds(2)),) + rest)
        if shape < 0.92:
            return AtLeast(2, self.conds(3))
        return Group("all", (self.cond(), Not(Group("any", self.conds(2)))))


def generate_rules(n: int = 50, seed: int = 7) -> list[BenchRule]:
    gen = _Generator(seed)
    rules = []
    for i in range(n):
        rules.append(BenchRule(id=f"rule-{i:04d}", name=f"Bench rule {i:04d}", condition=gen.condition(),
                               label=gen.rng.choice(["low", "medium", "high"]),
                               confidence=gen.rng.choice([0.6, 0.7, 0.8, 0.9])))
    return rules


# ---- Rulecraft text ----------------------------------------------------------------------------------------------

def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _quantity(column: str, x: float, rng: random.Random) -> str:
    if column == MM_COLUMN:
        if x % 10 == 0 and rng.random() < 0.5:
            return f"{_number(x / 10)} cm"
        return f"{_number(x)} mm"
    return _number(x)


def _text(node: Node, rng: random.Random, top: bool = False) -> str:
    if isinstance(node, Cond):
        name = feature_name(node.column)
        op, v = node.op, node.value
        q = (lambda x: _quantity(node.column, x, rng)) if is_number(node.column) else (lambda s: f'"{s}"')
        if op == "missing":
            return f"{name} is missing"
        if op == "known":
            return f"{name} is known"
        if op == "between":
            return f"{name} is between {q(v[0])} and {q(v[1])}"
        if op in ("in", "not_in"):
            word = "is one of" if op == "in" else "is not one of"
            return f"{name} {word} " + ", ".join(q(x) for x in v)
        word = {"gt": rng.choice(["is above", "is more than", "is over"]), "lt": rng.choice(["is below", "is under"]),
                "ge": "is at least", "le": "is at most", "eq": "is", "ne": "is not"}[op]
        return f"{name} {word} {q(v)}"
    if isinstance(node, Not):
        return f"not ({_text(node.item, rng, True)})"
    if isinstance(node, AtLeast):
        return f"at least {node.count} of (" + ", ".join(_text(i, rng, True) for i in node.items) + ")"
    joined = (" and " if node.kind == "all" else " or ").join(_text(i, rng) for i in node.items)
    return joined if top else f"({joined})"


def rule_text(rule: BenchRule, seed: int = 0) -> str:
    rng = random.Random(f"{seed}:{rule.id}")
    return (f'rule "{rule.name}"\nwhen {_text(rule.condition, rng, True)}\n'
            f'then risk is "{rule.label}" with confidence {rule.confidence}')


def vocabulary_dict() -> dict:
    features = {}
    for column in MEASURES:
        spec = {"type": "number", "column": column, "range": [0, 100]}
        if column == MM_COLUMN:
            spec["unit"] = "mm"
        features[feature_name(column)] = spec
    for column in COUNTS:
        features[feature_name(column)] = {"type": "number", "column": column, "range": [0, 9]}
    for column, values in CATEGORY_VALUES.items():
        features[feature_name(column)] = {"type": "category", "column": column, "values": values}
    return {"features": features}


SETTINGS = {"title": "Benchmark", "outcome": {"name": "risk", "labels": ["low", "medium", "high"]},
            "policy": "weighted vote", "default": "low"}


def compile_ruleset(rules: list[BenchRule]):
    """The rules as a rules_dsl RuleSet, compiled from their text like an author's (parse + check + compile)."""
    import rules_dsl
    from rules_dsl.ruleset import RuleSet, compile_rule

    vocabulary = rules_dsl.Vocabulary.from_dict(vocabulary_dict())
    settings = rules_dsl.Settings.from_dict(SETTINGS)
    compiled = [compile_rule(rule_text(r), vocabulary, settings, rule_id=r.id) for r in rules]
    return RuleSet(settings, vocabulary, compiled, id="bench")


def ruleset_files(rules: list[BenchRule]) -> dict[str, bytes]:
    """The rule set as the files the store keeps (ruleset.yaml, vocabulary.yaml, rules/<id>.rule)."""
    import yaml

    files = {"ruleset.yaml": yaml.safe_dump(SETTINGS, sort_keys=False).encode(),
             "vocabulary.yaml": yaml.safe_dump(vocabulary_dict(), sort_keys=False).encode()}
    for r in rules:
        files[f"rules/{r.id}.rule"] = (rule_text(r) + "\n").encode()
    return files


# ---- data --------------------------------------------------------------------------------------------------------

def generate_frame(rows: int, seed: int = 11, missing_numbers: float = 0.02,
                   missing_categories: float = 0.01) -> pd.DataFrame:
    """Numbers as float64 with NaN for missing; categories as object columns holding a handful of shared string
    objects (one per value) with None for missing: the "object, shared strings" form of ``FORMS``, the best case
    for factorizing by object identity. ``data_forms`` gives the other forms of the same data."""
    rng = np.random.default_rng(seed)
    data = {}
    for column in MEASURES:
        x = np.round(rng.uniform(0, 100, rows), 1)
        x[rng.random(rows) < missing_numbers] = np.nan
        data[column] = x
    for column in COUNTS:
        x = rng.integers(0, 10, rows).astype(np.float64)
        x[rng.random(rows) < missing_numbers] = np.nan
        data[column] = x
    for column, values in CATEGORY_VALUES.items():
        choices = np.array(values + [None], dtype=object)
        weights = np.full(len(values) + 1, (1 - missing_categories) / len(values))
        weights[-1] = missing_categories
        data[column] = pd.Series(choices[rng.choice(len(choices), rows, p=weights)], dtype=object)
    return pd.DataFrame(data)


# The forms of the text columns (numbers are float64 with NaN in every form: what read_csv gives them).
FORMS = {
    "arrow str": "read_csv with pyarrow installed: pandas' str dtype on Arrow, NaN for missing",
    "python str": "read_csv without pyarrow (mode.string_storage 'python'): pandas' str dtype holding Python "
                  "strings, NaN for missing",
    "JSON objects": "object dtype, one string object per row (as json.loads makes them), None for missing",
    "category": "pandas category dtype, NaN for missing",
    "arrow dtype": "pd.ArrowDtype(pa.string()) (what dtype_backend='pyarrow' reads): Arrow strings, <NA> for missing",
    "object (shared)": "object dtype built from one string object per distinct value, None for missing",
}


def data_forms(frame: pd.DataFrame, forms=None) -> dict[str, pd.DataFrame]:
    """The same data in each form of ``FORMS`` (all of them unless ``forms`` names some): {form: DataFrame}.

    The two str forms really are ``read_csv`` output (of the frame written as CSV); "arrow str" needs pyarrow
    (ImportError without it). Every form holds the same values: the numbers survive the CSV round trip exactly."""
    import io
    import json

    forms = list(FORMS) if forms is None else list(forms)
    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        raise ValueError(f"unknown data form(s) {unknown}; the forms are {list(FORMS)}")
    out = {}
    text = frame.to_csv(index=False) if {"arrow str", "python str"} & set(forms) else ""
    for form in forms:
        if form == "arrow str":
            import pyarrow  # noqa: F401 - without it read_csv would quietly give the python form

            with pd.option_context("mode.string_storage", "pyarrow"):
                out[form] = pd.read_csv(io.StringIO(text))
        elif form == "python str":
            with pd.option_context("mode.string_storage", "python"):
                out[form] = pd.read_csv(io.StringIO(text))
        elif form == "JSON objects":
            out[form] = frame.assign(**{c: pd.Series(json.loads(json.dumps(frame[c].tolist())), dtype=object,
                                                     index=frame.index) for c in CATEGORIES})
        elif form == "category":
            out[form] = frame.astype({c: "category" for c in CATEGORIES})
        elif form == "arrow dtype":
            import pyarrow as pa

            out[form] = frame.astype({c: pd.ArrowDtype(pa.string()) for c in CATEGORIES})
        else:
            out[form] = frame.copy()
    return out


def text_dtypes(frame: pd.DataFrame) -> str:
    """The dtype of the text columns, as pandas names it (with the string storage for str)."""
    names = {repr(frame[c].dtype) if isinstance(frame[c].dtype, pd.StringDtype) else str(frame[c].dtype)
             for c in CATEGORIES}
    return ", ".join(sorted(names))


def frame_to_rows(frame: pd.DataFrame) -> list[dict]:
    """One mapping per row, as a service receives a case: None for every missing value (whatever the dtype)."""
    columns = {}
    for c in frame.columns:
        values = frame[c].to_numpy(dtype=object)
        if is_number(c):
            values = [None if v != v else float(v) for v in values]
        else:
            values = [v if isinstance(v, str) else None for v in values]
        columns[c] = values
    names = list(frame.columns)
    return [dict(zip(names, vals)) for vals in zip(*(columns[c] for c in names))]
