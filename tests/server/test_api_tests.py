"""Expected outcomes (tests.csv) through the API: read and run at any version, changed like any edit, by role."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.server.conftest import FIXTURES

URL = "/api/rulesets/sepsis-triage/tests"
HEADER = "case,temperature,heart rate,respiratory rate,white cell count,age,expect,expect fires,note\n"
PASSING = (HEADER + "fever and fast pulse,39,100,12,8,40,high,Two or more SIRS criteria,\n"
           "calm adult,37,70,12,8,40,low,,\n")
FAILING = PASSING + "wrong,39,100,12,8,40,low,,the SIRS rule must not win\n"


def etag_of(response) -> str:
    return response.headers["ETag"].strip('"')


def put(api, csv, why="Expected outcomes from the guideline", base=None):
    base = base or etag_of(api.get(URL))
    return api.put(URL, json={"csv": csv, "why": why}, headers={"If-Match": base})


def test_no_tests_yet(ws):
    response = ws.as_("Ana").get(URL)
    assert response.status_code == 200
    body = response.get_json()
    assert body["csv"] is None and (body["cases"], body["passed"], body["failed"]) == (0, 0, 0)
    assert etag_of(response) == body["version"]


def test_saving_tests_is_a_version_with_a_why_and_results_come_back(ws):
    api = ws.as_("Ana")
    before = etag_of(api.get(URL))
    response = put(api, FAILING, base=before)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] != before and etag_of(response) == body["version"]
    assert (body["cases"], body["passed"], body["failed"]) == (3, 2, 1)
    failure = body["failures"][0]
    assert (failure["case"], failure["line"], failure["expected"], failure["answered"]) == ("wrong", 4, "low",
                                                                                           "high")
    assert failure["deciding"] == ["Two or more SIRS criteria"]
    assert failure["message"] == ("Case 'wrong' (tests.csv line 4): expected 'low', but the rules answered 'high' "
                                  "(decided by 'Two or more SIRS criteria'). Note: the SIRS rule must not win")
    # the tests are versioned with the rules: the version before has none
    assert api.get(URL, query_string={"version": before}).get_json()["csv"] is None
    assert api.get(URL).get_json()["csv"] == FAILING
    history = api.get("/api/rulesets/sepsis-triage/history").get_json()["versions"][0]
    assert history["why"] == "Expected outcomes from the guideline" and history["author"] == "Ana"
    assert history["action"] == "tests.update"
    events = ws.as_("Alex").get("/api/audit", query_string={"action": "tests.update"}).get_json()["events"]
    assert len(events) == 1 and events[0]["why"] == "Expected outcomes from the guideline"


def test_the_results_follow_the_rules_at_each_version(ws):
    api = ws.as_("Ana")
    saved = put(api, PASSING).get_json()
    assert saved["failed"] == 0
    rule = api.get("/api/rulesets/sepsis-triage/rules/sirs")
    text = rule.get_json()["text"].replace('"high"', '"low"')
    changed = api.put("/api/rulesets/sepsis-triage/rules/sirs", json={"text": text, "why": "Try low"},
                      headers={"If-Match": etag_of(rule)})
    assert changed.status_code == 200, changed.get_json()
    now = api.get(URL).get_json()
    assert (now["passed"], now["failed"]) == (1, 1)
    assert now["failures"][0]["case"] == "fever and fast pulse"
    assert api.get(URL, query_string={"version": saved["version"]}).get_json()["failed"] == 0


def test_the_answer_to_a_rule_save_says_which_tests_now_fail(ws):
    """Issue 17: every save shows which tests now fail; the save's own answer carries it (a failing test never
    stops the save), null when the rule set has no tests."""
    api = ws.as_("Ana")
    rule = api.get("/api/rulesets/sepsis-triage/rules/sirs")
    high = rule.get_json()["text"]
    made = api.post("/api/rulesets/sepsis-triage/rules",
                    json={"text": 'rule "Very hot" when temperature is above 41 then sepsis risk is "high"',
                          "why": "Before any test"})
    assert made.status_code == 201 and made.get_json()["tests"] is None
    put(api, PASSING)
    rule = api.get("/api/rulesets/sepsis-triage/rules/sirs")
    changed = api.put("/api/rulesets/sepsis-triage/rules/sirs", json={"text": high.replace('"high"', '"low"'),
                                                                     "why": "Try low"},
                      headers={"If-Match": etag_of(rule)})
    assert changed.status_code == 200, changed.get_json()
    tests = changed.get_json()["tests"]
    assert (tests["valid"], tests["cases"], tests["failed"]) == (True, 2, 1)
    assert tests["failures"][0]["case"] == "fever and fast pulse"
    assert tests["failures"][0]["message"].startswith("Case 'fever and fast pulse' (tests.csv line 2): expected")
    assert api.get("/api/rulesets/sepsis-triage/rules/sirs").get_json().get("tests") is None  # only a save's
    back = api.put("/api/rulesets/sepsis-triage/rules/sirs", json={"text": high, "why": "Back to high"},
                   headers={"If-Match": etag_of(changed)}).get_json()
    assert (back["tests"]["failed"], back["tests"]["failures"]) == (0, [])


def test_a_file_with_errors_is_refused_with_its_lines(ws):
    api = ws.as_("Ana")
    response = put(api, "case,temperature,expect\na,hot,high\nb,39,hihg\n")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid-tests" and error["field"] == "csv"
    assert "line 2: 'temperature' is a number, but this case has 'hot'" in error["message"]
    assert [p["line"] for p in error["problems"]] == [2, 3]
    assert api.get(URL).get_json()["csv"] is None


def test_a_change_based_on_an_old_version_of_the_tests_is_refused(ws):
    api = ws.as_("Ana")
    base = etag_of(api.get(URL))
    assert put(api, PASSING, base=base).status_code == 200
    other = put(ws.as_("Bea"), FAILING, base=base, why="Mine")
    assert other.status_code == 409, other.get_json()
    assert api.get(URL).get_json()["csv"] == PASSING


def test_if_match_and_why_are_needed_and_null_removes(ws):
    api = ws.as_("Ana")
    assert api.put(URL, json={"csv": PASSING, "why": "x"}).status_code == 428
    no_why = put(api, PASSING, why=" ")
    assert no_why.status_code in (400, 422) and no_why.get_json()["error"]["field"] == "why"
    assert put(api, PASSING).status_code == 200
    again = put(api, PASSING)
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "no-change"
    removed = put(api, None, why="Start over")
    assert removed.status_code == 200 and removed.get_json()["csv"] is None
    assert put(api, 5).status_code in (400, 422)


@pytest.mark.parametrize(("who", "read", "write"), [
    ("Ana", 200, 200), ("Ada", 200, 200), ("Rui", 200, 403), ("Alex", 200, 403), ("Mia", 403, 403), (None, 401, 401),
])
def test_roles(ws, who, read, write):
    api = ws.as_(who)
    assert api.get(URL).status_code == read
    base = etag_of(ws.as_("Ana").get(URL))
    assert api.put(URL, json={"csv": PASSING, "why": "w"}, headers={"If-Match": base}).status_code == write


def test_unknown_rule_set_is_404(ws):
    assert ws.as_("Ana").get("/api/rulesets/nope/tests").status_code == 404


def test_rulecraft_test_on_a_workspace_version(ws, tmp_path):
    if not ws.app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the command line is tested once")
    api = ws.as_("Ana")
    passing = put(api, PASSING).get_json()["version"]
    put(api, FAILING)
    root = FIXTURES.parents[1]
    data = ws.app.config["DATA_DIR"]

    def run(*args):
        return subprocess.run([sys.executable, "-m", "server", "test", "sepsis-triage", "--data-dir", str(data),
                               "--database-url", ws.app.config["DATABASE_URL"], *args], cwd=root,
                              capture_output=True, text=True, timeout=120)

    latest = run("--version", api.get(URL).get_json()["version"])
    assert latest.returncode == 1, latest.stderr
    assert "Case 'wrong' (sepsis-triage/tests.csv line 4): expected 'low'" in latest.stdout
    old = run("--version", passing)
    assert old.returncode == 0, old.stderr
    assert "2 cases, 2 passed, 0 failed" in old.stdout
    missing = run("--version", "v9")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
