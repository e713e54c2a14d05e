"""Accounts: people, their passwords and tokens, and the audit log's queries.

Each function that changes something is one unit of work: it takes the write lock (``begin_write``), makes the
change with the rules in ``server/auth.py``, adds its audit row and commits, so a change is never saved without
its row. The API's views (``server/api/people.py``) and the command line (``server/cli.py``) call the same
functions; ``actor`` is the person doing it (None: the command line, which has nobody signed in) and ``note`` ends
the audit message (" from the command line").
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import auth
from ..db import begin_write
from ..models import ApiToken, AuditEvent, User
from .errors import Invalid, NotFound
from .saving import record

# ---- people ------------------------------------------------------------------------------------------------------


def find_person(db: Session, name: str) -> User | None:
    """The person of that name (names that differ only in case are the same), or None."""
    return auth.find_user(db, name)


def person(db: Session, user_id: int) -> User:
    """The person with that id; NotFound if there is none."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("There is no such person.")
    return user


def people(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.id)))


def creator_names(db: Session, users: list[User]) -> dict[int, str]:
    """Who added each of these people, by id -> name (only for those added by an administrator)."""
    creators = (db.get(User, i) for i in {u.created_by for u in users if u.created_by})  # often in the Session
    return {c.id: c.name for c in creators if c is not None}


def create_person(db: Session, actor: User | None, name: str, role: str, password: str, email: str | None = None,
                  *, must_change_password: bool = False, note: str = "") -> User:
    """Add a person; one audit row "user.create" naming the administrator (None: the command line)."""
    begin_write(db)
    user = auth.create_user(db, name, role, password, email, must_change_password=must_change_password,
                            created_by=actor)
    details = {"user": user.id, "role": user.role} if actor is not None else None
    record(db, actor, "user.create", message=f"{user.name} ({user.role}){note}", details=details)
    db.commit()
    return user


def change_password(db: Session, user: User, old: str, new: str, *, keep_tokens: bool = False,
                    old_proved: bool = False) -> int:
    """The person's own new password: every session ends, tokens are revoked unless ``keep_tokens``. Returns how
    many tokens were revoked. ``old_proved``: the current (one-time) password need not be given again."""
    begin_write(db)
    revoked = auth.change_password(db, user, old, new, keep_tokens=keep_tokens, old_proved=old_proved)
    record(db, user, "user.password", message="Password changed" + (f"; {revoked} token(s) revoked" if revoked
                                                                    else ""), details={"tokens_revoked": revoked})
    db.commit()
    return revoked


# What an administrator can do to a person (the API and the command line): action -> change(db, person, password).
_PERSON_CHANGES = {
    "user.disable": lambda db, p, _password: auth.disable_user(db, p),
    "user.enable": lambda db, p, _password: auth.enable_user(db, p),
    "user.password-reset": lambda db, p, password: auth.reset_password(db, p, password),
    "user.unlock": lambda db, p, _password: auth.unlock(db, p),
}


def change_person(db: Session, actor: User | None, person: User, action: str, message: str,
                  password: str | None = None) -> User:
    """Disable, enable, reset the password of (``password``: the one-time password) or unlock a person; one audit
    row ``action`` with "<name>: <message>"."""
    begin_write(db)
    _PERSON_CHANGES[action](db, person, password)
    record(db, actor, action, message=f"{person.name}: {message}", details={"user": person.id})
    db.commit()
    return person


# ---- tokens ------------------------------------------------------------------------------------------------------


def tokens_of(db: Session, user: User) -> list[ApiToken]:
    """A person's tokens, oldest first (their hashes only: secrets are never kept)."""
    return auth.tokens_of(db, user)


def create_token(db: Session, user: User, scope: str, name: str = "", days: int | None = None, *,
                 note: str = "", actor: User | None = None) -> tuple[str, ApiToken]:
    """A new token for ``user``; the secret is returned this once. The audit row's actor is ``actor`` (an
    administrator making a key for someone) or else the person themselves. A disabled person gets none."""
    if not user.active:
        raise Invalid(f"{user.name} is disabled and cannot have a new key; enable them first.", field="user")
    begin_write(db)
    secret, token = auth.create_token(db, user, scope, name, days)
    if actor is not None and actor.id != user.id:
        record(db, actor, "token.create", message=f"Token {token.prefix}... ({token.scope}) for {user.name}{note}",
               details={"user": user.id})
    else:
        record(db, user, "token.create", message=f"Token {token.prefix}... ({token.scope}){note}")
    db.commit()
    return secret, token


def revoke_token(db: Session, actor: User | None, token_id: int, *, anyones: bool = False) -> ApiToken:
    """Revoke a token: one's own, or anyone's when ``anyones`` (an administrator) or from the command line
    (``actor`` None). NotFound for no such token, or someone else's without ``anyones``."""
    token = db.get(ApiToken, token_id)
    if token is None or (actor is not None and token.user_id != actor.id and not anyones):
        raise NotFound("There is no such token.")
    begin_write(db)
    auth.revoke_token(db, token)
    if actor is None:
        message = f"Token {token.prefix}... of {token.user.name} from the command line"
    else:
        message = f"Token {token.prefix}..." + (f" of {token.user.name}" if token.user_id != actor.id else "")
    record(db, actor, "token.revoke", message=message, details={"user": token.user_id})
    db.commit()
    return token


# ---- the audit log -----------------------------------------------------------------------------------------------


def audit_events(db: Session, page: int, size: int, ruleset: str | None = None,
                 action: str | None = None) -> tuple[int, list[AuditEvent]]:
    """(how many events match, the page of them, newest first)."""
    if "\x00" in (ruleset or "") + (action or ""):  # no id holds NUL, and PostgreSQL refuses it in a query (a 500)
        return 0, []
    query = select(AuditEvent)
    if ruleset:
        query = query.where(AuditEvent.ruleset == ruleset)
    if action:
        query = query.where(AuditEvent.action == action)
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    events = list(db.scalars(query.order_by(AuditEvent.id.desc()).offset((page - 1) * size).limit(size)))
    return total, events
