"""Rule sets: loading folders, policies, bundles, unit conversion."""
from __future__ import annotations

import json
import os
import unicodedata
from decimal import Decimal

import pandas as pd
import pytest

import rules_dsl
from rules_dsl import BundleError, RuleError, Settings, from_bundle, to_bundle
from rules_dsl.bundle import content_hash
from rules_dsl.ruleset import RuleSet
from rules_dsl.units import UnitProblem, convert

from .vocab import SETTINGS_DATA, TEST_VOCABULARY, build_ruleset


def write_rule(folder, stem: str, text: str | bytes) -> None:
    path = folder / "rules" / f"{stem}.rule"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text + "\n", encoding="utf-8")


def problems_of(folder) -> list:
    with pytest.raises(RuleError) as info:
        rules_dsl.load(folder)
    return info.value.problems


# ---- folders -----------------------------------------------------------------------------------------------------

def test_the_fixture_loads(sepsis):
    assert sepsis.id == "sepsis-triage"
    assert [r.id for r in sepsis.rules] == ["dot", "sirs"]
    assert sepsis.rule("sirs").priority == 2
    assert sepsis.warnings == []
    assert sepsis.outcome.labels == ("low", "high")
    assert sepsis.policy.kind == "first match" and sepsis.policy.default == "low"


def test_errors_from_several_files_are_reported_at_once_each_with_its_file(sepsis_copy):
    write_rule(sepsis_copy, "bad-feature", 'rule "Bad feature" when agee is 5')
    write_rule(sepsis_copy, "bad-syntax", 'rule "Bad syntax" when age is')
    write_rule(sepsis_copy, "bad-bytes", b'rule "x" when notes is "\xff"')
    write_rule(sepsis_copy, "good", 'rule "Good" when age is 5')
    problems = problems_of(sepsis_copy)
    by_file = {p.file: p for p in problems}
    assert set(by_file) == {"rules/bad-feature.rule", "rules/bad-syntax.rule", "rules/bad-bytes.rule"}
    assert by_file["rules/bad-feature.rule"].suggestion == "age"
    assert str(by_file["rules/bad-syntax.rule"]).startswith("rules/bad-syntax.rule:1:")
    assert by_file["rules/bad-bytes.rule"].code == "not-text"


def test_the_first_error_is_on_the_exception(sepsis_copy):
    write_rule(sepsis_copy, "a", 'rule "A" when agee is 5')
    with pytest.raises(RuleError) as info:
        rules_dsl.load(sepsis_copy)
    e = info.value
    assert (e.file, e.line, e.column, e.code) == ("rules/a.rule", 1, 15, "unknown-feature")
    assert e.message.startswith("There is no feature called 'agee'") and e.suggestion == "age"


def test_a_rule_file_that_is_a_symlink_is_refused(sepsis_copy, tmp_path):
    outside = tmp_path / "outside.rule"
    outside.write_text('rule "Outside" when age is 5\n')
    os.symlink(outside, sepsis_copy / "rules" / "outside.rule")
    problems = problems_of(sepsis_copy)
    assert [(p.code, p.file) for p in problems] == [("symlink", "rules/outside.rule")]


def test_a_folder_named_like_a_rule_file_is_reported_not_a_crash(sepsis_copy):
    (sepsis_copy / "rules" / "folder.rule").mkdir()
    write_rule(sepsis_copy, "bad", 'rule "Bad" when agee is 5')
    problems = problems_of(sepsis_copy)
    assert {(p.code, p.file) for p in problems} == {("unreadable", "rules/folder.rule"),
                                                    ("unknown-feature", "rules/bad.rule")}


@pytest.mark.parametrize("stem", ["High Fever", "-fever", "fever_1", "FEVER", "é"])
def test_rule_file_names_are_slugs(sepsis_copy, stem):
    write_rule(sepsis_copy, stem, 'rule "Fever" when temperature is above 38')
    assert [p.code for p in problems_of(sepsis_copy)] == ["bad-file-name"]


@pytest.mark.parametrize("other_name", [
    "SMALL DOT", "small   dot", unicodedata.normalize("NFD", "Small dot"),
    "Ｓｍａｌｌ dot",  # full-width letters: the same name under NFKC
])
def test_rule_names_that_differ_only_in_case_or_unicode_form_are_duplicates(sepsis_copy, other_name):
    write_rule(sepsis_copy, "other", f'rule "{other_name}" when age is 5')
    problems = problems_of(sepsis_copy)
    assert [p.code for p in problems] == ["duplicate-name"]
    assert problems[0].file == "rules/other.rule" and "dot" in problems[0].message


