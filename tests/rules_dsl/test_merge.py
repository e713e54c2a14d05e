"""Three-way merge of structured rules (rules_dsl/merge.py): different parts combine, the same part changed two
ways is a conflict with both values, and every merged rule reads back through structured.py."""
import copy

import pytest
from hypothesis import given, settings

from rules_dsl.merge import merge_rules, resolve
from rules_dsl.structured import rule_from_json, rule_to_json

from .strategies import rules


def cmp(feature, op="above", *values):
    return {"feature": feature, "op": op, "values": list(values or [1])}


RADIUS, POINTS, TEXTURE = cmp("worst radius", "above", 17), cmp("worst concave points", "above", 0.15), \
    cmp("mean texture", "below", 20)
BASE = {"name": "Very large nuclei", "priority": 0, "enabled": True,
        "when": {"all": [RADIUS, POINTS, TEXTURE]},
        "then": {"outcome": "diagnosis", "label": "malignant", "confidence": 0.8}, "because": "Guideline 4.2"}


def changed(**changes):
    rule = copy.deepcopy(BASE)
    for key, value in changes.items():
        if key in ("label", "confidence", "outcome"):
            rule["then"][key] = value
        else:
            rule[key] = value
    return rule


def when(*items, kind="all"):
    return {kind: list(items)}


def test_nothing_changed_on_either_side():
    merged = merge_rules(BASE, BASE, BASE)
    assert merged.rule == BASE and merged.clean and merged.combined == []


@pytest.mark.parametrize("theirs, mine, expected", [
    (changed(name="Large nuclei"), changed(because="Guideline 4.3"),
     changed(name="Large nuclei", because="Guideline 4.3")),
    (changed(priority=2), changed(label="benign"), changed(priority=2, label="benign")),
    (changed(confidence=0.9), changed(label="benign"), changed(confidence=0.9, label="benign")),
    (changed(enabled=False), changed(name="X nuclei"), changed(enabled=False, name="X nuclei")),
    (changed(because=None), changed(priority=1), changed(because=None, priority=1)),
    (changed(name="Same"), changed(name="Same"), changed(name="Same")),
], ids=["name+because", "priority+label", "confidence+label", "enabled+name", "because removed+priority", "same"])
def test_different_fields_combine(theirs, mine, expected):
    merged = merge_rules(BASE, theirs, mine)
    assert merged.clean
    assert merged.rule == expected


def test_neighbouring_conditions_changed_by_each_combine():
    theirs = changed(when=when(cmp("worst radius", "above", 16), POINTS, TEXTURE))
    mine = changed(when=when(RADIUS, cmp("worst concave points", "above", 0.16), TEXTURE))
    merged = merge_rules(BASE, theirs, mine)
    assert merged.clean
    assert merged.rule["when"] == when(cmp("worst radius", "above", 16), cmp("worst concave points", "above", 0.16),
                                       TEXTURE)
    assert {(c.what, c.by) for c in merged.combined} == {("the condition on worst radius", "theirs"),
                                                         ("the condition on worst concave points", "mine")}
    rule_from_json(merged.rule)


def test_the_same_condition_changed_two_ways_is_a_conflict_with_both_values():
    theirs = changed(when=when(RADIUS, cmp("worst concave points", "above", 0.14), TEXTURE), because="Other")
    mine = changed(when=when(RADIUS, cmp("worst concave points", "above", 0.16), TEXTURE))
    merged = merge_rules(BASE, theirs, mine)
    [conflict] = merged.conflicts
    assert conflict.path == "when.all[1]"
    assert conflict.what == "the condition on worst concave points"
    assert conflict.theirs["values"] == [0.14] and conflict.mine["values"] == [0.16]
    assert conflict.base == POINTS
    assert merged.rule["because"] == "Other"      # the rest still combines
    assert resolve(merged, {"when.all[1]": "theirs"})["when"]["all"][1]["values"] == [0.14]
    assert resolve(merged, {})["when"]["all"][1]["values"] == [0.16]


@pytest.mark.parametrize("field, theirs, mine", [
    ("name", "A", "B"), ("priority", 1, 2), ("label", "benign", "uncertain"), ("confidence", 0.7, 0.9),
    ("because", "X", None)])
def test_the_same_field_changed_two_ways_is_a_conflict(field, theirs, mine):
    merged = merge_rules(BASE, changed(**{field: theirs}), changed(**{field: mine}))
    [conflict] = merged.conflicts
    path = f"then.{field}" if field in ("label", "confidence") else field
    assert (conflict.path, conflict.theirs, conflict.mine) == (path, theirs, mine)
    assert resolve(merged, {path: "theirs"}) == changed(**{field: theirs})
    assert resolve(merged, {path: "mine"}) == changed(**{field: mine})


