"""Configuration: flags and environment variables over defaults; nothing secret is built in.

    RULECRAFT_DATA_DIR       data folder (default ./rulecraft-data): the Git repository, the SQLite database,
                             the secret key and registered data sets. Back up this folder (and the database, if
                             it is PostgreSQL) and you have backed up everything.
    RULECRAFT_DATABASE_URL   SQLAlchemy URL (default: SQLite in the data folder), e.g.
                             postgresql+psycopg://rulecraft@127.0.0.1/rulecraft
    RULECRAFT_SECRET_KEY     signing key; when absent one is generated once and kept in the data folder
    RULECRAFT_PORT           port for `rulecraft serve` (default 8000)
    RULECRAFT_SECURE_COOKIES 1 = mark cookies Secure even when the request reached us over plain HTTP (behind a
                             TLS-terminating proxy)
    RULECRAFT_TRUSTED_PROXIES how many reverse proxies stand in front of the server (default 0); their
                             X-Forwarded-For and X-Forwarded-Proto are then believed for that many hops
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_PORT = 8000


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip().isdigit() else default


def data_dir(value: str | os.PathLike | None = None) -> Path:
    return Path(value or os.environ.get("RULECRAFT_DATA_DIR") or "rulecraft-data").resolve()


def database_url(folder: Path, value: str | None = None) -> str:
    return value or os.environ.get("RULECRAFT_DATABASE_URL") or f"sqlite:///{folder / 'rulecraft.db'}"


def secret_key(folder: Path, value: str | None = None) -> str:
    """The given key, or the one kept in the data folder (created with owner-only permissions on first use)."""
    value = value or os.environ.get("RULECRAFT_SECRET_KEY")
    if value:
        return value
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def build(overrides: dict | None = None) -> dict:
    """The Flask config of one app; ``overrides`` (tests, flags) win over the environment."""
    overrides = dict(overrides or {})
    folder = data_dir(overrides.get("DATA_DIR"))
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "DATA_DIR": folder,
        "DATABASE_URL": database_url(folder, overrides.get("DATABASE_URL")),
        "REPOSITORY": folder / "rules.git",
        "DATASETS_DIR": folder / "datasets",
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,   # data-set uploads; JSON bodies have their own, smaller limit
        "MAX_JSON_BYTES": 1024 * 1024,
        "MAX_JSON_DEPTH": 100,
        "SESSION_HOURS": 12,
        "TOKEN_DAYS": 90,
        # Sign-in throttling (server/auth.py): failures allowed without waiting, then waits of 1, 2, 4 ... seconds up
        # to the cap, counted per account and address together, per account from everywhere (a short cap: the
        # owner is only ever asked to wait, never locked out) and per address over all accounts.
        "SIGNIN_FREE_FAILURES": 3,
        "SIGNIN_FREE_FAILURES_ACCOUNT": 10,
        "SIGNIN_FREE_FAILURES_ADDRESS": 30,
        "SIGNIN_MAX_WAIT_SECONDS": 300,
        "SIGNIN_MAX_WAIT_ACCOUNT_SECONDS": 30,
        "SIGNIN_WINDOW_MINUTES": 15,   # failures older than this are forgotten
        # Reverse proxies in front of the server whose X-Forwarded-For/-Proto are believed (werkzeug's ProxyFix);
        # 0: none, the client address is the connection's.
        "TRUSTED_PROXIES": _int_env("RULECRAFT_TRUSTED_PROXIES", 0),
        # Cookies are always HttpOnly and SameSite=Lax, and Secure whenever the request came over HTTPS; behind a
        # TLS-terminating proxy set RULECRAFT_SECURE_COOKIES=1 so they are Secure regardless.
        "SECURE_COOKIES": os.environ.get("RULECRAFT_SECURE_COOKIES") == "1",
        "PREDICT_MAX_CASES": 10_000,
    }
    config.update({k: v for k, v in overrides.items() if k != "SECRET_KEY"})
    config["SECRET_KEY"] = secret_key(folder, overrides.get("SECRET_KEY"))
    return config
