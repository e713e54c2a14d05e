"""People and access: passwords, browser sessions, API tokens, roles, CSRF, sign-in throttling.

- Browser sessions: the cookie holds a random id; the database holds its HMAC under the secret key (SECRET_KEY,
  server/config.py), so changing that key ends every session, and signing out (or changing the
  password) ends the session for good and a copied cookie no longer works. Cookies are HttpOnly, SameSite=Lax,
  and Secure over HTTPS. Every write made with a cookie needs the session's CSRF token (header X-CSRF-Token or
  form field csrf_token).
- Tokens for scripts: ``Authorization: Bearer rc_...``; stored hashed, scoped (read / predict / write), expiring,
  revocable. A token acts as its person, limited to its scope.
- When the database cannot be reached, a token this worker verified less than OUTAGE_GRACE_SECONDS ago is still
  accepted (``VerifiedTokens``), so predictions on released versions keep answering through an outage; everything
  that needs the database answers 503 (DatabaseUnavailable). With the database up, every request checks its token
  there, as always, so revocation is immediate.
- Sign-in failures are stored in the database (so the limit holds across workers) and make the next attempt wait
  (growing delays, never a lock-out of the right password from elsewhere); unknown and known accounts take the
  same time to refuse. Behind a reverse proxy the client address comes from X-Forwarded-For, for as many hops as
  TRUSTED_PROXIES says (server/app.py).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, wraps

from flask import current_app, g, has_app_context, request
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from rules_dsl.errors import invisible_character, normalize_name

from .db import begin_write, get_db, reads
from .limits import MAX_EMAIL, MAX_PERSON_NAME, MAX_TOKEN_NAME
from .models import ROLES, SCOPES, ApiToken, AuditEvent, SignInSession, SignInThrottle, User, utcnow
from .services.errors import (
    DATABASE_UNREACHABLE,
    DatabaseUnavailable,
    Forbidden,
    Invalid,
    SignInRequired,
    TooMany,
    database_unreachable,
)
from .store import Identity, StoreError

COOKIE = "rulecraft_session"
TOKEN_PREFIX = "rc_"
MIN_PASSWORD = 10

ROLE_PERMISSIONS = {
    "admin": {"rulesets.list", "rules.read", "rules.write", "releases.read", "releases.request", "releases.decide",
              "audit.read", "bundles.read", "predict", "datasets.write", "users.manage", "metrics.read",
              "rules.suggest"},
    "author": {"rulesets.list", "rules.read", "rules.write", "releases.read", "releases.request", "bundles.read",
               "predict", "datasets.write", "rules.suggest"},
    "reviewer": {"rulesets.list", "rules.read", "releases.read", "releases.decide", "bundles.read", "predict",
                 "rules.suggest"},
    "auditor": {"rulesets.list", "rules.read", "releases.read", "audit.read", "bundles.read", "predict"},
    "ml-engineer": {"rulesets.list", "releases.read", "bundles.read", "predict"},
}
SCOPE_PERMISSIONS = {
    "read": {"rulesets.list", "rules.read", "releases.read", "audit.read", "bundles.read"},
    "predict": {"rulesets.list", "releases.read", "bundles.read", "predict"},
    "write": set().union(*ROLE_PERMISSIONS.values()),
    "metrics": {"metrics.read"},  # for a Prometheus server: GET /metrics and nothing else
}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _session_digest(cookie: str) -> str:
    """What the database keeps of a session cookie: its HMAC under the secret key. A new key makes every kept value
    unmatchable, which is how rotating the key ends every session (docs/operations.md)."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), cookie.encode(), hashlib.sha256).hexdigest()


# ---- people ------------------------------------------------------------------------------------------------------

