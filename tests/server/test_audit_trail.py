"""An audit trail that cannot mislead (issue 13, items 1, 3, 5 and 7): releases pin the rule set's own version,
refused actions are audited, a recreated name is a new rule, drafts stay with those who may read rules."""
from __future__ import annotations

import shutil

from sqlalchemy import select

from server.models import AuditEvent, Release
from server.services.saving import identity
from tests.server.conftest import FIXTURES, PASSWORD

RS = "/api/rulesets/sepsis-triage"
COLD = 'rule "Cold"\nwhen temperature is below 35'


def etag(response) -> str:
    return response.headers["ETag"].strip('"')


def own_history(ws, ruleset="sepsis-triage") -> list[dict]:
    return ws.as_("Alex").get(f"/api/rulesets/{ruleset}/history").get_json()["versions"]


def import_another(ws, tmp_path) -> str:
    """A second rule set, imported after the first: the repository's newest version is not the first's."""
    copy = tmp_path / "other" / "other-triage"
    shutil.copytree(FIXTURES / "sepsis-triage", copy)
    settings = copy / "ruleset.yaml"
    settings.write_text(settings.read_text().replace("title: ", "title: Other ", 1))
    return ws.import_folder(copy, by="Bea", why="Another team's rules")


def change_sirs(ws, by: str, why: str, old: str = "38", new: str = "39") -> str:
    api = ws.as_(by)
    current = api.get(f"{RS}/rules/sirs")
    saved = api.put(f"{RS}/rules/sirs", json={"text": current.get_json()["text"].replace(old, new), "why": why},
                    headers={"If-Match": current.headers["ETag"]})
    assert saved.status_code == 200, saved.get_json()
    return etag(saved)


def release(ws, version: str | None = None, requester: str = "Bea", approver: str = "Rui") -> dict:
    body = {} if version is None else {"version": version}
    requested = ws.as_(requester).post(f"{RS}/releases", json=body)
    assert requested.status_code == 201, requested.get_json()
    approved = ws.as_(approver).post(f"{RS}/releases/{requested.get_json()['id']}/approve", json={})
    assert approved.status_code == 200, approved.get_json()
    return approved.get_json()


def events(ws, **where) -> list[AuditEvent]:
    with ws.sessions() as db:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        found = list(db.scalars(query))
        for e in found:
            _ = e.user  # loaded before the session closes
        return found


# ---- item 1: a release pins the rule set's own version ------------------------------------------------------------

def test_a_release_pins_the_rule_sets_own_last_change(ws, tmp_path):
    own = own_history(ws)[0]["version"]
    other = import_another(ws, tmp_path)
    assert other == "other-triage"
    assert ws.as_("Ana").get(RS).headers["ETag"].strip('"') != own  # the newest version is the other import

    v1 = release(ws)
    assert v1["version"] == own
    assert own_history(ws)[0]["release"] == "v1"  # history marks it
    draft = ws.as_("Bea").get(f"{RS}/releases/draft").get_json()
    assert draft["version"] == own and draft["previous"] == {"name": "v1", "version": own}

    change_sirs(ws, "Ana", "Fever from 39 degrees")
    draft = ws.as_("Bea").get(f"{RS}/releases/draft").get_json()
    assert draft["notes"] == "- Fever from 39 degrees (Ana)"  # only this rule set's changes since v1
    v2 = release(ws)
    assert v2["notes"] == "- Fever from 39 degrees (Ana)"
    assert v2["version"] == own_history(ws)[0]["version"]
    compare = ws.as_("Alex").get(f"{RS}/diff", query_string={"from": "v1", "to": "v2"}).get_json()
    assert [r["id"] for r in compare["rules"]] == ["sirs"]


def test_a_release_tagged_on_another_rule_sets_commit_is_marked_by_its_content(ws, tmp_path):
    """Releases made before the fix name the repository's newest commit of the time; their tags stay (releases
    are append-only) and are read as the rule set's last change as of that commit."""
    own = own_history(ws)[0]["version"]
    import_another(ws, tmp_path)
    app = ws.app
    store = app.extensions["rulecraft.store"]
    elsewhere = store.head()
    with ws.sessions() as db:
        from server.auth import find_user

        rui, bea = find_user(db, "Rui"), find_user(db, "Bea")
        store.create_tag("sepsis-triage/v1", elsewhere, message="Release v1 of sepsis-triage\n\n- Start (Ana)",
                         tagger=identity(rui))
        db.add(Release(ruleset="sepsis-triage", name="v1", version=elsewhere, status="approved",
                       notes="- Start (Ana)", requested_by=bea.id, decided_by=rui.id))
        db.commit()

    assert own_history(ws)[0]["release"] == "v1"
    assert ws.as_("Alex").get(f"{RS}/versions/{own}").get_json()["release"] == "v1"
    listed = ws.as_("Alex").get(f"{RS}/releases").get_json()["releases"]
    assert listed[0]["version"] == own
    again = ws.as_("Bea").post(f"{RS}/releases", json={})
    assert again.status_code == 409  # nothing of this rule set changed since v1
    change_sirs(ws, "Ana", "Fever from 39 degrees")
    assert ws.as_("Bea").get(f"{RS}/releases/draft").get_json()["notes"] == "- Fever from 39 degrees (Ana)"
    bundle = ws.as_("Mia").get(f"{RS}/bundle", query_string={"version": "v1"})
    assert bundle.status_code == 200 and bundle.get_json()["source"] == {"version": own, "release": "v1"}


