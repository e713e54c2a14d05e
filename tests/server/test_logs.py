"""The server's log (issue 20, item 5): a line per request, a security trail, timestamps on every line, level and
format settable, and one line per repeated failure per interval instead of a traceback per request."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest
from sqlalchemy import create_engine

from server import logs
from tests.server.conftest import PASSWORD, Workspace, close_app, make_app

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture
def logged(tmp_path, app_database_url):
    """A workspace whose app logs JSON lines into a buffer; yields (workspace, a function giving the lines)."""
    stream = io.StringIO()
    app = make_app(tmp_path / "data", app_database_url, LOG_STREAM=stream, LOG_FORMAT="json")
    w = Workspace(app)
    for name, role in (("Ana", "author"), ("Alex", "auditor"), ("Ada", "admin")):
        w.add_person(name, role)
    yield w, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    w.close()
    _remove_handler()


def _remove_handler() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, logs._HANDLER_MARK, False)]:
        root.removeHandler(handler)


def _events(lines: list[dict], event: str) -> list[dict]:
    return [line for line in lines if line["logger"] == "rulecraft.security" and line.get("event") == event]


def test_every_request_has_one_line_with_time_id_person_route_status_and_latency(logged):
    ws, lines = logged
    ana = ws.people["Ana"]
    response = ws.as_("Ana").get("/api/rulesets", headers={"X-Request-Id": "proxy-4711"})
    assert response.status_code == 200 and response.headers["X-Request-Id"] == "proxy-4711"
    missing = ws.as_(None).get("/api/rulesets/nothing-here")
    requests = [line for line in lines() if line["logger"] == "rulecraft.request"]
    assert len(requests) == 2
    first, second = requests
    assert re.fullmatch(TIME, first["time"]) and first["level"] == "info"
    assert (first["id"], first["person"], first["auth"], first["token"], first["method"], first["route"],
            first["status"]) == ("proxy-4711", ana.id, "token", first["token"], "GET", "/api/rulesets", 200)
    assert isinstance(first["ms"], float) and first["ms"] >= 0
    # a made-up id when none (or a malformed one) was sent, and sent back
    assert re.fullmatch(r"[0-9a-f]{16}", second["id"]) and second["id"] == missing.headers["X-Request-Id"]
    assert second["person"] == "-" and second["status"] == missing.status_code


def test_a_hostile_request_id_is_replaced(logged):
    ws, lines = logged
    response = ws.as_(None).get("/healthz", headers={"X-Request-Id": "a b\x7f" + "x" * 100})
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-Id"])


def test_the_security_trail(logged):
    ws, lines = logged
    client = ws.app.test_client()
    assert client.post("/api/session", json={"name": "Ana", "password": "wrong password"}).status_code == 401
    signed_in = client.post("/api/session", json={"name": "Ana", "password": PASSWORD})
    assert signed_in.status_code == 200
    csrf = {"X-CSRF-Token": signed_in.get_json()["csrf_token"]}
    assert client.post("/api/tokens", json={"scope": "read"}, headers=csrf).status_code == 201
    assert client.delete("/api/session", headers=csrf).status_code == 200
    assert ws.as_("Alex").get("/api/audit").status_code == 200
    ws.as_("Ana").get("/api/rulesets/none/bundle")  # a refused download is in the trail too
    ws.as_("Ana").get("/api/rulesets")  # the token's use was already written once: not again
    assert ws.as_(None).get("/api/rulesets", headers={"Authorization": "Bearer rc_forged"}).status_code == 401

    found = lines()
    ana, alex = ws.people["Ana"].id, ws.people["Alex"].id
    sign_ins = _events(found, "sign-in")
    assert [(e["outcome"], e["name"], e["person"]) for e in sign_ins] == [("refused", "Ana", "-"), ("ok", "Ana", ana)]
    assert all(e["address"] == "127.0.0.1" and re.fullmatch(TIME, e["time"]) for e in sign_ins)
    assert [(e["person"], e["auth"]) for e in _events(found, "token-create")] == [(ana, "session")]
    assert [e["person"] for e in _events(found, "sign-out")] == [ana]
    assert [(e["person"], e["auth"]) for e in _events(found, "audit-read")] == [(alex, "token")]
    assert [(e["person"], e["outcome"]) for e in _events(found, "bundle-download")] == [(ana, "refused")]
    assert sorted(e["person"] for e in _events(found, "token-use")) == sorted([alex, ana])
    assert len(_events(found, "token-refused")) == 1


def test_text_lines_start_with_a_timestamp_and_a_level():
    stream = io.StringIO()
    try:
        logs.configure("info", "text", 60, stream)
        logging.getLogger("rulecraft.request").info("request", extra={"fields": {"id": "a1", "path": "/x y"}})
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("rulecraft").exception("failed")
        logging.getLogger("rulecraft").debug("not written at level info")
    finally:
        _remove_handler()
    text = stream.getvalue().splitlines()
    assert re.fullmatch(TIME + r' INFO rulecraft.request request id=a1 path="/x y"', text[0])
    assert all(re.match(TIME + " ERROR rulecraft ", line) for line in text[1:]), text  # the traceback's too
    assert "ValueError: boom" in text[-1] and not any("not written" in line for line in text)


def test_a_repeated_failure_is_written_once_per_interval():
    stream = io.StringIO()
    log = logging.getLogger("rulecraft")
    try:
        handler = logs.configure("info", "json", 3600, stream)
        for _ in range(500):
            try:
                raise ConnectionError("the database is down")
            except ConnectionError:
                log.exception("Unexpected error on %s %s", "GET", "/api/rulesets")
        log.warning("another message is written")
        handler.filters[0]._seen = {k: [v[0] - 3600, v[1]] for k, v in handler.filters[0]._seen.items()}
        try:
            raise ConnectionError("the database is down")
        except ConnectionError:
            log.exception("Unexpected error on %s %s", "GET", "/api/rulesets")
    finally:
        _remove_handler()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["Unexpected error on GET /api/rulesets",
                                                   "another message is written",
                                                   "Unexpected error on GET /api/rulesets"]
    assert "traceback" in lines[0] and "traceback" not in lines[2]
    assert lines[2]["repeats_not_written"] == 499 and lines[2]["error"] == "ConnectionError: the database is down"


def test_a_database_outage_does_not_flood_the_log(tmp_path):
    """Regression: with PostgreSQL down, every request wrote a traceback (15 MB in 3 seconds). An outage is now a
    503 (database-unavailable, tests/server/test_outage.py), not a 500, and its warning is written once."""
    stream = io.StringIO()
    app = make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}", LOG_STREAM=stream,
                   LOG_LEVEL="warning")
    try:
        engine = app.extensions["rulecraft.engine"]
        app.extensions["rulecraft.engine"] = create_engine(f"sqlite:///{tmp_path / 'gone' / 'rulecraft.db'}")
        client = app.test_client()
        for _ in range(300):
            assert client.get("/api/rulesets", headers={"Authorization": "Bearer rc_x"}).status_code == 503
        app.extensions["rulecraft.engine"].dispose()
        app.extensions["rulecraft.engine"] = engine
    finally:
        close_app(app)
        _remove_handler()
    written = stream.getvalue()
    records = [line for line in written.splitlines() if " | " not in line]  # a traceback's lines carry " | "
    assert len(records) == 1 and "database unreachable: a token not verified lately was refused" in records[0], \
        records
    assert len(written) < 20_000, len(written)  # one line, not 300 tracebacks
    assert "rulecraft.request" not in written  # level warning: no request lines


def test_level_and_format_are_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RULECRAFT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("RULECRAFT_LOG_FORMAT", "json")
    app = make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}")
    try:
        assert (app.config["LOG_LEVEL"], app.config["LOG_FORMAT"]) == ("warning", "json")
        assert logging.getLogger().level == logging.WARNING
    finally:
        close_app(app)
        _remove_handler()
    monkeypatch.setenv("RULECRAFT_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="RULECRAFT_LOG_FORMAT is one of text, json"):
        make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}")


@pytest.mark.slow
def test_serve_writes_json_request_lines_and_housekeeps_at_start(tmp_path):
    import requests

    from tests.server.test_process import Server

    server = Server(tmp_path / "data", "--log-format", "json", "--threads", "2", "--workers", "1")
    try:
        answer = requests.get(f"{server.url}/healthz", headers={"X-Request-Id": "lb-probe-1"}, timeout=10)
        assert answer.headers["X-Request-Id"] == "lb-probe-1"
    finally:
        output = server.stop()
    assert "Housekeeping: purged 0 old session(s)" in output, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    probe = [line for line in lines if line.get("id") == "lb-probe-1"]
    assert len(probe) == 1 and probe[0]["route"] == "/healthz" and probe[0]["status"] == 200, output
    assert all(re.fullmatch(TIME, line["time"]) for line in lines)
