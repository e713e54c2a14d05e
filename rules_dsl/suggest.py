"""Rules suggested from labelled data, for a person to judge: short, round, in the vocabulary's words (issue 18).

    from rules_dsl.suggest import suggest_rules
    for s in suggest_rules(ruleset, cases, "diagnosis", target="malignant"):
        print(s.text, s.precision, s.heldout_precision)

How a suggestion is made:

1. The cases are split: 70% to search on, 30% held out (stratified by label, ``random_state``), so that each
   suggestion carries a precision measured on cases the search never saw.
2. Decision trees and a small forest of shallow trees (rules_dsl/ml/rule_learner.py, the only part that needs
   scikit-learn) propose conjunctions: every path from a root to a node where the label is more common.
3. Each path becomes a rule a person could have written: two tests on one feature become one ("between", or the
   tighter bound: no condition implied by another), a test the vocabulary's range makes always true is dropped,
   and so is a test that removes no case from the rule. Each threshold is rounded to the fewest significant digits
   that change the rule's precision on the search cases by less than one point, and written in the feature's unit.
4. The rules are ranked (the harmonic mean of the lower end of the precision's 95% interval and the share of the
   label's cases caught) and thinned: none that an existing rule with the same conclusion already covers
   (``COVERED`` of its cases), none that mostly repeats a better suggestion, none firing on too few cases.
5. Every figure reported is computed from the final rule text, compiled like any rule, on all the cases, so the
   figures are those of the rule a person reads.

On large data the search uses samples (so that it fits in an HTTP request): the trees learn from at most
MAX_LEARN_CASES search cases (each forest tree from a bootstrap of at most rule_learner.FOREST_SAMPLE), and
candidates are rounded, judged and thinned on at most MAX_SEARCH_CASES; the answer (``Suggestions``) says how many
cases were searched. A two-label outcome fits its trees once (rule_learner.fit_trees).

Nothing here saves anything: a suggestion is text and figures. rules_dsl/explore.py (precision and coverage as one
threshold moves; add, drop or move one condition) helps the person change one.

Layer rule: NumPy and pandas here; scikit-learn only inside ``rules_dsl.ml.rule_learner``, imported when asked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from . import logic as L
from .analysis import _groups, _json, _label_text, _truth, wilson_interval
from .backends.values import category_key, number_value
from .backends.vectorized import VectorizedRules
from .errors import DataError
from .formatter import format_syntax
from .ruleset import CompiledRule, RuleSet, compile_rule
from .structured import rule_to_json
from .syntax import AllOf, Comparison, Conclusion, Flag, Quantity, Rule, Text
from .vocabulary import Feature

__all__ = ["suggest_rules", "Suggestion", "Suggestions", "round_threshold", "HELD_OUT", "COVERED", "SAME_CASES"]

HELD_OUT = 0.3          # share of the cases kept out of the search
COVERED = 0.95          # an existing rule firing on this share of a suggestion's cases already covers it
SAME_CASES = 0.9        # two suggestions whose cases overlap this much (Jaccard) fire on "nearly the same cases"
PRECISION_POINT = 0.01  # rounding may move the precision on the search cases by less than this
MIN_CASES = 5           # a suggestion fires on at least this many search cases (and 1% of them)
MAX_LEARN_CASES = 20_000  # the trees see at most this many cases (a sample); figures use all of them
MAX_SEARCH_CASES = 200_000  # candidates are rounded, judged and thinned on at most this many cases (a sample);
#                             the figures of the suggestions returned use all of them. 1,000,000 cases took ~15 s.
MASK_CACHE_BYTES = 64 << 20  # where each distinct condition fires, kept while searching (one byte per case)
MAX_DIGITS = 6


# ---- conditions while searching -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cond:
    """One condition of a candidate: number (op gt / le / between), boolean (op is) or category (is / not_in,
    values as the index of the allowed value: columns are floats while searching, see ``_columns``)."""

    feature: Feature
    op: str
    value: Any


def _test(cond: _Cond, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Where the condition is true (missing values make it unknown, which never fires)."""
    x = columns[cond.feature.column]
    if cond.op == "gt":
        return x > cond.value
    if cond.op == "le":
        return x <= cond.value
    if cond.op == "between":
        return (x >= cond.value[0]) & (x <= cond.value[1])
    if cond.op == "is":
        return x == cond.value
    # not one of: known and none of the values
    return ~np.isnan(x) & ~np.isin(x, list(cond.value))


