"""What changed between two versions of a rule set: a summary, rules added / removed / changed (and within a
changed rule, which conditions and which parts), the vocabulary and settings, words to highlight, the text diff."""
from __future__ import annotations

import difflib
import re

from rules_dsl import CompiledRule, RuleSet
from rules_dsl.formatter import format_conclusion, format_condition
from rules_dsl.syntax import AllOf, AnyOf

from .errors import NotFound
from .workspace import Workspace


def _maybe(ws: Workspace, ruleset: str, version: str) -> RuleSet | None:
    try:
        return ws.ruleset(ruleset, version)
    except NotFound:
        return None


def top_conditions(rule: CompiledRule) -> list[str]:
    condition = rule.syntax.condition
    items = condition.items if isinstance(condition, (AllOf, AnyOf)) else (condition,)
    return [format_condition(i, nested=True) for i in items]


def word_diff(old: str, new: str) -> dict:
    """Both texts as [op, text] segments ('equal', 'delete' / 'insert'), words kept with their spacing."""
    a, b = re.findall(r"\s+|[^\s]+", old), re.findall(r"\s+|[^\s]+", new)
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(["equal", "".join(a[i1:i2])])
            right.append(["equal", "".join(b[j1:j2])])
        else:
            if i2 > i1:
                left.append(["delete", "".join(a[i1:i2])])
            if j2 > j1:
                right.append(["insert", "".join(b[j1:j2])])
    return {"from": left, "to": right}


def rule_changes(old: CompiledRule, new: CompiledRule) -> dict:
    before, after = top_conditions(old), top_conditions(new)
    parts = []
    if old.name != new.name:
        parts.append("name")
    if old.priority != new.priority:
        parts.append("priority")
    if old.enabled != new.enabled:
        parts.append("enabled")
    if before != after or type(old.syntax.condition) is not type(new.syntax.condition):
        parts.append("conditions")
    if old.conclusion != new.conclusion:
        parts.append("conclusion")
    if old.syntax.because != new.syntax.because:
        parts.append("because")
    return {
        "parts": parts,
        "conditions_added": [c for c in after if c not in before],
        "conditions_removed": [c for c in before if c not in after],
        "conclusion_from": format_conclusion(old.conclusion) if old.conclusion else None,
        "conclusion_to": format_conclusion(new.conclusion) if new.conclusion else None,
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def diff(ws: Workspace, ruleset: str, a: str, b: str) -> dict:
    old, new = _maybe(ws, ruleset, a), _maybe(ws, ruleset, b)
    if old is None and new is None:
        raise NotFound(f"There is no rule set '{ruleset}' in either version.")
    old_rules = {r.id: r for r in (old.rules if old else [])}
    new_rules = {r.id: r for r in (new.rules if new else [])}
    rules = []
    for rule_id in sorted(set(old_rules) | set(new_rules)):
        o, n = old_rules.get(rule_id), new_rules.get(rule_id)
        if o is not None and n is not None and o.text == n.text:
            continue
        entry = {"id": rule_id, "status": "added" if o is None else "removed" if n is None else "changed",
                 "name_from": o.name if o else None, "name_to": n.name if n else None,
                 "text_from": o.text if o else None, "text_to": n.text if n else None,
                 "words": word_diff(o.text if o else "", n.text if n else "")}
        if o is not None and n is not None:
            entry.update(rule_changes(o, n))
        rules.append(entry)
    counts = {s: sum(1 for r in rules if r["status"] == s) for s in ("changed", "added", "removed")}
    vocabulary = _vocabulary_changes(old, new)
    settings_changed = (old.settings != new.settings) if old and new else False
    parts = [_plural(counts["changed"], "rule") + " changed" if counts["changed"] else "",
             f"{counts['added']} added" if counts["added"] else "",
             f"{counts['removed']} removed" if counts["removed"] else "",
             "vocabulary changed" if vocabulary["changed"] else "",
             "settings changed" if settings_changed else ""]
    summary = ", ".join(p for p in parts if p) or "No changes"
    if parts[1] and not parts[0]:
        summary = summary.replace(f"{counts['added']} added", _plural(counts["added"], "rule") + " added", 1)
    elif parts[2] and not parts[0] and not parts[1]:
        summary = summary.replace(f"{counts['removed']} removed", _plural(counts["removed"], "rule") + " removed", 1)
    return {"from": a, "to": b, "summary": summary, "counts": counts, "rules": rules, "vocabulary": vocabulary,
            "settings_changed": settings_changed, "text": ws.store.diff(a, b, ruleset)}


def _vocabulary_changes(old: RuleSet | None, new: RuleSet | None) -> dict:
    before = {f.name: f for f in (old.vocabulary.features if old else ())}
    after = {f.name: f for f in (new.vocabulary.features if new else ())}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    return {"changed": bool(added or removed or changed), "added": added, "removed": removed, "modified": changed}
