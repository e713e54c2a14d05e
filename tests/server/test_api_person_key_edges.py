"""An admin's key for a person (POST /api/users/{user}/tokens), and one's own (POST /api/tokens), sent careless
values (red team, round 3): each refused at its field, never a key other than the one asked for."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/api/tokens", "person"])
@pytest.mark.parametrize("days", [True, False, 0, "90", 1.5, [90]])
def test_days_that_are_no_whole_number_are_refused(ws, path, days):
    """true was taken for 1 day, and 0 or false for the default 90."""
    path = f"/api/users/{ws.people['Mia'].id}/tokens" if path == "person" else path
    refused = ws.as_("Ada").post(path, json={"scope": "read", "days": days})
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["field"] == "days" and "whole number" in error["message"]


def test_a_key_name_too_long_is_refused_not_cut_short(ws):
    mia = ws.people["Mia"].id
    before = ws.as_("Ada").get(f"/api/users/{mia}/tokens").get_json()["tokens"]
    refused = ws.as_("Ada").post(f"/api/users/{mia}/tokens", json={"scope": "read", "name": "model server " * 10})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["field"] == "name" and "at most 100 characters" in error["message"]
    assert ws.as_("Ada").get(f"/api/users/{mia}/tokens").get_json()["tokens"] == before
    made = ws.as_("Ada").post(f"/api/users/{mia}/tokens", json={"scope": "read", "name": "m" * 100, "days": 1})
    assert made.status_code == 201 and made.get_json()["name"] == "m" * 100
