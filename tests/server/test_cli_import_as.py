"""`rulecraft import ... --as NAME` (a folder, or a rules table --into): the version is saved under NAME, so NAME
must be someone who may save rules (red team, round 3): not a disabled person, not a reviewer, auditor or ML
engineer. Each refusal says who and what to do, and nothing is saved."""
from __future__ import annotations

import pytest
from test_process import rulecraft

from tests.server.conftest import FIXTURES

SEPSIS = FIXTURES / "sepsis-triage"
PASSWORD = "a long password 1\n"


@pytest.fixture
def data(tmp_path):
    data = tmp_path / "data"
    for name, role in (("Ana", "author"), ("Rui", "reviewer"), ("Alex", "auditor"), ("Dora", "author")):
        rulecraft("create-user", name, "--role", role, data_dir=data, stdin=PASSWORD)
    rulecraft("import", str(SEPSIS), "--as", "Ana", "--why", "Start", data_dir=data)
    rulecraft("disable", "Dora", data_dir=data)
    table = tmp_path / "rules.csv"
    rulecraft("export", "sepsis-triage", "--format", "csv", "--out", str(table), data_dir=data)
    table.write_text(table.read_text().replace(",2,yes,", ",7,yes,", 1))   # one priority changed
    return data, table


@pytest.mark.parametrize(("who", "words"), [("Rui", "a reviewer, a role that does not edit rules"),
                                            ("Alex", "an auditor, a role that does not edit rules"),
                                            ("Dora", "Dora is disabled and cannot save rules")])
def test_an_import_as_someone_who_may_not_save_rules_is_refused(data, who, words):
    data_dir, table = data
    for args in (["import", str(SEPSIS), "--name", "copy"], ["import", str(table), "--into", "sepsis-triage"]):
        refused = rulecraft(*args, "--as", who, "--why", "Try", data_dir=data_dir, check=False)
        assert refused.returncode == 1, refused.stdout
        assert words in refused.stderr and "--as" in refused.stderr and "Traceback" not in refused.stderr
    assert rulecraft("export", "copy", "--format", "csv", data_dir=data_dir, check=False).returncode != 0
    assert ",2,yes," in rulecraft("export", "sepsis-triage", "--format", "csv", data_dir=data_dir).stdout


def test_an_author_imports_the_table(data):
    data_dir, table = data
    done = rulecraft("import", str(table), "--into", "sepsis-triage", "--as", "Ana", "--why", "SIRS later",
                     data_dir=data_dir)
    assert "Saved sepsis-triage" in done.stdout
