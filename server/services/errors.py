"""The services' errors, in the domain's words: what went wrong, for whom to read, and where.

Services (and the CLI and the views that call them) raise and catch these; nothing here knows HTTP. One table at the
HTTP edge (``server/api/errors.py``) maps each class to a status code and the JSON body; the CLI maps them to a
message and an exit code. Every message is written for the person who caused it (a doctor in the editor, an
engineer at the API), says what is wrong and how to put it right, and never holds a traceback.

Extra keyword arguments are structured details the editor places beside the right field or offers as a choice:
``field`` (which input), ``problems`` (a rule's problems with positions), ``current``/``yours`` (both texts of a
conflict), ``retry_after`` (seconds), ``code`` (a stable machine-readable name overriding the class's default).

The store's and the language's own errors are domain errors too: ``LIBRARY`` says which domain error each one is,
with its message unchanged, so that none of them needs an ad-hoc translator on its way out. A service catches a
library error only to say something more specific ("There is no rule 'x'", a conflict with both texts).
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from rules_dsl import BundleError, DataError, RuleError

from ..store import InvalidInput, StoreBusy, StoreError
from ..store import NotFound as StoreNotFound

BUSY = "Many changes are being saved right now; please try again."
DATABASE_UNREACHABLE = ("The database cannot be reached; predictions with known tokens keep working; try again in a "
                        "minute.")


class ServiceError(Exception):
    """Base of every error a service raises on purpose; ``code`` is stable, ``message`` is for people."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **details):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class Malformed(ServiceError):
    """The request is not in the shape the operation reads (a programming error of the caller, not of the rule)."""

    code = "bad-request"


class Invalid(ServiceError):
    """Something given is not acceptable as it stands; ``field`` says which input, the message how to fix it."""

    code = "invalid"


class NotFound(ServiceError):
    """There is no such rule set, rule, version, release, data set, account or token."""

    code = "not-found"


class SignInRequired(ServiceError):
    """Nobody is signed in (or the token is not valid), or the name or the password is not right."""

    code = "sign-in-required"


class Forbidden(ServiceError):
    """The person is signed in but may not do this (a reviewer approving their own change, say)."""

    code = "forbidden"


class Conflict(ServiceError):
    """Someone else changed it first, or the thing already exists; ``current``/``yours`` carry both texts."""

    code = "conflict"


class VersionRequired(ServiceError):
    """An edit that does not say which version it was made on, so a lost update could not be detected."""

    code = "version-required"


class TooMany(ServiceError):
    """Too many attempts; ``retry_after`` says in how many seconds to try again."""

    code = "too-many-attempts"


class TooLarge(ServiceError):
    """More data than one request may carry."""

    code = "too-large"


class Busy(ServiceError):
    """The writer could not take the change right now; nothing was changed and trying again will work."""

    code = "busy"


class DatabaseUnavailable(Busy):
    """The database does not answer (stopped, restarting, unreachable): nothing was changed; predictions with a
    token this worker verified recently keep working (server/auth.py), everything else waits for the database."""

    code = "database-unavailable"


def database_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (connection refused or lost, server shutting down or
    starting), as opposed to a refused statement (a constraint, a bad value). SQLite's "database is locked" is
    an OperationalError too, but it is a busy writer, not an outage (see ``database_error``)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    return isinstance(error, OperationalError) and not _locked(error)


def _locked(error: DBAPIError) -> bool:
    return "database is locked" in str(error.orig) or "database table is locked" in str(error.orig)


def database_error(error: DBAPIError) -> ServiceError | None:
    """A database error that escaped a service, in the domain's words: an outage is DatabaseUnavailable (503, never
    a 500 "something went wrong"), a locked SQLite database Busy; any other (a bug) stays unexpected."""
    if database_unreachable(error):
        return DatabaseUnavailable(DATABASE_UNREACHABLE, retry_after=30)
    if isinstance(error, OperationalError) and _locked(error):
        return Busy(BUSY)
    return None


class SavedNotRecorded(ServiceError):
    """Not a failure: the change is saved (it is in the repository as ``version``) but the database did not answer
    in time to record it; it is recorded as soon as the database answers again. Saving it again is not needed (a
    retry with the same save id is recognised as already made)."""

    code = "saved-being-recorded"


def invalid_rule(e: RuleError, message: str | None = None) -> Invalid:
    """A rule that does not compile, with each problem's position for the editor."""
    return Invalid(message or e.message, code="invalid-rule", problems=[p.to_dict() for p in e.problems])


# The store's and the language's errors as the domain errors they are, most specific first. A store error that
# reaches this table escaped the services' reads: a missing file or a refused name is a name that led nowhere (the
# store's words would name repository paths, not the person's); a busy writer is Busy; any other keeps its message.
# It lives here, not at the HTTP edge, because the views may not import the store (tests/server/test_layers.py).
LIBRARY: tuple[tuple[type[Exception], Callable[..., ServiceError]], ...] = (
    (StoreBusy, lambda e: Busy(BUSY)),
    (StoreNotFound, lambda e: NotFound("There is nothing with that name here.")),
    (InvalidInput, lambda e: NotFound("There is nothing with that name here.")),
    (StoreError, lambda e: Invalid(e.message)),
    (RuleError, invalid_rule),
    (DataError, lambda e: Invalid(e.message, code="invalid-data", field=e.column)),
    (BundleError, lambda e: Invalid(str(e))),
    (DBAPIError, database_error),
)


def as_service_error(error: BaseException) -> ServiceError | None:
    """``error`` in the domain's words: itself if it is a ServiceError, its LIBRARY entry if it has one, else None
    (a bug, which the edge answers with a plain 500)."""
    if isinstance(error, ServiceError):
        return error
    return next((make(error) for cls, make in LIBRARY if isinstance(error, cls)), None)  # None: see database_error