def _fires(conds: tuple[_Cond, ...], columns: dict[str, np.ndarray], n: int, cache: dict | None = None) -> np.ndarray:
    """Where all the conditions are true; ``cache`` (a dict) keeps each distinct condition's mask for the next call:
    rounding tries many thresholds of one condition against the same others."""
    if not conds:
        return np.ones(n, dtype=bool)
    masks = [_cached_test(cond, columns, n, cache) for cond in conds]
    if len(masks) == 1:
        return masks[0].copy()
    mask = masks[0] & masks[1]
    for other in masks[2:]:
        mask &= other
    return mask


def _cached_test(cond: _Cond, columns: dict[str, np.ndarray], n: int, cache: dict | None) -> np.ndarray:
    if cache is None:
        return _test(cond, columns)
    key = (cond.feature.column, cond.op, cond.value)
    found = cache.get(key)
    if found is None:
        found = _test(cond, columns)
        if (len(cache) + 1) * max(n, 1) <= MASK_CACHE_BYTES:
            cache[key] = found
    return found


def _precision(mask: np.ndarray, y: np.ndarray) -> float:
    fired = np.count_nonzero(mask)  # several times faster than .sum() on booleans
    return float(np.count_nonzero(mask & y)) / fired if fired else 0.0


def round_threshold(value: float, digits: int) -> float:
    """``value`` with ``digits`` significant digits (0.0005039822 -> 0.0005 with 1)."""
    if value == 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(abs(value)))
    return float(round(value, digits - 1 - exponent))


def _significant(value: float) -> int:
    text = format(Decimal(repr(value)).normalize(), "f").lstrip("-").replace(".", "").lstrip("0").rstrip("0")
    return max(1, len(text))


