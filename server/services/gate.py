"""The release gate (ruleset.yaml ``gate:``) measured for a version: its tests, and figures on the named reference
data set against the latest release. Measured when a release is requested and again at approval
(services/releases.py); the figures are rules_dsl.gate's.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from rules_dsl.gate import GateResult, evaluate

from . import datasets, expected
from .errors import ServiceError
from .workspace import Workspace


def measure(ws: Workspace, db: Session, datasets_dir: Path | None, ruleset: str, version: str) -> GateResult | None:
    """The gate of ``ruleset`` as declared at ``version``, measured for that version; None when it declares none."""
    candidate = ws.ruleset(ruleset, version)
    gate = candidate.settings.gate
    if gate is None:
        return None
    report, tests_error = None, None
    if gate.tests:
        found = expected.tests_at(ws, ruleset, version)
        if found.report is None:
            first = next(p for p in found.problems if p.is_error)
            tests_error = f"tests.csv line {first.line}: {first.message}" if first.line else first.message
        report = found.report
    data = label = None
    if gate.needs_data and datasets_dir is not None:
        wanted = gate.dataset.casefold()
        dataset = next((d for d in datasets.datasets_of(db, ruleset) if d.name.casefold() == wanted), None)
        if dataset is not None and dataset.label_column:
            try:
                data, label = datasets.frame(Path(datasets_dir), dataset), dataset.label_column
            except ServiceError:
                data = label = None
    released = released_name = None
    latest = ws.latest_release(ruleset)
    if latest is not None and latest.version != version:
        released, released_name = ws.ruleset(ruleset, latest.version), latest.release
    return evaluate(gate, candidate, tests=report, tests_error=tests_error, data=data, label_column=label,
                    released=released, released_name=released_name)


def failing_words(result: GateResult) -> str:
    """The failing criteria in one sentence: 'accuracy 80.0% (at least 85.0%); ...'."""
    return "; ".join(f"{c.words}: {c.figure} ({c.limit})" for c in result.failing())
