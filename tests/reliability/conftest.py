"""Fixtures of the reliability suite: a data folder built like the commands build it, the real server process.

Environment variables (the defaults keep the normal run of tests/reliability within a few minutes):
    RULECRAFT_CRASH_REPETITIONS   kills per fault point in the crash suite (default 1; the documented run uses 5)
    RULECRAFT_FUZZ_EXAMPLES       examples per API operation for schemathesis (default 12)
    RULECRAFT_CONCURRENCY_SAVES   saves per writer process in the concurrency suite (default 12)
"""
from __future__ import annotations

import os

import pytest

from bench.reliability.harness import make_workspace


def env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


@pytest.fixture
def workspace(tmp_path):
    """A fresh data folder: ten people with write tokens, the sepsis rule set, release v1."""
    return make_workspace(tmp_path / "data")
