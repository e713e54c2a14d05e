"""The Polars engine of another revision against this tree's, and both against the NumPy engine, in one process with
paired rounds (so a change is judged on a shared machine by ratios from one command; figures in docs/benchmarks.md).

``python -m bench.polars_ab --rev main --rows 10000000 --rounds 3``: the 50-rule workload of bench/scale_bench.py,
categories as text (pandas object / Polars String) and, with ``--enum``, as pandas ``category`` / Polars ``Enum``.
The other revision's rules_dsl/engines/polars.py is loaded beside this one (the rest of rules_dsl is this tree's).
"""
from __future__ import annotations

import gc
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _engine_of(rev: str, folder: str):
    source = subprocess.run(["git", "show", f"{rev}:rules_dsl/engines/polars.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(folder) / "polars_engine.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("rules_dsl.engines._polars_other", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ratio(times: dict[str, list[float]], a: str, b: str) -> str:
    r = [x / y for x, y in zip(times[a], times[b])]
    return f"{statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})"


def main(argv: list[str] | None = None) -> int:
    import argparse

    import polars as pl

    import rules_dsl.engines.polars as this

    from .workload import CATEGORY_VALUES, compile_ruleset, generate_frame, generate_rules

    parser = argparse.ArgumentParser(prog="python -m bench.polars_ab", description=main.__doc__)
    parser.add_argument("--rev", default="main", help="the other revision (default main)")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--enum", action="store_true", help="also categories as category / Enum")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        other = _engine_of(args.rev, folder)
    ruleset = compile_ruleset(generate_rules(50))
    base = generate_frame(args.rows)
    forms = {"object / String": (base, pl.from_pandas(base))}
    if args.enum:
        forms["category / Enum"] = (base.astype({c: "category" for c in CATEGORY_VALUES}),
                                    pl.from_pandas(base).cast({c: pl.Enum(v) for c, v in CATEGORY_VALUES.items()}))
    reference = ruleset.matches_array(base)
    engines = {args.rev: other, "this tree": this}
    print(f"{args.rows:,} rows x 50 rules, {args.rounds} paired rounds, load average {os.getloadavg()[0]:.1f}\n")
    print(f"| categories as | NumPy engine | Polars, {args.rev} | Polars, this tree | NumPy / {args.rev} | "
          f"NumPy / this tree | {args.rev} / this tree | cells differing |\n|---|---|---|---|---|---|---|---|")
    for form, (pandas_frame, polars_frame) in forms.items():
        bad = 0
        for module in engines.values():  # warm-up and the check
            out = module.with_matches(ruleset, polars_frame, "m_")
            bad += int(np.count_nonzero(out.select([f"m_{i}" for i in ruleset.rule_ids]).to_numpy() != reference))
            del out
        times: dict[str, list[float]] = {"numpy": [], args.rev: [], "this tree": []}
        for round_ in range(args.rounds):
            order = list(times) if round_ % 2 == 0 else list(reversed(times))
            for name in order:
                gc.collect()
                t = time.perf_counter()
                if name == "numpy":
                    ruleset.matches_array(pandas_frame)
                else:
                    engines[name].with_matches(ruleset, polars_frame, "m_")
                times[name].append(time.perf_counter() - t)

        seconds = " | ".join(f"{statistics.median(times[name]):.2f} s" for name in times)
        print(f"| {form} | {seconds} | {_ratio(times, 'numpy', args.rev)} | {_ratio(times, 'numpy', 'this tree')} | "
              f"{_ratio(times, args.rev, 'this tree')} | {bad} |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
