"""The services' errors, in the domain's words: what went wrong, for whom to read, and where.

Services (and the CLI and the views that call them) raise and catch these; nothing here knows HTTP. One table at the
HTTP edge (``server/api/errors.py``) maps each class to a status code and the JSON body; the CLI maps them to a
message and an exit code. Every message is written for the person who caused it (a doctor in the editor, an
engineer at the API), says what is wrong and how to put it right, and never holds a traceback.

Extra keyword arguments are structured details the editor places beside the right field or offers as a choice:
``field`` (which input), ``problems`` (a rule's problems with positions), ``current``/``yours`` (both texts of a
conflict), ``retry_after`` (seconds), ``code`` (a stable machine-readable name overriding the class's default).
"""
from __future__ import annotations


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


class SavedNotRecorded(ServiceError):
    """Not a failure: the change is saved (it is in the repository as ``version``) but the database did not answer
    in time to record it; it is recorded as soon as the database answers again. Saving it again is not needed (a
    retry with the same save id is recognised as already made)."""

    code = "saved-being-recorded"

