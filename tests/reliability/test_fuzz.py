"""Fuzzing what tests/server/test_openapi.py and tests/rules_dsl do not already cover.

Already there (not repeated here): random text, bytes and word salad through the parser (tests/rules_dsl/
test_errors.py), generated rules and data through every backend against a reference (test_parity.py), generated
trees through the formatter and the structured form (test_formatter.py, test_structured.py); schemathesis as an
admin, an ML engineer and nobody (tests/server/test_openapi.py).

Added here:
- schemathesis with an author's and a reviewer's token, a token that is not valid, and a signed-in browser session
  (cookie + CSRF header); every response must be documented (status and schema, errors included), none a 5xx;
- arbitrary JSON as a structured rule, a vocabulary and settings: a result or the library's own error; any change
  to a bundle: refused (BundleError or RuleError), never loaded as another rule set;
- arbitrary cases through the API: ``predict`` (one row at a time) and ``evaluate`` (vectorized) fire the same rules
  for every case that one of them accepts, and refuse the same cases; integers too large for a float among them;
- the same cases as a CSV file, sometimes with a comma at the end of every line: refused with the line, or the
  same rules fire as for the JSON cases (never values under a neighbouring column's name).
RULECRAFT_FUZZ_EXAMPLES sets examples per operation or property (default 12; a long run: 500).
"""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

import rules_dsl
from rules_dsl import BundleError, RuleError, Settings, Vocabulary, rule_from_json

from .conftest import env_int

EXAMPLES = env_int("RULECRAFT_FUZZ_EXAMPLES", 12)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _session_headers(inproc):
    client, csrf = inproc.signed_in("Ada")
    return {"X-CSRF-Token": csrf}, {"rulecraft_session": client.get_cookie("rulecraft_session").value}


@pytest.mark.slow
@pytest.mark.parametrize("who", ["Ana", "Rui", "invalid token", "browser session"])
def test_api_fuzzing_finds_no_server_error_and_no_undocumented_answer(inproc, who):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", inproc.app)
    cookies = {}
    if who == "invalid token":
        headers = {"Authorization": "Bearer rc_" + "A" * 43}
    elif who == "browser session":
        headers, cookies = _session_headers(inproc)
    else:
        headers = inproc.headers(who)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if who == "browser session" and operation.method.upper() == "DELETE" and operation.path == "/api/session":
            continue  # signing out would end the session the rest of the run needs

        @given(case=operation.as_strategy())
        @SETTINGS
        def check(case):
            response = case.call(headers=headers, cookies=cookies)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
                return
            try:
                case.validate_response(response, checks=[status_code_conformance, response_schema_conformance])
            except Exception as e:  # collect, so that one run reports every operation
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {str(e)[:400]}")

        check()
    assert not failures, "\n".join(sorted(set(failures))[:25])


# ---- the library on arbitrary JSON ----------------------------------------------------------------------------------

# integers too large for a float (JSON allows up to 4,300 digits; float() overflows above about 309)
HUGE = st.integers(10**308, 10**4299) | st.integers(-10**4299, -10**308)
SCALARS = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False) | st.text(max_size=20)
           | HUGE)
KEYS = st.sampled_from(["name", "when", "then", "because", "priority", "enabled", "feature", "op", "values", "all",
                        "any", "at_least", "of", "not", "label", "outcome", "confidence", "unit", "type", "features",
                        "range", "synonyms", "description", "column", "policy", "default", "labels", "title"]) \
    | st.text(max_size=8)
OPS = st.sampled_from(["is", "is not", "above", "below", "at least", "at most", "between", "one of", "not one of",
                       "contains", "is missing", "is known", "over", "bogus"])
JSON = st.recursive(SCALARS | OPS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                    max_leaves=25)


@SETTINGS
@given(JSON)
def test_any_json_is_a_structured_rule_or_a_rule_error(document):
    try:
        rule_from_json(document)
    except RuleError as e:
        assert e.problems and all(p.message for p in e.problems)


@SETTINGS
@given(st.dictionaries(st.just("features"), st.dictionaries(st.text(max_size=12), JSON, max_size=4)) | JSON)
def test_any_json_is_a_vocabulary_or_a_rule_error(document):
    try:
        Vocabulary.from_dict(document)
    except RuleError as e:
        assert e.problems


@SETTINGS
@given(JSON)
def test_any_json_is_settings_or_a_rule_error(document):
    try:
        Settings.from_dict(document)
    except RuleError as e:
        assert e.problems


@pytest.fixture(scope="module")
def bundle_bytes():
    from bench.reliability.harness import FIXTURE

    return rules_dsl.to_bundle(rules_dsl.load(FIXTURE))


