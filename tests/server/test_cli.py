"""The real ``rulecraft`` command on a workspace (a data folder with its Git repository and SQLite database)."""
from __future__ import annotations

import pytest
from test_process import rulecraft

from server.lifecycle import open_runtime
from server.services.errors import Invalid
from tests.server.conftest import FIXTURES

SEPSIS = FIXTURES / "sepsis-triage"


def ruleset_ids(data) -> list[str]:
    runtime = open_runtime({"DATA_DIR": data})
    try:
        head = runtime.workspace.head()
        return sorted(runtime.workspace.ruleset_ids(head)) if head else []
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()


@pytest.fixture
def data(tmp_path):
    data = tmp_path / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    return data


def test_importing_a_folder_whose_rule_set_exists_is_refused(data):
    """It silently made 'sepsis-triage-2', a second copy nobody asked for (issue 12, item 6)."""
    first = rulecraft("import", str(SEPSIS), "--as", "Ana", "--why", "Start", data_dir=data)
    assert "Imported as rule set 'sepsis-triage'" in first.stdout
    again = rulecraft("import", str(SEPSIS), "--as", "Ana", "--why", "Again", data_dir=data, check=False)
    assert again.returncode == 1
    assert "There is already a rule set 'sepsis-triage'" in again.stderr
    assert "--name" in again.stderr
    assert ruleset_ids(data) == ["sepsis-triage"]


def test_importing_under_an_explicit_new_name(data):
    rulecraft("import", str(SEPSIS), "--as", "Ana", "--why", "Start", data_dir=data)
    copy = rulecraft("import", str(SEPSIS), "--as", "Ana", "--why", "A copy to try changes on", "--name",
                     "Sepsis trial", data_dir=data)
    assert "Imported as rule set 'sepsis-trial'" in copy.stdout
    assert ruleset_ids(data) == ["sepsis-triage", "sepsis-trial"]
    taken = rulecraft("import", str(SEPSIS), "--as", "Ana", "--why", "Again", "--name", "sepsis trial", data_dir=data,
                      check=False)
    assert taken.returncode == 1 and "There is already a rule set 'sepsis-trial'" in taken.stderr


def test_the_import_service_refuses_an_existing_name(ws):
    with pytest.raises(Invalid) as info:
        ws.import_folder(SEPSIS)
    assert info.value.code == "duplicate-name" and "'sepsis-triage'" in info.value.message
