"""Shared fixtures for the language tests: the sepsis-triage rule set on disk and a vocabulary of every kind."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rules_dsl

from .vocab import TEST_SETTINGS, TEST_VOCABULARY

REPO_ROOT = Path(__file__).resolve().parents[2]
SEPSIS = REPO_ROOT / "tests" / "fixtures" / "sepsis-triage"

@pytest.fixture(scope="session")
def sepsis() -> rules_dsl.RuleSet:
    return rules_dsl.load(SEPSIS)


@pytest.fixture
def sepsis_copy(tmp_path) -> Path:
    """A writable copy of the sepsis-triage folder."""
    target = tmp_path / "sepsis-triage"
    shutil.copytree(SEPSIS, target)
    return target


@pytest.fixture(scope="session")
def vocabulary() -> rules_dsl.Vocabulary:
    return TEST_VOCABULARY


@pytest.fixture(scope="session")
def ruleset_settings() -> rules_dsl.Settings:
    return TEST_SETTINGS
