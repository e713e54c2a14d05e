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
    RULECRAFT_METRICS        1 = /metrics answers anyone (else only a token of scope "metrics"); server/metrics.py
    RULECRAFT_TRUSTED_PROXIES how many reverse proxies stand in front of the server (default 0); their
                             X-Forwarded-For and X-Forwarded-Proto are then believed for that many hops
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip().isdigit() else default


# Files are private: the data folder holds password hashes and CSRF tokens (the database), reference data sets
# (possibly patient data), the rules and the signing key. Only the account that runs Rulecraft may read them.
PRIVATE_FOLDER, PRIVATE_FILE = 0o700, 0o600


def private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (created so; made so if it exists and is ours)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    _make_private(path, PRIVATE_FOLDER)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only its owner may read."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as f:
        f.write(data)
    _make_private(path, PRIVATE_FILE)  # os.open keeps the mode of a file that already existed


def _make_private(path: Path, mode: int) -> None:
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o777 != mode:
        os.chmod(path, mode)


def make_private(config: dict) -> None:
    """At start: the data folder, the database file, the secret key, the repository and the data sets made private
    (folders made by an older version, or copied in with a backup, may be readable by everyone)."""
    folder, repository, datasets = (Path(config[k]) for k in ("DATA_DIR", "REPOSITORY", "DATASETS_DIR"))
    private_folder(folder)
    files = [folder / "secret_key", *_sqlite_files(config["DATABASE_URL"])]
    for path in (repository, datasets):
        if path.is_dir():
            private_folder(path)
    if datasets.is_dir():
        files += [p for p in datasets.iterdir() if p.is_file()]
    for path in files:
        if path.is_file():
            _make_private(path, PRIVATE_FILE)


def _sqlite_files(url: str) -> list[Path]:
    """The SQLite database file and its -wal and -shm companions (none for other databases)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return []
    path = Path(parsed.database)
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _create_database_file(url: str) -> None:
    """Create the SQLite file owner-only before SQLite does (it gives -wal and -shm the same mode)."""
    files = _sqlite_files(url)
    if files and not files[0].exists() and files[0].parent.is_dir():
        os.close(os.open(files[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


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
        private_folder(folder)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(descriptor, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def build(overrides: dict | None = None) -> dict:
    """The Flask config of one app; ``overrides`` (tests, flags) win over the environment."""
    overrides = dict(overrides or {})
    folder = private_folder(data_dir(overrides.get("DATA_DIR")))
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
        "METRICS": os.environ.get("RULECRAFT_METRICS") == "1",  # /metrics open to anyone (server/metrics.py)
    }
    config.update({k: v for k, v in overrides.items() if k != "SECRET_KEY"})
    config["SECRET_KEY"] = secret_key(folder, overrides.get("SECRET_KEY"))
    _create_database_file(config["DATABASE_URL"])
    return config
