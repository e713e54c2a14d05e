"""Accounts: sign-in throttling that nobody can turn into a lock-out, the client address behind a trusted proxy,
and the attempt reserved before the password is checked (issue 13, item 12)."""
from __future__ import annotations

import math
import os
import stat
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from server.models import SignInThrottle, utcnow
from tests.server.conftest import PASSWORD, Workspace, close_app, make_app

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


def _sign_in(app, name: str, password: str, address: str = "127.0.0.1", forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return app.test_client().post("/api/session", json={"name": name, "password": password}, headers=headers,
                                  environ_base={"REMOTE_ADDR": address})


def _time_passes(ws) -> None:
    """Every waiting time is over (as if the clock moved on), the counts stay."""
    with ws.sessions() as db:
        db.execute(update(SignInThrottle).values(next_at=utcnow()))
        db.commit()


def test_wrong_passwords_from_one_address_never_lock_the_owner_out_elsewhere(ws):
    """Regression: five wrong passwords locked any account, the admin's too, for 15 minutes even against the right
    password, from anywhere, renewable forever."""
    for _ in range(3):
        for _ in range(10):
            assert _sign_in(ws.app, "Ada", "wrong password", ATTACKER).status_code in (401, 429)
        _time_passes(ws)
    assert _sign_in(ws.app, "Ada", PASSWORD, OWNER).status_code == 200


def test_failures_from_one_address_get_growing_delays(ws):
    waits = []
    for _ in range(4):
        statuses = []
        while True:
            response = _sign_in(ws.app, "Ana", "wrong password", ATTACKER)
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
            assert response.status_code == 401 and len(statuses) < 10
        message = response.get_json()["error"]["message"]
        assert "Wait" in message and "administrator" in message, message
        waits.append(int(response.headers["Retry-After"]))
        _time_passes(ws)
    assert waits == sorted(waits) and waits[-1] > waits[0], waits
    # the right password from the same address also waits for the delay: it is not checked early
    assert _sign_in(ws.app, "Ana", "wrong password", ATTACKER).status_code == 401
    assert _sign_in(ws.app, "Ana", PASSWORD, ATTACKER).status_code == 429
    _time_passes(ws)
    assert _sign_in(ws.app, "Ana", PASSWORD, ATTACKER).status_code == 200
    # a success starts the count for this address and account afresh
    assert [_sign_in(ws.app, "Ana", "wrong password", ATTACKER).status_code for _ in range(3)] == [401] * 3


def test_guessing_many_accounts_from_one_address_is_slowed_down_too(ws):
    names = [f"Nobody {i}" for i in range(60)]
    statuses = [_sign_in(ws.app, name, "wrong password", ATTACKER).status_code for name in names]
    assert 429 in statuses and statuses.count(401) <= 31, statuses
    assert _sign_in(ws.app, "Bea", PASSWORD, OWNER).status_code == 200


def test_a_forwarded_address_is_ignored_unless_the_proxy_is_trusted(ws):
    """Without --trusted-proxies an attacker cannot escape the throttle by inventing X-Forwarded-For addresses."""
    statuses = [_sign_in(ws.app, "Ana", "wrong password", ATTACKER, forwarded=f"10.0.0.{i}").status_code
                for i in range(12)]
    assert 429 in statuses, statuses


@pytest.fixture
def behind_proxy(tmp_path):
    app = make_app(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'rulecraft.db'}", TRUSTED_PROXIES=1)
    w = Workspace(app)
    for name, role in (("Ana", "author"), ("Bea", "author"), ("Ada", "admin")):
        w.add_person(name, role)
    yield w
    w.close()


def test_behind_a_trusted_proxy_each_client_is_throttled_on_its_own(behind_proxy):
    """Regression: behind the reverse proxy every client had the proxy's address, and 30 failures from anyone locked
    out everyone."""
    ws = behind_proxy
    for i in range(40):
        _sign_in(ws.app, f"Someone {i}", "wrong password", "127.0.0.1", forwarded=ATTACKER)
    assert _sign_in(ws.app, "Bea", PASSWORD, "127.0.0.1", forwarded=OWNER).status_code == 200
    assert _sign_in(ws.app, "Ana", "wrong password", "127.0.0.1", forwarded=ATTACKER).status_code == 429
    # only as many hops as configured are believed: a client adding its own X-Forwarded-For gains nothing
    spoofed = [_sign_in(ws.app, "Ana", "wrong password", "127.0.0.1", forwarded=f"10.9.9.{i}, {ATTACKER}")
               .status_code for i in range(5)]
    assert spoofed == [429] * 5


def test_concurrent_guesses_check_no_more_passwords_than_allowed(tmp_path, database_url):
    """Regression: 40 guesses at once had 11 passwords checked against a limit of 5. An attempt is reserved in the
    database (one transaction, the rows locked) before its password is checked."""
    app = make_app(tmp_path / "data", database_url, PASSWORD_METHOD="scrypt")
    w = Workspace(app)
    w.add_person("Ana", "author")
    statuses, start = [], threading.Barrier(40)

    def guess():
        start.wait()
        statuses.append(_sign_in(app, "Ana", "wrong password", ATTACKER).status_code)

    threads = [threading.Thread(target=guess) for _ in range(40)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert sorted(set(statuses)) == [401, 429], statuses
        # the free failures and one more; then waits of 1, 2, 4 ... s, of which a slow burst may see some expire
        allowed = app.config["SIGNIN_FREE_FAILURES"] + 1 + int(math.log2(time.monotonic() - started + 1))
        assert statuses.count(401) <= allowed, statuses
        _time_passes(w)
        assert _sign_in(app, "Ana", PASSWORD, ATTACKER).status_code == 200
    finally:
        w.sessions.kw["bind"].dispose()
        close_app(app)


# ---- people's lifecycle (item 13) ----------------------------------------------------------------------------------

def _signed_in(app, name: str, password: str = PASSWORD):
    client = app.test_client()
    response = client.post("/api/session", json={"name": name, "password": password})
    assert response.status_code == 200, response.get_json()
    return client, response.get_json()["csrf_token"]


def _user_id(ws, name: str) -> int:
    return ws.people[name].id


def _audit(ws, action: str) -> list[dict]:
    return ws.as_("Ada").get(f"/api/audit?action={action}").get_json()["events"]


def test_an_admin_disables_a_person_and_their_sessions_and_tokens_stop_at_once(ws):
    browser, _ = _signed_in(ws.app, "Ana")
    assert browser.get("/api/me").status_code == 200
    disabled = ws.as_("Ada").post(f"/api/users/{_user_id(ws, 'Ana')}/disable", json={})
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False, disabled.get_json()
    assert browser.get("/api/me").status_code == 401
    assert ws.as_("Ana").get("/api/me").status_code == 401
    assert _sign_in(ws.app, "Ana", PASSWORD).status_code == 401
    [event] = _audit(ws, "user.disable")
    assert event["by"] == "Ada" and "Ana" in event["why"]
    enabled = ws.as_("Ada").post(f"/api/users/{_user_id(ws, 'Ana')}/enable", json={})
    assert enabled.status_code == 200 and enabled.get_json()["active"] is True
    assert _sign_in(ws.app, "Ana", PASSWORD).status_code == 200
    assert ws.as_("Ana").get("/api/me").status_code == 401  # tokens were revoked, not paused
    assert [e["by"] for e in _audit(ws, "user.enable")] == ["Ada"]


def test_the_last_active_admin_cannot_be_disabled(ws):
    refused = ws.as_("Ada").post(f"/api/users/{_user_id(ws, 'Ada')}/disable", json={})
    assert refused.status_code == 422 and "administrator" in refused.get_json()["error"]["message"]
    assert ws.as_("Ada").get("/api/me").status_code == 200


def test_an_admin_lists_and_revokes_a_persons_tokens(ws):
    mine = ws.as_("Ana").post("/api/tokens", json={"scope": "read", "name": "notebook"}).get_json()
    listed = ws.as_("Ada").get(f"/api/users/{_user_id(ws, 'Ana')}/tokens")
    assert listed.status_code == 200
    tokens = listed.get_json()["tokens"]
    assert {t["name"] for t in tokens} >= {"notebook"} and all("token" not in t for t in tokens)
    revoked = ws.as_("Ada").delete(f"/api/tokens/{mine['id']}")
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert ws.app.test_client().get("/api/me", headers={"Authorization": f"Bearer {mine['token']}"}) \
        .status_code == 401
    [event] = [e for e in _audit(ws, "token.revoke") if e["details"].get("user") == _user_id(ws, "Ana")]
    assert event["by"] == "Ada" and "Ana" in event["why"]


def test_an_admin_makes_a_key_for_a_persons_program(ws):
    """The key acts as the person (their role, not the admin's), is shown once, and the audit row names the admin."""
    mia = _user_id(ws, "Mia")
    made = ws.as_("Ada").post(f"/api/users/{mia}/tokens", json={"scope": "predict", "name": "model server"})
    assert made.status_code == 201, made.get_json()
    key = made.get_json()
    assert key["token"].startswith("rc_") and key["scope"] == "predict" and key["name"] == "model server"
    me = ws.app.test_client().get("/api/me", headers={"Authorization": f"Bearer {key['token']}"}).get_json()
    assert me["user"]["name"] == "Mia" and "users.manage" not in me["permissions"]
    listed = ws.as_("Ada").get(f"/api/users/{mia}/tokens").get_json()["tokens"]
    assert [t["name"] for t in listed if t["id"] == key["id"]] == ["model server"]
    assert all("token" not in t for t in listed)  # the secret was shown once
    [event] = [e for e in _audit(ws, "token.create") if e["details"].get("user") == mia]
    assert event["by"] == "Ada" and "for Mia" in event["why"]
    # only admins; not for a disabled person; the usual checks of a key's scope and days
    assert ws.as_("Ana").post(f"/api/users/{mia}/tokens", json={"scope": "read"}).status_code == 403
    assert ws.as_("Ada").post(f"/api/users/{mia}/tokens", json={"scope": "all"}).status_code == 422
    assert ws.as_("Ada").post("/api/users/99999/tokens", json={"scope": "read"}).status_code == 404
    assert ws.as_("Ada").post(f"/api/users/{mia}/disable", json={}).status_code == 200
    refused = ws.as_("Ada").post(f"/api/users/{mia}/tokens", json={"scope": "read"})
    assert refused.status_code == 422 and "enable them first" in refused.get_json()["error"]["message"]


def test_an_admin_resets_a_password(ws):
    browser, _ = _signed_in(ws.app, "Ana")
    reset = ws.as_("Ada").post(f"/api/users/{_user_id(ws, 'Ana')}/password",
                               json={"password": "a one-time password"})
    assert reset.status_code == 200 and reset.get_json()["must_change_password"] is True, reset.get_json()
    assert browser.get("/api/me").status_code == 401       # her sessions ended
    assert ws.as_("Ana").get("/api/me").status_code == 401  # and her tokens were revoked
    assert _sign_in(ws.app, "Ana", PASSWORD).status_code == 401
    client, _ = _signed_in(ws.app, "Ana", "a one-time password")
    assert client.get("/api/rulesets").get_json()["error"]["code"] == "password-change-required"
    [event] = _audit(ws, "user.password-reset")
    assert event["by"] == "Ada" and "a one-time password" not in str(event)
    short = ws.as_("Ada").post(f"/api/users/{_user_id(ws, 'Ana')}/password", json={"password": "short"})
    assert short.status_code == 422 and short.get_json()["error"]["field"] == "password"


def test_an_admin_unlocks_an_account(ws):
    statuses = [_sign_in(ws.app, "Ana", "wrong password", ATTACKER).status_code for _ in range(6)]
    assert statuses[-1] == 429
    unlocked = ws.as_("Ada").post(f"/api/users/{_user_id(ws, 'Ana')}/unlock", json={})
    assert unlocked.status_code == 200
    assert _sign_in(ws.app, "Ana", PASSWORD, ATTACKER).status_code == 200
    assert [e["by"] for e in _audit(ws, "user.unlock")] == ["Ada"]


def test_only_admins_manage_people(ws):
    target = _user_id(ws, "Bea")
    for who in ("Ana", "Rui", "Alex", "Mia"):
        api = ws.as_(who)
        assert api.get(f"/api/users/{target}/tokens").status_code == 403
        for action in ("disable", "enable", "unlock"):
            assert api.post(f"/api/users/{target}/{action}", json={}).status_code == 403
        assert api.post(f"/api/users/{target}/password", json={"password": "x" * 20}).status_code == 403
    assert ws.as_("Ada").post("/api/users/999999/disable", json={}).status_code == 404


def test_a_password_change_revokes_the_persons_tokens_unless_asked_to_keep_them(ws):
    browser, csrf = _signed_in(ws.app, "Ana")
    changed = browser.post("/api/me/password", json={"old_password": PASSWORD, "password": "a new long password"},
                           headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 200 and changed.get_json()["tokens_revoked"] == 1
    assert ws.as_("Ana").get("/api/me").status_code == 401
    browser, csrf = _signed_in(ws.app, "Bea")
    kept = browser.post("/api/me/password", json={"old_password": PASSWORD, "password": "a new long password",
                                                  "keep_tokens": True}, headers={"X-CSRF-Token": csrf})
    assert kept.status_code == 200 and kept.get_json()["tokens_revoked"] == 0
    assert ws.as_("Bea").get("/api/me").status_code == 200


def test_right_after_a_one_time_password_it_is_not_asked_again(ws):
    """Regression: the choose-a-password page asked again for the one-time password just typed. The session opened
    with it proves it; any other password change still needs the current password."""
    ws.as_("Ada").post(f"/api/users/{_user_id(ws, 'Ana')}/password", json={"password": "a one-time password"})
    client, csrf = _signed_in(ws.app, "Ana", "a one-time password")
    same = client.post("/api/me/password", json={"password": "a one-time password"}, headers={"X-CSRF-Token": csrf})
    assert same.status_code == 422 and same.get_json()["error"]["field"] == "password"
    chosen = client.post("/api/me/password", json={"password": "my own long password"},
                         headers={"X-CSRF-Token": csrf})
    assert chosen.status_code == 200, chosen.get_json()
    client, csrf = _signed_in(ws.app, "Ana", "my own long password")
    again = client.post("/api/me/password", json={"password": "another long password"},
                        headers={"X-CSRF-Token": csrf})
    assert again.status_code == 403 and again.get_json()["error"]["field"] == "old_password"


def test_the_people_list_and_the_audit_log_say_who_created_an_account(ws):
    """An admin may make a reviewer account and approve their own changes with it: that is the admin's power, and it
    is visible: the list of people and the audit log name the admin who created the account."""
    created = ws.as_("Ada").post("/api/users", json={"name": "Second Hat", "role": "reviewer",
                                                      "password": "a long password"})
    assert created.status_code == 201 and created.get_json()["created_by"] == "Ada"
    people = {u["name"]: u for u in ws.as_("Ada").get("/api/users").get_json()["users"]}
    assert people["Second Hat"]["created_by"] == "Ada" and people["Ana"]["created_by"] is None
    [event] = [e for e in _audit(ws, "user.create") if "Second Hat" in e["why"]]
    assert event["by"] == "Ada" and event["details"]["role"] == "reviewer"


def test_the_commands_manage_people(ws):
    """rulecraft disable / enable / tokens / revoke-token / reset-password / unlock on the same data folder."""
    from click.testing import CliRunner

    from server.cli import main

    folder = ["--data-dir", str(ws.app.config["DATA_DIR"]), "--database-url", ws.app.config["DATABASE_URL"]]
    run = CliRunner().invoke
    listed = run(main, ["tokens", "Ana", *folder])
    assert listed.exit_code == 0, listed.output
    token_id = ws.as_("Ana").get("/api/tokens").get_json()["tokens"][0]["id"]
    assert str(token_id) in listed.output and "write" in listed.output
    revoked = run(main, ["revoke-token", str(token_id), *folder])
    assert revoked.exit_code == 0 and ws.as_("Ana").get("/api/me").status_code == 401, revoked.output
    assert run(main, ["disable", "Bea", *folder]).exit_code == 0
    assert ws.as_("Bea").get("/api/me").status_code == 401
    assert run(main, ["enable", "Bea", *folder]).exit_code == 0
    assert _sign_in(ws.app, "Bea", PASSWORD).status_code == 200
    reset = run(main, ["reset-password", "Rui", *folder], input="a one-time password\n")
    assert reset.exit_code == 0, reset.output
    assert _sign_in(ws.app, "Rui", "a one-time password").get_json()["user"]["must_change_password"] is True
    for _ in range(6):
        _sign_in(ws.app, "Alex", "wrong password", ATTACKER)
    assert run(main, ["unlock", "Alex", *folder]).exit_code == 0
    assert _sign_in(ws.app, "Alex", PASSWORD, ATTACKER).status_code == 200
    unknown = run(main, ["disable", "Nobody", *folder])
    assert unknown.exit_code == 1 and "no one called" in unknown.output
    actions = [e["action"] for e in ws.as_("Ada").get("/api/audit?per_page=200").get_json()["events"]]
    for action in ("token.revoke", "user.disable", "user.enable", "user.password-reset", "user.unlock"):
        assert action in actions, action


# ---- private files (item 14) --------------------------------------------------------------------------------------

def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _register_a_data_set(runtime) -> None:
    from server import auth
    from server.services import datasets

    with runtime.sessions() as db:
        user = auth.create_user(db, "Ana", "author", PASSWORD)
        db.commit()
        datasets.register(db, runtime.config["DATASETS_DIR"], user, "sepsis-triage", "cases",
                          b"temperature,sepsis risk\n39,high\n36,low\n", label_column="sepsis risk")
        db.commit()


def _close(runtime) -> None:
    runtime.store.close()
    runtime.sessions.kw["bind"].dispose()


def test_a_new_data_folder_and_everything_secret_in_it_is_private(tmp_path):
    """Regression: the data folder, the database (password hashes, CSRF tokens), the reference data sets (possibly
    patient data) and the repository were created readable by every user of the machine."""
    from server.lifecycle import open_runtime

    data = tmp_path / "data"
    usual = os.umask(0o022)  # a usual umask: what Rulecraft does not make private, everyone could read
    try:
        runtime = open_runtime({"DATA_DIR": data})
        _register_a_data_set(runtime)
        _close(runtime)
    finally:
        os.umask(usual)
    assert _mode(data) == 0o700
    for folder in ("rules.git", "datasets"):
        assert _mode(data / folder) == 0o700, folder
    for file in [data / "rulecraft.db", data / "secret_key", *(data / "datasets").iterdir()]:
        assert _mode(file) == 0o600, file
    for extra in data.glob("rulecraft.db-*"):  # SQLite's -wal and -shm take the database's mode
        assert _mode(extra) & 0o077 == 0, extra


def test_an_existing_data_folder_is_made_private_at_start(tmp_path):
    from server.lifecycle import open_runtime

    data = tmp_path / "data"
    runtime = open_runtime({"DATA_DIR": data})
    _register_a_data_set(runtime)
    _close(runtime)
    for path in (data, data / "rules.git", data / "datasets"):
        path.chmod(0o755)
    for path in (data / "rulecraft.db", data / "secret_key", *(data / "datasets").iterdir()):
        path.chmod(0o644)
    _close(open_runtime({"DATA_DIR": data}))
    assert _mode(data) == _mode(data / "rules.git") == _mode(data / "datasets") == 0o700
    for path in (data / "rulecraft.db", data / "secret_key", *(data / "datasets").iterdir()):
        assert _mode(path) == 0o600, path


@pytest.mark.parametrize("name", ["nul\x00", "two\nlines", 7])
def test_a_token_name_with_control_characters_is_refused_not_a_500(ws, name):
    """Regression (fuzzing on PostgreSQL): a NUL in a token's name reached the database, which refuses it: a 500."""
    response = ws.as_("Ana").post("/api/tokens", json={"scope": "read", "name": name})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == "name"


def test_revoking_a_persons_tokens_keeps_when_each_was_already_revoked(ws):
    """Mutation testing, round 3: revoking every token of a person (a new password, a disabled account) rewrote
    the revocation time of tokens revoked long before, and counted them again, when the filter was dropped."""
    from sqlalchemy import select

    from server import auth
    from server.models import ApiToken, User

    with ws.app.app_context(), ws.sessions() as db:
        ana = db.scalar(select(User).where(User.name == "Ana"))
        _, old = auth.create_token(db, ana, "read", name="old")
        _, live = auth.create_token(db, ana, "read", name="live")
        long_ago = utcnow().replace(microsecond=0) - timedelta(days=30)
        old.revoked_at = long_ago
        db.commit()
        unrevoked = len(db.scalars(select(ApiToken).where(ApiToken.user_id == ana.id,
                                                          ApiToken.revoked_at.is_(None))).all())
        assert auth.revoke_tokens(db, ana) == unrevoked
        db.commit()
        when = {t.name: t.revoked_at for t in db.scalars(select(ApiToken).where(ApiToken.user_id == ana.id))}
    assert when["old"].replace(tzinfo=None) == long_ago.replace(tzinfo=None) and when["live"] is not None


def test_the_audit_log_filtered_by_a_name_holding_nul_is_empty_not_a_500(ws):
    """Regression (schemathesis on PostgreSQL): GET /api/audit?ruleset=<NUL...> was a 500, PostgreSQL refusing NUL
    in a query; no rule set or action is called so, so nothing matches."""
    for name in ("ruleset", "action"):
        answer = ws.as_("Ada").get("/api/audit", query_string={name: "\x00sepsis"})
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["total"] == 0 and answer.get_json()["events"] == []
