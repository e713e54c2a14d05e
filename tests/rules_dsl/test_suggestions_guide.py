"""The Python blocks of docs/suggestions.md run, in order, as one script."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "suggestions.md"


def test_the_guide_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 2
    namespace: dict = {"__name__": "suggestions_guide"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"suggestions.md block {number}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message says which block broke
            pytest.fail(f"docs/suggestions.md, Python block {number} fails: {type(e).__name__}: {e}")
    out = capsys.readouterr().out
    assert 'then diagnosis is "malignant"' in out and "gains" in out
