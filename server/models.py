"""Database tables: people, their sessions and tokens, releases, the audit trail, reference data sets.

The rules themselves live in Git (server/store/); the database holds who may do what, the audit trail that ties
every commit to a person (and is reconciled with Git after a crash), and the release workflow. Schema changes go
through Alembic (migrations/); tests run them on SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ROLES = ("admin", "author", "reviewer", "auditor", "ml-engineer")
SCOPES = ("read", "predict", "write", "metrics")  # metrics: only GET /metrics (server/metrics.py)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100), unique=True)   # NFKC, case-folded: one person, one name
    email: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The admin who added this person (None: from the command line, on the server's machine). Shown in the list of
    # people and in the audit log, so an account an admin made for themselves to approve with can be seen.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class SignInSession(Base):
    """A browser session; the cookie holds only a random id whose hash is stored here, so sign-out ends it."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token for scripts: stored hashed, scoped, expiring, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))   # shown in lists so people can tell tokens apart
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class SignInThrottle(Base):
    """Failed sign-ins, counted three ways: per account and address together (``pair:``), per account from
    everywhere (``account:``) and per address over all accounts (``address:``). Each count sets when the next
    attempt of its kind may be made (growing delays, server/auth.py). Rows are locked while an attempt is reserved,
    so every worker sees the same counts."""

    __tablename__ = "signin_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_key: Mapped[str] = mapped_column(String(100), index=True)   # "" for an address's own row
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Release(Base):
    """A request to release a version of a rule set, and its decision. Approved releases are immutable."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("ruleset", "name", name="uq_release_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruleset: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str | None] = mapped_column(String(20), nullable=True)   # v1, v2 ... given on approval
    version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="requested")  # requested | approved | rejected
    notes: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The content hash of the release's bundle, recorded at approval (also in the tag's message); None for releases
    # approved before it was recorded. See docs/api.md, "Verifying a bundle".
    bundle_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # The release gate (ruleset.yaml) as measured: at the request, then at the approval (rules_dsl.gate.GateResult
    # as JSON); None when the rule set declares no gate. An approval of a failing gate records the reviewer's
    # reason in gate_override (also in the audit log).
    gate: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    gate_override: Mapped[str | None] = mapped_column(Text, nullable=True)
    # While 'approving': who is writing the tag (services/releases.py), so that recovery resets only an approval
    # whose approver is gone (services/recovery.py): the host, the process id, the process's start (boot id and
    # start time: a process id alone may name a later process) and a lease, after which a process of another host
    # is taken for gone. None in every other state.
    approving_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    approving_process: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approving_started: Mapped[str | None] = mapped_column(String(80), nullable=True)
    approving_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    requester: Mapped[User] = relationship(foreign_keys=[requested_by])
    decider: Mapped[User | None] = relationship(foreign_keys=[decided_by])


class Shadow(Base):
    """A candidate version answering, off the answer's path, the live predictions of the released version it
    shadows (services/shadows.py), and what it answered differently. One active (ended_at None) per rule set."""

    __tablename__ = "shadows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruleset: Mapped[str] = mapped_column(String(80), index=True)
    candidate: Mapped[str] = mapped_column(String(40))
    follow: Mapped[bool] = mapped_column(Boolean, default=False)   # the candidate is the latest save, whatever it is
    released: Mapped[str] = mapped_column(String(40))
    release_name: Mapped[str] = mapped_column(String(20))
    keep_values: Mapped[bool] = mapped_column(Boolean, default=False)
    started_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)   # of the current count
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str] = mapped_column(Text, default="")
    cases: Mapped[int] = mapped_column(Integer, default=0)
    different: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)     # cases the candidate could not answer (an error)
    dropped: Mapped[int] = mapped_column(Integer, default=0)    # cases not compared: the queue was full
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    by_rule: Mapped[dict] = mapped_column(JSON, default=dict)    # rule name -> different answers it took part in
    sample: Mapped[list] = mapped_column(JSON, default=list)     # a bounded sample of the different answers

    starter: Mapped[User] = relationship(foreign_keys=[started_by])


class AuditEvent(Base):
    """Every change and every decision: who, when, what, why; for saves, the commit it became.

    A save writes a 'pending' row, then the commit (whose trailers carry the row's save id), then marks the row
    'done'. Recovery on start turns a pending row into 'done' when its commit exists and 'failed' otherwise, and
    creates the row of a commit that has none, from the commit's trailers.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_ruleset_at", "ruleset", "at"), Index("ix_audit_rule", "ruleset", "rule"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    ruleset: Mapped[str | None] = mapped_column(String(80), nullable=True)
    rule: Mapped[str | None] = mapped_column(String(80), nullable=True)
    version: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    save_id: Mapped[str | None] = mapped_column(String(36), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="done")      # pending | done | failed
    # The process that wrote a pending row: when that server worker dies, its rows are settled at once (not at the
    # next start), and only its rows (server/services/recovery.py).
    process_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()


class ReferenceDataset(Base):
    """Labelled cases registered for a rule set ("try it", analysis, impact of a change). The file is kept in the
    data folder under a name made from the id, never from what the user called it."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("ruleset", "name", name="uq_dataset_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruleset: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(100))
    label_column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    group_columns: Mapped[list] = mapped_column(JSON, default=list)
    rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list] = mapped_column(JSON, default=list)
    sha256: Mapped[str] = mapped_column(String(64))
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