def test_composed_and_decomposed_accents_are_one_name(sepsis_copy):
    write_rule(sepsis_copy, "cafe-1", f'rule "{unicodedata.normalize("NFC", "Café")}" when age is 5')
    write_rule(sepsis_copy, "cafe-2", f'rule "{unicodedata.normalize("NFD", "Café")}" when age is 6')
    assert [p.code for p in problems_of(sepsis_copy)] == ["duplicate-name"]


def test_a_duplicate_name_is_reported_together_with_other_errors(sepsis_copy):
    write_rule(sepsis_copy, "copy", 'rule "small dot" when age is 5')
    write_rule(sepsis_copy, "broken", 'rule "Broken" when agee is 5')
    assert sorted(p.code for p in problems_of(sepsis_copy)) == ["duplicate-name", "unknown-feature"]


def test_missing_and_broken_yaml_files(sepsis_copy):
    (sepsis_copy / "vocabulary.yaml").write_text("features:\n  age: {type: number\n")
    (sepsis_copy / "ruleset.yaml").unlink()
    problems = problems_of(sepsis_copy)
    assert {(p.code, p.file) for p in problems} == {("missing-file", "ruleset.yaml"),
                                                    ("bad-yaml", "vocabulary.yaml")}
    assert next(p for p in problems if p.code == "bad-yaml").line == 3


def test_vocabulary_problems_are_all_reported_with_their_fields(sepsis_copy):
    (sepsis_copy / "vocabulary.yaml").write_text(
        "features:\n"
        "  age is: {type: number}\n"
        "  weight: {type: number, unit: kg, colour: red}\n"
        "  size: {type: numbr}\n"
        "  site: {type: category}\n"
        "  heart rate: {type: number, synonyms: [pulse]}\n"
        "  pulse: {type: number}\n"
        "  temperature: {type: number, range: [10]}\n"
        "  notes: {type: text, column: heart rate}\n")
    fields = {p.field for p in problems_of(sepsis_copy)}
    assert fields == {"features.age is", "features.weight.colour", "features.size.type", "features.site.values",
                      "features.pulse", "features.temperature.range", "features.notes.column"}


def test_load_refuses_what_is_neither_folder_nor_bundle(tmp_path):
    with pytest.raises(RuleError, match="neither a rule-set folder nor a bundle"):
        rules_dsl.load(tmp_path / "nothing")


# ---- policies ----------------------------------------------------------------------------------------------------

def ruleset_with(policy: str, default: str, rules: list[str]) -> RuleSet:
    settings = Settings.from_dict({**SETTINGS_DATA, "policy": policy, "default": default})
    return build_ruleset(rules, settings=settings)


POLICY_RULES = [
    'rule "Fever" when temperature is above 38 then risk is "medium" with confidence 0.6',
    'rule "Fast pulse" priority 1 when heart rate is above 100 then risk is "high" with confidence 0.5',
    'rule "Both" priority 1 when temperature is above 38 and heart rate is above 100 then risk is "medium"',
    'rule "Smoker" when smoker is yes then risk is "high" with confidence 0.3',
    'rule "Feature only" priority 99 when temperature is above 35',
    'rule "Disabled" priority 100 disabled when temperature is above 0 then risk is "low"',
]
CASES = pd.DataFrame({"temperature": [39.0, 39.0, 37.0, 36.0, 39.0, None],
                      "hr": [80.0, 120.0, 120.0, 80.0, 80.0, None],
                      "smoker": [False, False, True, False, True, None]})


@pytest.mark.parametrize("policy, default, expected", [
    # first match: priority first (higher first), then id; r001 and r002 tie at 1 -> r001 ("Fast pulse") first
    ("first match", "low", ["medium", "high", "high", "low", "medium", "low"]),
    ("first match", "abstain", ["medium", "high", "high", None, "medium", None]),
    # weighted vote: row 2: medium 0.6 + 1 vs high 0.5 -> medium; row 3: high 0.5 + 0.3; row 5: medium 0.6 vs 0.3
    ("weighted vote", "low", ["medium", "medium", "high", "low", "medium", "low"]),
    ("weighted vote", "abstain", ["medium", "medium", "high", None, "medium", None]),
])
def test_policies(policy, default, expected):
    ruleset = ruleset_with(policy, default, POLICY_RULES)
    assert ruleset.decide(CASES).tolist() == expected
    rows = [{k: v for k, v in row.items() if v == v and v is not None} for row in CASES.to_dict("records")]
    assert [ruleset.decide_row(row).label for row in rows] == expected


