"""The demo rule set shipped with Rulecraft: breast mass triage on the Wisconsin diagnostic data.

The data comes with scikit-learn (``sklearn.datasets.load_breast_cancer``), offline; the rules and the vocabulary
are written for clinicians in ``breast-mass-triage/``.
"""
from __future__ import annotations

from pathlib import Path

DEMO_RULESET = "breast-mass-triage"


def demo_path() -> Path:
    return Path(__file__).with_name(DEMO_RULESET)


def reference_data():
    """The 569 cases as a DataFrame: the 30 measurements (columns named as in scikit-learn) and 'diagnosis'
    ('benign' or 'malignant')."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.copy()
    frame["diagnosis"] = [str(bunch.target_names[t]) for t in bunch.target]
    return frame
