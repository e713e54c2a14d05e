"""How good are the rules, for whom, and what did a change do: labelling-function analysis on labelled data.

In the spirit of Snorkel's LF analysis, for rules written by people:

- ``analyze(ruleset, data, label_column)``: per rule, coverage (share of rows it fires on), overlaps (share of rows
  where it fires together with another rule that has a conclusion), conflicts (share of rows where it fires
  together with a rule concluding a different label), precision (share of its firing rows whose true label is its
  conclusion: called precision, not accuracy, because it says nothing of the rows where the rule is silent) and
  its firing count per true label. For the whole rule set: accuracy, coverage and a majority-class baseline.
- ``by_subgroup(..., group_column)``: the same figures per group (sex, age band; bin numbers before), with the
  largest gaps between groups flagged.
- ``impact(old, new, data)``: between two versions, which rows change prediction, the old -> new label table,
  the rule changes that caused each change, which rule decided before and after; by subgroup too.

Results hold DataFrames (NaN where a figure is not defined, e.g. the precision of a rule that never fires) and
have ``to_dict()``, JSON-ready (plain numbers and text, None where not defined), for the API and the editor.

Layer rule: NumPy and pandas only; no scikit-learn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError
from .policy import decide, decide_frame
from .ruleset import RuleSet

__all__ = ["analyze", "by_subgroup", "impact", "wilson_interval", "RuleSetAnalysis", "SubgroupAnalysis", "Impact",
           "ABSTAIN", "SEVERAL"]

ABSTAIN = "(abstain)"      # how an abstention appears in label tables
SEVERAL = "(several)"      # in Impact.summary["caused_by"]: answers that changed for more than one reason
MISSING_GROUP = "(missing)"


# ---- shared helpers -------------------------------------------------------------------------------------------
def _json(value: Any) -> Any:
    """Plain Python for JSON: numpy scalars unwrapped, NaN -> None, containers converted all the way down."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def wilson_interval(successes: int, cases: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a share ``successes / cases`` (95% with the default ``z``); None without cases.

    Unlike "share +- 2 standard errors" it stays within 0..1 and is not zero-width at 0% or 100%: 0 of 10 gives
    0% to 28%, 12 of 15 gives 55% to 93%, so a gap between two small groups reads as the uncertain thing it is.
    """
    if not cases:
        return None
    share, z2 = successes / cases, z * z
    centre = (share + z2 / (2 * cases)) / (1 + z2 / cases)
    half = z * math.sqrt(share * (1 - share) / cases + z2 / (4 * cases * cases)) / (1 + z2 / cases)
    return max(0.0, centre - half), min(1.0, centre + half)


def _records(frame: pd.DataFrame, index_name: str) -> list[dict]:
    return [_json({index_name: index, **row}) for index, row in zip(frame.index, frame.to_dict("records"))]


def _ratio(numerator, denominator):
    return float(numerator) / float(denominator) if denominator else None


def _label_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _truth(data: pd.DataFrame, label_column: str) -> np.ndarray:
    if label_column not in data.columns:
        raise DataError(f"The data has no label column '{label_column}'.", column=label_column)
    labels = data[label_column]
    missing = int(labels.isna().sum())
    if missing:
        raise DataError(f"The label column '{label_column}' is empty in {missing} of {len(labels)} rows; drop those "
                        "rows or label them.", column=label_column)
    return np.array([_label_text(v) for v in labels], dtype=object)


def _groups(data: pd.DataFrame, group_column: str) -> np.ndarray:
    if group_column not in data.columns:
        raise DataError(f"The data has no column '{group_column}' to split by.", column=group_column)
    return np.array([MISSING_GROUP if pd.isna(v) else _label_text(v) for v in data[group_column]], dtype=object)


def _label_order(ruleset: RuleSet, *seen: np.ndarray) -> list[str]:
    order = list(ruleset.outcome.labels)
    for values in seen:
        order.extend(v for v in pd.unique(values) if v not in order)
    return order


def _decided(ruleset: RuleSet, fired: pd.DataFrame) -> np.ndarray:
    """Predicted labels as text, ABSTAIN where the rules abstain."""
    labels = decide_frame(fired, ruleset.voters, ruleset.outcome, ruleset.policy)
    return labels.fillna(ABSTAIN).to_numpy(dtype=object)


# ---- analysis of one version -----------------------------------------------------------------------------------
@dataclass
class RuleSetAnalysis:
    """Figures for one rule set on labelled data.

    ``rules``: one row per enabled rule (index: rule id) with name, label (its conclusion; None for a feature-only
    rule), fires, coverage, overlaps, conflicts, correct, precision. ``fires_by_label``: rules x true labels,
    how often each rule fires on rows of each true label. ``summary``: the whole rule set.
    """

    rules: pd.DataFrame
    fires_by_label: pd.DataFrame
    summary: dict

    def counts(self, figure: str, rule: str | None = None) -> tuple[int, int]:
        """The share behind a figure as (successes, cases): "accuracy" (right of all rows), "accuracy answered"
        (right of the rows answered), "coverage" (answered of all rows); with ``rule``, "rule coverage" (rows it
        fires on of all rows) and "rule precision" (right of the rows it fires on)."""
        s = self.summary
        rows = s["rows"]
        answered = rows - s["predicted_labels"].get(ABSTAIN, 0)
        correct = round((s["accuracy"] or 0) * rows)  # accuracy is correct / rows
        if rule is not None:
            fires = int(self.rules.at[rule, "fires"])
            if figure == "rule coverage":
                return fires, rows
            if figure == "rule precision":
                right = self.rules.at[rule, "correct"]
                if pd.isna(right):
                    raise ValueError(f"The rule '{rule}' has no conclusion, so it has no precision.")
                return int(right), fires
        elif figure == "accuracy":
            return correct, rows
        elif figure == "accuracy answered":
            return correct, answered
        elif figure == "coverage":
            return answered, rows
        raise ValueError(f"No counts for the figure '{figure}'" + (" of a rule" if rule is not None else "") + ".")

    def to_dict(self) -> dict:
        by_label = {rule: _json(row) for rule, row in self.fires_by_label.to_dict("index").items()}
        rules = [r | {"fires_by_label": by_label[r["id"]]} for r in _records(self.rules, "id")]
        return {"summary": _json(self.summary), "rules": rules}


def analyze(ruleset: RuleSet, data: pd.DataFrame, label_column: str) -> RuleSetAnalysis:
    """Per-rule and whole-rule-set figures on ``data`` whose true labels are in ``label_column``."""
    truth = _truth(data, label_column)
    fired = ruleset.matches(data)
    return _analysis(ruleset, fired, _decided(ruleset, fired), truth)


def _analysis(ruleset: RuleSet, fired: pd.DataFrame, decided: np.ndarray, truth: np.ndarray) -> RuleSetAnalysis:
    n = len(truth)
    block = fired.to_numpy()
    conclusion = {r.id: (r.conclusion.label if r.conclusion else None) for r in ruleset.active_rules}
    ids = list(fired.columns)
    voting = np.array([conclusion[i] is not None for i in ids], dtype=bool)
    # How many concluding rules fire on each row, and how many of them conclude each label.
    labels = list(ruleset.outcome.labels)
    per_label = np.zeros((n, len(labels)), dtype=np.int64)
    for j, rule_id in enumerate(ids):
        if conclusion[rule_id] is not None:
            per_label[:, labels.index(conclusion[rule_id])] += block[:, j]
    voters_on_row = per_label.sum(axis=1)
    rows = []
    for j, rule_id in enumerate(ids):
        hit = block[:, j]
        own = conclusion[rule_id]
        others = voters_on_row - (1 if own is not None else 0) * hit  # concluding rules other than this one
        overlap = hit & (others > 0)
        if own is not None:
            disagree = voters_on_row - per_label[:, labels.index(own)]  # concluding a different label
            conflicts = _ratio((hit & (disagree > 0)).sum(), n)
            correct = int((hit & (truth == own)).sum())
            precision = _ratio(correct, hit.sum())
        else:
            conflicts, correct, precision = None, None, None
        rows.append({"id": rule_id, "name": ruleset.rule(rule_id).name, "label": own, "fires": int(hit.sum()),
                     "coverage": _ratio(hit.sum(), n), "overlaps": _ratio(overlap.sum(), n),
                     "conflicts": conflicts, "correct": correct, "precision": precision})
    rules = pd.DataFrame(rows, columns=["id", "name", "label", "fires", "coverage", "overlaps", "conflicts",
                                        "correct", "precision"]).set_index("id")
    order = _label_order(ruleset, truth)
    by_label = pd.DataFrame({label: block[truth == label].sum(axis=0) for label in order}, index=ids, dtype=int)
    by_label.index.name, by_label.columns.name = "rule", "true label"
    return RuleSetAnalysis(rules, by_label, _summary(ruleset, block[:, voting], decided, truth, order))


def _summary(ruleset: RuleSet, voter_block: np.ndarray, decided: np.ndarray, truth: np.ndarray,
             order: list[str]) -> dict:
    n = len(truth)
    answered = decided != ABSTAIN
    correct = decided == truth
    counts = pd.Series(truth).value_counts()
    majority = max(order, key=lambda label: (counts.get(label, 0), -order.index(label))) if n else None
    baseline = _ratio(counts.get(majority, 0), n)
    accuracy = _ratio(correct.sum(), n)
    return {
        "rows": n,
        "true_labels": {label: int(counts.get(label, 0)) for label in order},
        "predicted_labels": {label: int((decided == label).sum()) for label in order + [ABSTAIN]},
        "coverage": _ratio(answered.sum(), n),                            # answered: not abstaining
        "decided_by_rules": _ratio(voter_block.any(axis=1).sum(), n),     # a rule with a conclusion fired
        "accuracy": accuracy,                                            # abstentions count as wrong
        "accuracy_answered": _ratio(correct.sum(), answered.sum()),
        "baseline": {"label": majority, "accuracy": baseline},           # always answer the majority label
        "gain_over_baseline": None if accuracy is None else accuracy - baseline,
    }


# ---- by subgroup -----------------------------------------------------------------------------------------------
@dataclass
class Gap:
    figure: str              # accuracy, coverage (whole rule set); rule coverage, rule precision
    rule: str | None         # None for the whole rule set
    high_group: str
    high: float
    low_group: str
    low: float

    @property
    def gap(self) -> float:
        return self.high - self.low

    def to_dict(self) -> dict:
        return _json({"figure": self.figure, "rule": self.rule, "high_group": self.high_group, "high": self.high,
                      "low_group": self.low_group, "low": self.low, "gap": self.gap})


@dataclass
class SubgroupAnalysis:
    """``analyze`` per group, a table of the whole-rule-set figures per group, and the largest gaps."""

    group_column: str
    groups: pd.DataFrame                       # index: group; rows, share, coverage, accuracy, baseline ...
    by_group: dict[str, RuleSetAnalysis]
    gaps: list[Gap] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"group_column": self.group_column, "groups": _records(self.groups, "group"),
                "by_group": {g: a.to_dict() for g, a in self.by_group.items()},
                "gaps": [g.to_dict() for g in self.gaps]}


GAP_FIGURES = ("accuracy", "coverage", "rule coverage", "rule precision")


def by_subgroup(ruleset: RuleSet, data: pd.DataFrame, label_column: str, group_column: str,
                min_rows: int = 10, top: int = 5, figures=GAP_FIGURES) -> SubgroupAnalysis:
    """The figures of ``analyze`` per value of ``group_column`` (missing values form the group "(missing)").

    Gaps compare groups with at least ``min_rows`` rows (for a rule's precision: at least ``min_rows`` rows on
    which the rule fires), and the ``top`` largest of the ``figures`` asked for are returned, largest first.
    (A rule's coverage differs between groups by design when the groups are cut from a feature the rule reads;
    leave "rule coverage" out of ``figures`` then.)
    """
    unknown = set(figures) - set(GAP_FIGURES)
    if unknown:
        raise ValueError(f"Unknown figures {sorted(unknown)}; choose from {', '.join(GAP_FIGURES)}.")
    truth = _truth(data, label_column)
    groups = _groups(data, group_column)
    fired = ruleset.matches(data)
    decided = _decided(ruleset, fired)
    by_group: dict[str, RuleSetAnalysis] = {}
    table = []
    for group in sorted(pd.unique(groups), key=lambda g: (g == MISSING_GROUP, g)):
        rows = groups == group
        analysis = _analysis(ruleset, fired[rows], decided[rows], truth[rows])
        by_group[group] = analysis
        s = analysis.summary
        table.append({"group": group, "rows": s["rows"], "share": _ratio(s["rows"], len(truth)),
                      "coverage": s["coverage"], "decided_by_rules": s["decided_by_rules"],
                      "accuracy": s["accuracy"], "baseline_accuracy": s["baseline"]["accuracy"]})
    frame = pd.DataFrame(table).set_index("group")
    return SubgroupAnalysis(group_column, frame, by_group, _largest_gaps(by_group, min_rows, top, figures))


def _largest_gaps(by_group: dict[str, RuleSetAnalysis], min_rows: int, top: int, figures) -> list[Gap]:
    big = {g: a for g, a in by_group.items() if a.summary["rows"] >= min_rows}
    gaps: list[Gap] = []

    def add(figure: str, rule: str | None, values: dict[str, float | None]) -> None:
        if figure not in figures:
            return
        values = {g: float(v) for g, v in values.items() if v is not None and not pd.isna(v)}
        if len(values) >= 2:
            high = max(values, key=lambda g: (values[g], g))
            low = min(values, key=lambda g: (values[g], g))
            if values[high] > values[low]:
                gaps.append(Gap(figure, rule, high, values[high], low, values[low]))

    for figure in ("accuracy", "coverage"):
        add(figure, None, {g: a.summary[figure] for g, a in big.items()})
    rule_ids = next(iter(by_group.values())).rules.index if by_group else []
    for rule_id in rule_ids:
        add("rule coverage", rule_id, {g: a.rules.at[rule_id, "coverage"] for g, a in big.items()})
        add("rule precision", rule_id, {g: a.rules.at[rule_id, "precision"] for g, a in big.items()
                                        if a.rules.at[rule_id, "fires"] >= min_rows})
    gaps.sort(key=lambda gap: (-gap.gap, gap.figure, gap.rule or ""))
    return gaps[:top]


# ---- impact of a change ----------------------------------------------------------------------------------------
@dataclass
class Impact:
    """What changing ``old`` into ``new`` does to the predictions on a data set.

    ``rule_changes``: one row per rule added, removed or changed (index: rule id), with how many rows its firing
    differs on, how many answers it alone changed (``predictions_changed``) and how many it changed together
    with other changes (``predictions_shared``). ``changes``: one row per row whose prediction changed (index:
    the data's index), with old and new label, the causes, ``several_causes`` when there is more than one, the
    rules that decided before and after, and with labelled data the true label. ``transitions``: old label x new
    label counts over all rows (abstentions as "(abstain)").

    A changed rule is a cause of a changed answer only when its firing (or its vote) changed on that case and it
    decided the case before or after; "(default)" / "(policy)" name changes of the settings, and when neither a
    rule nor those explain it, "(vocabulary)" or "(settings)". ``summary["caused_by"]`` counts each changed
    answer once, under its only cause or under "(several)": its values add up to ``changed``.
    """

    rows: int
    changed: int
    transitions: pd.DataFrame
    rule_changes: pd.DataFrame
    changes: pd.DataFrame
    summary: dict
    by_group: pd.DataFrame | None = None
    transitions_by_group: dict[str, pd.DataFrame] | None = None

    def to_dict(self, max_rows: int = 1000) -> dict:
        """JSON-ready; at most ``max_rows`` changed rows are listed (``changes_truncated`` says how many not)."""
        cells = [{"old": old, "new": new, "rows": int(count), "changed": old != new}
                 for old, row in self.transitions.iterrows() for new, count in row.items() if count]
        changes = self.changes.head(max_rows)
        out = {"rows": self.rows, "changed": self.changed, "summary": _json(self.summary), "transitions": cells,
               "rule_changes": _records(self.rule_changes, "id"), "changes": _records(changes, "row"),
               "changes_truncated": max(0, len(self.changes) - max_rows)}
        if self.by_group is not None:
            out["by_group"] = _records(self.by_group, "group")
            out["transitions_by_group"] = {
                g: [{"old": o, "new": nw, "rows": int(c)} for o, r in t.iterrows() for nw, c in r.items() if c]
                for g, t in self.transitions_by_group.items()}
        return out


def impact(old: RuleSet, new: RuleSet, data: pd.DataFrame, label_column: str | None = None,
           group_column: str | None = None) -> Impact:
    """Compare two versions of a rule set on ``data`` (which needs the columns both versions read)."""
    truth = _truth(data, label_column) if label_column else None
    groups = _groups(data, group_column) if group_column else None
    old_fired, new_fired = old.matches(data), new.matches(data)
    before, after = _decided(old, old_fired), _decided(new, new_fired)
    changed = before != after
    order = _label_order(old, np.array(new.outcome.labels, dtype=object), truth if truth is not None else before,
                         before, after)
    order = [label for label in order if label != ABSTAIN] + [ABSTAIN]
    transitions = _transitions(before, after, order)

    rule_changes, differs, vote_changed = _rule_changes(old, new, old_fired, new_fired)
    settings_causes = _settings_causes(old, new)
    vocabulary_changed = old.vocabulary != new.vocabulary
    positions = np.flatnonzero(changed)
    # per rule change: [answers it alone changed, answers it changed together with other changes]
    records, involvement = [], {rule_id: [0, 0] for rule_id in rule_changes.index}
    caused_by: dict[str, int] = {}
    old_block, new_block = old_fired.to_numpy(), new_fired.to_numpy()
    old_columns, new_columns = np.array(old_fired.columns), np.array(new_fired.columns)
    for i in positions:
        old_ids, new_ids = list(old_columns[old_block[i]]), list(new_columns[new_block[i]])
        d_old = decide(old_ids, old.voters, old.outcome, old.policy)
        d_new = decide(new_ids, new.voters, new.outcome, new.policy)
        # A rule change caused this answer only if the rule's firing (or its vote) changed on this case AND its
        # conclusion decided the case before or after: a rule without a conclusion, or one outvoted both times,
        # changed nothing here whatever its firing did.
        deciding = set(d_old.deciding) | set(d_new.deciding)
        causes = [rule_id for rule_id in rule_changes.index if rule_id in deciding and (
                  differs[rule_id][i] or (vote_changed[rule_id] and (rule_id in old_ids or rule_id in new_ids)))]
        if "(default)" in settings_causes and (not d_old.deciding or not d_new.deciding):
            causes.append("(default)")
        if "(policy)" in settings_causes and (d_old.deciding or d_new.deciding):
            causes.append("(policy)")
        if not causes:  # same rules, same votes: what the rules read changed (the vocabulary) or other settings
            causes.append("(vocabulary)" if vocabulary_changed else "(settings)")
        key = causes[0] if len(causes) == 1 else SEVERAL
        caused_by[key] = caused_by.get(key, 0) + 1
        for cause in causes:
            if cause in involvement:
                involvement[cause][0 if len(causes) == 1 else 1] += 1
        record = {"row": data.index[i], "old": before[i], "new": after[i], "causes": causes,
                  "several_causes": len(causes) > 1,
                  "decided_before": list(d_old.deciding), "decided_after": list(d_new.deciding)}
        if truth is not None:
            record["true_label"] = truth[i]
        if groups is not None:
            record["group"] = groups[i]
        records.append(record)
    columns = ["row", "old", "new", "causes", "several_causes", "decided_before", "decided_after"]
    columns += (["true_label"] if truth is not None else []) + (["group"] if groups is not None else [])
    changes = pd.DataFrame(records, columns=columns).set_index("row")
    rule_changes["predictions_changed"] = pd.Series({r: n[0] for r, n in involvement.items()}, dtype=int)
    rule_changes["predictions_shared"] = pd.Series({r: n[1] for r, n in involvement.items()}, dtype=int)

    summary = {"rows": len(data), "changed": int(changed.sum()), "share_changed": _ratio(changed.sum(), len(data)),
               "old_version": old.release or old.version, "new_version": new.release or new.version,
               # every changed answer counted once: under its one cause, or under SEVERAL (sums to "changed")
               "caused_by": dict(sorted(caused_by.items(), key=lambda item: (item[0] == SEVERAL, item[0])))}
    if truth is not None:
        summary |= _fixed_and_broken(before, after, truth)
    result = Impact(len(data), int(changed.sum()), transitions, rule_changes, changes, summary)
    if groups is not None:
        table, by_group_transitions = [], {}
        for group in sorted(pd.unique(groups), key=lambda g: (g == MISSING_GROUP, g)):
            rows = groups == group
            entry = {"group": group, "rows": int(rows.sum()), "changed": int(changed[rows].sum()),
                     "share_changed": _ratio(changed[rows].sum(), rows.sum())}
            if truth is not None:
                entry |= _fixed_and_broken(before[rows], after[rows], truth[rows])
            table.append(entry)
            by_group_transitions[group] = _transitions(before[rows], after[rows], order)
        result.by_group = pd.DataFrame(table).set_index("group")
        result.transitions_by_group = by_group_transitions
    return result


def _transitions(before: np.ndarray, after: np.ndarray, order: list[str]) -> pd.DataFrame:
    table = pd.crosstab(pd.Categorical(before, categories=order), pd.Categorical(after, categories=order),
                        dropna=False).reindex(index=order, columns=order, fill_value=0)
    table.index.name, table.columns.name = "old", "new"
    return table.astype(int)


def _fixed_and_broken(before: np.ndarray, after: np.ndarray, truth: np.ndarray) -> dict:
    was, now = before == truth, after == truth
    return {"accuracy_old": _ratio(was.sum(), len(truth)), "accuracy_new": _ratio(now.sum(), len(truth)),
            "fixed": int((~was & now).sum()), "broken": int((was & ~now).sum())}


def _rule_changes(old: RuleSet, new: RuleSet, old_fired: pd.DataFrame, new_fired: pd.DataFrame):
    """Rules added, removed or changed (their text, which holds condition, conclusion, priority and the
    disabled flag); per rule whether its firing differs on each row, and whether its vote changed."""
    old_rules, new_rules = {r.id: r for r in old.rules}, {r.id: r for r in new.rules}
    n = len(old_fired)
    rows, differs, vote_changed = [], {}, {}

    def firing(fired: pd.DataFrame, rule_id: str) -> np.ndarray:
        return fired[rule_id].to_numpy() if rule_id in fired.columns else np.zeros(n, dtype=bool)

    def vote(ruleset: RuleSet, rule_id: str):
        return next(((v.label, v.weight, v.priority) for v in ruleset.voters if v.id == rule_id), None)

    for rule_id in sorted(set(old_rules) | set(new_rules)):
        before, after = old_rules.get(rule_id), new_rules.get(rule_id)
        if before is not None and after is not None and before.text == after.text:
            continue
        kind = "added" if before is None else "removed" if after is None else "changed"
        differs[rule_id] = firing(old_fired, rule_id) != firing(new_fired, rule_id)
        vote_changed[rule_id] = vote(old, rule_id) != vote(new, rule_id)
        rows.append({"id": rule_id, "kind": kind, "name": (after or before).name,
                     "old_text": before.text if before else None, "new_text": after.text if after else None,
                     "firing_differs": int(differs[rule_id].sum())})
    frame = pd.DataFrame(rows, columns=["id", "kind", "name", "old_text", "new_text", "firing_differs"])
    return frame.set_index("id"), differs, vote_changed


def _settings_causes(old: RuleSet, new: RuleSet) -> set[str]:
    causes = set()
    if old.policy.default != new.policy.default:
        causes.add("(default)")
    if old.policy.kind != new.policy.kind:
        causes.add("(policy)")
    return causes
