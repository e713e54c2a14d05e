"""Benchmarks: Rulecraft side by side with NumPy, pandas, zen-engine, rule-engine, json-logic and Snorkel.

Entry point: ``python -m bench run`` (docs/benchmarks.md). Peers install with ``pip install -e '.[bench]'``.
"""
