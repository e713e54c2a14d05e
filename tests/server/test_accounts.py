"""Accounts: sign-in throttling that nobody can turn into a lock-out, the client address behind a trusted proxy,
and the attempt reserved before the password is checked (issue 13, item 12)."""
from __future__ import annotations

import threading

import pytest
from conftest import PASSWORD, Workspace, close_app, make_app
from sqlalchemy import update

from server.models import SignInThrottle, utcnow

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
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert sorted(set(statuses)) == [401, 429], statuses
        checked = statuses.count(401)
        assert checked <= app.config["SIGNIN_FREE_FAILURES"] + 1, statuses
        _time_passes(w)
        assert _sign_in(app, "Ana", PASSWORD, ATTACKER).status_code == 200
    finally:
        w.sessions.kw["bind"].dispose()
        close_app(app)
