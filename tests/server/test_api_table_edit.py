"""Editing the decision table in place: check cell by cell, save every change as one version (issue 19, item 2)."""
from __future__ import annotations

TABLE = "/api/rulesets/sepsis-triage/table"


def etag_of(response) -> str:
    return response.headers["ETag"].strip('"')


def opened(api):
    got = api.get(TABLE)
    body = got.get_json()
    return etag_of(got), body["columns"], body["rows"]


def at(columns, rows, rule_id, column):
    row = next(r for r in rows if r[columns.index("id")] == rule_id)
    return row, columns.index(column)


def test_an_unchanged_table_checks_clean_and_changes_nothing(ws):
    api = ws.as_("Ana")
    version, columns, rows = opened(api)
    answer = api.post(f"{TABLE}/check", json={"columns": columns, "rows": rows})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["ok"] and body["problems"] == [] and body["changes"] == [] and body["base"] == version
    refused = api.put(TABLE, json={"columns": columns, "rows": rows, "why": "nothing"},
                      headers={"If-Match": f'"{version}"'})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "no-change"


def test_a_mistake_is_reported_at_its_cell(ws):
    api = ws.as_("Ana")
    version, columns, rows = opened(api)
    feature = next(f for f in api.get(TABLE).get_json()["features"])
    row, index = at(columns, rows, rows[0][columns.index("id")], feature)
    row[index] = "abvoe 17"
    body = api.post(f"{TABLE}/check", json={"columns": columns, "rows": rows}).get_json()
    assert not body["ok"]
    (problem,) = body["problems"]
    assert problem["row"] == 0 and problem["column"] == feature and problem["cell"].startswith("Table!")
    assert "cannot be read as a condition" in problem["message"]
    saved = api.put(TABLE, json={"columns": columns, "rows": rows, "why": "typo"},
                    headers={"If-Match": f'"{version}"'})
    assert saved.status_code == 422 and saved.get_json()["error"]["problems"][0]["column"] == feature


def test_edit_add_remove_and_reprioritise_in_one_version(ws):
    api = ws.as_("Ana")
    version, columns, rows = opened(api)
    before = len(api.get("/api/rulesets/sepsis-triage/history").get_json()["versions"])
    row, index = at(columns, rows, "sirs", "priority")
    row[index] = 9
    removed = rows.pop(-1)[columns.index("id")]
    new = [None] * len(columns)
    new[columns.index("rule")] = "Old and central"
    new[columns.index("age")] = "above 80"
    new[columns.index("location")] = "centre"
    new[columns.index("conclusion")] = "high"
    rows.append(new)
    check = api.post(f"{TABLE}/check", json={"columns": columns, "rows": rows}).get_json()
    assert check["ok"], check["problems"]
    assert check["summary"] == {"added": 1, "changed": 1, "deleted": 1}
    assert api.put(TABLE, json={"columns": columns, "rows": rows, "why": "x"}).status_code == 428
    saved = api.put(TABLE, json={"columns": columns, "rows": rows, "why": "Table tidy-up"},
                    headers={"If-Match": f'"{version}"'})
    assert saved.status_code == 200, saved.get_json()
    history = api.get("/api/rulesets/sepsis-triage/history").get_json()["versions"]
    assert len(history) == before + 1 and history[0]["why"] == "Table tidy-up"
    assert "priority 9" in api.get("/api/rulesets/sepsis-triage/rules/sirs").get_json()["text"]
    assert api.get(f"/api/rulesets/sepsis-triage/rules/{removed}").status_code == 404
    text = api.get("/api/rulesets/sepsis-triage/rules/old-and-central").get_json()["text"]
    assert "age is above 80" in text and 'location is "centre"' in text and '"high"' in text

    # the same table sent again against the old version: someone saved since, so nothing is merged over
    stale = api.put(TABLE, json={"columns": columns, "rows": rows, "why": "again"},
                    headers={"If-Match": f'"{version}"'})
    assert stale.status_code == 409, stale.get_json()


def test_a_table_that_is_not_a_table_is_a_clear_422(ws):
    api = ws.as_("Ana")
    for body in ({"rows": []}, {"columns": ["rule"], "rows": "x"}, {"columns": ["rule"], "rows": [[{"a": 1}]]},
                 {"columns": ["rule", "text"], "rows": []}):
        answer = api.post(f"{TABLE}/check", json=body)
        assert answer.status_code == 422 and answer.get_json()["error"]["message"], body


def test_a_new_row_named_like_another_rule_is_refused_plainly(ws):
    api = ws.as_("Ana")
    version, columns, rows = opened(api)
    copy = list(rows[-1])
    copy[columns.index("id")] = None
    rows.append(copy)
    body = api.post(f"{TABLE}/check", json={"columns": columns, "rows": rows}).get_json()
    assert not body["ok"] and body["problems"]
    assert all(p["message"] for p in body["problems"]), body["problems"]
    assert any(copy[columns.index("rule")] in p["message"] for p in body["problems"]), body["problems"]


def _save_table(api, version, columns, rows, why):
    saved = api.put(TABLE, json={"columns": columns, "rows": rows, "why": why}, headers={"If-Match": f'"{version}"'})
    assert saved.status_code == 200, saved.get_json()
    return opened(api)


def _new_row(columns, name):
    row = [None] * len(columns)
    row[columns.index("rule")] = name
    row[columns.index("age")] = "above 80"
    row[columns.index("conclusion")] = "high"
    return row


def test_a_new_row_never_gets_the_id_of_a_deleted_rule(ws):
    """A new rule named like a rule deleted earlier is a new rule: reusing the old id would show the old rule's
    history and blame as the new one's (the single-rule form already gives a fresh id)."""
    api = ws.as_("Ana")
    version, columns, rows = opened(api)
    version, columns, rows = _save_table(api, version, columns, rows + [_new_row(columns, "Very old")], "add")
    assert api.get("/api/rulesets/sepsis-triage/rules/very-old").status_code == 200
    rows = [r for r in rows if r[columns.index("id")] != "very-old"]
    version, columns, rows = _save_table(api, version, columns, rows, "remove")
    again = rows + [_new_row(columns, "Very old")]
    check = api.post(f"{TABLE}/check", json={"columns": columns, "rows": again}).get_json()
    assert check["ok"], check["problems"]
    (added,) = check["changes"]
    assert added["change"] == "added" and added["rule"] != "very-old", added
    version, columns, rows = _save_table(api, version, columns, again, "add again")
    assert api.get("/api/rulesets/sepsis-triage/rules/very-old").status_code == 404
    assert api.get(f"/api/rulesets/sepsis-triage/rules/{added['rule']}").status_code == 200
