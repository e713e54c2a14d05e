"""Check a rule without saving it, and try it on concrete cases.

People judge concrete cases better than abstract conditions, so besides errors and warnings the author sees how
many example and reference cases the rule matches, a few of them, and a few near misses: cases where every
condition but one holds (with the one that failed), which is where a threshold is usually argued about.
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from rules_dsl import CompiledRule, DataError, RuleError, RuleSet, check, format_syntax, rule_to_json, slugify
from rules_dsl import logic as L
from rules_dsl.backends.row import compile_rules
from rules_dsl.backends.vectorized import VectorizedRules, check_columns
from rules_dsl.formatter import format_condition
from rules_dsl.structured import draft_from_json
from rules_dsl.syntax import AllOf
from rules_dsl.verify import verify_rule

from .predicting import data_warnings, decision_json, validate_case

SHOWN = 8
log = logging.getLogger(__name__)


def check_rule(ruleset: RuleSet, syntax) -> dict:
    """Errors, warnings, the canonical text and the structured form of a rule against a rule set."""
    checked = check(syntax, ruleset.vocabulary, ruleset.outcome)
    text = format_syntax(checked.rule)
    return {
        "valid": not checked.errors,
        "errors": [p.to_dict() for p in checked.errors],
        "warnings": [p.to_dict() for p in checked.warnings],
        "text": text,
        "sentence": text,
        "structured": rule_to_json(checked.rule),
        "checked": checked,
    }


def draft_findings(ruleset: RuleSet, checked, rule_id: str | None) -> list[dict] | None:
    """The logic check's findings about a draft rule (rules_dsl/verify.py): None when it has errors. ``rule_id``:
    the rule being edited, which the draft replaces; a new rule gets an id from its name."""
    if checked.logic is None:
        return None
    if not isinstance(rule_id, str) or not rule_id:
        rule_id = slugify(checked.rule.name, [r.id for r in ruleset.rules])
    draft = CompiledRule(rule_id, checked.rule, checked.logic, "")
    try:
        found = verify_rule(ruleset, draft)
    except Exception as e:  # noqa: BLE001 - a finding is advice: it must never break the check while one types
        log.warning("findings for a draft rule failed: %r", e)
        return []
    return [f.to_dict() for f in found]


def read_form(ruleset: RuleSet, data):
    """The form's structured rule -> (syntax, None) when it is complete and readable; otherwise (None, the answer
    of a failed check) with *every* problem: the blank fields (code "blank": still to fill in) among the checker's
    findings on all the rest (a wrong unit, a confidence of 1.5, an unknown feature, a value out of range), in the
    order of the form, and the draft's sentence with "…" for the blanks (issue 15, item 2: a blank field hid the
    other problems and left the sentence stale)."""
    draft, problems = draft_from_json(data)
    if not problems:
        return draft, None
    sentence = None
    if draft is not None:
        checked = check(draft, ruleset.vocabulary, ruleset.outcome)
        problems = problems + checked.problems
        sentence = format_syntax(checked.rule)
    problems = sorted(problems, key=lambda p: _form_order(p.field))
    return None, {"valid": False, "errors": [p.to_dict() for p in problems if p.is_error],
                  "warnings": [p.to_dict() for p in problems if not p.is_error], "text": None,
                  "sentence": sentence, "structured": None}


_SECTIONS = {"name": 0, "when": 1, "then": 2, "priority": 3, "enabled": 4, "because": 5}


def _form_order(field: str | None) -> tuple:
    """A problem's place in the form: name, conditions (in order, at any depth), conclusion, priority, because."""
    parts = re.findall(r"\[(\d+)\]|([^.[\]]+)", field or "")
    if not parts:
        return (len(_SECTIONS), ())
    first = parts[0][1]
    return (_SECTIONS.get(first, len(_SECTIONS)),
            tuple((0, int(index), "") if index else (1, 0, word) for index, word in parts[1:]))