def test_disabled_rules_never_fire_and_feature_only_rules_never_decide():
    ruleset = ruleset_with("first match", "abstain", POLICY_RULES)
    assert "r005" not in ruleset.rule_ids and "r005" not in ruleset.matches(CASES).columns
    assert [r.id for r in ruleset.rules][-1] == "r005"  # still part of the rule set
    decision = ruleset.decide_row({"temperature": 36.0, "hr": 80.0, "smoker": False})
    assert decision.fired == ("r004",) and decision.label is None and decision.deciding == ()


@pytest.mark.parametrize("policy, default, expected", [("first match", "low", "low"),
                                                      ("first match", "abstain", None),
                                                      ("weighted vote", "low", "low")])
def test_a_rule_set_with_every_rule_disabled_answers_its_default(policy, default, expected):
    """Regression: with no rule in use, the per-row function failed to compile (ValueError: empty body on Try), so
    one case could not be decided (an author who turns every rule off, or a rule set with no rules yet)."""
    ruleset = ruleset_with(policy, default, ['rule "Off" disabled when temperature is above 38 then risk is "high"'])
    assert ruleset.rule_ids == []
    assert ruleset.matches_row({"temperature": 39.0}) == []
    decision = ruleset.decide_row({"temperature": 39.0})
    assert decision.label == expected and decision.fired == ()
    assert ruleset.decide(CASES).tolist() == [expected] * len(CASES)


def test_first_match_ties_are_broken_by_id():
    ruleset = ruleset_with("first match", "abstain", [
        'rule "b" priority 1 when temperature is above 38 then risk is "low"',
        'rule "a" priority 1 when temperature is above 38 then risk is "high"'])
    decision = ruleset.decide_row({"temperature": 39.0})
    assert decision.label == "low" and decision.deciding == ("r000",)


def test_weighted_vote_ties_go_to_the_label_listed_first():
    ruleset = ruleset_with("weighted vote", "abstain", [
        'rule "a" when temperature is above 38 then risk is "high" with confidence 0.5',
        'rule "b" when temperature is above 38 then risk is "medium" with confidence 50%'])
    assert ruleset.decide_row({"temperature": 39.0}).label == "medium"  # labels: low, medium, high
    assert ruleset.decide(pd.DataFrame({"temperature": [39.0]})).tolist() == ["medium"]


def test_weighted_vote_scores_and_reasons():
    ruleset = ruleset_with("weighted vote", "low", POLICY_RULES)
    decision = ruleset.decide_row({"temperature": 39.0, "hr": 120.0, "smoker": True})
    assert decision.scores == pytest.approx({"medium": 1.6, "high": 0.8})
    assert decision.label == "medium" and set(decision.deciding) == {"r000", "r002"}
    assert "Weighted vote" in decision.reason


# ---- bundles -----------------------------------------------------------------------------------------------------

def test_bundles_are_byte_identical_for_the_same_inputs(sepsis, sepsis_copy):
    assert to_bundle(sepsis) == to_bundle(rules_dsl.load(sepsis_copy))
    # a rule file written differently but meaning the same gives the same canonical text, so the same bundle
    write_rule(sepsis_copy, "sirs", 'RULE "Two or more SIRS criteria" PRIORITY 2 IF AT LEAST 2 OF (temperature > 38,'
                                    ' pulse > 90, respiratory rate > 20, white cell count is unknown) THEN sepsis '
                                    'risk IS "HIGH" WITH CONFIDENCE 80% BECAUSE "SIRS"')
    assert to_bundle(rules_dsl.load(sepsis_copy)) == to_bundle(sepsis)


def test_bundle_round_trip(sepsis, tmp_path):
    data = to_bundle(sepsis)
    loaded = from_bundle(data)
    assert to_bundle(loaded) == data
    assert [r.text for r in loaded.rules] == [r.text for r in sepsis.rules]
    assert loaded.bundle_hash == json.loads(data)["hash"] == content_hash(json.loads(data))
    path = tmp_path / "sepsis.bundle.json"
    path.write_bytes(data)
    from_file = rules_dsl.load(path)
    frame = pd.DataFrame({"temperature": [39.0], "heart rate": [100.0], "respiratory rate": [10.0],
                          "white cell count": [None], "diam_mm": [3.0], "location": ["margin"], "smoker": [False],
                          "notes": ["none"], "age": [40.0]})
    assert from_file.matches(frame).equals(sepsis.matches(frame))


