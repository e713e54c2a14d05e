"""Errors the API answers with: always JSON, always a plain message, never a traceback.

Services raise ``ApiError`` subclasses (or library errors, translated here); views never build error bodies
themselves. Body shape, for every status:

    {"error": {"status": 422, "code": "invalid-rule", "message": "...", "problems": [...], ...}}
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from rules_dsl import BundleError, DataError, RuleError

from .services import errors as domain
from .store import InvalidInput, StoreBusy, StoreError
from .store import NotFound as StoreNotFound

log = logging.getLogger("rulecraft")


class ApiError(Exception):
    status = 400
    code = "bad-request"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict:
        return {"error": {"status": self.status, "code": self.code, "message": self.message, **self.extra}}


class BadRequest(ApiError):
    status, code = 400, "bad-request"


class Unauthorized(ApiError):
    status, code = 401, "sign-in-required"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not-found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PreconditionRequired(ApiError):
    status, code = 428, "version-required"


class Unprocessable(ApiError):
    status, code = 422, "invalid"


class TooMany(ApiError):
    status, code = 429, "too-many-attempts"


class TooLarge(ApiError):
    status, code = 413, "too-large"


class Busy(ApiError):
    status, code = 503, "busy"


def rule_error(e: RuleError, message: str | None = None) -> Unprocessable:
    error = Unprocessable(message or e.message, problems=[p.to_dict() for p in e.problems])
    error.code = "invalid-rule"
    return error


# The one table from the services' errors to HTTP status codes.
STATUS = {
    domain.Malformed: 400, domain.Invalid: 422, domain.NotFound: 404, domain.Forbidden: 403,
    domain.Conflict: 409, domain.VersionRequired: 428, domain.TooMany: 429, domain.TooLarge: 413,
    domain.Busy: 503, domain.SavedNotRecorded: 202,
}


def status_of(e: domain.ServiceError) -> int:
    return next(status for cls, status in STATUS.items() if isinstance(e, cls))


_PLAIN = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You are not allowed to do this.",
    404: "There is nothing at this address.",
    405: "This address does not accept this kind of request.",
    406: "This address cannot answer in the format asked for.",
    413: "The request is too large.",
    415: "Send the request body as JSON (Content-Type: application/json).",
    429: "Too many requests; wait a little and try again.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        response = jsonify(e.body())
        if e.extra.get("retry_after"):
            response.headers["Retry-After"] = str(e.extra["retry_after"])
        return response, e.status

    @app.errorhandler(domain.ServiceError)
    def _service_error(e: domain.ServiceError):
        error = ApiError(e.message, **e.details)
        error.status, error.code = status_of(e), e.code
        return _api_error(error)

    @app.errorhandler(domain.SavedNotRecorded)
    def _saved_not_recorded(e: domain.SavedNotRecorded):
        # Not an error: the change is in the repository. 202 Accepted, with its version, so that nobody is told
        # "nothing was changed" and saves it a second time.
        response = jsonify({"saved": True, "recorded": False, "message": e.message, **e.details})
        response.headers["ETag"] = f'"{e.details["version"]}"'
        return response, status_of(e)

    @app.errorhandler(RuleError)
    def _rule_error(e: RuleError):
        return _api_error(rule_error(e))

    @app.errorhandler(DataError)
    def _data_error(e: DataError):
        error = Unprocessable(e.message, field=e.column)
        error.code = "invalid-data"
        return _api_error(error)

    @app.errorhandler(BundleError)
    def _bundle_error(e: BundleError):
        return _api_error(Unprocessable(str(e)))

    @app.errorhandler(StoreError)
    def _store_error(e: StoreError):
        # Services translate the store's errors; this is the net under them, so that none becomes a 500.
        if isinstance(e, (StoreNotFound, InvalidInput)):
            return _api_error(NotFound("There is nothing with that name here."))
        if isinstance(e, StoreBusy):
            return _api_error(Busy("Many changes are being saved right now; please try again."))
        return _api_error(Unprocessable(getattr(e, "message", str(e))))

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if not wants_json():
            return e
        message = _PLAIN.get(e.code, e.description or e.name)
        body = {"error": {"status": e.code, "code": e.name.lower().replace(" ", "-"), "message": message}}
        response = jsonify(body)
        response.status_code = e.code
        if e.code == 405 and getattr(e, "valid_methods", None):
            response.headers["Allow"] = ", ".join(e.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):
            return _http_error(e)
        log.exception("Unexpected error on %s %s", request.method, request.path)
        body = {"error": {"status": 500, "code": "internal",
                          "message": "Something went wrong on our side. Nothing was changed; please try again, "
                                     "and tell your administrator if it happens again."}}
        if wants_json():
            return jsonify(body), 500
        return "Something went wrong on our side. Nothing was changed; please try again.", 500