def try_on(checked, frame: pd.DataFrame, label_column: str | None, id_column: str | None = None,
           carry: Iterable[str] = ()) -> dict:
    """How a checked rule does on a table of cases: matches, and near misses with the condition that failed.

    Each row shown holds the values of the columns shown ("values") and, under "case", the row's other known
    values among the columns ``carry`` names (the vocabulary's features), so "Keep this case as a test" keeps the
    whole case, not only what the rule reads."""
    if checked.logic is None or frame is None or len(frame) == 0:
        return {"total": 0 if frame is None else len(frame), "matched": 0, "matches": [], "near_misses": []}
    rule = checked.rule
    parts = list(rule.condition.items) if isinstance(rule.condition, AllOf) else [rule.condition]
    logics = list(checked.logic.items) if isinstance(checked.logic, L.All) else [checked.logic]
    pairs = [(f"part{i}", logic) for i, logic in enumerate(logics)]
    try:
        check_columns(frame.columns, pairs)
        block = VectorizedRules(pairs).evaluate(frame)
    except DataError as e:  # the cases lack a column the rule needs, or hold a value it cannot read (inf, yes/no)
        return {"total": len(frame), "matched": None, "error": str(e), "matches": [], "near_misses": []}
    holds = block.sum(axis=0)
    fires = holds == len(pairs)
    near = holds == len(pairs) - 1 if len(pairs) > 1 else np.zeros(len(frame), dtype=bool)
    columns = [c for c in dict.fromkeys([t.column for t in L.tests(checked.logic)]) if c in frame.columns]
    shown = ([id_column] if id_column and id_column in frame.columns else []) + columns
    if label_column and label_column in frame.columns:
        shown.append(label_column)
    others_columns = [c for c in dict.fromkeys(carry) if c in frame.columns and c not in shown]

    def rows(mask, with_miss: bool) -> list[dict]:
        out = []
        picked = np.flatnonzero(mask)[:SHOWN]
        # Column by column over the few rows shown (a cell at a time costs ~0.1 ms per column on a wide table).
        cells = {c: [plain_value(v) for v in frame[c].to_numpy()[picked]] for c in [*shown, *others_columns]}
        for k, index in enumerate(picked):
            row = {"row": int(index), "values": {c: cells[c][k] for c in shown},
                   "case": {c: cells[c][k] for c in others_columns if cells[c][k] is not None}}
            if with_miss:
                failed = [format_condition(parts[i], nested=True) for i in range(len(pairs)) if not block[i, index]]
                row["missed"] = failed[0] if failed else None
            out.append(row)
        return out

    result = {"total": len(frame), "matched": int(fires.sum()), "near_miss_count": int(near.sum()),
              "columns": shown, "matches": rows(fires, False), "near_misses": rows(near, True)}
    if label_column and label_column in frame.columns and rule.conclusion is not None and fires.any():
        truth = frame[label_column].astype(str).to_numpy()
        result["precision"] = float((truth[fires] == rule.conclusion.label).mean())
        result["label"] = rule.conclusion.label
    return result


def plain_value(value):
    """A table's value as JSON can hold it: NumPy numbers as Python ones, NaN and NA as None, others as text."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is None or value is pd.NA:
        return None
    return value if isinstance(value, (str, int, bool)) else str(value)


def parse_or_problems(parse):
    """Run a parse; a RuleError becomes the same answer shape as a failed check."""
    try:
        return parse(), None
    except RuleError as e:
        return None, {"valid": False, "errors": [p.to_dict() for p in e.errors],
                      "warnings": [p.to_dict() for p in e.problems if not p.is_error], "text": None,
                      "sentence": None, "structured": None}


def try_case(ruleset: RuleSet, checked, rule_id: str | None, case) -> dict:
    """A draft rule on one typed case: each top-level condition true, false or unknown (Kleene, DESIGN.md), the
    rule as a whole, and what the whole rule set (with the draft in place of ``rule_id``, or added) would answer.

    ``case``: feature names or synonyms -> values, as ``POST /api/rulesets/<id>/predict`` reads one. A value that
    cannot be read as its feature's type is refused (Invalid naming ``case.<key>``)."""
    vocabulary = ruleset.vocabulary
    draft = None
    if checked is not None and checked.logic is not None:
        rule_id = rule_id or slugify(checked.rule.name, [r.id for r in ruleset.rules])  # in use or not
        draft = CompiledRule(rule_id, checked.rule, checked.logic, format_syntax(checked.rule))
    deciding_set, note = ruleset, None
    if draft is not None:
        try:
            deciding_set = ruleset.with_rule(draft)
        except RuleError as e:
            note = f"The rule set answers without this draft: {e.problems[0].message}"
    else:
        note = "The rule set answers without this draft until its mistakes are fixed."
    row, missing, ignored = validate_case(deciding_set, case, "case")
    conditions, whole = None, None
    if draft is not None:
        parts = list(draft.syntax.condition.items) if isinstance(draft.syntax.condition, AllOf) \
            else [draft.syntax.condition]
        logics = list(draft.logic.items) if isinstance(draft.logic, L.All) else [draft.logic]
        pairs = [("whole:t", draft.logic), ("whole:f", L.Not(draft.logic))]
        for i, logic in enumerate(logics):
            pairs += [(f"{i}:t", logic), (f"{i}:f", L.Not(logic))]
        columns = list(dict.fromkeys(t.column for _, logic in pairs for t in L.tests(logic)))
        fired = set(compile_rules(pairs, vocabulary)({c: row.get(c) for c in columns}))
        by_column = vocabulary.by_column()

        def truth(key: str) -> str:
            return "true" if f"{key}:t" in fired else "false" if f"{key}:f" in fired else "unknown"

        conditions = []
        for i, (part, logic) in enumerate(zip(parts, logics)):
            names = list(dict.fromkeys(by_column[t.column].name for t in L.tests(logic)))
            conditions.append({"text": format_condition(part, nested=True), "result": truth(str(i)),
                               "features": names,
                               "missing": [n for n in names if row.get(vocabulary.lookup(n).column) is None]})
        whole = {"id": draft.id, "name": draft.name, "result": truth("whole"), "enabled": draft.enabled,
                 "fires": truth("whole") == "true" and draft.enabled}
    decision = decision_json(deciding_set, row, missing, ignored)
    names = {r.id: r.name for r in deciding_set.rules}
    decision["deciding_rules"] = [{"id": i, "name": names[i]} for i in decision["deciding"]]
    for i in decision["deciding"]:  # an author knows a rule by its name, not by the id in its address
        decision["reason"] = decision["reason"].replace(f"'{i}'", f"“{names[i]}”")
    return {"rule": whole, "conditions": conditions, "decision": decision, "note": note,
            "warnings": data_warnings(deciding_set, [row], absent=False)}
