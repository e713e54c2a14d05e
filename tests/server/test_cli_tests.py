"""``rulecraft test``: a rule set's tests.csv run from the command line, failures in plain words, exit 0/1/2."""
from __future__ import annotations

from tests.server.test_cli_language import rulecraft, sepsis_copy  # noqa: F401 (a fixture)

HEADER = "case,temperature,heart rate,respiratory rate,white cell count,age,expect,expect fires,note\n"
PASSING = (HEADER + "fever and fast pulse,39,100,12,8,40,high,Two or more SIRS criteria,\n"
           "calm adult,37,70,12,8,40,low,,\n")


def test_all_cases_pass_exit_0(sepsis_copy):  # noqa: F811
    (sepsis_copy / "tests.csv").write_text(PASSING)
    result = rulecraft("test", sepsis_copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{sepsis_copy}: 2 cases, 2 passed, 0 failed"]


def test_a_failing_case_is_said_in_plain_words_exit_1(sepsis_copy):  # noqa: F811
    (sepsis_copy / "tests.csv").write_text(PASSING + "wrong,39,100,12,8,40,low,,the SIRS rule must not win\n")
    result = rulecraft("test", sepsis_copy)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"Case 'wrong' ({sepsis_copy / 'tests.csv'} line 4): expected 'low', but the rules answered 'high' "
        "(decided by 'Two or more SIRS criteria'). Note: the SIRS rule must not win",
        f"{sepsis_copy}: 3 cases, 2 passed, 1 failed"]


def test_an_error_in_the_file_gives_file_line_and_exit_2(sepsis_copy):  # noqa: F811
    (sepsis_copy / "tests.csv").write_text("case,temperature,expect\na,hot,high\nb,39,hihg\n")
    result = rulecraft("test", sepsis_copy)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    file = sepsis_copy / "tests.csv"
    assert f"{file}:2: 'temperature' is a number, but this case has 'hot'." in lines
    assert any(line.startswith(f"{file}:3: 'hihg' is not an answer") and "Did you mean 'high'?" in line
               for line in lines)
    assert lines[-1] == f"{file}: 2 errors; no case was run."


def test_no_tests_file_or_broken_rules_exit_2(sepsis_copy, tmp_path):  # noqa: F811
    result = rulecraft("test", sepsis_copy)
    assert result.returncode == 2 and "has no tests.csv" in result.stderr
    (sepsis_copy / "tests.csv").write_text(PASSING)
    (sepsis_copy / "rules" / "bad.rule").write_text('rule "Bad" when temprature is above 38\n')
    result = rulecraft("test", sepsis_copy)
    assert result.returncode == 2 and "the rules have errors" in result.stderr
    result = rulecraft("test", tmp_path / "nowhere", "--data-dir", tmp_path / "no-workspace")
    assert result.returncode == 2 and "is not a rule-set folder" in result.stderr
    assert not (tmp_path / "no-workspace").exists()


def test_check_checks_tests_csv_too(sepsis_copy):  # noqa: F811
    (sepsis_copy / "tests.csv").write_text("case,temperature,expect,expect fires\na,39,high,Two SIRS\n")
    result = rulecraft("check", sepsis_copy)
    assert result.returncode == 1
    assert f"{sepsis_copy / 'tests.csv'}:2: There is no rule called 'Two SIRS'" in result.stderr
    assert result.stderr.splitlines()[-1] == f"{sepsis_copy}: 1 error in tests.csv"
    (sepsis_copy / "tests.csv").write_text(PASSING)
    assert rulecraft("check", sepsis_copy).returncode == 0


def test_import_keeps_tests_csv_and_test_runs_on_the_workspace(sepsis_copy, tmp_path):  # noqa: F811
    from tests.server.test_process import rulecraft as in_workspace

    data = tmp_path / "data"
    (sepsis_copy / "tests.csv").write_text(PASSING + "wrong,39,100,12,8,40,low,,\n")
    in_workspace("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    in_workspace("import", str(sepsis_copy), "--as", "Ana", "--why", "Start", data_dir=data)
    result = in_workspace("test", "sepsis-triage", data_dir=data, check=False)
    assert result.returncode == 1, result.stderr
    assert "Case 'wrong' (sepsis-triage/tests.csv line 4): expected 'low'" in result.stdout
    assert "3 cases, 2 passed, 1 failed" in result.stdout
    (sepsis_copy / "tests.csv").write_text("case,temperature,expect\na,39,medium\n")
    refused = in_workspace("import", str(sepsis_copy), "--as", "Ana", "--why", "Again", "--name", "other",
                           data_dir=data, check=False)
    assert refused.returncode == 1 and "fix tests.csv first" in refused.stderr
