"""Ids that look fine but are not (red team, round 3): names Windows keeps for devices, the editor's "new", and
table rows whose id cell is wrong or taken. Each is refused at the cell the person typed, or stepped around."""
from __future__ import annotations

import pytest

import rules_dsl
from rules_dsl import decision_table as dt
from rules_dsl.demo import demo_path
from rules_dsl.errors import RuleError
from rules_dsl.layout import RULE_ID
from rules_dsl.ruleset import slugify

DEVICE_NAMES = ["con", "prn", "aux", "nul", "com1", "com9", "lpt1", "lpt9"]


@pytest.mark.parametrize("name", DEVICE_NAMES)
def test_device_names_are_no_ids_but_longer_names_are(name):
    assert not RULE_ID.fullmatch(name)
    assert RULE_ID.fullmatch(f"{name}-2") and RULE_ID.fullmatch(f"{name}x") and RULE_ID.fullmatch(f"x{name}")


@pytest.mark.parametrize(("name", "slug"), [("Con", "con-2"), ("AUX", "aux-2"), ("COM1", "com1-2"), ("New", "new-2"),
                                            ("Newborn", "newborn"), ("Console", "console")])
def test_an_id_derived_from_a_name_steps_around_device_names_and_new(name, slug):
    assert slugify(name) == slug
    assert slugify(name, taken=[slug]) != slug


def _table_with_new_row(rule_id: str):
    rs = rules_dsl.load(demo_path())
    rows = dt.table(rs).as_rows()
    header = rows[0]
    new = [""] * len(header)
    new[header.index("id")] = rule_id
    new[header.index("rule")] = "Added row"
    new[header.index("other conditions")] = "mean area is above 900"
    new[header.index("conclusion")] = rs.settings.outcome.labels[0]
    return rs, rows + [new]


@pytest.mark.parametrize("rule_id", ["con", "../x", "A B", "x" * 70, "=cmd|' /C calc'!A0"])
def test_a_bad_id_in_a_table_row_is_refused_at_its_cell(rule_id):
    rs, rows = _table_with_new_row(rule_id)
    with pytest.raises(RuleError) as e:
        dt.rules_from_rows(rows, rs.vocabulary, rs.settings, sheet="Table")
    (problem,) = e.value.problems
    assert problem.code == "bad-id" and problem.file == f"Table!A{len(rows)}"
    assert "cannot be a rule's id" in problem.message and "empty the cell" in problem.message


def test_a_taken_id_is_reported_at_the_row_that_repeats_it():
    rs, rows = _table_with_new_row("")
    rows[-1][0] = rows[1][0]
    with pytest.raises(RuleError) as e:
        dt.rules_from_rows(rows, rs.vocabulary, rs.settings, sheet="Table")
    (problem,) = e.value.problems
    assert problem.code == "duplicate-id" and problem.file == f"Table!A{len(rows)}"
    assert "also the id of row 2" in problem.message


@pytest.mark.parametrize("label", ["a\u200bb", "\u202ebenign", "x" * 201])
def test_a_draft_refuses_an_outcome_label_the_rule_set_would_refuse(label):
    """It was drafted, and creating the rule set from the draft then failed on a label the person never typed."""
    from rules_dsl.draft import draft_vocabulary
    from rules_dsl.errors import DataError

    with pytest.raises(DataError) as e:
        draft_vocabulary(["age", "dx"], [["1", label], ["2", "malignant"]], "dx")
    assert "cannot be a label" in e.value.message and e.value.column == "dx"


def test_a_folder_with_a_rule_file_named_like_a_device_says_why_it_is_no_id(sepsis_copy):
    """The store (and Windows) refuse rules/con.rule: the folder is refused where it is read, saying why."""
    (sepsis_copy / "rules" / "con.rule").write_text('rule "Fever" when temperature is above 38\n', encoding="utf-8")
    with pytest.raises(RuleError) as e:
        rules_dsl.load(sepsis_copy)
    (problem,) = e.value.problems
    assert (problem.code, problem.file) == ("bad-file-name", "rules/con.rule")
    assert "Windows keeps for a device" in problem.message
