"""The Python blocks of docs/ml-guide.md run, in order, as one script (blocks marked ``python notest`` need a
server and are skipped)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import rules_dsl.demo
from rules_dsl import write_folder

from .ml_rulesets import breast_ruleset

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "ml-guide.md"


def test_the_guide_runs(tmp_path, monkeypatch, capsys):
    if not rules_dsl.demo.demo_path().is_dir():  # the demo rule set lands separately: use the tests' stand-in
        write_folder(breast_ruleset(), tmp_path / "breast-mass-triage")
        monkeypatch.setattr(rules_dsl.demo, "demo_path", lambda: tmp_path / "breast-mass-triage")
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 8
    namespace: dict = {"__name__": "ml_guide"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"ml-guide.md block {number}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message says which block broke
            pytest.fail(f"docs/ml-guide.md, Python block {number} fails: {type(e).__name__}: {e}")
    assert namespace["change"].rule_changes["kind"].tolist() == ["changed"]
    assert "backup" in capsys.readouterr().out
