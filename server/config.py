"""Configuration: flags and environment variables over defaults; nothing secret is built in. The one owner of every
setting: ``SETTINGS`` below (docs/operations.md shows the same table, and a test keeps the two alike).

    RULECRAFT_DATA_DIR       data folder (default ./rulecraft-data): the Git repository, the SQLite database,
                             the secret key, the bundle signing key and registered data sets.
    RULECRAFT_DATABASE_URL   SQLAlchemy URL (default: SQLite in the data folder), e.g.
                             postgresql+psycopg://rulecraft@127.0.0.1/rulecraft
    RULECRAFT_SECRET_KEY     the key that signs sign-in sessions (the database keeps only an HMAC of each session
                             cookie under this key, so changing it ends every session); when absent one is
                             generated once and kept in the data folder (``secret_key``)
    RULECRAFT_PORT           port for `rulecraft serve` (default 8000)
    RULECRAFT_...            the rest: ``SETTINGS``
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting's value is not one it may take; the message names the variable and what is allowed."""


@dataclass(frozen=True)
class Setting:
    """One setting: its Flask config key, environment variable, default, allowed values, flag of `rulecraft serve`
    (if any) and what it does, in the words docs/operations.md uses."""

    key: str
    default: object
    help: str
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 10**9
    flag: str | None = None

    @property
    def env(self) -> str:
        return "RULECRAFT_" + self.key

    def parse(self, text: str) -> object:
        """The value of ``text`` (from the environment), or ConfigError saying what is allowed."""
        text = text.strip()
        if isinstance(self.default, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ConfigError(f"{self.env} is 1 or 0, not '{text}'.")
        if isinstance(self.default, int):
            if not text.isdigit() or not self.low <= int(text) <= self.high:
                raise ConfigError(f"{self.env} is a whole number from {self.low} to {self.high}, not '{text}'.")
            return int(text)
        if self.choices and text.lower() not in self.choices:
            raise ConfigError(f"{self.env} is one of {', '.join(self.choices)}, not '{text}'.")
        return text.lower() if self.choices else text


# Every setting beyond the data folder, the database, the secret key and the port. Flags win over the environment,
# the environment over these defaults.
SETTINGS = (
    Setting("SESSION_HOURS", 12, "hours a browser sign-in lasts", low=1, high=24 * 90, flag="--session-hours"),
    Setting("TOKEN_DAYS", 90, "days an API token lasts when its creator gives no number", low=1, high=3650,
            flag="--token-days"),
    # Sign-in throttling (server/auth.py): failures allowed without waiting, then waits of 1, 2, 4 ... seconds up
    # to the cap, counted per account and address together, per account from everywhere (a short cap: the owner is
    # only ever asked to wait, never locked out) and per address over all accounts.
    Setting("SIGNIN_FREE_FAILURES", 3, "failed sign-ins for one name from one address before waits begin",
            low=1, high=1000),
    Setting("SIGNIN_FREE_FAILURES_ACCOUNT", 10, "failed sign-ins for one name from anywhere before waits begin",
            low=1, high=1000),
    Setting("SIGNIN_FREE_FAILURES_ADDRESS", 30, "failed sign-ins from one address (any names) before waits begin",
            low=1, high=100000),
    Setting("SIGNIN_MAX_WAIT_SECONDS", 300, "longest wait after failures from one address", low=1, high=86400),
    Setting("SIGNIN_MAX_WAIT_ACCOUNT_SECONDS", 30, "longest wait for a name after failures from everywhere",
            low=1, high=3600),
    Setting("SIGNIN_WINDOW_MINUTES", 15, "failed sign-ins older than this are forgotten", low=1, high=10080),
    Setting("THREADS", 4, "threads per worker process (requests one worker serves at once)", low=1, high=64,
            flag="--threads"),
    Setting("TIMEOUT", 60, "seconds a request may run before its worker is restarted (gunicorn's timeout)",
            low=5, high=3600, flag="--timeout"),
    Setting("GRACEFUL_TIMEOUT", 10, "seconds a stopping worker gets to finish its requests", low=1, high=600),
    Setting("KEEPALIVE", 5, "seconds an idle kept-alive connection stays open", low=0, high=300),
    Setting("LOCK_TIMEOUT", 30, "seconds a save waits for the writer lock before answering 'busy' (503)",
            low=1, high=600),
    Setting("LOG_LEVEL", "info", "lowest level written to the log (info: one line per request)",
            choices=("debug", "info", "warning", "error"), flag="--log-level"),
    Setting("LOG_FORMAT", "text", "text (key=value) or json (one object a line)", choices=("text", "json"),
            flag="--log-format"),
    Setting("LOG_REPEAT_SECONDS", 60, "a warning or error repeated within this time is counted, not written "
            "again (an outage writes one line per failure per interval, not a traceback per request)",
            low=0, high=86400),
    Setting("PURGE_MINUTES", 60, "how often each worker purges expired sessions and tokens and old sign-in "
            "failures (also done at every start)", low=1, high=10080),
    Setting("PURGE_AFTER_DAYS", 7, "days ended or expired sessions and expired tokens are kept before the purge "
            "removes them", low=0, high=3650),
    Setting("TRUSTED_PROXIES", 0, "how many reverse proxies stand in front: their X-Forwarded-For and "
            "X-Forwarded-Proto are believed for that many hops", low=0, high=10, flag="--trusted-proxies"),
    Setting("SECURE_COOKIES", False, "1 = cookies are Secure even when the request came over plain HTTP (behind a "
            "TLS-terminating proxy); they are always Secure over HTTPS"),
    # An outage of the database (server/auth.py): a token this worker verified at most this long ago is still
    # accepted, so predictions with released versions keep answering; 0 = refuse every token while it lasts.
    Setting("OUTAGE_GRACE_SECONDS", 120, "while the database cannot be reached, a token this worker verified at "
            "most this many seconds ago is still accepted (predictions keep answering); a token revoked less than "
            "this long before an outage may be accepted during it; 0 = refuse every token while the database is "
            "down", low=0, high=86400),
    Setting("METRICS", False, "1 = /metrics answers anyone (else only a token of scope metrics)",
            flag="--metrics"),
)
SETTING = {s.key: s for s in SETTINGS}


def from_environment() -> dict:
    """Every setting's value from the environment, or its default."""
    values = {}
    for setting in SETTINGS:
        text = os.environ.get(setting.env)
        values[setting.key] = setting.default if text is None else setting.parse(text)
    return values


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
        "PREDICT_MAX_CASES": 10_000,
        **from_environment(),
    }
    config.update({k: v for k, v in overrides.items() if k != "SECRET_KEY"})
    config["SECRET_KEY"] = secret_key(folder, overrides.get("SECRET_KEY"))
    _create_database_file(config["DATABASE_URL"])
    return config
