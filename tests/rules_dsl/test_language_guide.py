"""docs/language.md stays true: its example rule-set folder loads and checks clean, and it documents every key that
ruleset.yaml and vocabulary.yaml take."""
from __future__ import annotations

import re
from pathlib import Path

import rules_dsl
from rules_dsl.examples import check_examples
from rules_dsl.vocabulary import _FEATURE_KEYS, Outcome, Policy, Settings

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def example_folder(target: Path) -> Path:
    """The files of the guide's example folder, each the code block after ``<!-- example folder: NAME -->``."""
    text = GUIDE.read_text(encoding="utf-8")
    files = re.findall(r"<!-- example folder: (\S+) -->\n```[a-z]*\n(.*?)```", text, flags=re.S)
    assert {name for name, _ in files} >= {"ruleset.yaml", "vocabulary.yaml", "examples.csv"}
    for name, content in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(content, encoding="utf-8")
    return target


def test_the_example_folder_loads_and_checks_clean(tmp_path):
    folder = example_folder(tmp_path / "sepsis-screening")
    ruleset = rules_dsl.load(folder)
    assert ruleset.warnings == []
    assert [r.id for r in ruleset.rules] == ["after-surgery", "fever-and-fast-pulse"]
    assert check_examples((folder / "examples.csv").read_bytes(), ruleset) == []
    # the rule files are in canonical form, as `rulecraft format` writes them
    for rule in ruleset.rules:
        assert (folder / "rules" / f"{rule.id}.rule").read_text(encoding="utf-8") == rule.text + "\n"
    # the examples' labels are what the rules answer (A3 has no temperature: the rule cannot fire, default low)
    examples = ruleset.examples
    assert ruleset.decide(examples).tolist() == examples["sepsis risk"].tolist() == ["high", "low", "low"]
    assert ruleset.matches(examples)["after-surgery"].tolist() == [False, True, False]


def section(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(f"### {title}\n")
    end = text.find("\n### ", start + 1)
    return text[start:end]


def test_every_key_of_ruleset_yaml_is_documented():
    from rules_dsl.gate import Gate

    everything = Settings("t", Outcome("o", ("a",), "d"), Policy("weighted vote", "a"), "d", Gate(),
                          True).to_dict()
    keys = [k for k in everything if k != "outcome"] + [f"outcome.{k}" for k in everything["outcome"]] + ["outcome"]
    documented = set(re.findall(r"^\| `([a-z. ]+)` \|", section("ruleset.yaml"), flags=re.M))
    assert documented == set(keys)


def test_every_key_of_vocabulary_yaml_is_documented():
    documented = set(re.findall(r"^\| `([a-z.]+)` \|", section("vocabulary.yaml"), flags=re.M))
    assert documented == _FEATURE_KEYS


def test_the_examples_csv_section_names_the_case_and_outcome_columns():
    from rules_dsl.examples import CASE_COLUMN

    text = section("examples.csv")
    assert f"`{CASE_COLUMN}`" in text and "column named as the\noutcome" in text


def indented_blocks() -> list[str]:
    """The page's indented code blocks (4 spaces), without their indentation."""
    blocks, current, fenced = [], [], False
    for line in GUIDE.read_text(encoding="utf-8").split("\n") + [""]:
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.startswith("    ") or (current and not line.strip()):
            current.append(line[4:])
        elif current:
            blocks.append("\n".join(current).strip("\n"))
            current = []
    if current:
        blocks.append("\n".join(current).strip("\n"))
    return blocks


def test_the_first_rule_and_its_structured_form_say_the_same():
    import json

    blocks = indented_blocks()
    text = blocks[0]
    structured = next(b for b in blocks if b.startswith('{"name": "Small dark dot near the margin"'))
    as_text = rules_dsl.parse_rule(text)
    as_json = rules_dsl.rule_from_json(json.loads(structured))
    assert rules_dsl.format_syntax(as_json) == rules_dsl.format_syntax(as_text) == text  # the canonical layout


def test_the_format_example_prints_what_the_page_says():
    line = next(b for b in indented_blocks() if "rules_dsl.format_rule(" in b).split("\n")[-1]
    call, shown = re.fullmatch(r"rules_dsl\.format_rule\((.*)\)\s+# (.*)", line).groups()
    assert repr(rules_dsl.format_rule(eval(call))) == shown  # noqa: S307 - a literal from our own page
