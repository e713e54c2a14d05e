"""What every API view shares: strict JSON bodies, versions in headers, pagination, the workspace."""
from __future__ import annotations

import json

from flask import Response, current_app, jsonify, request

from ..db import get_db
from ..limits import shown
from ..services.errors import Invalid, Malformed, TooLarge, VersionRequired
from ..services.workspace import Workspace, is_version_name


def workspace() -> Workspace:
    return current_app.extensions["rulecraft.workspace"]


def session():
    """This request's database session, handed to the services, which own every transaction. The one place the
    views reach the database module (tests/server/test_layers.py)."""
    return get_db()


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _no_constants(name):
    raise ValueError(name)


def parse_json(data: bytes):
    """JSON as the API accepts it: UTF-8, no duplicate keys, no NaN/Infinity, bounded size and depth."""
    if len(data) > current_app.config["MAX_JSON_BYTES"]:
        raise TooLarge(f"The request body is too large (at most {current_app.config['MAX_JSON_BYTES'] // 1024} KB).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("The request body is not UTF-8 text.") from None
    limit = current_app.config["MAX_JSON_DEPTH"]
    # The depth is at most the number of opening brackets, so the character-by-character count (a third of the
    # time of a small prediction's body handling) is only needed when there are more of them than the limit.
    if text.count("[") + text.count("{") > limit and (depth := max_depth(text)) > limit:
        raise Invalid(f"The JSON is nested too deeply ({depth} levels; at most {limit}).")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except _Duplicate as e:
        raise Invalid(f"The field '{e.args[0]}' appears twice in the same object; send it once.",
                      field=str(e.args[0]), code="duplicate-key") from None
    except ValueError as e:
        if e.args and e.args[0] in ("NaN", "Infinity", "-Infinity"):
            raise Invalid(f"{e.args[0]} is not a number the API accepts; send an ordinary number or null.",
                          code="not-finite") from None
        raise Malformed(f"The request body is not valid JSON ({e}).") from None


def max_depth(text: str) -> int:
    """Nesting depth of a JSON text, counted without parsing (brackets inside strings are skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def json_body(required: bool = True) -> dict:
    """The request's JSON object (an object, not a list or a number)."""
    data = request.get_data(cache=True)
    if not data:
        if required:
            raise Malformed("Send a JSON object in the request body.")
        return {}
    if request.mimetype not in ("application/json", "") and not request.mimetype.endswith("+json"):
        raise Malformed("Send the request body as JSON (Content-Type: application/json).")
    body = parse_json(data)
    if not isinstance(body, dict):
        raise Malformed("The request body must be a JSON object ({...}).")
    return body


def if_match() -> str:
    """The version the change is based on, from If-Match (the ETag a GET returned); 428 when absent."""
    value = request.headers.get("If-Match")
    if not value:
        raise VersionRequired("Say which version you edited: send the ETag you got when you opened it, in an "
                              "If-Match header. This is how Rulecraft makes sure no one's change is lost.")
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not is_version_name(value):  # "*", a list, a branch name: refused at the header, not at a "version" field
        raise Invalid(f"The If-Match header holds '{shown(value)}', which is not a version. Send back the ETag the "
                      "GET of what you edit answered, as it was (a version id of 40 characters, in quotes).",
                      field="If-Match")
    return value


def etag(version: str) -> str:
    return f'"{version}"'


def with_etag(body: dict | Response, version: str, status: int = 200, location: str | None = None) -> Response:
    """The answer (a JSON body, or a response made already) carrying ``version`` as its ETag: the version a client
    sends back in If-Match to change what it read. ``location``: where a created thing can be read (201)."""
    response = body if isinstance(body, Response) else jsonify(body)
    response.status_code = status
    if location is not None:
        response.headers["Location"] = location
    response.headers["ETag"] = etag(version)
    return response


def page_args(default_size: int = 20, max_size: int = 100) -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        size = int(request.args.get("per_page", default_size))
    except ValueError:
        raise Invalid("page and per_page are whole numbers.") from None
    if page < 1 or page > 1_000_000 or not 1 <= size <= max_size:
        raise Invalid(f"page starts at 1 and per_page is between 1 and {max_size}.")
    return page, size