# ---- item 3: refused actions are in the audit log ----------------------------------------------------------------

def test_a_refused_self_approval_is_audited(ws):
    requested = ws.as_("Ada").post(f"{RS}/releases", json={}).get_json()
    refused = ws.as_("Ada").post(f"{RS}/releases/{requested['id']}/approve", json={})
    assert refused.status_code == 403
    [event] = events(ws, action="release.approve")
    assert (event.user.name, event.status, event.ruleset) == ("Ada", "refused", "sepsis-triage")
    assert event.details["reason"] == "own-release" and event.details["release"] == requested["id"]
    assert "another reviewer" in event.details["refused"] and event.at is not None
    log = ws.as_("Alex").get("/api/audit", query_string={"action": "release.approve"}).get_json()["events"]
    assert log[0]["status"] == "refused" and log[0]["by"] == "Ada"
    assert "another reviewer" in log[0]["details"]["refused"]


def test_a_refused_self_rejection_is_audited_and_a_rejection_needs_a_comment(ws):
    """Mutation testing, round 3: reject's refusals were checked only by their status code."""
    requested = ws.as_("Ada").post(f"{RS}/releases", json={}).get_json()
    refused = ws.as_("Ada").post(f"{RS}/releases/{requested['id']}/reject", json={"comment": "changed my mind"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == ("You requested this release; another reviewer decides on it. "
                                                      "(You can ask for it again later with other notes.)")
    [event] = events(ws, action="release.reject")
    assert (event.user.name, event.status, event.ruleset) == ("Ada", "refused", "sepsis-triage")
    assert event.version == requested["version"] and event.message == "changed my mind"
    assert event.details["reason"] == "own-release" and event.details["release"] == requested["id"]
    for comment in (None, "", "  \r\n "):
        empty = ws.as_("Rui").post(f"{RS}/releases/{requested['id']}/reject", json={"comment": comment})
        assert empty.status_code == 422, empty.get_json()
        assert empty.get_json()["error"]["field"] == "comment"
        assert empty.get_json()["error"]["message"] == "Please add a comment saying why."
    assert ws.as_("Rui").post(f"{RS}/releases/{requested['id']}/reject", json={"comment": 7}).get_json()[
        "error"]["message"] == "'comment' must be text."
    assert [e.status for e in events(ws, action="release.reject")] == ["refused"]  # still waiting for a reviewer
    assert ws.as_("Rui").post(f"{RS}/releases/{requested['id']}/reject", json={"comment": "not yet"}).status_code == 200
    [_, event] = events(ws, action="release.reject")
    assert (event.user.name, event.status, event.ruleset, event.version) == ("Rui", "done", "sepsis-triage",
                                                                             requested["version"])
    assert event.message == "not yet" and event.details == {"release": requested["id"]}


def test_a_save_refused_as_stale_is_audited(ws):
    opened = ws.as_("Bea").get(f"{RS}/rules/sirs")
    change_sirs(ws, "Ana", "First")
    stale = ws.as_("Bea").put(f"{RS}/rules/sirs", json={"text": opened.get_json()["text"].replace("38", "40"),
                                                        "why": "Second"},
                              headers={"If-Match": opened.headers["ETag"]})
    assert stale.status_code == 409
    refused = [e for e in events(ws, action="rule.update") if e.user.name == "Bea"]
    assert len(refused) == 1 and refused[0].status == "refused" and refused[0].message == "Second"
    assert refused[0].details["reason"] == "stale"
    assert "someone else saved" in refused[0].details["refused"].lower()
    assert refused[0].details["based_on"] == etag(opened)


def test_a_refused_sign_in_is_audited_without_the_password(ws):
    client = ws.app.test_client()
    assert client.post("/api/session", json={"name": "Ana", "password": "not the password"}).status_code == 401
    assert client.post("/api/session", json={"name": "Nobody", "password": "guess guess"}).status_code == 401
    assert client.post("/api/session", json={"name": "Ana", "password": PASSWORD}).status_code == 200
    refused = events(ws, action="sign-in")
    assert [(e.user.name if e.user else None, e.status) for e in refused] == [("Ana", "refused"), (None, "refused")]
    assert refused[1].details["name"] == "Nobody"
    assert all(e.details["reason"] and e.details["refused"] and e.details["address"] for e in refused)
    assert all("guess" not in str(e.details) + e.message and "not the password" not in str(e.details) + e.message
               for e in refused)


def test_the_audit_log_and_history_name_rules_by_their_names(ws):
    created = ws.as_("Ana").post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"})
    assert created.status_code == 201
    ws.as_("Ana").delete(f"{RS}/rules/cold", json={"why": "Not sepsis"}, headers={"If-Match": created.headers["ETag"]})
    log = ws.as_("Alex").get("/api/audit", query_string={"ruleset": "sepsis-triage"}).get_json()["events"]
    by_action = {e["action"]: e for e in log}
    assert by_action["rule.create"]["rule_name"] == "Cold" and by_action["rule.delete"]["rule_name"] == "Cold"
    history = ws.as_("Alex").get(f"{RS}/rules/cold/history").get_json()["versions"]
    assert [v["rule_name"] for v in history] == ["Cold", "Cold"]
    assert own_history(ws)[0]["rule_name"] == "Cold"


# ---- item 5: a recreated name is a new rule ----------------------------------------------------------------------

def test_a_new_rule_named_like_a_deleted_one_is_a_new_rule(ws):
    api = ws.as_("Ana")
    first = api.post(f"{RS}/rules", json={"text": COLD, "why": "Hypothermia"})
    assert first.get_json()["id"] == "cold"
    assert api.delete(f"{RS}/rules/cold", json={"why": "Not sepsis"},
                      headers={"If-Match": first.headers["ETag"]}).status_code == 200
    again = api.post(f"{RS}/rules", json={"text": COLD + " then sepsis risk is \"high\"", "why": "Back, concluding"})
    assert again.status_code == 201
    new_id = again.get_json()["id"]
    assert new_id != "cold"
    history = ws.as_("Alex").get(f"{RS}/rules/{new_id}/history").get_json()
    assert [v["action"] for v in history["versions"]] == ["rule.create"]
    blame = ws.as_("Alex").get(f"{RS}/rules/{new_id}/blame").get_json()["lines"]
    assert {line["version"] for line in blame} == {etag(again)}
    old = ws.as_("Alex").get(f"{RS}/rules/cold/history").get_json()["versions"]
    assert [v["action"] for v in old] == ["rule.delete", "rule.create"]


# ---- item 7: drafts stay with those who may read them ------------------------------------------------------------

def test_roles_without_rule_reading_get_released_versions_only(ws):
    v1 = release(ws)
    draft = change_sirs(ws, "Ana", "Not released yet")
    mia = ws.as_("Mia")
    case = {"case": {"temperature": 38.5, "heart rate": 120}}
    for version in (draft, "0" * 40):
        bundle = mia.get(f"{RS}/bundle", query_string={"version": version})
        assert bundle.status_code == 403, bundle.get_json()
        assert "released versions" in bundle.get_json()["error"]["message"]
        assert mia.post(f"{RS}/predict?version={version}", json=case).status_code == 403
        assert mia.post(f"{RS}/evaluate?version={version}", json={"cases": [case["case"]]}).status_code == 403
    assert mia.get(f"{RS}/bundle", query_string={"version": "v1"}).status_code == 200
    assert mia.get(f"{RS}/bundle", query_string={"version": v1["version"]}).status_code == 200
    assert mia.post(f"{RS}/predict?version=v1", json=case).status_code == 200
    assert ws.as_("Ana").get(f"{RS}/bundle", query_string={"version": draft}).status_code == 200
    predict_only = ws.add_person("Pia", "author", scope="predict")
    assert predict_only.token
    assert ws.as_("Pia").get(f"{RS}/bundle", query_string={"version": draft}).status_code == 403


# ---- item 2: "which changes caused it" is right ------------------------------------------------------------------

def test_compare_credits_a_changed_answer_only_to_rules_that_decided_it(ws):
    from rules_dsl.demo import demo_path, reference_data

    demo = ws.import_folder(demo_path(), by="Ana", why="Demo")
    registered = ws.as_("Ana").post(f"/api/rulesets/{demo}/datasets?name=Wisconsin&label=diagnosis",
                                    data=reference_data().to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert registered.status_code == 201, registered.get_json()
    api = ws.as_("Ana")
    base = own_history(ws, demo)[0]["version"]
    for rule, change in (("uneven-nuclear-staining", ("above 30", "above 25")),  # a feature only: concludes nothing
                         ("small-regular-nuclei", ("below 17", "below 14"))):
        current = api.get(f"/api/rulesets/{demo}/rules/{rule}")
        saved = api.put(f"/api/rulesets/{demo}/rules/{rule}",
                        json={"text": current.get_json()["text"].replace(*change), "why": "Tighter"},
                        headers={"If-Match": current.headers["ETag"]})
        assert saved.status_code == 200, saved.get_json()
    impact = ws.as_("Alex").get(f"/api/rulesets/{demo}/impact", query_string={"from": base}).get_json()
    assert impact["changed"] > 0
    by_rule = {c["id"]: c for c in impact["rule_changes"]}
    feature = by_rule["uneven-nuclear-staining"]
    assert feature["firing_differs"] > 0
    assert (feature["predictions_changed"], feature["predictions_shared"]) == (0, 0)
    assert all("uneven-nuclear-staining" not in c["causes"] for c in impact["changes"])
    assert sum(impact["summary"]["caused_by"].values()) == impact["changed"]
    assert by_rule["small-regular-nuclei"]["predictions_changed"] == impact["summary"]["caused_by"].get(
        "small-regular-nuclei", 0) > 0