def test_a_bundle_keeps_disabled_rules_and_the_vocabulary():
    ruleset = ruleset_with("weighted vote", "abstain", POLICY_RULES)
    loaded = from_bundle(to_bundle(ruleset))
    assert [r.id for r in loaded.rules] == [r.id for r in ruleset.rules]
    assert loaded.rule_ids == ruleset.rule_ids
    assert set(loaded.vocabulary.features) == set(TEST_VOCABULARY.features)  # (in name order: JSON keys sorted)
    assert loaded.settings == ruleset.settings


def _tampered(data: bytes, change) -> bytes:
    document = json.loads(data)
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize("change", [
    lambda d: d["rules"][0].update(text=d["rules"][0]["text"].replace("0.2 cm", "0.1 cm")),
    lambda d: d["rules"].pop(),
    lambda d: next(f for f in d["vocabulary"]["features"] if f["name"] == "temperature").update(unit="°F"),
    lambda d: d["ruleset"].update(default="high"),
    lambda d: d.update(hash="sha256:" + "0" * 64),
    lambda d: d.pop("hash"),
], ids=["rule text", "rule removed", "vocabulary", "default", "hash", "no hash"])
def test_a_tampered_bundle_is_refused(sepsis, change):
    with pytest.raises(BundleError, match="does not match its hash"):
        from_bundle(_tampered(to_bundle(sepsis), change))


@pytest.mark.parametrize("data, phrase", [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[]", "no 'format: rulecraft-bundle'"),
    (b'{"format": "something else"}', "no 'format: rulecraft-bundle'"),
    (b'{"format": "rulecraft-bundle", "format_version": 99}', "format version 99"),
    # found by tests/reliability/test_fuzz.py: a ValueError from hashing, not a BundleError
    (b'{"format": "rulecraft-bundle", "format_version": 1, "language_version": [Infinity]}', "not JSON"),
    (b'{"format": "rulecraft-bundle", "format_version": 1, "language_version": [NaN]}', "not JSON"),
    (b'{"format": "rulecraft-bundle", "format_version": 1, "language_version": [1e400]}', "not JSON"),
    (b'{"format": "rulecraft-bundle", "format_version": 1, "x": ' + b"9" * 5000 + b"}", "not JSON"),
])
def test_what_is_not_a_bundle_is_refused(data, phrase):
    with pytest.raises(BundleError, match=phrase):
        from_bundle(data)


def _rehashed(data: bytes, change) -> bytes:
    document = json.loads(data)
    change(document)
    document["hash"] = content_hash(document)
    return json.dumps(document).encode()


def test_a_bundle_for_another_language_version_is_refused(sepsis):
    with pytest.raises(BundleError, match="language version 2"):
        from_bundle(_rehashed(to_bundle(sepsis), lambda d: d.update(language_version="2")))


@pytest.mark.parametrize("rule_id", ["../../outside", "High Fever", "", "a/b", 5])
def test_bundle_rule_ids_must_be_slugs(sepsis, rule_id):
    """A rule id becomes a file name (write_folder, the store): it must never hold a path."""
    with pytest.raises(BundleError, match="rule id"):
        from_bundle(_rehashed(to_bundle(sepsis), lambda d: d["rules"][0].update(id=rule_id)))


def test_bundle_rule_ids_must_be_unique(sepsis):
    def twice(d):
        d["rules"][1]["id"] = d["rules"][0]["id"]
    with pytest.raises(BundleError, match="rule id"):
        from_bundle(_rehashed(to_bundle(sepsis), twice))


def test_a_rehashed_bundle_with_a_broken_rule_names_it(sepsis):
    data = _rehashed(to_bundle(sepsis), lambda d: d["rules"][0].update(text='rule "x" when agee is 5'))
    with pytest.raises(RuleError) as info:
        from_bundle(data)
    assert info.value.file == "rules/dot.rule" and info.value.message.startswith("In the bundle:")


