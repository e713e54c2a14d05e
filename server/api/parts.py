"""The API's feature modules, listed once: each has a blueprint (``bp``) and describes its routes (``PATHS``, and
``SCHEMAS`` for shapes only it answers with). ``register_api`` registers them and openapi.py assembles their
descriptions, so a new module is added here and nowhere else."""
from __future__ import annotations

from . import (
    analysis,
    check,
    datasets,
    expected,
    findings,
    health,
    history,
    people,
    predict,
    releases,
    rulesets,
    shadow,
    suggestions,
    workbooks,
)

FEATURES = (rulesets, history, check, predict, releases, people, datasets, analysis, health, suggestions,
            workbooks, expected, shadow, findings)
