"""``rulecraft suggest``: rules suggested from a CSV of labelled cases, printed with their figures."""
from __future__ import annotations

from click.testing import CliRunner

from rules_dsl.demo import demo_path, reference_data
from server.cli import main


def cases(tmp_path):
    frame = reference_data()
    frame["sex"] = ["F" if i % 2 else "M" for i in range(len(frame))]
    path = tmp_path / "cases.csv"
    frame.to_csv(path, index=False)
    return path


def test_suggest_prints_rules_with_their_figures(tmp_path):
    result = CliRunner().invoke(main, ["suggest", str(demo_path()), "--data", str(cases(tmp_path)),
                                       "--label", "diagnosis", "--for", "malignant", "--group", "sex",
                                       "--max", "2"])
    assert result.exit_code == 0, result.output
    assert "Nothing is saved" in result.output
    assert result.output.count('then diagnosis is "malignant"') == 2
    assert "1. malignant: precision" in result.output and "held out" in result.output
    assert "by sex: F: " in result.output and "overlaps:" in result.output


def test_suggest_refuses_an_unknown_label_in_plain_words(tmp_path):
    result = CliRunner().invoke(main, ["suggest", str(demo_path()), "--data", str(cases(tmp_path)),
                                       "--label", "diagnosis", "--for", "maybe"])
    assert result.exit_code == 2
    assert "'maybe' is not one of the outcome's labels (benign, malignant)" in result.output
    assert "Traceback" not in result.output
