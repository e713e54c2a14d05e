"""Online backup and restore of a workspace: ``rulecraft backup DEST`` and ``rulecraft restore SRC``.

A backup is a folder:

    manifest.json      what is in it: when, the schema revision, the newest version, the release tags, counts,
                       and the SHA-256 of every file (checked by restore)
    rules.git/         the rules repository, a complete Rulecraft store (with its configuration)
    database.sqlite3   the SQLite database (sqlite3's online backup API), or
    database.pgdump    the PostgreSQL database (pg_dump's custom format)
    files/             everything else in the data folder: datasets/, secret_key, other keys

Consistency: the repository and the database are copied while the store is paused (its maintenance and writer
locks held): no save, release or maintenance moves the repository meanwhile, and every audit row or release the
database holds as done has its commit or tag in the copy. A save caught between its Git commit and its final
database update is in the copy as "pending"; restore runs recovery, which finishes it exactly as after a crash.
Saves wait while the copy runs (they queue on the lock; one that waits longer than the lock timeout answers
"busy, try again").
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from .. import migrate

MANIFEST = "manifest.json"
REPOSITORY = "rules.git"
SQLITE = "database.sqlite3"
PGDUMP = "database.pgdump"
FILES = "files"
FORMAT = 1
# In the data folder but not copied: the repository and database (copied their own way), the running server's
# metric counts, SQLite's side files.
NOT_COPIED = {"rules.git", "rulecraft.db", "rulecraft.db-wal", "rulecraft.db-shm", "rulecraft.db-journal", "metrics"}
COUNTED = ("users", "releases", "audit_events", "datasets", "api_tokens")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Outcome:
    folder: Path
    manifest: dict
    notes: list[str] = field(default_factory=list)


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(parsed.database)


def _libpq(url: str) -> tuple[list[str], dict]:
    """Connection arguments and environment for pg_dump / pg_restore / psql from a SQLAlchemy URL (the password
    goes in the environment, never on the command line)."""
    parsed = sa.engine.make_url(url)
    args = []
    for flag, value in (("--host", parsed.host), ("--port", parsed.port), ("--username", parsed.username)):
        if value:
            args += [flag, str(value)]
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return args + ["--dbname", parsed.database or ""], env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"'{name}' (PostgreSQL's client tools) is not installed on this machine; install them "
                          "(e.g. the postgresql-client package) and try again.")
    return found


def _empty(folder: Path) -> bool:
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return _count(connection)
    finally:
        engine.dispose()


def _count(connection) -> dict[str, int]:
    return {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}


def _pg_dump(url: str, target: Path) -> dict[str, int]:
    """Dump the database with pg_dump from one snapshot, and count the rows in that same snapshot (people,
    tokens and sign-ins change without the store's lock, so a count taken apart from the dump could differ)."""
    args, env = _libpq(url)
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            counts = _count(connection)
            proc = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                                   f"--snapshot={snapshot}", "--file", str(target), *args], env=env,
                                  capture_output=True, text=True)
            connection.rollback()
    finally:
        engine.dispose()
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return counts


def backup(runtime, destination: Path) -> Outcome:
    """Back up the workspace of ``runtime`` (server/lifecycle.Runtime) into the new folder ``destination``."""
    destination = Path(destination).absolute()
    if not _empty(destination):
        raise BackupError(f"{destination} is not empty: give a new or empty folder for the backup.")
    config = runtime.config
    url, data_dir = config["DATABASE_URL"], Path(config["DATA_DIR"])
    if destination == data_dir or data_dir in destination.parents:
        raise BackupError("The backup folder is inside the data folder: give a folder elsewhere (ideally on "
                          "another disk).")
    sqlite_file = _sqlite_path(url)
    if not migrate.state(url)[1]:
        raise BackupError("The database is empty: there is nothing to back up yet.")
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds the keys
    store = runtime.store
    started = datetime.now(UTC)
    with store.paused():
        store.copy_to(destination / REPOSITORY)
        if sqlite_file is not None:
            source = sqlite3.connect(sqlite_file)
            target = sqlite3.connect(destination / SQLITE)
            try:
                with target:
                    source.backup(target)
            finally:
                target.close()
                source.close()
            database = SQLITE
            counts = _counts(f"sqlite:///{destination / SQLITE}")
        else:
            counts = _pg_dump(url, destination / PGDUMP)
            database = PGDUMP
        head = store.head()
        tags = {tag.name: tag.version for tag in store.tags()}
    finished = datetime.now(UTC)
    for entry in sorted(data_dir.iterdir()):
        if entry.name in NOT_COPIED or entry.name.endswith((".flock", ".lock")):
            continue
        target = destination / FILES / entry.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.is_dir():
            shutil.copytree(entry, target)
        else:
            shutil.copy2(entry, target)
    revision, _ = migrate.state(url)
    manifest = {
        "format": FORMAT, "started": started.isoformat(), "paused_seconds": round((finished - started)
                                                                                  .total_seconds(), 3),
        "database": database, "schema_revision": revision, "head": head, "releases": tags,
        "counts": counts,
        "files": {},
    }
    for path in sorted(p for p in destination.rglob("*") if p.is_file()):
        manifest["files"][str(path.relative_to(destination))] = _digest(path)
    _write_json(destination / MANIFEST, manifest)
    return Outcome(destination, manifest)


