"""Rules suggested from a registered reference data set, the threshold explorer and "improve this rule" (issue 18).

The orchestration behind POST /api/rulesets/{id}/suggestions, /explore and /improve: which data set (the one asked
for, else the rule set's first), which version, the options checked, the library's answer (rules_dsl.suggest,
rules_dsl.explore) as JSON. Nothing is saved here: a suggestion reaches the rule set only when a person saves it
with a why, through the ordinary save.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from rules_dsl import DataError, RuleSet
from rules_dsl.explore import NotExplorable, explore_threshold, improve_rule
from rules_dsl.suggest import HELD_OUT, suggest_rules

from .analysis import dataset_and_frame, split_by
from .errors import Invalid
from .rules import compile_against, syntax_from_payload
from .workspace import Workspace

MAX_SUGGESTIONS = 50


def _number(options: dict, key: str, default: int, low: int, high: int, what: str) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"\"{key}\" is {what}: a whole number from {low} to {high}.", field=key)
    return value


def _text(options: dict, key: str) -> str | None:
    value = options.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"\"{key}\" must be text.", field=key)
    return value or None


def _reference(ws: Workspace, db: Session, folder: Path, ruleset: str, options: dict):
    version = ws.resolve(ws.check_id(ruleset), _text(options, "version"))
    rs = ws.ruleset(ruleset, version)
    chosen = options.get("dataset")
    dataset, frame = dataset_and_frame(db, folder, ruleset, None if chosen is None else str(chosen))
    if not dataset.label_column:
        raise Invalid(f"The data set '{dataset.name}' has no column with the true outcome, so rules cannot be "
                      "suggested or scored on it.", field="dataset")
    return version, rs, dataset, frame


def _dataset_json(dataset) -> dict:
    return {"id": dataset.id, "name": dataset.name, "rows": dataset.rows, "label_column": dataset.label_column}


def suggestions(ws: Workspace, db: Session, folder: Path, ruleset: str, options: dict) -> dict:
    """Suggested rules as JSON, best first: text, structured form (for the editor's form), figures, near misses,
    overlaps with existing rules, subgroups with ``group``, and the why to prefill when one is saved; how many
    cases the search looked at ("searched", of "search_cases")."""
    version, rs, dataset, frame = _reference(ws, db, folder, ruleset, options)
    most = _number(options, "max", 10, 1, MAX_SUGGESTIONS, "how many suggestions at most")
    conditions = _number(options, "max_conditions", 3, 1, 5, "how many conditions a rule may have")
    split = split_by(frame, _text(options, "group"), _number(options, "bands", 4, 2, 10, "how many bands"))
    try:
        found = suggest_rules(rs, split.frame if split else frame, dataset.label_column,
                              target=_text(options, "target"), group=split.group_column if split else None,
                              max_conditions=conditions, max_suggestions=most)
    except DataError as e:
        raise Invalid(f"The data set does not fit: {e.message}", field=e.column) from None
    # "searched": how many cases the search looked at, of the "search_cases" not held out (a sample above
    # rules_dsl.suggest.MAX_SEARCH_CASES; the suggestions' figures use every case all the same)
    return {"version": version, "dataset": _dataset_json(dataset), "held_out": HELD_OUT,
            "searched": found.searched, "search_cases": found.search_cases,
            "split": None if split is None else {"column": split.column, "bands": split.bands},
            "suggestions": [{**s.to_dict(), "why": _why(s, dataset)} for s in found]}


def _why(suggestion, dataset) -> str:
    held = ("" if suggestion.heldout_precision is None
            else f", {suggestion.heldout_precision:.0%} on cases held out from the search")
    return (f"Started from a rule suggested by the data set '{dataset.name}' (precision "
            f"{suggestion.precision:.0%} on {suggestion.support} cases{held}).")


def _rule(rs: RuleSet, options: dict):
    """The rule to explore or improve: an existing one ("rule_id") or one being written ("text" or "rule")."""
    rule_id = options.get("rule_id")
    if rule_id is not None:
        if not isinstance(rule_id, str) or rule_id not in {r.id for r in rs.rules}:
            raise Invalid(f"There is no rule '{rule_id}' in this rule set.", field="rule_id")
        return rs.rule(rule_id)
    return compile_against(rs, syntax_from_payload({k: v for k, v in options.items() if k in ("text", "rule")}),
                           "draft")


def explore(ws: Workspace, db: Session, folder: Path, ruleset: str, options: dict) -> dict:
    """The rule's precision and coverage as the threshold of its condition ``condition`` moves."""
    version, rs, dataset, frame = _reference(ws, db, folder, ruleset, options)
    rule = _rule(rs, options)
    condition = _number(options, "condition", 0, 0, 100, "the position of the condition (0 for the first)")
    points = _number(options, "points", 100, 2, 1000, "how many thresholds")
    try:
        curve = explore_threshold(rs, rule, frame, dataset.label_column, condition=condition,
                                  target=_text(options, "target"), points=points)
    except NotExplorable as e:
        raise Invalid(e.message, field="condition") from None
    except DataError as e:
        raise Invalid(f"The data set does not fit: {e.message}", field=e.column) from None
    return {"version": version, "dataset": _dataset_json(dataset), "condition": condition, **curve.to_dict()}


def improve(ws: Workspace, db: Session, folder: Path, ruleset: str, options: dict) -> dict:
    """Candidates one step from the rule (drop, move or add one condition) with the cases each gains and loses."""
    version, rs, dataset, frame = _reference(ws, db, folder, ruleset, options)
    rule = _rule(rs, options)
    try:
        changes = improve_rule(rs, rule, frame, dataset.label_column, target=_text(options, "target"))
    except NotExplorable as e:
        raise Invalid(e.message, field="target") from None
    except DataError as e:
        raise Invalid(f"The data set does not fit: {e.message}", field=e.column) from None
    return {"version": version, "dataset": _dataset_json(dataset), "rule": rule.text,
            "changes": [c.to_dict() for c in changes]}
