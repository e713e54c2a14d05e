"""Shadow runs: a candidate answers the release's live predictions off the answer's path; disagreements counted;
a new save restarts, a release or stopping ends; a candidate that raises or is slow never touches the answer."""
from __future__ import annotations

import time

import pytest

URL = "/api/rulesets/sepsis-triage"
HOT = {"temperature": 39, "heart rate": 100, "respiratory rate": 12, "white cell count": 8}
CALM = {"temperature": 37, "heart rate": 70, "respiratory rate": 12, "white cell count": 8}


def etag_of(response) -> str:
    return response.headers["ETag"].strip('"')


def release(ws) -> dict:
    requested = ws.as_("Bea").post(f"{URL}/releases", json={"notes": "n"})
    assert requested.status_code == 201, requested.get_json()
    approved = ws.as_("Rui").post(f"{URL}/releases/{requested.get_json()['id']}/approve", json={})
    assert approved.status_code == 200, approved.get_json()
    return approved.get_json()


def sirs_concludes(ws, label: str, why: str = "Try another label") -> str:
    api = ws.as_("Ana")
    rule = api.get(f"{URL}/rules/sirs")
    text = rule.get_json()["text"].replace('"high"', f'"{label}"').replace('"low"', f'"{label}"')
    changed = api.put(f"{URL}/rules/sirs", json={"text": text, "why": why}, headers={"If-Match": etag_of(rule)})
    assert changed.status_code == 200, changed.get_json()
    return changed.get_json()["version"]


def predict(ws, *cases):
    response = ws.as_("Mia").post(f"{URL}/predict", json={"cases": list(cases)})
    assert response.status_code == 200, response.get_json()
    return [p["label"] for p in response.get_json()["predictions"]]


def shadow(ws, who="Rui") -> dict:
    ws.app.extensions["rulecraft.shadower"].wait_idle()
    return ws.as_(who).get(f"{URL}/shadow").get_json()["shadow"]


def test_a_shadow_counts_what_the_candidate_answers_differently(ws):
    release(ws)
    candidate = sirs_concludes(ws, "low")
    started = ws.as_("Rui").post(f"{URL}/shadow", json={})
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["shadow"]["candidate"] == candidate
    assert predict(ws, HOT, CALM, HOT) == ["high", "low", "high"]   # the release answers, unchanged
    seen = shadow(ws)
    assert (seen["cases"], seen["different"], seen["failed"]) == (3, 2, 0)
    assert seen["by_rule"] == [{"rule": "Two or more SIRS criteria", "different": 2}]
    assert seen["sample"][0]["released"] == "high" and seen["sample"][0]["candidate"] == "low"
    assert "case" not in seen["sample"][0] and seen["values_kept"] is False
    assert seen["summary"].startswith("On 3 live cases since ") and seen["summary"].endswith(
        "the candidate answered differently on 2.")
    # predictions of another version are not the release's: not compared
    ws.as_("Ana").post(f"{URL}/predict", query_string={"version": candidate}, json={"case": HOT})
    assert shadow(ws)["cases"] == 3


def test_a_new_save_restarts_the_count_a_release_ends_it(ws):
    release(ws)
    sirs_concludes(ws, "low")
    ws.as_("Rui").post(f"{URL}/shadow", json={})
    predict(ws, HOT)
    assert shadow(ws)["different"] == 1
    newer = sirs_concludes(ws, "high", "Back to high")
    again = shadow(ws)
    assert again["candidate"] == newer and (again["cases"], again["restarts"]) == (0, 1)
    predict(ws, HOT)
    assert shadow(ws)["different"] == 0 and shadow(ws)["cases"] == 1
    release(ws)  # v2: the shadow's release is no longer the latest
    ended = shadow(ws)
    assert not ended["running"] and ended["end_reason"] == "a new release (v2) was made"
    predict(ws, HOT)
    assert shadow(ws)["cases"] == 1


