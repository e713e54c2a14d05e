"""The benchmark keeps working: a smoke-sized run (seconds), with every installed engine's answers checked.

Peers that are not installed here (zen-engine, rule-engine, json-logic, Snorkel: the 'bench' extra) are skipped by
the benchmark itself; NumPy, pandas and the hand-written Python function always run. The full run is by hand:
``python -m bench run`` (docs/benchmarks.md).
"""
from __future__ import annotations

import numpy as np
import pytest

from bench import engines, run, translate
from bench.workload import compile_ruleset, frame_to_rows, generate_frame, generate_rules, rule_text


@pytest.fixture(scope="module")
def report():
    return run.run("smoke", suites={"batch", "single", "compile"})


def test_every_engine_agrees_with_rulecraft_and_rulecraft_with_the_oracle(report):
    batch = report.data["batch"][2000]
    assert batch["oracle_mismatches"] == 0
    assert {name: r["mismatches"] for name, r in batch["engines"].items()} == \
        {name: 0 for name in batch["engines"]}
    single = {name: r["mismatches"] for name, r in report.data["single"].items() if not name.startswith("(")}
    assert single == {name: 0 for name in single}
    assert {"Rulecraft vectorized", "Rulecraft per row", "hand-written NumPy", "pandas eval",
            "hand-written Python function"} <= set(batch["engines"])


def test_the_report_has_every_table_and_the_targets(report):
    text = "\n".join(report.sections)
    for heading in ("(a) Batch", "(b) Single case", "(c) Compile", "### Targets"):
        assert heading in text
    assert report.data["compile"]["rulecraft_ms"]["total"] > 0
    assert all(r["rows_per_s"] > 0 for r in report.data["batch"][2000]["engines"].values())


def test_the_workload_is_seeded_and_uses_the_language():
    rules = generate_rules(50)
    assert [rule_text(r) for r in rules] == [rule_text(r) for r in generate_rules(50)]
    text = "\n".join(rule_text(r) for r in rules)
    for phrase in (" or ", " and ", "at least 2 of", "not (", "is between", "is one of", "is not one of",
                   "is missing", " cm", " is not "):
        assert phrase in text, phrase
    frame = generate_frame(5000)
    numbers = frame.select_dtypes("float64")
    assert 0.01 < numbers.isna().mean().mean() < 0.03 and numbers.shape[1] == 14
    assert frame.shape[1] == 20


def test_unguarded_translations_would_disagree():
    """The guards in the translations matter: the same NumPy rules without them (NaN != x and None != x are
    true there) fire where Rulecraft's three-valued rules do not."""
    rules = generate_rules(50)
    ruleset = compile_ruleset(rules)
    frame = generate_frame(3000)
    expected = ruleset.matches(frame).to_numpy().T

    class Unguarded(translate.NumpyDialect):
        def known(self, column):
            return "True"

    d = Unguarded()
    namespace = {"np": np}
    columns = {c: frame[c].to_numpy() for c in frame.columns}
    got = np.array([eval(d.rail(r.condition, True), namespace, dict(columns)) & np.ones(len(frame), bool)  # noqa: S307
                    for r in rules])
    assert np.count_nonzero(got != expected) > 0


def test_rows_for_services_use_none_for_missing():
    rows = frame_to_rows(generate_frame(2000))
    assert any(v is None for row in rows for v in row.values())
    assert not any(isinstance(v, float) and v != v for row in rows for v in row.values())
    built, skipped = engines.build(generate_rules(5), compile_ruleset(generate_rules(5)))
    assert all(isinstance(reason, str) for reason in skipped.values())