@SETTINGS
@given(data=st.data())
def test_any_change_to_a_bundle_is_refused(bundle_bytes, data):
    document = json.loads(bundle_bytes)
    path, node = [], document
    for _ in range(data.draw(st.integers(0, 4))):  # walk somewhere into the document and replace what is there
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append(key)
        node = node[key]
    replacement = data.draw(JSON)
    if path:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = replacement
    else:
        document = replacement
    if data.draw(st.booleans()):
        raw = json.dumps(document).encode()
        unchanged = json.dumps(document, sort_keys=True) == json.dumps(json.loads(bundle_bytes), sort_keys=True)
    else:
        raw, unchanged = data.draw(st.binary(max_size=64)), False
    if unchanged:  # the replacement was what was there: the bundle is still the one that was made
        assert rules_dsl.from_bundle(raw).bundle_hash == json.loads(bundle_bytes)["hash"]
    else:  # any change is refused (its hash no longer matches), never loaded as another rule set
        with pytest.raises((BundleError, RuleError)):
            rules_dsl.from_bundle(raw)


# ---- per row and vectorized agree through the API --------------------------------------------------------------------

VALUES = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
          | st.sampled_from(["margin", "border", "centre", "MARGIN", "", "BIOPSY done", "yes", "38"])
          | st.lists(st.integers(), max_size=2) | HUGE)
FEATURES = st.sampled_from(["temperature", "heart rate", "pulse", "respiratory rate", "white cell count",
                            "lesion diameter", "diam_mm", "location", "smoker", "notes", "age", "unknown thing"])
CASES = st.dictionaries(FEATURES, VALUES, max_size=8)


@pytest.mark.slow
def test_predict_and_evaluate_agree_on_any_case(inproc):
    api = "/api/rulesets/sepsis-triage"

    @given(case=CASES)
    @settings(max_examples=EXAMPLES * 10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        predicted = inproc.call("Mia", "POST", f"{api}/predict?version=v1", json={"case": case})
        evaluated = inproc.call("Mia", "POST", f"{api}/evaluate?version=v1", json={"cases": [case]})
        assert predicted.status_code in (200, 422) and evaluated.status_code in (200, 422), (case, predicted.data)
        assert predicted.status_code == evaluated.status_code, (case, predicted.get_json(), evaluated.get_json())
        if predicted.status_code == 200:
            fired = {f["id"] for f in predicted.get_json()["prediction"]["fired"]}
            body = evaluated.get_json()
            assert fired == {rule for rule, hit in zip(body["rules"], body["fired"][0]) if hit}, case

    check()


NUMBER_COLUMNS = ["temperature", "heart rate", "respiratory rate", "white cell count", "diam_mm", "age"]
ROWS = st.lists(st.fixed_dictionaries({}, optional={c: st.integers(-5, 200) for c in NUMBER_COLUMNS}),
                min_size=1, max_size=6)


@pytest.mark.slow
def test_a_csv_with_a_comma_too_many_is_refused_never_shifted(inproc):
    api = "/api/rulesets/sepsis-triage/evaluate?version=v1"

    @given(rows=ROWS, columns=st.permutations(NUMBER_COLUMNS), trailing=st.booleans())
    @settings(max_examples=EXAMPLES * 5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(rows, columns, trailing):
        end = ",\n" if trailing else "\n"
        text = ",".join(columns) + "\n" + "".join(",".join(str(row.get(c, "")) for c in columns) + end for row in rows)
        from_csv = inproc.call("Mia", "POST", api, data=text, headers={"Content-Type": "text/csv"})
        if trailing:
            assert from_csv.status_code == 400, (text, from_csv.get_json())
            assert "Line 2 has" in from_csv.get_json()["error"]["message"]
            return
        from_json = inproc.call("Mia", "POST", api, json={"cases": rows})
        assert from_csv.status_code == from_json.status_code == 200, (text, from_csv.get_json())
        assert from_csv.get_json()["fired"] == from_json.get_json()["fired"], text

    check()


# ---- names that only look different are the same name --------------------------------------------------------------

LATIN_TO_LOOK_ALIKE = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "C": "С", "E": "Е",
                       "O": "О", "P": "Р", "H": "Н", "K": "К", "M": "М", "T": "Т", "B": "В", "s": "ѕ", "i": "і"}
NAMES = st.text(st.sampled_from("abcdeiopsxyCEOPHKMTB fever"), min_size=1, max_size=16).filter(str.strip)


@SETTINGS
@given(name=NAMES, data=st.data())
def test_a_look_alike_of_a_rule_name_is_a_duplicate(name, data):
    from bench.reliability.harness import FIXTURE

    def variant(ch: str) -> str:
        choice = data.draw(st.sampled_from(["same", "look-alike", "case", "accent"]))
        if choice == "look-alike":
            return LATIN_TO_LOOK_ALIKE.get(ch, ch)
        if choice == "case":
            return ch.swapcase()
        return ch + "\u0301" if choice == "accent" and ch.isalpha() else ch

    other = "".join(variant(ch) for ch in name)
    files = {n: (FIXTURE / n).read_bytes() for n in ("ruleset.yaml", "vocabulary.yaml")}
    files["rules/one.rule"] = f'rule "{name}"\nwhen temperature is above 38\n'.encode()
    files["rules/two.rule"] = f'rule "{other}"\nwhen heart rate is above 90\n'.encode()
    from rules_dsl.ruleset import ruleset_from_files

    with pytest.raises(RuleError) as e:
        ruleset_from_files(files, id="fuzz")
    assert [p.code for p in e.value.problems] == ["duplicate-name"], (name, other)
