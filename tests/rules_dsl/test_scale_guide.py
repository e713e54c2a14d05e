"""The Python blocks of docs/scale.md (up to its Spark section) run, in order, as one script (each engine's block
needs its package)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import engine_or_skip

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "scale.md"


def test_the_scale_guide_runs():
    for package in ("polars", "duckdb", "dask"):
        engine_or_skip(package)
    text = GUIDE.read_text(encoding="utf-8")
    # The Spark section's blocks need a cluster's data; its job runs in tests/rules_dsl/test_engine_spark.py.
    blocks = re.findall(r"```python\n(.*?)```", text.partition("\n## Spark")[0], flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {"__name__": "scale_guide"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"scale.md block {number}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message says which block broke
            pytest.fail(f"docs/scale.md, Python block {number} fails: {type(e).__name__}: {e}")
    assert "## Spark" in text


def test_the_decision_column_names_in_the_guide_are_the_library_s():
    from rules_dsl.engines import DECISION_COLUMNS

    text = GUIDE.read_text(encoding="utf-8")
    for name in DECISION_COLUMNS:
        assert f'`prefix + "{name}"`' in text
