"""Settings are settings (issue 20, item 9): flags and RULECRAFT_... variables, one table in server/config.py and
the same one in docs/operations.md; the secret key signs sessions, so a new key ends them."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from server import auth, config
from server.cli import main
from server.models import ApiToken, SignInSession, utcnow
from tests.server.conftest import PASSWORD, Workspace, close_app, make_app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}"


def test_the_documented_table_is_the_table_in_the_code():
    """Every setting of server/config.py is a row of docs/operations.md's table, with its default, and no row
    names a setting the code does not have."""
    rows = {m.group(1): m.group(2).strip() for m in
            re.finditer(r"^\| `(RULECRAFT_[A-Z_]+)` \|[^|]*\| ([^|]*) \|", DOCS.read_text(), re.M)}
    for setting in config.SETTINGS:
        assert setting.env in rows, f"{setting.env} is missing from docs/operations.md"
        default = {True: "1", False: "0"}.get(setting.default, setting.default) \
            if isinstance(setting.default, bool) else setting.default
        assert rows[setting.env] == f"`{default}`", (setting.env, rows[setting.env])
    others = {"RULECRAFT_DATA_DIR", "RULECRAFT_DATABASE_URL", "RULECRAFT_SECRET_KEY", "RULECRAFT_PORT"}
    assert set(rows) == {s.env for s in config.SETTINGS} | others


def test_settings_come_from_the_environment_and_bad_values_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("RULECRAFT_SESSION_HOURS", "2")
    monkeypatch.setenv("RULECRAFT_SIGNIN_FREE_FAILURES", "7")
    monkeypatch.setenv("RULECRAFT_SECURE_COOKIES", "1")
    built = config.build({"DATA_DIR": tmp_path / "data", "SECRET_KEY": "k"})
    assert (built["SESSION_HOURS"], built["SIGNIN_FREE_FAILURES"], built["SECURE_COOKIES"]) == (2, 7, True)
    assert built["THREADS"] == 4 and built["TOKEN_DAYS"] == 90
    assert config.build({"DATA_DIR": tmp_path / "data", "SESSION_HOURS": 5})["SESSION_HOURS"] == 5  # flags win
    for name, value in (("RULECRAFT_SESSION_HOURS", "twelve"), ("RULECRAFT_THREADS", "0"),
                        ("RULECRAFT_SECURE_COOKIES", "maybe")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name):
            config.build({"DATA_DIR": tmp_path / "data"})
        monkeypatch.delenv(name)


def test_session_hours_and_token_days_are_used(tmp_path):
    app = make_app(tmp_path / "data", _sqlite(tmp_path), SESSION_HOURS=3, TOKEN_DAYS=5)
    ws = Workspace(app)
    try:
        ws.add_person("Ana", "author")
        client = app.test_client()
        response = client.post("/api/session", json={"name": "Ana", "password": PASSWORD})
        assert "Max-Age=10800" in response.headers["Set-Cookie"]
        with ws.sessions() as db:
            session = db.scalars(select(SignInSession)).one()
            assert abs(session.expires_at - utcnow() - timedelta(hours=3)) < timedelta(minutes=1)
            latest = db.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
            assert abs(latest.expires_at - utcnow() - timedelta(days=5)) < timedelta(minutes=1)
    finally:
        ws.close()


def test_a_new_secret_key_ends_every_session(tmp_path):
    """Regression: the secret key was documented as the signing key but nothing used it; a session survived a
    change of it. The database keeps an HMAC of the cookie under the key: a new key matches none."""
    first = make_app(tmp_path / "data", _sqlite(tmp_path), SECRET_KEY="the first key")
    ws = Workspace(first)
    ws.add_person("Ana", "author")
    client = first.test_client()
    assert client.post("/api/session", json={"name": "Ana", "password": PASSWORD}).status_code == 200
    cookie = client.get_cookie(auth.COOKIE).value
    with ws.sessions() as db:
        stored = db.scalars(select(SignInSession.token_hash)).one()
    assert stored != auth._digest(cookie)  # not a plain hash anyone with the cookie could compute
    assert client.get("/api/me").status_code == 200
    ws.close()

    for key, status in (("a second key", 401), ("the first key", 200)):
        app = make_app(tmp_path / "data", _sqlite(tmp_path), SECRET_KEY=key)
        try:
            replay = app.test_client()
            replay.set_cookie(auth.COOKIE, cookie)
            assert replay.get("/api/me").status_code == status, key
        finally:
            close_app(app)


def test_serve_refuses_a_bad_flag_before_starting(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "data"), "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output and "1 to 64" in result.output
    assert not (tmp_path / "data").exists()


def test_rotating_the_signing_key_as_the_runbook_says(tmp_path):
    """docs/operations.md, "Keys and rotating them": keep the old public key, move the key file away, start. The
    new key signs from then on; a document signed before still verifies with the kept old key only."""
    from rules_dsl.bundle import verify_signature
    from rules_dsl.errors import BundleError
    from server import signing

    data = tmp_path / "data"
    data.mkdir()
    old = signing.load_or_create(data)
    kept_public = old.public_pem  # step 1: GET /api/signing-key
    signed_before = old.sign({"hash": "sha256:" + "0" * 64})
    (data / signing.KEY_FILE).rename(tmp_path / "retired-signing-key.pem")  # steps 2-3
    new = signing.load_or_create(data)  # step 4: the start makes a new key
    assert new.id != old.id
    assert verify_signature(signed_before, kept_public) == old.id
    with pytest.raises(BundleError):
        verify_signature(signed_before, new.public_pem)
    assert verify_signature(new.sign({"hash": "sha256:" + "1" * 64}), new.public_pem) == new.id


def test_a_token_from_the_command_line_lasts_the_configured_days(tmp_path, monkeypatch):
    from server.db import session_factory

    monkeypatch.setenv("RULECRAFT_TOKEN_DAYS", "3")
    data = ["--data-dir", str(tmp_path / "data")]
    runner = CliRunner()
    made = runner.invoke(main, ["create-user", "Mia", "--role", "ml-engineer", *data], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    result = runner.invoke(main, ["create-token", "Mia", "--scope", "predict", *data])
    assert result.exit_code == 0, result.output
    sessions = session_factory(_sqlite(tmp_path))
    try:
        with sessions() as db:
            token = db.scalars(select(ApiToken)).one()
            assert abs(token.expires_at - utcnow() - timedelta(days=3)) < timedelta(minutes=1)
    finally:
        sessions.kw["bind"].dispose()


def test_a_command_stops_with_a_clear_message_on_a_bad_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("RULECRAFT_LOG_LEVEL", "loud")
    result = CliRunner().invoke(main, ["tokens", "Mia", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1 and "Not started: RULECRAFT_LOG_LEVEL is one of debug, info" in result.output, \
        result.output