def _write_json(path: Path, data: dict) -> None:
    with path.open("w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def read_manifest(source: Path) -> dict:
    path = Path(source) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError(f"{source} is not a Rulecraft backup (no readable {MANIFEST}).") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: this backup's format ({manifest.get('format')}) is not one this version of "
                          "Rulecraft can restore.")
    return manifest


def check_files(source: Path, manifest: dict) -> None:
    """Every file the manifest lists is there with its content, and there is no other."""
    source = Path(source)
    listed = manifest.get("files", {})
    present = {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()} - {MANIFEST}
    missing = sorted(set(listed) - present)
    if missing:
        raise BackupError(f"The backup is incomplete: {missing[0]} is missing ({len(missing)} files in all).")
    damaged = [name for name, digest in sorted(listed.items()) if _digest(source / name) != digest]
    if damaged:
        raise BackupError(f"The backup is damaged: {damaged[0]} does not hold what was backed up "
                          f"({len(damaged)} files in all).")


def restore(source: Path, data_dir: Path, database_url: str | None) -> Outcome:
    """Put the backup in ``source`` into the empty data folder ``data_dir`` (and the empty database
    ``database_url``, default SQLite in the data folder), run recovery and check the result."""
    from .. import config as configuration
    from ..lifecycle import open_runtime, start

    source, data_dir = Path(source).absolute(), Path(data_dir).absolute()
    manifest = read_manifest(source)
    check_files(source, manifest)
    if manifest["schema_revision"] not in migrate.revisions(str(data_dir)):
        raise BackupError(f"This backup's database is at schema revision '{manifest['schema_revision']}', which "
                          "this version of Rulecraft does not know (a newer version made it): restore it with "
                          "that version.")
    if not _empty(data_dir):
        raise BackupError(f"{data_dir} is not empty: restore into a new or empty folder (never over a live "
                          "one); then point the server at it.")
    url = configuration.database_url(data_dir, database_url)
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None and sqlite_file.exists() and sqlite_file.stat().st_size:
        raise BackupError(f"The database file {sqlite_file} exists already: restore into a new one.")
    if sqlite_file is None:
        _, has_tables = migrate.state(url)
        if has_tables:
            raise BackupError(f"The database {migrate.shown(url)} is not empty: restore into a new, empty "
                              "database.")
    if (manifest["database"] == SQLITE) != (sqlite_file is not None):
        kind = "SQLite" if manifest["database"] == SQLITE else "PostgreSQL"
        raise BackupError(f"This backup holds a {kind} database: restore it into a {kind} database "
                          f"({'leave out --database-url' if kind == 'SQLite' else 'give --database-url'}).")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = source / FILES
    if files.is_dir():
        for entry in sorted(files.iterdir()):
            (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, data_dir / entry.name)
    shutil.copytree(source / REPOSITORY, data_dir / REPOSITORY)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        backup_db = sqlite3.connect(source / SQLITE)
        target = sqlite3.connect(sqlite_file)
        try:
            with target:
                backup_db.backup(target)
        finally:
            target.close()
            backup_db.close()
    else:
        args, env = _libpq(url)
        proc = subprocess.run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", *args,
                               str(source / PGDUMP)], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BackupError(f"pg_restore failed: {proc.stderr.strip() or proc.stdout.strip()}")
    counts = _counts(url)  # before recovery, which may finish rows that were pending
    if counts != manifest["counts"]:
        raise BackupError(f"The restored database's counts {counts} are not the manifest's {manifest['counts']}.")
    overrides = {"DATA_DIR": data_dir, **({"DATABASE_URL": database_url} if database_url else {})}
    current = manifest["schema_revision"] == migrate.head(url)
    runtime = open_runtime(overrides, upgrade=False)
    notes = []
    try:
        if current:
            report = start(runtime)
            notes += [str(report)] if report.actions else []
        else:  # recovery needs the current schema: it runs at the first start after 'db upgrade'
            notes.append(f"The database is at schema revision {manifest['schema_revision']}; this version of "
                         f"Rulecraft needs {migrate.head(url)}. Run 'rulecraft db upgrade' on the restored folder "
                         "(same --data-dir and --database-url) before starting the server.")
        ok, detail = runtime.store.fsck()
        if not ok:
            raise BackupError(f"The restored repository does not pass 'git fsck': {detail[:500]}")
        if runtime.store.head() != manifest["head"]:
            raise BackupError("The restored repository's newest version is not the one the manifest names.")
        tags = {tag.name: tag.version for tag in runtime.store.tags()}
        if tags != manifest["releases"]:
            raise BackupError("The restored repository's releases are not the ones the manifest names.")
    finally:
        runtime.store.close()
        runtime.sessions.kw["bind"].dispose()
    return Outcome(data_dir, manifest, notes)
