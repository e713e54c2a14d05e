"""How long do rule suggestions take on large data (issue 18: they run inside an HTTP request)?

    python bench/suggest_speed.py                       # 100,000 cases, both labels
    python bench/suggest_speed.py --rows 1000000        # a million
    python bench/suggest_speed.py --dump out.json       # the suggestions too, to compare two versions

The data are the planted-rule cases of tests/rules_dsl/test_suggest.py (six features: four numbers, yes/no, a
category; "age above 60 and systolic pressure at most 100" decides the label, 2% of the labels flipped), scaled to
``--rows``. One call of ``suggest_rules`` for every label, timed from the frame to the answer.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dump", help="write the suggestions (text and figures) as JSON to this file")
    args = parser.parse_args()
    frame, rs = planted(args.rows), ruleset()
    started = time.perf_counter()
    found = suggest_rules(rs, frame, "risk")
    seconds = time.perf_counter() - started
    print(f"suggest_rules on {args.rows:,} cases: {seconds:.2f} s, {len(found)} suggestions")
    for s in found[:3]:
        print("  " + s.text.split("\n", 1)[1].replace("\n", " | ")
              + f"  (precision {s.precision:.3f}, held out {s.heldout_precision:.3f})")
    if args.dump:
        Path(args.dump).write_text(json.dumps([s.to_dict() for s in found], indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
