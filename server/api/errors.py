"""The HTTP edge of errors: always JSON, always a plain message, never a traceback.

Services raise the domain's errors (``server/services/errors.py``); the store's and the language's errors become
domain errors through that module's ``LIBRARY`` table; ``STATUS`` below is the one table from a domain error to an
HTTP status. Views raise domain errors too and never build error bodies themselves. Body shape, for every status:

    {"error": {"status": 422, "code": "invalid-rule", "message": "...", "problems": [...], ...}}
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from ..services import errors as domain

log = logging.getLogger("rulecraft")

# The one table from the domain's errors to HTTP status codes.
STATUS = {
    domain.Malformed: 400, domain.SignInRequired: 401, domain.Invalid: 422, domain.NotFound: 404,
    domain.Forbidden: 403, domain.Conflict: 409, domain.VersionRequired: 428, domain.TooMany: 429,
    domain.TooLarge: 413, domain.Busy: 503, domain.SavedNotRecorded: 202,
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
    def _service_error(e: domain.ServiceError):
        status = status_of(e)
        if isinstance(e, domain.SavedNotRecorded):
            # Not an error: the change is in the repository. 202 Accepted, with its version, so that nobody is told
            # "nothing was changed" and saves it a second time.
            response = jsonify({"saved": True, "recorded": False, "message": e.message, **e.details})
            response.headers["ETag"] = f'"{e.details["version"]}"'
            return response, status
        response = jsonify({"error": {"status": status, "code": e.code, "message": e.message, **e.details}})
        if e.details.get("retry_after"):
            response.headers["Retry-After"] = str(e.details["retry_after"])
        return response, status

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
        # Flask picks the handler by the exception's class; domain and library errors all arrive here.
        if isinstance(e, HTTPException):
            return _http_error(e)
        error = domain.as_service_error(e)
        if error is not None:
            return _service_error(error)
        log.exception("Unexpected error on %s %s", request.method, request.path)
        body = {"error": {"status": 500, "code": "internal",
                          "message": "Something went wrong on our side. Nothing was changed; please try again, "
                                     "and tell your administrator if it happens again."}}
        if wants_json():
            return jsonify(body), 500
        return "Something went wrong on our side. Nothing was changed; please try again.", 500
