"""The database: one engine per app, one session per request (``get_db()``), closed on teardown.

SQLite is the embedded default: WAL mode so readers never wait for the writer, a busy timeout so concurrent
writers (several server workers) queue instead of failing, full sync so an acknowledged save survives a crash,
foreign keys on. A transaction that will write calls ``begin_write(session)`` first: on SQLite it then starts with
BEGIN IMMEDIATE, taking the write lock up front, because two deferred transactions that both read and then write
deadlock and one fails at once with "database is locked". PostgreSQL needs nothing special.

Two lookups run on every API request (the token check, and a prediction's release generation). They are prebuilt
Core statements run on ``reads()``, a plain pooled connection: no ORM objects and no Session, because the ORM's
per-query work was about half of a prediction's server time. Each read is its own transaction (autocommit), so a
later read in the same request never sees an older snapshot than the Session does.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection, _record):
        connection.isolation_level = None  # let the "begin" event below open transactions (SQLAlchemy recipe)
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        options = connection.get_execution_options()
        if options.get("rulecraft_autocommit"):
            return  # reads(): no BEGIN, so SQLite runs each statement as its own transaction
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("rulecraft_write") else "BEGIN")

    return engine


def begin_write(session: Session) -> None:
    """Start a transaction that will write. A read-only transaction still open is ended first (its reads are
    done); one that already holds changes is left as it is."""
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            return
        session.commit()
    session.connection(execution_options={"rulecraft_write": True})


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["rulecraft.engine"] = engine
    app.extensions["rulecraft.sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(close_db)


def get_db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["rulecraft.sessions"]()
    return g.db


@contextmanager
def reads() -> Iterator[Connection]:
    """This request's read connection, for the lookups made on every request (checked out from the pool on first
    use, returned on teardown). Only for reads, one statement at a time: each statement is its own transaction,
    so nothing is held open between reads and the next read sees every commit made meanwhile (by this request's
    Session or another worker)."""
    connection: Connection | None = g.get("reads")
    if connection is None:
        engine = current_app.extensions["rulecraft.engine"]
        # Each statement its own transaction: no BEGIN and ROLLBACK around every read (a third of its cost).
        # SQLite: skip the BEGIN of the "begin" event above. Elsewhere: the driver's autocommit (not on SQLite,
        # where SQLAlchemy would reset the connection's isolation setting that the pragmas above rely on).
        options = {"rulecraft_autocommit": True} if engine.dialect.name == "sqlite" else \
            {"isolation_level": "AUTOCOMMIT"}
        connection = g.reads = engine.connect().execution_options(**options)
    try:
        yield connection
    finally:
        connection.rollback()


def close_db(_error=None) -> None:
    session, connection = g.pop("db", None), g.pop("reads", None)
    try:
        if session is not None:
            session.close()
    finally:
        if connection is not None:
            connection.close()


def session_factory(url: str) -> sessionmaker:
    """Sessions outside a request (command line, recovery, tests)."""
    return sessionmaker(make_engine(url), expire_on_commit=False)
