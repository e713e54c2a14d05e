"""How long do rule suggestions take on large data (issue 18: they run inside an HTTP request)?

    python bench/suggest_speed.py                       # 100,000 cases, both labels
    python bench/suggest_speed.py --rows 1000000        # a million
    python bench/suggest_speed.py --dump out.json       # the suggestions too, to compare two versions
    python bench/suggest_speed.py --against ../rulecraft-main --rounds 3   # old/new, rounds interleaved

The data are the planted-rule cases of tests/rules_dsl/test_suggest.py (six features: four numbers, yes/no, a
category; "age above 60 and systolic pressure at most 100" decides the label, 2% of the labels flipped), scaled to
``--rows``; ``--wide`` takes scikit-learn's breast cancer instead (30 number columns, resampled to ``--rows``,
each value times a 2% noise). One call of ``suggest_rules`` for every label, timed from the frame to the answer
(scikit-learn already imported, as in a server that has answered once): wall-clock and CPU seconds, the CPU
figure being the steadier one on a shared machine. ``--against DIR`` times the checkout in DIR too, each round
one fresh process per checkout, and prints the ratio of the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(os.environ.get("SUGGEST_SPEED_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

import rules_dsl  # noqa: E402
from rules_dsl.ruleset import RuleSet  # noqa: E402
from rules_dsl.suggest import suggest_rules  # noqa: E402

FEATURES = {
    "systolic pressure": {"type": "number", "unit": "mmHg", "range": [60, 220]},
    "age": {"type": "number", "unit": "years", "range": [0, 110]},
    "heart rate": {"type": "number", "range": [30, 200]},
    "lactate": {"type": "number", "unit": "mmol/L"},
    "smoker": {"type": "boolean"},
    "sex": {"type": "category", "values": ["F", "M"]},
}


def planted(n: int, noise: float = 0.02, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "systolic pressure": rng.uniform(70, 200, n).round(0),
        "age": rng.uniform(18, 95, n).round(0),
        "heart rate": rng.uniform(40, 160, n).round(0),
        "lactate": rng.gamma(2.0, 1.0, n).round(1),
        "smoker": rng.random(n) < 0.3,
        "sex": rng.choice(["F", "M"], n),
    })
    high = (frame["age"] > 60) & (frame["systolic pressure"] <= 100)
    flip = rng.random(n) < noise
    frame["risk"] = np.where(high ^ flip, "high", "low")
    return frame


def ruleset() -> RuleSet:
    vocabulary = rules_dsl.Vocabulary.from_dict({"features": FEATURES})
    settings = rules_dsl.Settings.from_dict({"title": "Shock", "outcome": {"name": "risk", "labels": ["high", "low"]},
                                             "default": "abstain"})
    return RuleSet(settings, vocabulary, [], id="shock")


def wide(n: int) -> tuple[pd.DataFrame, RuleSet]:
    from suggest_eval import datasets, ruleset_for

    frame, labels = datasets()["breast cancer"]
    rng = np.random.default_rng(0)
    big = frame.sample(n, replace=True, random_state=0).reset_index(drop=True)
    columns = [c for c in big.columns if c != "outcome"]
    big[columns] = big[columns].to_numpy() * rng.normal(1, 0.02, (n, len(columns)))
    return big, ruleset_for(frame, labels)


def once(rows: int, wide_data: bool, dump: str | None) -> dict:
    import rules_dsl.ml.rule_learner  # noqa: F401  scikit-learn imported before the clock starts

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    frame, rs = wide(rows) if wide_data else (planted(rows), ruleset())
    label = "outcome" if wide_data else "risk"
    wall, cpu = time.perf_counter(), time.process_time()
    found = suggest_rules(rs, frame, label)
    result = {"root": str(ROOT), "rows": rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
              "suggestions": len(found), "searched": getattr(found, "searched", None),
              "first": [s.text.split("\n", 1)[1].replace("\n", " | ") for s in found[:3]]}
    if dump:
        Path(dump).write_text(json.dumps([s.to_dict() for s in found], indent=1, sort_keys=True))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--wide", action="store_true", help="breast cancer's 30 columns instead of the planted data")
    parser.add_argument("--dump", help="write the suggestions (text and figures) as JSON to this file")
    parser.add_argument("--against", help="another checkout to time the same way (e.g. ../rulecraft-main)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one result line, for --against
    args = parser.parse_args()
    if args.json:
        print(json.dumps(once(args.rows, args.wide, args.dump)))
        return
    roots = [str(ROOT)] + ([args.against] if args.against else [])
    times: dict[str, list[dict]] = {root: [] for root in roots}
    for _ in range(args.rounds):
        for root in roots:
            command = [sys.executable, __file__, "--rows", str(args.rows), "--json"] + (["--wide"] if args.wide else [])
            if args.dump and root == str(ROOT):
                command += ["--dump", args.dump]
            out = subprocess.run(command, env={**os.environ, "SUGGEST_SPEED_ROOT": root}, check=True,
                                 capture_output=True, text=True).stdout
            times[root].append(json.loads(out.strip().splitlines()[-1]))
    data = "breast cancer x30 columns" if args.wide else "planted"
    for root, runs in times.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        print(f"{root}: suggest_rules on {args.rows:,} cases ({data}): {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"(median of {len(runs)}), {runs[0]['suggestions']} suggestions, searched {runs[0]['searched']}")
        for text in runs[0]["first"]:
            print("    " + text)
    if args.against:
        new, old = (statistics.median(r["cpu"] for r in times[root]) for root in roots)
        print(f"old/new CPU: {old / new:.1f}x")


if __name__ == "__main__":
    main()
