"""``rulecraft check`` prints the findings of rules_dsl.verify as warnings and never fails because of them."""
from __future__ import annotations

import shutil

import pytest

from tests.server.test_cli_language import SEPSIS, rulecraft


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "sepsis-triage"
    shutil.copytree(SEPSIS, target)
    return target


def test_check_prints_findings_as_warnings_and_exits_0(folder):
    (folder / "rules" / "hot.rule").write_text('rule "Hot"\npriority 9\nwhen temperature is above 37\n'
                                              'then sepsis risk is "high"\n')
    (folder / "rules" / "very-hot.rule").write_text('rule "Very hot"\npriority 1\nwhen temperature is above 40\n'
                                                   'then sepsis risk is "low"\n')
    result = rulecraft("check", folder)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{folder}: warning: unreachable: 'Very hot' can never decide") for line in lines)
    conflict = next(line for line in lines if line.startswith(f"{folder}: warning: conflict: 'Hot' (high) and "
                                                             "'Very hot' (low)"))
    assert "temperature 40.5 °C" in conflict or "temperature 4" in conflict
    assert "4 rules, no errors" in result.stdout and "findings about the logic (warnings)" in result.stdout


def test_check_with_errors_prints_no_findings(folder):
    (folder / "rules" / "bad.rule").write_text('rule "Bad" when temprature is above 38\n')
    result = rulecraft("check", folder)
    assert result.returncode == 1 and "warning: conflict" not in result.stderr
