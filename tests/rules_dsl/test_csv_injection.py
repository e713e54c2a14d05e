"""CSV injection (red team, round 3): values drafted from someone's CSV file (rules_dsl/draft.py keeps them as
the file writes them) can start with "=", "+", "-" or "@". ``rulecraft export --format csv`` writes the rules table
for people to open in a spreadsheet, which would run such a cell as a formula; the cell is written as text and
``import rules.csv`` reads it back unchanged."""
from __future__ import annotations

import csv
import io

from rules_dsl import decision_table as dt
from rules_dsl.ruleset import RuleSet, compile_rule
from rules_dsl.vocabulary import Settings, Vocabulary

HOSTILE = "=cmd|' /C calc'!A0"


def hostile_ruleset() -> RuleSet:
    vocabulary = Vocabulary.from_dict({"features": [
        {"name": "origin", "type": "category", "values": [HOSTILE, "@SUM(1+1)", "-z", "plain"]},
        {"name": "dose", "type": "number"}]})
    settings = Settings.from_dict({"title": "Hostile", "outcome": {"name": "risk", "labels": ["low", "+high"]},
                                   "policy": "first match", "default": "abstain"})
    texts = [f'rule "=HYPERLINK(""http://evil.example"",""see"")" when origin is "{HOSTILE}" and dose is above -5 '
             'then risk is "+high" because "@SUM(A1:A9)"',
             'rule "Plain" when origin is one of "@SUM(1+1)", "-z" then risk is "low" because "-- see notes"']
    rules = [compile_rule(t.replace('""', '\\"'), vocabulary, settings, f"r{i}") for i, t in enumerate(texts)]
    return RuleSet(settings, vocabulary, rules)


def test_no_cell_of_the_exported_csv_is_a_formula():
    text = dt.to_csv(hostile_ruleset())
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert any(HOSTILE in cell for cell in cells)
    risky = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not c[1:].isdigit())]
    assert risky == []


def test_the_exported_csv_reads_back_as_the_same_rules():
    rs = hostile_ruleset()
    back = dt.rules_from_csv(dt.to_csv(rs), rs.vocabulary, rs.settings)
    assert [(r.id, r.text) for r in back] == [(r.id, r.text) for r in rs.rules]
