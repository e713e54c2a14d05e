"""bench/verify_bench.py runs (on a few rules) and prints the figures docs/benchmarks.md quotes."""
from __future__ import annotations

from bench import verify_bench


def test_verify_bench_runs_on_a_few_rules(capsys):
    verify_bench.main(["--rules", "40"])
    out = capsys.readouterr().out
    assert "weighted vote: whole report for 40 rules" in out and "first match: one edited rule against 39" in out
