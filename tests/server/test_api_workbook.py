"""The workbook API: download any version, preview an upload rule by rule, save it as one version (issue 19)."""
from __future__ import annotations

import base64
import io

import openpyxl

from rules_dsl import workbook

BOOK = "/api/rulesets/sepsis-triage/workbook"


def etag_of(response) -> str:
    return response.headers["ETag"].strip('"')


def edited(data: bytes, change) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data))
    change(book["Rules"])
    out = io.BytesIO()
    book.save(out)
    return base64.b64encode(out.getvalue()).decode()


def column(sheet, title: str) -> str:
    return next(c.column_letter for c in sheet[1] if c.value == title)


def row_of(sheet, rule_id: str) -> int:
    return next(c.row for c in sheet["A"] if c.value == rule_id)


def test_download_preview_and_save_a_workbook(ws):
    api = ws.as_("Ana")
    got = api.get(BOOK)
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in got.headers["Content-Disposition"]
    version = etag_of(got)
    files, meta = workbook.read_files(got.data)
    assert meta["version"] == version and "rules/sirs.rule" in files

    def lower_priority(sheet):
        sheet[f"{column(sheet, 'priority')}{row_of(sheet, 'sirs')}"] = 7
    upload = edited(got.data, lower_priority)
    preview = api.post(f"{BOOK}/preview", json={"workbook": upload}, headers={"If-Match": f'"{version}"'})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["summary"] == {"added": 0, "changed": 1, "deleted": 0}
    (change,) = body["changes"]
    assert change["rule"] == "sirs" and "priority 7" in change["after"] and "priority 7" not in change["before"]
    assert api.put(BOOK, json={"workbook": upload, "why": "x"}).status_code == 428
    saved = api.put(BOOK, json={"workbook": upload, "why": "SIRS first"}, headers={"If-Match": f'"{version}"'})
    assert saved.status_code == 200, saved.get_json()
    new = etag_of(saved)
    assert "priority 7" in api.get("/api/rulesets/sepsis-triage/rules/sirs").get_json()["text"]
    history = api.get("/api/rulesets/sepsis-triage/history").get_json()["versions"]
    assert history[0]["why"] == "SIRS first" and history[0]["version"] == new
    old = api.get(f"{BOOK}?version={version}")
    assert old.status_code == 200 and etag_of(old) == version
    again = api.put(BOOK, json={"workbook": upload, "why": "Again"}, headers={"If-Match": f'"{version}"'})
    assert again.status_code == 409


def test_a_bad_upload_is_refused_at_its_cell_and_nothing_is_saved(ws):
    api = ws.as_("Ana")
    got = api.get(BOOK)

    def misspell(sheet):
        sheet[f"{column(sheet, 'rule')}2"] = "=A1"
    refused = api.put(BOOK, json={"workbook": edited(got.data, misspell), "why": "Bad"},
                      headers={"If-Match": got.headers["ETag"]})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert "Rules!B2" in error["message"] and error["problems"][0]["file"] == "Rules!B2"
    assert api.get("/api/rulesets/sepsis-triage/history").get_json()["versions"][0]["why"] == "Start"
    garbage = api.post(f"{BOOK}/preview", json={"workbook": base64.b64encode(b"not a workbook").decode()})
    assert garbage.status_code == 422 and "not an Excel workbook" in garbage.get_json()["error"]["message"]
    assert api.post(f"{BOOK}/preview", json={"workbook": "%%%"}).status_code == 400


def test_a_reader_may_download_but_not_save(ws):
    got = ws.as_("Alex").get(BOOK)
    assert got.status_code == 200
    upload = base64.b64encode(got.data).decode()
    assert ws.as_("Alex").put(BOOK, json={"workbook": upload, "why": "x"},
                              headers={"If-Match": got.headers["ETag"]}).status_code == 403


def test_a_new_row_in_an_upload_never_gets_the_id_of_a_deleted_rule(ws):
    """As on the Table page: a row without an id is a new rule, with an id no rule of the rule set ever had."""
    api = ws.as_("Ana")
    got = api.get(BOOK)

    def add_row(sheet):
        row = sheet.max_row + 1
        sheet[f"{column(sheet, 'rule')}{row}"] = "Very old"
        sheet[f"{column(sheet, 'age')}{row}"] = "above 80"
        sheet[f"{column(sheet, 'conclusion')}{row}"] = "high"
    saved = api.put(BOOK, json={"workbook": edited(got.data, add_row), "why": "add"},
                    headers={"If-Match": f'"{etag_of(got)}"'})
    assert saved.status_code == 200, saved.get_json()
    assert api.get("/api/rulesets/sepsis-triage/rules/very-old").status_code == 200
    got = api.get(BOOK)
    saved = api.put(BOOK, json={"workbook": edited(got.data, lambda s: s.delete_rows(row_of(s, "very-old"))),
                                "why": "remove"}, headers={"If-Match": f'"{etag_of(got)}"'})
    assert saved.status_code == 200, saved.get_json()
    got = api.get(BOOK)
    upload = edited(got.data, add_row)
    preview = api.post(f"{BOOK}/preview", json={"workbook": upload}, headers={"If-Match": f'"{etag_of(got)}"'})
    (added,) = preview.get_json()["changes"]
    assert added["change"] == "added" and added["rule"] != "very-old", added
    saved = api.put(BOOK, json={"workbook": upload, "why": "add again"}, headers={"If-Match": f'"{etag_of(got)}"'})
    assert saved.status_code == 200, saved.get_json()
    assert api.get("/api/rulesets/sepsis-triage/rules/very-old").status_code == 404
