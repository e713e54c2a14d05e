"""Primary models for the FallbackPredictor tests that run in worker processes: defined at the top of a module,
so they pickle by reference and load in a new interpreter (tests/rules_dsl/test_fallback.py)."""
from __future__ import annotations

import os
import time


def busy(ms: float) -> None:
    """Compute (holding the GIL, as a model in Python does) for ``ms`` of this thread's CPU time."""
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass


class Moody:
    """Answers 'benign' at once, except for cases marked with a 'mood' key: 'hang' (sleeps a minute), 'fail'
    (raises), 'crash' (its process dies). Knows the process it runs in."""

    def predict_row(self, row):
        mood = row.get("mood")
        if mood == "hang":
            time.sleep(60)
        elif mood == "fail":
            raise ValueError(f"no answer for case {row.get('case')}")
        elif mood == "crash":
            os._exit(3)
        elif mood == "pid":
            return os.getpid()
        return "benign"

    def predict(self, X):
        return ["benign"] * len(X)
