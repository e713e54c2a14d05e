"""Prometheus metrics at /metrics (issue 20, item 4): open only when enabled, else to a token of scope metrics;
requests by route and status with latency, predictions by rule set, version and answer (abstentions too), saves,
conflicts, sign-in failures; summed over every worker of the real server process."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from test_process import Server, rulecraft

from server import auth
from server.api.openapi import document
from server.metrics import SAVES, SIGN_IN
from tests.server.conftest import PASSWORD, close_app, make_app

DOCS = Path(__file__).resolve().parents[2] / "docs"


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels...): value} of a /metrics answer."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return out


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, *sorted(labels.items())), 0.0)


def metrics_token(ws, name: str) -> str:
    with ws.app.app_context(), ws.sessions() as db:
        secret, _ = auth.create_token(db, auth.find_user(db, name), "metrics")
        db.commit()
    return secret


def test_metrics_need_a_metrics_token_unless_enabled(ws):
    client = ws.app.test_client()
    assert client.get("/metrics").status_code == 401
    assert ws.as_("Ana").get("/metrics").status_code == 403  # an author's write token
    assert ws.as_("Mia").get("/metrics").status_code == 403
    admin = ws.as_("Ada").get("/metrics")
    assert admin.status_code == 200 and admin.mimetype == "text/plain"
    token = metrics_token(ws, "Ada")
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/metrics", headers=bearer).status_code == 200
    assert client.get("/api/rulesets", headers=bearer).status_code == 403  # a metrics token reads nothing else
    assert client.get(f"/api/rulesets/{ws.ruleset}/rules", headers=bearer).status_code == 403


def test_metrics_are_open_when_enabled(tmp_path):
    app = make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}", METRICS=True)
    try:
        response = app.test_client().get("/metrics")
        assert response.status_code == 200
        assert "rulecraft_http_requests_total" in response.get_data(as_text=True)
    finally:
        close_app(app)


def release(ws) -> None:
    requested = ws.as_("Ana").post(f"/api/rulesets/{ws.ruleset}/releases", json={})
    assert requested.status_code == 201, requested.get_json()
    approved = ws.as_("Rui").post(f"/api/rulesets/{ws.ruleset}/releases/{requested.get_json()['id']}/approve",
                                  json={"comment": "ok"})
    assert approved.status_code == 200, approved.get_json()


def test_what_is_counted(ws):
    ana = ws.as_("Ana")
    path = f"/api/rulesets/{ws.ruleset}/rules/sirs"
    rule = ana.get(path)
    text, version = rule.get_json()["text"], rule.headers["ETag"]
    saved = ana.put(path, json={"text": text.replace("0.8", "0.85"), "why": "Audit"}, headers={"If-Match": version})
    assert saved.status_code == 200, saved.get_json()
    stale = ana.put(path, json={"text": text.replace("0.8", "0.7"), "why": "Mine"}, headers={"If-Match": version})
    assert stale.status_code == 409, stale.get_json()
    release(ws)
    predicted = ana.post(f"/api/rulesets/{ws.ruleset}/predict",
                         json={"cases": [{"temperature": 39, "heart rate": 120}, {"temperature": 37},
                                         {"temperature": 37}]})
    assert [p["label"] for p in predicted.get_json()["predictions"]] == ["high", "low", "low"]
    client = ws.app.test_client()
    for _ in range(2):
        assert client.post("/api/session", json={"name": "Ana", "password": "not the password"}).status_code == 401
    assert client.post("/api/session", json={"name": "Ana", "password": PASSWORD}).status_code == 200

    found = samples(ws.as_("Ada").get("/metrics").get_data(as_text=True))
    assert value(found, "rulecraft_saves_total", kind="update_rule") == 1
    assert value(found, "rulecraft_save_conflicts_total", kind="update_rule") == 1
    assert value(found, "rulecraft_signin_failures_total", reason="refused") == 2
    assert value(found, "rulecraft_predictions_total", ruleset=ws.ruleset, version="v1", answer="high") == 1
    assert value(found, "rulecraft_predictions_total", ruleset=ws.ruleset, version="v1", answer="low") == 2
    route = "/api/rulesets/<ruleset>/predict"
    assert value(found, "rulecraft_http_requests_total", route=route, method="POST", status="200") == 1
    assert value(found, "rulecraft_http_request_duration_seconds_count", route=route, method="POST") == 1
    assert value(found, "rulecraft_http_request_duration_seconds_bucket", route=route, method="POST",
                 le="+Inf") == 1
    assert value(found, "rulecraft_http_requests_total", route="/api/session", method="POST", status="401") == 2
    assert value(found, "rulecraft_http_requests_total", route="/api/session", method="POST", status="200") == 1


def test_an_abstention_is_counted_as_such(ws):
    """Without a default, a case no rule fires on gets no label: counted as 'abstained'."""
    ana = ws.as_("Ana")
    settings = ana.get(f"/api/rulesets/{ws.ruleset}/settings")
    changed = {**settings.get_json()["settings"], "default": None}
    saved = ana.put(f"/api/rulesets/{ws.ruleset}/settings", json={"settings": changed, "why": "No default"},
                    headers={"If-Match": settings.headers["ETag"]})
    assert saved.status_code == 200, saved.get_json()
    release(ws)
    answer = ana.post(f"/api/rulesets/{ws.ruleset}/predict", json={"case": {"temperature": 37}}).get_json()
    assert answer["prediction"]["abstained"] is True
    found = samples(ws.as_("Ada").get("/metrics").get_data(as_text=True))
    assert value(found, "rulecraft_predictions_total", ruleset=ws.ruleset, version="v1", answer="abstained") == 1
    assert value(found, "rulecraft_saves_total", kind="put_settings") == 1


def test_unknown_paths_share_one_series(ws):
    client = ws.app.test_client()
    for i in range(3):
        client.get(f"/no/such/path/{i}")
    found = samples(ws.as_("Ada").get("/metrics").get_data(as_text=True))
    assert value(found, "rulecraft_http_requests_total", route="(no route)", method="GET", status="404") == 3


def test_the_counted_operations_exist(app):
    assert SAVES | {SIGN_IN} <= set(app.view_functions)


def test_metrics_are_documented(app):
    assert document()["paths"]["/metrics"]["get"]
    assert re.search(r"^\| `GET /metrics` \|", (DOCS / "api.md").read_text(encoding="utf-8"), flags=re.M)
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    for name in ("/metrics", "--metrics", "RULECRAFT_METRICS", "PROMETHEUS_MULTIPROC_DIR", "--scope metrics",
                 "rulecraft_predictions_total", "rulecraft_signin_failures_total"):
        assert name in operations, name


@pytest.mark.slow
def test_every_worker_of_the_real_server_answers_the_sum(tmp_path):
    """Two gunicorn workers: the counts read from /metrics are the same whichever worker answers, and equal to
    what was sent (prometheus_client's multiprocess mode in <data>/metrics)."""
    data = tmp_path / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    rulecraft("import", str(Path(__file__).parents[1] / "fixtures" / "sepsis-triage"), "--as", "Ana", "--why",
              "Start", data_dir=data)
    token = rulecraft("create-token", "Ana", "--scope", "write", data_dir=data).stdout.strip()
    server = Server(data, "--metrics")
    try:
        head = requests.get(f"{server.url}/api/rulesets/sepsis-triage", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).json()["version"]
        sent = 30
        for _ in range(sent):
            answer = requests.post(f"{server.url}/api/rulesets/sepsis-triage/predict?version={head}",
                                   json={"case": {"temperature": 39, "heart rate": 120}},
                                   headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert answer.status_code == 200, answer.text
        label = answer.json()["prediction"]["label"]
        seen = set()
        for _ in range(8):
            found = samples(requests.get(f"{server.url}/metrics", timeout=10).text)
            seen.add(value(found, "rulecraft_predictions_total", ruleset="sepsis-triage", version=head[:12],
                           answer=label))
        assert seen == {sent}
        assert (data / "metrics").is_dir() and list((data / "metrics").glob("*.db"))
    finally:
        server.stop()


def test_a_fresh_app_has_fresh_counts(tmp_path):
    """Each app has its own registry: tests (and a second app in one process) do not see each other's counts."""
    apps = [make_app(tmp_path / f"d{i}", f"sqlite:///{tmp_path / f'd{i}.db'}", METRICS=True) for i in range(2)]
    try:
        apps[0].test_client().get("/healthz")
        found = samples(apps[1].test_client().get("/metrics").get_data(as_text=True))
        assert value(found, "rulecraft_http_requests_total", route="/healthz", method="GET", status="200") == 0
    finally:
        for app in apps:
            close_app(app)