def test_conditions_added_on_both_sides_are_all_kept_in_place():
    size, smooth = cmp("mean area", "above", 900), cmp("mean smoothness", "below", 0.1)
    theirs = changed(when=when(RADIUS, size, POINTS, TEXTURE))
    mine = changed(when=when(RADIUS, POINTS, TEXTURE, smooth))
    merged = merge_rules(BASE, theirs, mine)
    assert merged.clean
    assert merged.rule["when"] == when(RADIUS, size, POINTS, TEXTURE, smooth)


def test_the_same_condition_added_by_both_is_kept_once():
    size = cmp("mean area", "above", 900)
    merged = merge_rules(BASE, changed(when=when(RADIUS, POINTS, TEXTURE, size)),
                         changed(when=when(RADIUS, POINTS, TEXTURE, size)))
    assert merged.clean and merged.rule["when"] == when(RADIUS, POINTS, TEXTURE, size)


def test_a_condition_removed_by_one_and_another_changed_by_the_other():
    theirs = changed(when=when(RADIUS, POINTS))
    mine = changed(when=when(cmp("worst radius", "above", 18), POINTS, TEXTURE))
    merged = merge_rules(BASE, theirs, mine)
    assert merged.clean
    assert merged.rule["when"] == when(cmp("worst radius", "above", 18), POINTS)
    assert ("the condition on mean texture (removed)", "theirs") in {(c.what, c.by) for c in merged.combined}


def test_removed_by_one_and_changed_by_the_other_is_a_conflict_that_keeps_the_change():
    theirs = changed(when=when(RADIUS, POINTS))
    mine = changed(when=when(RADIUS, POINTS, cmp("mean texture", "below", 25)))
    merged = merge_rules(BASE, theirs, mine)
    [conflict] = merged.conflicts
    assert (conflict.path, conflict.theirs, conflict.mine) == ("when.all[2]", None, cmp("mean texture", "below", 25))
    assert resolve(merged, {"when.all[2]": "theirs"})["when"] == when(RADIUS, POINTS)
    assert resolve(merged, {})["when"] == when(RADIUS, POINTS, cmp("mean texture", "below", 25))
    # and the other way round: mine removed it, theirs changed it
    merged = merge_rules(BASE, mine, theirs)
    [conflict] = merged.conflicts
    assert (conflict.theirs, conflict.mine) == (cmp("mean texture", "below", 25), None)
    assert resolve(merged, {})["when"] == when(RADIUS, POINTS)
    assert resolve(merged, {conflict.path: "theirs"})["when"] == when(RADIUS, POINTS, cmp("mean texture", "below", 25))


def test_reordered_conditions_still_merge_by_content():
    theirs = changed(when=when(TEXTURE, RADIUS, POINTS))
    mine = changed(when=when(RADIUS, cmp("worst concave points", "above", 0.2), TEXTURE))
    merged = merge_rules(BASE, theirs, mine)
    assert merged.clean
    assert merged.rule["when"] == when(RADIUS, cmp("worst concave points", "above", 0.2), TEXTURE)


def test_changes_inside_nested_groups_combine():
    group = {"any": [cmp("mean area", "above", 900), cmp("worst area", "above", 1000)]}
    base = changed(when=when(RADIUS, group))
    theirs = changed(when=when(cmp("worst radius", "above", 16), group))
    mine = changed(when=when(RADIUS, {"any": [cmp("mean area", "above", 950), cmp("worst area", "above", 1000)]}))
    merged = merge_rules(base, theirs, mine)
    assert merged.clean
    assert merged.rule["when"] == when(cmp("worst radius", "above", 16),
                                       {"any": [cmp("mean area", "above", 950), cmp("worst area", "above", 1000)]})
    both = changed(when=when(RADIUS, {"any": [cmp("mean area", "above", 800), cmp("worst area", "above", 1000)]}))
    [conflict] = merge_rules(base, both, mine).conflicts
    assert conflict.path == "when.all[1].any[0]"


def test_group_kind_changed_by_one_and_an_item_by_the_other():
    theirs = changed(when=when(RADIUS, POINTS, TEXTURE, kind="any"))
    mine = changed(when=when(RADIUS, POINTS, cmp("mean texture", "below", 21)))
    merged = merge_rules(BASE, theirs, mine)
    assert merged.clean
    assert merged.rule["when"] == when(RADIUS, POINTS, cmp("mean texture", "below", 21), kind="any")