def test_stopping_ends_and_keeps_the_counts(ws):
    release(ws)
    sirs_concludes(ws, "low")
    ws.as_("Rui").post(f"{URL}/shadow", json={})
    predict(ws, HOT)
    shadow(ws)
    stopped = ws.as_("Ada").delete(f"{URL}/shadow")
    assert stopped.status_code == 200 and stopped.get_json()["shadow"]["running"] is False
    assert stopped.get_json()["shadow"]["end_reason"] == "stopped by Ada"
    predict(ws, HOT)
    assert shadow(ws)["cases"] == 1
    assert ws.as_("Rui").delete(f"{URL}/shadow").status_code == 404
    events = ws.as_("Alex").get("/api/audit", query_string={"action": "shadow.stop"}).get_json()["events"]
    assert events[0]["details"]["different"] == 1


def test_values_are_kept_only_when_the_rule_set_allows_it(ws):
    release(ws)
    api = ws.as_("Ana")
    current = api.get(f"{URL}/settings")
    settings = {**current.get_json()["settings"], "shadow keeps values": "yes"}
    saved = api.put(f"{URL}/settings", json={"settings": settings, "why": "Keep values"},
                    headers={"If-Match": etag_of(current)})
    assert saved.status_code == 200 and saved.get_json()["settings"]["shadow keeps values"] is True
    sirs_concludes(ws, "low")   # a rule edit keeps the setting
    ws.as_("Rui").post(f"{URL}/shadow", json={})
    predict(ws, HOT)
    seen = shadow(ws)
    assert seen["values_kept"] is True and seen["sample"][0]["case"]["temperature"] == 39


@pytest.mark.parametrize(("who", "start", "read"), [
    ("Rui", 201, 200), ("Ada", 201, 200), ("Ana", 403, 200), ("Alex", 403, 200), ("Mia", 403, 200),
    (None, 401, 401)])
def test_roles(ws, who, start, read):
    release(ws)
    sirs_concludes(ws, "low")
    api = ws.as_(who)
    assert api.post(f"{URL}/shadow", json={}).status_code == start
    assert api.get(f"{URL}/shadow").status_code == read
    assert api.delete(f"{URL}/shadow").status_code == {201: 200, 403: 403, 401: 401}[start]


def test_refusals_say_what_to_do(ws):
    no_release = ws.as_("Rui").post(f"{URL}/shadow", json={})
    assert no_release.status_code == 409 and "no release yet" in no_release.get_json()["error"]["message"]
    v1 = release(ws)
    itself = ws.as_("Rui").post(f"{URL}/shadow", json={"version": "v1"})
    assert itself.status_code == 422 and "is the release v1 itself" in itself.get_json()["error"]["message"]
    assert v1["name"] == "v1"
    assert ws.as_("Rui").get(f"{URL}/shadow").get_json()["shadow"] is None


# ---- the crash tests: the candidate raising, or slow --------------------------------------------------------------

def test_a_candidate_that_raises_never_breaks_the_released_answer(ws, monkeypatch):
    release(ws)
    sirs_concludes(ws, "low")
    ws.as_("Rui").post(f"{URL}/shadow", json={})
    workspace = ws.app.extensions["rulecraft.workspace"]
    candidate = workspace.ruleset("sepsis-triage", shadow(ws)["candidate"])

    def broken(row):
        raise RuntimeError("the candidate crashed")

    monkeypatch.setattr(candidate, "decide_row", broken)
    assert predict(ws, HOT, CALM) == ["high", "low"]
    seen = shadow(ws)
    assert (seen["cases"], seen["failed"]) == (0, 2)


def test_a_slow_candidate_never_delays_the_released_answer(ws, monkeypatch):
    release(ws)
    sirs_concludes(ws, "low")
    ws.as_("Rui").post(f"{URL}/shadow", json={})
    workspace = ws.app.extensions["rulecraft.workspace"]
    candidate = workspace.ruleset("sepsis-triage", shadow(ws)["candidate"])
    original = candidate.decide_row

    def slow(row):
        time.sleep(0.5)
        return original(row)

    monkeypatch.setattr(candidate, "decide_row", slow)
    shadower = ws.app.extensions["rulecraft.shadower"]
    monkeypatch.setattr(shadower._queue, "maxsize", 2)
    started = time.monotonic()
    for _ in range(6):
        assert predict(ws, HOT) == ["high"]
    assert time.monotonic() - started < 2.0   # six answers; the candidate alone would take 3 s
    shadower.wait_idle(timeout=10)
    seen = shadow(ws)
    assert seen["cases"] + seen["dropped"] == 6 and seen["dropped"] >= 1