def check_password_rules(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(f"Choose a password of at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > 200:
        raise Invalid("That password is too long (at most 200 characters).", field="password")


def check_identity_text(name: str, email: str) -> None:
    """Names and e-mails end up as commit authors: refuse anything that could break or forge that line."""
    for field, value, limit in (("name", name, MAX_PERSON_NAME), ("email", email, MAX_EMAIL)):
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"The {field} is required.", field=field)
        if len(value) > limit or any(c in value for c in "\n\r\0<>") or not value.isprintable():
            raise Invalid(f"The {field} may not contain line breaks, '<', '>' or control characters "
                          f"(and at most {limit} characters).", field=field)
    if "@" not in email or " " in email.strip():
        raise Invalid("Give an e-mail address such as ana@example.org.", field="email")
    # The store records both as the author of every save; what it cannot record must be refused now, not at the
    # person's first save (a name of punctuation only, an address that starts or ends with '.', quotes, ...).
    for field, identity in (("name", (name, "person@example.org")), ("email", ("Person", email))):
        try:
            Identity(*identity)
        except StoreError as e:
            raise Invalid(e.message, field=field) from None


def default_email(name: str) -> str:
    """An address for a person given none: letters and digits of the name, joined by dots."""
    words = ["".join(c for c in word if c.isalnum()) for word in normalize_name(name).split()]
    return (".".join(w for w in words if w) or "person") + "@rulecraft.invalid"


@lru_cache(maxsize=4)
def _dummy_hash_for(method: str) -> str:
    return generate_password_hash("rulecraft-dummy-password", method=method)


def _dummy_hash() -> str:
    """A hash made the same way as real ones, checked for unknown names so refusals take the same time."""
    return _dummy_hash_for(current_app.config.get("PASSWORD_METHOD", "scrypt"))


def hash_password(password: str) -> str:
    """scrypt (Werkzeug's default); tests may ask for a faster method through PASSWORD_METHOD."""
    method = current_app.config.get("PASSWORD_METHOD", "scrypt") if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


def create_user(db: Session, name: str, role: str, password: str, email: str | None = None,
                must_change_password: bool = False, created_by: User | None = None) -> User:
    name = " ".join(str(name or "").split())
    email = (email or default_email(name)).strip()
    check_identity_text(name, email)
    if role not in ROLES:
        raise Invalid(f"The role must be one of {', '.join(ROLES)}.", field="role")
    check_password_rules(password)
    key = normalize_name(name)
    if db.scalar(select(User).where(User.name_key == key)) is not None:
        raise Invalid(f"Someone called '{name}' already exists (names that differ only in case are the same).",
                      field="name")
    user = User(name=name, name_key=key, email=email, role=role, password_hash=hash_password(password),
                must_change_password=must_change_password, created_by=created_by.id if created_by else None)
    db.add(user)
    db.flush()
    return user


def find_user(db: Session, name: str) -> User | None:
    return db.scalar(select(User).where(User.name_key == normalize_name(name or "")))


def change_password(db: Session, user: User, old: str, new: str, keep_tokens: bool = False,
                    old_proved: bool = False) -> int:
    """A new password chosen by the person: every session ends, and every token is revoked unless they ask to keep
    them (a password change is what one does after a leak). Returns how many tokens were revoked. ``old_proved``:
    the person just signed in with their one-time password in this session, so it is not asked again."""
    if not old_proved and not check_password_hash(user.password_hash, old or ""):
        raise Forbidden("The current password is not right.", field="old_password")
    check_password_rules(new)
    if check_password_hash(user.password_hash, new or ""):
        raise Invalid("Choose a password different from the current one.", field="password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(db, user)
    return 0 if keep_tokens else revoke_tokens(db, user)


# ---- people's lifecycle (an administrator, from the API or the command line) ------------------------------------

def end_sessions(db: Session, user: User) -> int:
    return db.execute(update(SignInSession).where(SignInSession.user_id == user.id, SignInSession.ended_at.is_(None))
                      .values(ended_at=utcnow())).rowcount


def revoke_tokens(db: Session, user: User) -> int:
    return db.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                      .values(revoked_at=utcnow())).rowcount


def disable_user(db: Session, user: User) -> None:
    """The person can no longer sign in; their sessions end and their tokens are revoked at once (every request
    checks both against the database). Their history stays theirs."""
    if user.role == "admin" and user.active and not db.scalar(
            select(User.id).where(User.role == "admin", User.active, User.id != user.id).limit(1)):
        raise Invalid("This is the only active administrator: add or enable another one first.")
    user.active = False
    end_sessions(db, user)
    revoke_tokens(db, user)


def enable_user(db: Session, user: User) -> None:
    """Able to sign in again (tokens revoked when disabled stay revoked)."""
    user.active = True


def reset_password(db: Session, user: User, password: str) -> None:
    """An administrator gives a one-time password: it must be changed at the next sign-in; sessions end, tokens
    are revoked and failed sign-ins are forgotten."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    end_sessions(db, user)
    revoke_tokens(db, user)
    unlock(db, user)


def tokens_of(db: Session, user: User) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


# ---- sessions ----------------------------------------------------------------------------------------------------

def _control(c: str) -> bool:
    """A control or format character (NUL, BEL, a direction override); spaces of any kind are not."""
    return unicodedata.category(c) in ("Cc", "Cf") and not c.isspace()


def sign_in(db: Session, name: str, password: str, address: str) -> tuple[User, str, SignInSession]:
    """Check the password (throttled) and open a session; returns the user, the cookie value and the session."""
    config = current_app.config
    given = str(name or "")
    # No account name holds a control character (names are checked when made), and PostgreSQL text cannot hold
    # NUL: such a name is recorded with the characters replaced and is never looked up.
    shown = "".join("\ufffd" if _control(c) else c for c in given)
    key = normalize_name(shown)[:MAX_PERSON_NAME]
    address = "".join(c for c in (address or "unknown") if not _control(c))[:64]
    g.sign_in_name = shown[:100]  # for the security log (server/logs.py)
    reserve_attempt(db, key, address)
    user = find_user(db, given) if key and shown == given else None
    # Check a password even for an unknown name, so both take the same time.
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password or "")
    if not (ok and user is not None and user.active):
        # The attempt was counted as a failure when it was reserved. In the audit log too: who (the account, when
        # it exists; else the name given), when, from where, why. Never the password.
        disabled = ok and user is not None and not user.active
        user_id = user.id if user else None
        begin_write(db)  # SQLite: a read transaction turned writer is refused at once by a busy database (a 500)
        db.add(AuditEvent(user_id=user_id, action="sign-in", status="refused", at=utcnow(),
                          details={"reason": "disabled" if disabled else "wrong-name-or-password",
                                   "refused": "The account is disabled." if disabled
                                   else "The name or the password was not right.",
                                   "name": shown[:MAX_PERSON_NAME], "address": address}))
        db.commit()
        raise SignInRequired("The name or the password is not right.")
    begin_write(db)
    attempt_succeeded(db, key, address)
    cookie = secrets.token_urlsafe(32)
    session = SignInSession(token_hash=_session_digest(cookie), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                            expires_at=utcnow() + timedelta(hours=config["SESSION_HOURS"]))
    db.add(session)
    db.commit()
    g.sign_in_person = user.id
    return user, cookie, session


# ---- sign-in throttling ------------------------------------------------------------------------------------------
#
# No lock-out anyone can trigger: failures make the next attempt wait (1, 2, 4 ... seconds, capped), counted per
# account and address together (guessing one account from one place), per account from everywhere (guessing from
# many places; a short cap, so its owner is asked to wait seconds, never locked out) and per address (one place
# guessing many accounts). The right password from another address is never refused for failures elsewhere.
# An attempt is reserved (counted as a failure, rows locked, committed) before its password is checked: 40 guesses
# at once then check at most SIGNIN_FREE_FAILURES + 1 passwords, not one per worker thread that read the count
# before the others wrote theirs (19 of 40 were checked against a limit of 5 before).

def _throttles(key: str, address: str) -> list[tuple[str, str, int, int]]:
    """(row key, account key, failures without waiting, longest wait in seconds) of the counts an attempt joins."""
    c = current_app.config
    return sorted([(f"pair:{key}\n{address}", key, c["SIGNIN_FREE_FAILURES"], c["SIGNIN_MAX_WAIT_SECONDS"]),
                   (f"account:{key}", key, c["SIGNIN_FREE_FAILURES_ACCOUNT"], c["SIGNIN_MAX_WAIT_ACCOUNT_SECONDS"]),
                   (f"address:{address}", "", c["SIGNIN_FREE_FAILURES_ADDRESS"], c["SIGNIN_MAX_WAIT_SECONDS"])])


def wait_after(failures: int, free: int, longest: int) -> int:
    """Seconds to wait before the next attempt after this many failures: none for the first ``free``, then 1, 2,
    4 ... up to ``longest``."""
    return 0 if failures <= free else min(longest, 2 ** min(failures - free - 1, 30))


def reserve_attempt(db: Session, key: str, address: str) -> None:
    """Count this attempt as a failure before its password is checked, or refuse it (429) while a wait runs.

    One write transaction: the rows are created if missing (insert, ignoring conflicts) and read locked (SELECT
    ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE holds the database's write lock), in key order.
    """
    now = utcnow()
    window = timedelta(minutes=current_app.config["SIGNIN_WINDOW_MINUTES"])
    throttles = _throttles(key, address)
    keys = [t[0] for t in throttles]
    begin_write(db)
    insert = (postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert)(SignInThrottle)
    rows: dict[str, SignInThrottle] = {}
    while len(rows) < len(keys):  # again only if a clean-up removed a row between the two statements
        db.execute(insert.values([{"key": k, "account_key": account, "failures": 0, "last_at": now, "next_at": now}
                                  for k, account, _free, _longest in throttles]).on_conflict_do_nothing())
        rows = {row.key: row for row in db.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))
                                                   .order_by(SignInThrottle.key).with_for_update()
                                                   .execution_options(populate_existing=True))}
    for row in rows.values():
        if row.last_at < now - window:  # old failures are forgotten
            row.failures, row.next_at = 0, now
    wait = max((rows[k].next_at - now).total_seconds() for k in keys)
    if wait > 0:
        db.commit()
        seconds = max(1, math.ceil(wait))
        raise TooMany(f"Too many failed sign-ins for this name from here. Wait {seconds} second"
                      f"{'s' * (seconds != 1)} and try again, or ask an administrator to reset your password.",
                      retry_after=seconds)
    for k, _account, free, longest in throttles:
        row = rows[k]
        row.failures += 1
        row.last_at = now
        row.next_at = now + timedelta(seconds=wait_after(row.failures, free, longest))
    db.commit()


def attempt_succeeded(db: Session, key: str, address: str) -> None:
    """The right password: the account's counts start afresh; the address's count takes back this attempt only
    (signing in to one's own account must not clear the way for guessing others from the same place)."""
    db.execute(delete(SignInThrottle).where(SignInThrottle.key.in_([f"pair:{key}\n{address}", f"account:{key}"])))
    db.execute(update(SignInThrottle).where(SignInThrottle.key == f"address:{address}", SignInThrottle.failures > 0)
               .values(failures=SignInThrottle.failures - 1))
    # Counts nobody added to for two windows are gone. Rows another attempt holds are skipped (PostgreSQL), so
    # this never waits for, or deadlocks with, a reservation.
    stale = utcnow() - 2 * timedelta(minutes=current_app.config["SIGNIN_WINDOW_MINUTES"])
    db.execute(delete(SignInThrottle).where(SignInThrottle.key.in_(
        select(SignInThrottle.key).where(SignInThrottle.last_at < stale).with_for_update(skip_locked=True))))


def unlock(db: Session, user: User) -> int:
    """Forget every failed sign-in counted against this person's account (admin); returns how many counts."""
    return db.execute(delete(SignInThrottle).where(SignInThrottle.account_key == user.name_key)).rowcount


def sign_out(db: Session, session: SignInSession) -> None:
    begin_write(db)
    session.ended_at = utcnow()
    db.commit()


def set_session_cookie(response, cookie: str) -> None:
    secure = current_app.config["SECURE_COOKIES"] or request.is_secure
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Lax", secure=secure,
                        max_age=current_app.config["SESSION_HOURS"] * 3600, path="/")


def clear_session_cookie(response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax")


# ---- tokens ------------------------------------------------------------------------------------------------------

def create_token(db: Session, user: User, scope: str, name: str = "", days: int | None = None) -> tuple[str, ApiToken]:
    """A new token; the secret is returned once and only its hash is kept."""
    if scope not in SCOPES:
        raise Invalid(f"The scope must be one of {', '.join(SCOPES)}.", field="scope")
    name = "" if name is None else name
    if not isinstance(name, str) or invisible_character(name) is not None:  # NUL: a 500 from PostgreSQL (fuzzing)
        raise Invalid("A token's name is one line of text without control characters.", field="name")
    if len(name) > MAX_TOKEN_NAME:
        raise Invalid(f"A token's name is at most {MAX_TOKEN_NAME} characters (this one has {len(name):,}); say "
                      "in a few words what uses it, such as 'model server'.", field="name")
    days = _default_token_days() if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:  # true is no number of days
        raise Invalid("A token lasts between 1 and 3650 days: send a whole number such as 90, or leave "
                      "'days' out for the default.", field="days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(token_hash=_digest(secret), prefix=secret[:10], user_id=user.id, scope=scope,
                     name=name, expires_at=utcnow() + timedelta(days=days))
    db.add(token)
    db.flush()
    return secret, token


def _default_token_days() -> int:
    """TOKEN_DAYS of the app, or (from the command line, outside any app) of the environment."""
    if has_app_context():
        return current_app.config["TOKEN_DAYS"]
    from .config import from_environment

    return from_environment()["TOKEN_DAYS"]


def revoke_token(db: Session, token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or utcnow()


# ---- per request -------------------------------------------------------------------------------------------------

# What the token check reads, and nothing more: plain columns, no ORM objects (see server/db.py, reads).
# Built once per process; the compiled form is cached by SQLAlchemy.
_TOKEN_CHECK = (select(ApiToken.id, ApiToken.scope, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.user_id,
                       User.role, User.active)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == bindparam("token_hash")))


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """The token a request came with, as checked at the start of the request (g.token)."""

    id: int
    scope: str
    user_id: int
    role: str


class VerifiedTokens:
    """The tokens this worker verified against the database lately, for an outage only (one per app).

    Keyed by the token's hash (``_digest``), never the token: the grant, the token's expiry and when the database
    last said the token was good (monotonic clock). A token the database refuses is forgotten at once. Bounded:
    past ``max_items`` the entry verified longest ago goes (a worker sees a few hundred tokens; 10,000 entries are
    about 2 MB)."""

    def __init__(self, max_items: int = 10_000):
        self._entries: dict[str, tuple[TokenGrant, datetime, float]] = {}
        self._max_items = max_items
        self._lock = threading.Lock()

    def remember(self, digest: str, grant: TokenGrant, expires_at: datetime) -> None:
        with self._lock:
            self._entries.pop(digest, None)  # re-inserted last: the dict's order is the order of verification
            self._entries[digest] = (grant, expires_at, time.monotonic())
            while len(self._entries) > self._max_items:
                del self._entries[next(iter(self._entries))]

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def recent(self, digest: str, grace_seconds: float) -> tuple[TokenGrant, float] | None:
        """(the grant, seconds since it was verified) of a token verified less than ``grace_seconds`` ago and not
        expired since; else None."""
        with self._lock:
            entry = self._entries.get(digest)
        if entry is None:
            return None
        grant, expires_at, verified = entry
        age = time.monotonic() - verified
        if age >= grace_seconds or expires_at <= utcnow():
            return None
        return grant, age


outage_log = logging.getLogger("rulecraft.outage")


def _check_token(secret: str) -> tuple[TokenGrant, object]:
    """The grant of a token: from the database; while the database cannot be reached, from this worker's recent
    verifications (``VerifiedTokens``), else DatabaseUnavailable (503). SignInRequired for a token the database
    does not accept."""
    digest = _digest(secret)
    verified: VerifiedTokens = current_app.extensions["rulecraft.verified_tokens"]
    try:
        with reads() as connection:
            row = connection.execute(_TOKEN_CHECK, {"token_hash": digest}).first()
    except DBAPIError as e:
        if not database_unreachable(e):
            raise
        recent = verified.recent(digest, current_app.config["OUTAGE_GRACE_SECONDS"])
        if recent is None:
            outage_log.warning("database unreachable: a token not verified lately was refused (503)")
            raise DatabaseUnavailable(DATABASE_UNREACHABLE, retry_after=30) from None
        # One line per interval (server/logs.py RepeatFilter), not one per request: the message is constant.
        outage_log.warning("database unreachable: accepting tokens verified within the grace time")
        return recent[0], "grace"
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.active:
        verified.forget(digest)
        raise SignInRequired("This token is not valid (unknown, expired or revoked).")
    grant = TokenGrant(row.id, row.scope, row.user_id, row.role)
    verified.remember(digest, grant, row.expires_at)
    return grant, "database"


def load_identity() -> None:
    """Before each request: who is asking (g.user for a session, g.token for a token), how (g.auth: "session",
    "token" or None), what they may do (g.permissions).

    A token is checked against the database on every request (one query, the token and its person), so a revoked
    or expired token, or a deactivated person, is refused at once by every worker. Only while the database cannot
    be reached is a token this worker verified lately accepted without it (``_check_token``; g.token_checked is
    then "grace"). With a token, the person's
    database object (g.user) is only read when a view asks for it through current_user(): a prediction never does.
    """
    g.user = g.session = g.token = None
    g.auth = None
    g.permissions = set()
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip().startswith(TOKEN_PREFIX):
            raise SignInRequired("Send a token as 'Authorization: Bearer rc_...'.")
        grant, g.token_checked = _check_token(secret.strip())
        g.token, g.auth = grant, "token"
        g.permissions = ROLE_PERMISSIONS[grant.role] & SCOPE_PERMISSIONS[grant.scope]
        return
    cookie = request.cookies.get(COOKIE)
    if cookie:
        session = get_db().scalar(select(SignInSession).where(SignInSession.token_hash == _session_digest(cookie)))
        if session is not None and session.ended_at is None and session.expires_at > utcnow() \
                and session.user.active:
            g.user, g.session, g.auth = session.user, session, "session"
            g.permissions = set(ROLE_PERMISSIONS[session.user.role])
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                _check_csrf(session)


def _check_csrf(session: SignInSession) -> None:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.csrf_token):
        raise Forbidden("This form has expired or did not come from Rulecraft. Reload the page and try again.",
                        code="csrf")
    origin = request.headers.get("Origin")
    if origin and origin != request.host_url.rstrip("/"):
        raise Forbidden("Requests from other sites are not accepted.", code="csrf")


def current_user() -> User:
    """The person asking, as a database object in this request's Session (read on first use for a token)."""
    if g.get("user") is None:
        grant = g.get("token")
        if grant is None:
            raise SignInRequired("Please sign in (or send a token).")
        user = get_db().get(User, grant.user_id)
        if user is None:  # the token row cascades away with its person, so this is a deletion since the check
            raise SignInRequired("This token is not valid (unknown, expired or revoked).")
        g.user = user
    return g.user


def requires(permission: str):
    """View decorator: 401 without a person, 403 without the permission (or with a password still to change)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            # Decided from what load_identity found, without reading the person again (a token's person is only
            # loaded when the view needs it).
            if g.get("auth") is None:
                raise SignInRequired("Please sign in (or send a token).")
            if g.auth == "session" and g.user.must_change_password:
                raise Forbidden("Please choose a new password first.", code="password-change-required")
            if permission not in g.permissions:
                raise Forbidden(_why_not(permission))
            return view(*args, **kwargs)
        wrapper.permission = permission
        return wrapper
    return decorate


def _why_not(permission: str) -> str:
    role = g.token.role if g.auth == "token" else g.user.role
    if g.auth == "token" and permission in ROLE_PERMISSIONS[role]:
        return f"This token's scope ({g.token.scope}) does not allow this; use a token with a wider scope."
    what = {"rules.write": "edit rules", "releases.decide": "approve or reject releases",
            "releases.request": "request releases", "audit.read": "read the audit log",
            "rules.read": "read rules and their history", "users.manage": "manage people",
            "datasets.write": "register data sets", "predict": "run predictions",
            "bundles.read": "download rule bundles", "metrics.read": "read the server's metrics",
            "rules.suggest": "ask for rules suggested from data"}.get(permission,
                                                                                                   "do this")
    return f"Your role ({role}) does not allow you to {what}."


def has(permission: str) -> bool:
    return permission in g.get("permissions", set())


def client_address() -> str:
    return request.remote_addr or "unknown"