# ---- units -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("number, written, unit, expected", [
    ("0.3", "cm", "mm", "3"), ("3", "mm", "cm", "0.3"), ("6", "months", "years", "0.5"),
    ("18", "months", "years", "1.5"), ("182.625", "days", "years", "0.5"), ("2", "weeks", "days", "14"),
    ("1500", "mg", "g", "1.5"), ("0.25", "L", "mL", "250"), ("2500", "µm", "mm", "2.5"), ("1", "kg", "g", "1000"),
    ("5", None, "mm", "5"), ("38", "°C", "°C", "38"), ("7", "mmHg", "mmHg", "7"), ("7", "MMHG", "mmHg", "7"),
    ("1", "kilo", "kg", "1"), ("5", "percent", "%", "5"),
])
def test_units_convert_exactly(number, written, unit, expected):
    result = convert(Decimal(number), written, unit, "x")
    assert result == Decimal(expected)
    assert float(result) == float(expected)  # exactly, not 3.0000000000000004


@pytest.mark.parametrize("written, unit, phrase", [
    ("kg", "mm", "'kg' is a mass, but 'x' is a length"),
    ("mm", None, "has no unit"),
    ("furlongs", "mm", "not a unit Rulecraft knows"),
    ("mm", "mmHg", "measured in mmHg"),
    ("days", "°C", "a time, but 'x' is a temperature"),
])
def test_units_that_do_not_convert(written, unit, phrase):
    with pytest.raises(UnitProblem, match=phrase):
        convert(Decimal(1), written, unit, "x")


def test_converted_values_reach_the_backends_exactly():
    ruleset = build_ruleset(['rule "a" when lesion diameter is 0.3 cm', 'rule "b" when age at diagnosis is 6 months'])
    values = [t.value for r in ruleset.active_rules for t in rules_dsl.logic.tests(r.logic)]
    assert values == [3.0, 0.5]
    assert ruleset.matches_row({"diam_mm": 3.0, "age": 0.5}) == ["r000", "r001"]


def test_a_memo_compiles_only_what_changed_and_gives_the_same_rule_set():
    from pathlib import Path

    from rules_dsl.ruleset import ruleset_from_files

    folder = Path(__file__).parents[1] / "fixtures" / "sepsis-triage"
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    memo: dict = {}
    first = ruleset_from_files(files, id="s", memo=memo)
    changed = dict(files, **{"rules/sirs.rule": files["rules/sirs.rule"].replace(b"38", b"39")})
    second = ruleset_from_files(changed, id="s", memo=memo)
    plain = ruleset_from_files(changed, id="s")
    assert [(r.id, r.text, r.logic, r.warnings) for r in second.rules] == \
        [(r.id, r.text, r.logic, r.warnings) for r in plain.rules]
    assert second.rule("dot") is first.rule("dot")              # unchanged file: not compiled again
    assert second.rule("sirs") is not first.rule("sirs")
    vocabulary = files["vocabulary.yaml"] + b"\n# a comment changes the bytes\n"
    third = ruleset_from_files(dict(files, **{"vocabulary.yaml": vocabulary}), id="s", memo=memo)
    assert third.rule("dot") is not first.rule("dot")            # checked again against the new vocabulary
    broken = dict(files, **{"rules/dot.rule": b'rule "x" when nonsense is above 3'})
    for _ in range(2):                                           # an error is raised every time, not remembered
        with pytest.raises(RuleError):
            ruleset_from_files(broken, id="s", memo=memo)


def test_a_memo_stays_bounded_and_keeps_what_is_in_use(monkeypatch):
    """A server saves for days: every save adds an entry, so the memo forgets its least recently used half when
    full, and the rules of the version being read again and again stay compiled."""
    from pathlib import Path

    from rules_dsl import ruleset as module

    monkeypatch.setattr(module, "MEMO_LIMIT", 40)
    folder = Path(__file__).parents[1] / "fixtures" / "sepsis-triage"
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    memo: dict = {}
    in_use = module.ruleset_from_files(files, id="s", memo=memo)
    for n in range(200):                          # 200 saves of one rule, the version in use read after each
        edited = files["rules/sirs.rule"].replace(b"38", str(38 + n / 1000).encode())
        module.ruleset_from_files(dict(files, **{"rules/sirs.rule": edited}), id="s", memo=memo)
        again = module.ruleset_from_files(files, id="s", memo=memo)
        assert len(memo) <= 40 + 1 + len(files)
    assert again.rule("dot") is in_use.rule("dot")  # never forgotten: used after every save
    assert [r.text for r in again.rules] == [r.text for r in in_use.rules]
