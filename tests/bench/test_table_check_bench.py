"""bench/table_check_bench.py runs (on a few rules) and prints the figure docs/benchmarks.md quotes."""
from __future__ import annotations

from bench import table_check_bench


def test_table_check_bench_runs_on_a_few_rules(capsys):
    table_check_bench.main(["--rules", "30"])
    assert "check of an edited table of 30 rules: first" in capsys.readouterr().out