# ---- the data, read once -----------------------------------------------------------------------------------------
def _number_column(series: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return np.array([number_value(v, name) for v in series], dtype=float)


def _columns(ruleset: RuleSet, frame: pd.DataFrame, skip: set[str]) -> tuple[list[Feature], dict[str, np.ndarray]]:
    """The features suggestions may use (those with a column in the data) and their values as arrays."""
    features, columns = [], {}
    for f in ruleset.vocabulary.features:
        if f.column not in frame.columns or f.column in skip or f.type == "text":
            continue
        series = frame[f.column]
        # Every column as floats, NaN for missing, so that each test is one vectorized comparison (object arrays
        # made the search 5x slower at 100,000 cases): yes/no as 1/0, a category as the index of its allowed
        # value (-1 for a value outside the vocabulary: known, but none of them).
        if f.type == "number":
            columns[f.column] = _number_column(series, f.column)
        elif f.type == "boolean":
            codes, uniques = pd.factorize(series)  # missing -> -1; equal values are equally true
            columns[f.column] = np.array([float(bool(u)) for u in uniques] + [np.nan])[codes]
        else:
            codes, uniques = pd.factorize(series)  # missing -> -1
            index = {category_key(v): float(i) for i, v in enumerate(f.values)}
            known = np.array([index.get(category_key(str(u)), -1.0) for u in uniques] + [np.nan])
            columns[f.column] = known[codes]
        features.append(f)
    return features, columns


def _learner_matrix(features: list[Feature], columns: dict[str, np.ndarray]):
    """Floats for the trees (NaN for missing): numbers as they are, yes/no as 1/0, one column per category value."""
    blocks, meaning = [], []
    for f in features:
        x = columns[f.column]
        if f.type == "number":
            blocks.append(x)
            meaning.append((f, None))
        elif f.type == "boolean":
            blocks.append(x)
            meaning.append((f, True))
        else:
            missing = np.isnan(x)
            for code in range(len(f.values)):
                blocks.append(np.where(missing, np.nan, (x == code).astype(float)))
                meaning.append((f, float(code)))
    return np.column_stack(blocks) if blocks else np.empty((len(next(iter(columns.values()), [])), 0)), meaning


def _conditions(path, meaning, columns) -> tuple[_Cond, ...] | None:
    """A tree path as a rule's conditions: one per feature, none implied by another; None if contradictory."""
    numbers: dict[str, list] = {}
    out: dict[str, _Cond] = {}
    excluded: dict[str, list] = {}
    for index, op, threshold in path:
        feature, value = meaning[index]
        if feature.type == "number":
            low, high = numbers.setdefault(feature.name, [feature, -math.inf, math.inf])[1:]
            if op == "gt":
                numbers[feature.name][1] = max(low, threshold)
            else:
                numbers[feature.name][2] = min(high, threshold)
        elif feature.type == "boolean":
            want = op == "gt"
            if feature.name in out and out[feature.name].value != want:
                return None
            out[feature.name] = _Cond(feature, "is", want)
        elif op == "gt":
            if feature.name in out and out[feature.name].value != value:
                return None
            out[feature.name] = _Cond(feature, "is", value)
        else:
            excluded.setdefault(feature.name, [feature]).append(value)
    for name, (feature, *keys) in excluded.items():
        if name in out:
            if out[name].value in keys:
                return None
            continue  # "is a" implies "is not b"
        out[name] = _Cond(feature, "not_in", tuple(sorted(set(keys))))
    for name, (feature, low, high) in numbers.items():
        lowest, highest = feature.range or (-math.inf, math.inf)
        low = low if low > lowest else -math.inf     # "above 3" on a range starting at 5 says nothing
        high = high if high < highest else math.inf
        if low > -math.inf and high < math.inf:
            if low >= high:
                return None
            out[name] = _Cond(feature, "between", (low, high))
        elif low > -math.inf:
            out[name] = _Cond(feature, "gt", low)
        elif high < math.inf:
            out[name] = _Cond(feature, "le", high)
    return tuple(out.values())


def _without_idle(conds: tuple[_Cond, ...], columns, n: int, cache: dict | None = None) -> tuple[_Cond, ...]:
    """Drop conditions that remove no case from the rule (the others imply them on these data)."""
    conds = tuple(conds)
    i = 0
    while len(conds) > 1 and i < len(conds):
        rest = conds[:i] + conds[i + 1:]
        if np.array_equal(_fires(rest, columns, n, cache), _fires(conds, columns, n, cache)):
            conds = rest
        else:
            i += 1
    return conds


def _on_grid(value: float, digits: int) -> tuple[float, ...]:
    """``value`` with ``digits`` significant digits: rounded to the nearest, then down and up (115.3 with 2 digits:
    120, 110, 120). Rounding down or up keeps as few digits where the nearest would move the precision too far."""
    nearest = round_threshold(value, digits)
    if value == 0 or not math.isfinite(value):
        return (nearest,)
    step = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    # to `digits` significant digits, not to decimals: 48 * 0.1 is 4.800000000000001, which no rule may say
    down, up = (round_threshold(f(value / step) * step, digits) for f in (math.floor, math.ceil))
    return tuple(dict.fromkeys((nearest, down, up)))


def _rounded(conds: tuple[_Cond, ...], columns, y: np.ndarray, n: int, cache: dict | None = None) -> tuple[_Cond, ...]:
    """Each threshold with the fewest significant digits that move the precision by less than one point: the
    nearest value with that many digits, else the value below or above it with as many (2 digits: 115.3 -> 120,
    else 110), so a third digit is kept only when neither neighbour keeps the precision."""
    reference = _precision(_fires(conds, columns, n, cache), y)
    conds = list(conds)
    for i, cond in enumerate(conds):
        if cond.feature.type != "number":
            continue
        for digits in range(1, MAX_DIGITS + 1):
            if cond.op == "between":
                values = [(lo, hi) for lo in _on_grid(cond.value[0], digits) for hi in _on_grid(cond.value[1], digits)
                          if lo <= hi]
            else:
                values = list(_on_grid(cond.value, digits))
            best = None
            for value in values:  # the nearest first: taken whenever it keeps the precision
                trial = conds[:i] + [replace(cond, value=value)] + conds[i + 1:]
                mask = _fires(tuple(trial), columns, n, cache)
                if mask.any():
                    moved = abs(_precision(mask, y) - reference)
                    if best is None or moved < best[0]:
                        best = (moved, trial)
                    if moved < PRECISION_POINT:
                        break
            if best is not None and best[0] < PRECISION_POINT:
                conds = best[1]
                break
            if digits == MAX_DIGITS:  # at worst: a tree's midpoint has 17 digits, the language takes 15
                conds = conds[:i] + [replace(cond, value=values[0] if values else cond.value)] + conds[i + 1:]
    return tuple(conds)


# ---- conditions as rule syntax -----------------------------------------------------------------------------------
def _quantity(feature: Feature, value: float) -> Quantity:
    return Quantity(Decimal(repr(float(value))).normalize(), feature.unit or None)


def _label_value(feature: Feature, code: float) -> Text:
    return Text(feature.values[int(code)])


def _comparison(cond: _Cond) -> Comparison:
    f = cond.feature
    if cond.op == "gt":
        return Comparison(f.name, "above", (_quantity(f, cond.value),))
    if cond.op == "le":
        return Comparison(f.name, "at most", (_quantity(f, cond.value),))
    if cond.op == "between":
        return Comparison(f.name, "between", tuple(_quantity(f, v) for v in cond.value))
    if f.type == "boolean":
        return Comparison(f.name, "is", (Flag(bool(cond.value)),))  # want: True for "is yes"
    if cond.op == "is":
        return Comparison(f.name, "is", (_label_value(f, cond.value),))
    values = tuple(_label_value(f, v) for v in cond.value)
    return Comparison(f.name, "is not" if len(values) == 1 else "not one of", values)


def _rule_syntax(conds: tuple[_Cond, ...], outcome: str, label: str) -> Rule:
    items = tuple(_comparison(c) for c in conds)
    condition = items[0] if len(items) == 1 else AllOf(items)
    names = ", ".join(dict.fromkeys(c.feature.name for c in conds))
    name = f"Suggested: {label} by {names}"
    if len(name) > 120:
        name = name[:117] + "..."
    return Rule(name=name, condition=condition, conclusion=Conclusion(outcome, label))


# ---- suggestions -----------------------------------------------------------------------------------------------
@dataclass
class Suggestion:
    """A candidate rule and its figures. ``precision``/``coverage``/``support`` are on the search cases;
    ``heldout_*`` on the cases held out from the search; subgroups and overlaps on all the cases given."""

    text: str
    label: str
    rule: dict                      # the structured form the editor's form reads (rules_dsl.structured)
    precision: float
    coverage: float
    support: int
    recall: float                   # share of the label's search cases it fires on
    heldout_precision: float | None
    heldout_support: int
    heldout_interval: tuple[float, float] | None
    near_misses: int                # the label's search cases that fail exactly one condition
    near_misses_by_condition: list[int]
    overlaps: list[dict] = field(default_factory=list)
    subgroups: dict[str, dict] | None = None
    score: float = 0.0

    @property
    def conditions(self) -> int:
        return len(self.near_misses_by_condition)

    def to_dict(self) -> dict:
        return _json({
            "text": self.text, "label": self.label, "rule": self.rule, "precision": self.precision,
            "coverage": self.coverage, "support": self.support, "recall": self.recall,
            "heldout_precision": self.heldout_precision, "heldout_support": self.heldout_support,
            "heldout_interval": list(self.heldout_interval) if self.heldout_interval else None,
            "near_misses": self.near_misses, "near_misses_by_condition": self.near_misses_by_condition,
            "overlaps": self.overlaps, "subgroups": self.subgroups, "score": self.score})


def _split(truth: np.ndarray, random_state: int) -> np.ndarray:
    """True for the held-out cases: HELD_OUT of each label, at random (reproducibly)."""
    rng = np.random.default_rng(random_state)
    held = np.zeros(len(truth), dtype=bool)
    for label in pd.unique(truth):
        rows = np.flatnonzero(truth == label)
        if len(rows) >= 4:
            held[rng.choice(rows, size=int(round(len(rows) * HELD_OUT)), replace=False)] = True
    return held


def _canonical_truth(ruleset: RuleSet, frame: pd.DataFrame, label: str) -> np.ndarray:
    """Each case's true label as the outcome's own spelling (None for a label it does not know), read once per
    distinct value (a Python step per case took 2.5 s on 1,000,000 cases)."""
    series = frame[label] if label in frame.columns else None
    if series is not None:
        codes, uniques = pd.factorize(series)
        # factorize holds True and 1 equal; their texts differ, so mixed Python objects take the slow way
        if (codes >= 0).all() and (series.dtype != object or all(isinstance(u, str) for u in uniques)):
            return np.array([ruleset.outcome.label(_label_text(u)) for u in uniques], dtype=object)[codes]
    texts = _truth(frame, label)  # refuses a missing column or empty labels in plain words
    canonical = {v: ruleset.outcome.label(v) for v in pd.unique(texts)}
    return np.array([canonical[v] for v in texts], dtype=object)


def _targets(ruleset: RuleSet, target: str | None, label: str) -> list[str]:
    if target is None:
        return list(ruleset.outcome.labels)
    found = ruleset.outcome.label(str(target))
    if found is None:
        raise DataError(f"'{target}' is not one of the outcome's labels ({', '.join(ruleset.outcome.labels)}); "
                        "ask for one of them, or for none to get suggestions for every label.", column=label)
    return [found]


def _existing(ruleset: RuleSet, frame: pd.DataFrame) -> list[tuple[CompiledRule, np.ndarray]]:
    """The enabled rules whose columns are all in the data, with where each fires."""
    usable = [r for r in ruleset.active_rules if all(t.column in frame.columns for t in L.tests(r.logic))]
    if not usable:
        return []
    fired = VectorizedRules([(r.id, r.logic) for r in usable]).evaluate(frame)
    return list(zip(usable, fired))


def _wilson_low(hits: int, support: int) -> float:
    interval = wilson_interval(hits, support)
    return interval[0] if interval else 0.0


def _score(hits: int, support: int, positives: int) -> float:
    low, recall = _wilson_low(hits, support), hits / positives if positives else 0.0
    return 2 * low * recall / (low + recall) if low + recall else 0.0


def suggest_rules(ruleset: RuleSet, frame: pd.DataFrame, label: str, *, target: str | None = None,
                  group: str | None = None, max_conditions: int = 3, max_suggestions: int = 10,
                  random_state: int = 0) -> list[Suggestion]:
    """Candidate rules concluding ``target`` (default: each of the outcome's labels) from the labelled cases in
    ``frame`` (true outcome in column ``label``), best first. See the module docstring for how; DataError when the
    data do not fit (no label column, an unknown target, values of the wrong type)."""
    from .ml.rule_learner import fit_trees, paths_of  # scikit-learn only when suggestions are asked for

    if not 1 <= max_conditions <= 5:
        raise ValueError("max_conditions must be 1 to 5: a rule of more conditions is not one a person reads.")
    truth = _canonical_truth(ruleset, frame, label)
    targets = _targets(ruleset, target, label)
    skip = {label} | ({group} if group else set())
    features, columns = _columns(ruleset, frame, skip)
    if not features:
        raise DataError("No feature of the vocabulary has a column in the data, so no rule can be suggested; "
                        "name the columns as the vocabulary's features (or their 'column').", column=None)
    groups = _groups(frame, group) if group else None
    held = _split(truth, random_state)
    search = ~held
    n_all = len(frame)
    search_rows = np.flatnonzero(search)
    thin_rows = None  # all the cases
    if len(search_rows) > MAX_SEARCH_CASES:  # a sample, said in the answer (Suggestions.searched)
        rng = np.random.default_rng(random_state)
        search_rows = np.sort(rng.choice(search_rows, MAX_SEARCH_CASES, replace=False))
        thin_rows = np.sort(rng.choice(n_all, MAX_SEARCH_CASES, replace=False))
    n = len(search_rows)
    search_truth = truth[search_rows]
    search_cols = {c: v[search_rows] for c, v in columns.items()}
    cache: dict = {}
    matrix, meaning = _learner_matrix(features, search_cols)
    learn_rows = np.arange(n)
    if n > MAX_LEARN_CASES:
        learn_rows = np.sort(np.random.default_rng(random_state).choice(n, MAX_LEARN_CASES, replace=False))
    min_cases = max(MIN_CASES, int(0.01 * n))
    existing = _existing(ruleset, frame)
    thin_cols, n_thin, thin_existing = columns, n_all, existing
    if thin_rows is not None:
        thin_cols = {c: v[thin_rows] for c, v in columns.items()}
        n_thin, thin_existing = len(thin_rows), [(r, fires[thin_rows]) for r, fires in existing]

    found: list[tuple[float, str, tuple[_Cond, ...], np.ndarray]] = []
    learn_matrix = matrix[learn_rows]
    fitted: list[tuple[np.ndarray, list]] = []  # (y the trees were fitted on, trees)
    for wanted in targets:
        y = search_truth == wanted
        positives = int(y.sum())
        base = positives / n if n else 0.0
        seen: set[tuple] = set()
        y_learn = y[learn_rows]
        # Two labels: the other label's trees are these trees read the other way round (rule_learner.fit_trees).
        flipped = next((trees for fitted_y, trees in fitted if np.array_equal(fitted_y, ~y_learn)), None)
        if flipped is not None:
            paths = paths_of(flipped, y_learn, flipped=True)
        else:
            trees = fit_trees(learn_matrix, y_learn, max_conditions=max_conditions,
                              min_cases=max(1, min_cases * len(learn_rows) // max(n, 1)), random_state=random_state)
            fitted.append((y_learn, trees))
            paths = paths_of(trees, y_learn)
        for path in paths:
            conds = _conditions(path, meaning, search_cols)
            if not conds:
                continue
            conds = _rounded(_without_idle(conds, search_cols, n, cache), search_cols, y, n, cache)
            conds = _without_idle(conds, search_cols, n, cache)
            key = tuple(sorted((c.feature.name, c.op, repr(c.value)) for c in conds))
            if key in seen or len(conds) > max_conditions:
                continue
            seen.add(key)
            mask = _fires(conds, search_cols, n, cache)
            support, hits = np.count_nonzero(mask), np.count_nonzero(mask & y)
            if support < min_cases or hits / support < 0.5 or _wilson_low(hits, support) <= base:
                continue
            found.append((_score(hits, support, positives), wanted, conds, mask))
    found.sort(key=lambda item: (-item[0], len(item[2]), item[1]))

    kept: list[tuple[str, tuple[_Cond, ...], np.ndarray, float]] = []
    for score, wanted, conds, _mask in found:
        full = _fires(conds, thin_cols, n_thin)
        if any(r.conclusion is not None and r.conclusion.label == wanted and _covered(full, fires)
               for r, fires in thin_existing):
            continue
        if any(_jaccard(full, other) >= SAME_CASES
               or (w == wanted and (_covered(full, other) or _covered(other, full)))
               for w, _, other, _ in kept):
            continue
        kept.append((wanted, conds, full, score))
        if len(kept) >= max_suggestions:
            break
    suggestions = [_suggestion(ruleset, frame, wanted, conds, score, truth, columns, search, held, existing, groups)
                   for wanted, conds, _, score in kept]
    return Suggestions(_unique_names(suggestions), searched=n, search_cases=int(search.sum()))


class Suggestions(list):
    """The suggestions, best first (a list), and how many cases the search looked at: ``searched`` of the
    ``search_cases`` not held out; fewer when there were more than MAX_SEARCH_CASES (a random sample, reproducible).
    The figures of each suggestion always use all the cases."""

    def __init__(self, items=(), *, searched: int = 0, search_cases: int = 0):
        super().__init__(items)
        self.searched = searched
        self.search_cases = search_cases


def _unique_names(suggestions: list[Suggestion]) -> list[Suggestion]:
    """Number repeated names ("... (2)") so that two suggestions can both be saved."""
    seen: dict[str, int] = {}
    for s in suggestions:
        name = s.rule["name"]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            new = f"{name} ({seen[name]})"
            s.text = s.text.replace(f'rule "{name}"', f'rule "{new}"', 1)
            s.rule = {**s.rule, "name": new}
    return suggestions


def _covered(mask: np.ndarray, by: np.ndarray) -> bool:
    fired = np.count_nonzero(mask)
    return fired > 0 and np.count_nonzero(mask & by) >= COVERED * fired


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def _suggestion(ruleset, frame, wanted, conds, score, truth, columns, search, held, existing,
                groups) -> Suggestion:
    syntax = _rule_syntax(conds, ruleset.outcome.name, wanted)
    compiled = compile_rule(format_syntax(syntax), ruleset.vocabulary, ruleset.settings)
    fires = VectorizedRules([(compiled.id, compiled.logic)]).evaluate(frame)[0]
    right = truth == wanted
    n = int(search.sum())
    support, hits = int((fires & search).sum()), int((fires & search & right).sum())
    held_support, held_hits = int((fires & held).sum()), int((fires & held & right).sum())
    each = [_test(c, columns) for c in conds]
    failing = len(each) - np.sum(each, axis=0)
    near = search & right & (failing == 1)
    by_condition = [int((near & ~m).sum()) for m in each]
    overlaps = []
    for rule, other in existing:
        shared = int((fires & other).sum())
        if shared:
            overlaps.append({"rule": rule.id, "name": rule.name,
                             "label": rule.conclusion.label if rule.conclusion else None,
                             "shared": shared, "share": shared / int(fires.sum())})
    overlaps.sort(key=lambda o: -o["shared"])
    subgroups = None
    if groups is not None:
        subgroups = {}
        for g in sorted(pd.unique(groups), key=str):
            rows = groups == g
            g_support, g_hits = int((fires & rows).sum()), int((fires & rows & right).sum())
            subgroups[str(g)] = {"cases": int(rows.sum()), "support": g_support,
                                 "coverage": g_support / int(rows.sum()),
                                 "precision": g_hits / g_support if g_support else None,
                                 "interval": wilson_interval(g_hits, g_support)}
    positives = int((search & right).sum())
    return Suggestion(
        text=compiled.text, label=wanted, rule=rule_to_json(compiled.syntax),
        precision=hits / support if support else 0.0, coverage=support / n if n else 0.0, support=support,
        recall=hits / positives if positives else 0.0,
        heldout_precision=held_hits / held_support if held_support else None, heldout_support=held_support,
        heldout_interval=wilson_interval(held_hits, held_support), near_misses=int(near.sum()),
        near_misses_by_condition=by_condition, overlaps=overlaps, subgroups=subgroups, score=score)
