"""Analysis and impact over HTTP, on the demo rule set and its reference data (the breast-cancer cases)."""
from __future__ import annotations

import pytest

from rules_dsl.demo import demo_path, reference_data


@pytest.fixture
def demo(ws):
    ruleset = ws.import_folder(demo_path(), by="Ana", why="Demo")
    data = reference_data()
    data["size band"] = ["large" if r > 15 else "small" for r in data["mean radius"]]
    response = ws.as_("Ana").post(f"/api/rulesets/{ruleset}/datasets?name=Wisconsin&label=diagnosis",
                                  data=data.to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.get_json()
    return ruleset


def test_analysis_by_rule_and_by_subgroup(ws, demo):
    body = ws.as_("Alex").get(f"/api/rulesets/{demo}/analysis", query_string={"group": "size band"}).get_json()
    assert body["summary"]["rows"] == 569
    assert body["summary"]["accuracy"] > body["summary"]["baseline"]["accuracy"]
    very_large = next(r for r in body["rules"] if r["id"] == "very-large-nuclei")
    assert very_large["precision"] == 1.0 and very_large["fires"] > 0
    assert set(body["subgroups"]["groups"][0]) >= {"group", "rows", "accuracy"} or body["subgroups"]["groups"]
    gaps, by_figure = body["subgroups"]["gaps"], body["subgroups"]["gaps_by_figure"]
    assert len(gaps) == 5 and gaps == sorted(gaps, key=lambda g: -g["gap"])
    assert set(by_figure) == {"accuracy", "coverage", "rule coverage", "rule precision"}
    # Gaps in being right are there even though gaps in how often rules fire are larger.
    precision = by_figure["rule precision"]
    assert precision and all(g["figure"] == "rule precision" for g in precision)
    assert precision[0]["gap"] < gaps[-1]["gap"]


def test_impact_of_a_change(ws, demo):
    api = ws.as_("Ana")
    rule = api.get(f"/api/rulesets/{demo}/rules/small-regular-nuclei")
    before = rule.headers["ETag"].strip('"')
    structured = rule.get_json()["structured"]
    changed = api.put(f"/api/rulesets/{demo}/rules/small-regular-nuclei",
                      json={"rule": {**structured, "enabled": False}, "why": "Switch off"},
                      headers={"If-Match": before})
    assert changed.status_code == 200, changed.get_json()
    impact = ws.as_("Alex").get(f"/api/rulesets/{demo}/impact",
                                query_string={"from": before, "group": "size band"}).get_json()
    assert impact["rows"] == 569
    assert impact["changed"] == sum(t["rows"] for t in impact["transitions"] if t["changed"])
    assert impact["changed"] > 0  # the rule decided cases; other rules or the default answer them now
    assert {c["id"] for c in impact["rule_changes"]} == {"small-regular-nuclei"}
    assert impact["by_group"]


def test_without_a_data_set_it_says_so(ws):
    response = ws.as_("Alex").get("/api/rulesets/sepsis-triage/analysis")
    assert response.status_code == 404 and "reference data set" in response.get_json()["error"]["message"]


def test_unknown_group_column_is_422(ws, demo):
    response = ws.as_("Alex").get(f"/api/rulesets/{demo}/analysis", query_string={"group": "nope"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "group"


def test_a_number_column_is_split_into_bands_of_about_equal_size(ws, demo):
    body = ws.as_("Alex").get(f"/api/rulesets/{demo}/analysis", query_string={"group": "mean radius"}).get_json()
    bands = body["split"]["bands"]
    assert body["split"]["column"] == "mean radius" and len(bands) == 4
    assert bands[0].startswith("below ") and bands[-1].endswith(" and above")
    groups = {g["group"]: g["rows"] for g in body["subgroups"]["groups"]}
    assert set(groups) == set(bands) and sum(groups.values()) == 569
    assert all(120 <= n <= 160 for n in groups.values())
    # The rules still read the measurement itself, not its bands.
    plain = ws.as_("Alex").get(f"/api/rulesets/{demo}/analysis").get_json()
    assert plain["summary"] == body["summary"]
    latest = ws.as_("Alex").get(f"/api/rulesets/{demo}").get_json()["version"]
    two = ws.as_("Alex").get(f"/api/rulesets/{demo}/impact", query_string={
        "from": latest, "group": "mean radius", "bands": 2}).get_json()
    assert len(two["split"]["bands"]) == 2 and len(two["by_group"]) == 2


def test_a_column_with_too_many_groups_is_refused_in_plain_words(ws, demo):
    api = ws.as_("Ana")
    data = reference_data().assign(case=[f"case {i}" for i in range(569)])
    created = api.post(f"/api/rulesets/{demo}/datasets?name=Named&label=diagnosis", data=data.to_csv(index=False),
                       headers={"Content-Type": "text/csv"})
    assert created.status_code == 201
    response = api.get(f"/api/rulesets/{demo}/analysis", query_string={"dataset": created.get_json()["id"],
                                                                        "group": "case"})
    assert response.status_code == 422
    assert "569 different values: too many groups" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("content, words", [
    (b"", "The file is empty."),
    (b"a,b\n1,2\n3,4,5,6\n", "Line 3 has 4 values, but the first line names 2 columns."),
    (b'a,b\n"1,2\n3,4\n', "A quotation mark on line 2 is never closed"),
    (b"PK\x03\x04\x14\x00\x06\x00", "save it as \u201cCSV UTF-8\u201d"),
    ("naïve,b\n1,2\n".encode("latin-1"), "not plain text in UTF-8"),
    (b"a;b\n1;2\n", "separated by semicolons or tabs"),
    (b"a,b\n", "no cases below them"),
])
def test_a_bad_csv_file_is_refused_in_plain_words(ws, demo, content, words):
    response = ws.as_("Ana").post(f"/api/rulesets/{demo}/datasets?name=Bad", data=content,
                                  headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert words in error["message"] and error["field"] == "file"


def test_an_outcome_column_with_empty_cells_is_refused(ws, demo):
    response = ws.as_("Ana").post(f"/api/rulesets/{demo}/datasets?name=Gaps&label=diagnosis",
                                  data=b"mean radius,diagnosis\n12,benign\n20,\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "empty in 1 of 2 rows" in error["message"] and error["field"] == "label_column"