def test_group_kind_changed_two_ways_is_a_conflict_on_the_group():
    theirs = changed(when=when(RADIUS, POINTS, TEXTURE, kind="any"))
    mine = changed(when={"at_least": 2, "of": [RADIUS, POINTS, cmp("mean texture", "below", 21)]})
    merged = merge_rules(BASE, theirs, mine)
    [conflict] = merged.conflicts
    assert conflict.path == "when" and conflict.theirs == theirs["when"] and conflict.mine == mine["when"]


def test_a_single_condition_and_a_condition_added_beside_it():
    base = changed(when=RADIUS)
    theirs = changed(when=cmp("worst radius", "above", 16))
    mine = changed(when=when(RADIUS, POINTS))
    merged = merge_rules(base, theirs, mine)
    assert merged.clean
    assert merged.rule["when"] == when(cmp("worst radius", "above", 16), POINTS)


def test_conclusion_added_and_removed():
    no_then = changed(then=None)
    merged = merge_rules(BASE, no_then, changed(name="Renamed"))
    assert merged.clean and merged.rule["then"] is None and merged.rule["name"] == "Renamed"
    merged = merge_rules(BASE, no_then, changed(label="benign"))
    [conflict] = merged.conflicts
    assert conflict.path == "then" and conflict.theirs is None


def test_a_condition_changed_on_both_sides_the_same_way_is_no_conflict():
    same = changed(when=when(RADIUS, cmp("worst concave points", "above", 0.16), TEXTURE))
    merged = merge_rules(BASE, same, same)
    assert merged.clean and merged.rule == same


def test_to_dict_is_json():
    import json
    merged = merge_rules(BASE, changed(name="A"), changed(name="B"))
    assert json.loads(json.dumps(merged.to_dict()))["conflicts"][0]["path"] == "name"


def test_what_was_combined_names_each_condition_when_only_one_side_changed_the_conditions():
    mine = changed(when=when(RADIUS, cmp("worst concave points", "above", 0.16), TEXTURE))
    merged = merge_rules(BASE, changed(because="Guideline 4.3"), mine)
    assert {(c.what, c.by) for c in merged.combined} == {("the reason (because)", "theirs"),
                                                         ("the condition on worst concave points", "mine")}


def test_a_group_left_with_one_condition_is_that_condition():
    merged = merge_rules(BASE, changed(because="X"), changed(when=RADIUS))
    assert merged.clean and merged.rule["when"] == RADIUS
    rule_from_json(merged.rule)


@settings(max_examples=200, deadline=None)
@given(rules(checked=False), rules(checked=False))
def test_a_change_on_one_side_only_is_taken_as_it_is(base_tree, other_tree):
    base, other = rule_to_json(base_tree), rule_to_json(other_tree)
    for merged in (merge_rules(base, base, other), merge_rules(base, other, base), merge_rules(base, other, other)):
        assert merged.clean and merged.rule == other


@settings(max_examples=200, deadline=None)
@given(rules(checked=False), rules(checked=False), rules(checked=False))
def test_any_three_rules_merge_into_rules_the_form_reads(base_tree, theirs_tree, mine_tree):
    """Whatever the three versions, the merge settled all "mine" or all "theirs" reads back as a rule."""
    base, theirs, mine = (rule_to_json(t) for t in (base_tree, theirs_tree, mine_tree))
    merged = merge_rules(base, theirs, mine)
    for side in ("mine", "theirs"):
        settled = resolve(merged, {c.path: side for c in merged.conflicts})
        rule_from_json(settled)


def test_each_removing_a_different_condition_of_two_asks_rather_than_leaving_none():
    base = changed(when=when(RADIUS, POINTS))
    merged = merge_rules(base, changed(when=POINTS), changed(when=RADIUS))
    [conflict] = merged.conflicts
    assert (conflict.path, conflict.theirs, conflict.mine) == ("when", POINTS, RADIUS)
    assert resolve(merged, {"when": "theirs"})["when"] == POINTS


def test_a_group_whose_every_condition_is_picked_away_goes_too():
    group = {"any": [TEXTURE, cmp("mean area", "above", 900)]}
    base = changed(when=when(RADIUS, group))
    theirs = changed(when=when(RADIUS, {"any": [cmp("mean texture", "below", 30)]}))   # removed area, changed texture
    mine = changed(when=when(RADIUS, {"any": [cmp("mean area", "above", 950)]}))       # removed texture, changed area
    merged = merge_rules(base, theirs, mine)
    assert {c.path for c in merged.conflicts} == {"when.all[1].any[0]", "when.all[1].any[1]"}
    picks = {c.path: "theirs" if c.theirs is None else "mine" for c in merged.conflicts}
    assert resolve(merged, picks)["when"] == RADIUS
