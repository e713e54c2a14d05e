"""The OpenAPI 3 document of the API, served at /api/openapi.json.

Written as data next to the views it describes; tests check that every route is documented and that responses
match their schemas (tests/server/test_openapi.py). Paths and their shapes are a contract scripts rely on.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("api_openapi", __name__, url_prefix="/api")

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
B = {"type": "boolean"}
N = {"type": "number"}
NULL_S = {"type": ["string", "null"]}
ANY = {}


def obj(properties: dict, required: list[str] | None = None, extra: bool = True) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if not extra:
        schema["additionalProperties"] = False
    return schema


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


PROBLEM = obj({"code": S, "message": S, "severity": S, "line": I, "column": I, "end_line": I, "end_column": I,
               "suggestion": S, "field": S, "file": S}, ["code", "message", "severity"])
ERROR = obj({"error": obj({"status": I, "code": S, "message": S, "problems": arr(ref("Problem")), "field": NULL_S},
                          ["status", "code", "message"])}, ["error"])
CONDITION = {"type": "object", "description": "A comparison {feature, op, values} or a group {all}, {any}, "
                                              "{at_least, of}, {not}."}
STRUCTURED = obj({"name": S, "priority": I, "enabled": B, "when": CONDITION,
                  "then": {"type": ["object", "null"]}, "because": NULL_S}, ["name", "when"])
LAST_CHANGE = {"type": ["object", "null"], "properties": {"version": NULL_S, "by": NULL_S, "at": S, "why": S,
                                                          "action": S}}
RULE = obj({"id": S, "name": S, "text": S, "structured": ref("StructuredRule"), "enabled": B, "priority": I,
            "conclusion": {"type": ["object", "null"]}, "because": NULL_S, "warnings": arr(ref("Problem")),
            "version": S, "last_change": LAST_CHANGE}, ["id", "name", "text", "structured", "version"])
RELEASE_REF = {"type": ["object", "null"], "properties": {"name": S, "version": S, "time": S}}
RULESET = obj({"id": S, "title": S, "description": S, "outcome": obj({"name": S, "labels": arr(S)}),
               "policy": S, "default": NULL_S, "rules": {"type": ["integer", "array"]}, "enabled_rules": I,
               "version": S, "latest_release": RELEASE_REF}, ["id", "title", "outcome", "policy", "version"])
VERSION = obj({"version": S, "author": S, "time": S, "why": S, "action": NULL_S, "rule": NULL_S,
               "rule_name": NULL_S, "release": NULL_S}, ["version", "author", "time", "why"])
RELEASE = obj({"id": I, "ruleset": S, "name": NULL_S, "version": S, "status": S, "notes": S,
               "requested_by": NULL_S, "requested_at": S, "decided_by": NULL_S, "decided_at": NULL_S,
               "comment": S, "bundle_hash": NULL_S}, ["id", "ruleset", "version", "status"])
PREDICTION = obj({"label": NULL_S, "abstained": B, "fired": arr(obj({"id": S, "name": S, "text": S})),
                  "deciding": arr(S), "reason": S, "scores": {"type": "object"}, "missing": arr(S),
                  "ignored": arr(S)}, ["label", "fired", "reason"])
DATA_WARNING = obj({"code": S, "column": S, "feature": S, "count": I, "examples": arr({}), "message": S},
                   ["code", "column", "message"])
DATA_REPORT = {"type": ["object", "null"], "properties": {"rows": I, "columns": arr({"type": "object"}),
                                                          "absent": {"type": "object"},
                                                          "warnings": arr(DATA_WARNING), "lines": arr(S)}}
USER = obj({"id": I, "name": S, "email": S, "role": S, "active": B, "must_change_password": B,
            "created_by": NULL_S}, ["id", "name", "role"])
TOKEN = obj({"id": I, "name": S, "prefix": S, "scope": S, "created_at": S, "expires_at": S, "revoked": B,
             "token": S}, ["id", "scope"])
DATASET = obj({"id": I, "name": S, "rows": I, "columns": arr(S), "label_column": NULL_S, "group_columns": arr(S),
               "created_at": S, "sha256": S, "head": arr({"type": "object"}), "data_report": DATA_REPORT},
              ["id", "name", "rows"])
TRY = {"type": ["object", "null"], "properties": {"total": I, "matched": {"type": ["integer", "null"]},
                                                  "matches": arr({"type": "object"}),
                                                  "near_misses": arr({"type": "object"})}}
CHECK = obj({"valid": B, "errors": arr(ref("Problem")), "warnings": arr(ref("Problem")), "text": NULL_S,
             "structured": {"anyOf": [ref("StructuredRule"), {"type": "null"}]}, "version": S, "examples": TRY,
             "reference": TRY}, ["valid", "errors", "warnings"])
DIFF = obj({"from": S, "to": S, "summary": S, "counts": {"type": "object"}, "rules": arr({"type": "object"}),
            "vocabulary": {"type": "object"}, "settings_changed": B, "text": S}, ["from", "to", "summary", "rules"])

SCHEMAS = {"Problem": PROBLEM, "Error": ERROR, "StructuredRule": STRUCTURED, "Rule": RULE, "RuleSet": RULESET,
           "Version": VERSION, "Release": RELEASE, "Prediction": PREDICTION, "User": USER, "Token": TOKEN,
           "Dataset": DATASET, "Check": CHECK, "Diff": DIFF}

RULESET_P = {"name": "ruleset", "in": "path", "required": True, "schema": S}
RULE_P = {"name": "rule", "in": "path", "required": True, "schema": S}
RELEASE_P = {"name": "release_id", "in": "path", "required": True, "schema": I}
TOKEN_P = {"name": "token_id", "in": "path", "required": True, "schema": I}
USER_P = {"name": "user_id", "in": "path", "required": True, "schema": I}
DATASET_P = {"name": "dataset_id", "in": "path", "required": True, "schema": I}
GROUP_Q = {"name": "group", "in": "query", "schema": S, "description": "a column of the data set to split by"}
BANDS_Q = {"name": "bands", "in": "query", "schema": {"type": "integer", "minimum": 2, "maximum": 10},
           "description": "how many bands a number column with many values is cut into (default 4)"}
SPLIT = {"type": ["object", "null"], "description": "the column split by, and its bands (lowest first) when a "
                                                    "number column was cut into bands",
         "properties": {"column": S, "bands": {"type": ["array", "null"], "items": S}}}
VERSION_Q = {"name": "version", "in": "query", "required": False, "schema": S,
             "description": "A release name (v1) or a full version id (40 hexadecimal characters)."}
PAGE_Q = [{"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
          {"name": "per_page", "in": "query", "required": False,
           "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]
IF_MATCH = {"name": "If-Match", "in": "header", "required": True, "schema": S,
            "description": "The ETag of the version the change is based on."}


def body(schema: dict, content: str = "application/json") -> dict:
    return {"required": True, "content": {content: {"schema": schema}}}


def op(summary: str, ok: dict | None, *, codes=(), params=(), request=None, status: str = "200",
       secured: bool = True, ok_type: str = "application/json") -> dict:
    responses = {status: {"description": "OK", "content": {ok_type: {"schema": ok or {"type": "object"}}}}}
    for code in sorted(set(codes) | ({"401", "403"} if secured else set())):
        responses[code] = {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema":
                                                                                               ref("Error")}}}
    operation = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if request:
        operation["requestBody"] = request
    if not secured:
        operation["security"] = []
    return operation


READY = obj({"status": {"enum": ["ready", "not ready"]},
             "checks": obj({"database": S, "repository": S, "releases": S}, ["database", "repository", "releases"])},
            ["status", "checks"])


def _probe(operation: dict) -> dict:
    """A readiness probe answers 503 with the same shape as its 200 (what is not ready), not an Error."""
    operation["responses"]["503"] = {"description": "Not ready (the checks say why)",
                                     "content": {"application/json": {"schema": READY}}}
    return operation


_DESCRIPTIONS = {"400": "Malformed request", "401": "Sign in or send a token", "403": "Not allowed",
                 "404": "Not found", "409": "Someone saved first, or already decided", "413": "Too large",
                 "422": "Invalid input (with problems and fields)", "428": "If-Match is required",
                 "429": "Too many attempts", "503": "Busy; try again"}
WHY = {"why": S}
RULE_IN = obj({"text": S, "rule": ref("StructuredRule"), "why": S})


def document() -> dict:
    rs, rule = [RULESET_P], [RULESET_P, RULE_P]
    paths = {
        "/api/rulesets": {
            "get": op("List rule sets", obj({"rulesets": arr(ref("RuleSet")), "version": NULL_S})),
            "post": op("Create a rule set", ref("RuleSet"), status="201", codes=("400", "422", "503"),
                       request=body(obj({"settings": {"type": "object"}, "vocabulary": {"type": "object"}, **WHY})))},
        "/api/rulesets/{ruleset}": {"get": op("A rule set at a version", ref("RuleSet"), codes=("404", "422"),
                                              params=rs + [VERSION_Q])},
        "/api/rulesets/{ruleset}/rules": {
            "get": op("Rules at a version", obj({"ruleset": S, "version": S, "rules": arr(ref("Rule"))}),
                      codes=("404", "422"), params=rs + [VERSION_Q, {"name": "q", "in": "query", "schema": S}]),
            "post": op("Add a rule", ref("Rule"), status="201", codes=("400", "404", "422", "503"), params=rs,
                       request=body(RULE_IN))},
        "/api/rulesets/{ruleset}/rules/{rule}": {
            "get": op("One rule", ref("Rule"), codes=("404", "422"), params=rule + [VERSION_Q]),
            "put": op("Change a rule", ref("Rule"), codes=("400", "404", "409", "422", "428", "503"),
                      params=rule + [IF_MATCH], request=body(RULE_IN)),
            "delete": op("Delete a rule", obj({"deleted": S, "version": S}),
                         codes=("400", "404", "409", "422", "428"), params=rule + [IF_MATCH],
                         request=body(obj(WHY)))},
        "/api/rulesets/{ruleset}/vocabulary": {
            "get": op("The vocabulary", {"type": "object"}, codes=("404", "422"), params=rs + [VERSION_Q]),
            "put": op("Replace the vocabulary", {"type": "object"}, codes=("400", "404", "409", "422", "428", "503"),
                      params=rs + [IF_MATCH], request=body(obj({"vocabulary": {"type": "object"}, **WHY})))},
        "/api/rulesets/{ruleset}/settings": {
            "get": op("Outcome, policy, default", {"type": "object"}, codes=("404", "422"), params=rs + [VERSION_Q]),
            "put": op("Replace the settings", {"type": "object"}, codes=("400", "404", "409", "422", "428", "503"),
                      params=rs + [IF_MATCH], request=body(obj({"settings": {"type": "object"}, **WHY})))},
        "/api/rulesets/{ruleset}/restore": {
            "post": op("Restore an earlier version as a new version", obj({"version": S, "restored": S}),
                       codes=("400", "404", "422", "503"), params=rs,
                       request=body(obj({"version": S, "rule": S, **WHY})))},
        "/api/rulesets/{ruleset}/history": {
            "get": op("Versions of a rule set, newest first",
                      obj({"page": I, "per_page": I, "total": I, "versions": arr(ref("Version"))}),
                      codes=("404", "422"), params=rs + PAGE_Q)},
        "/api/rulesets/{ruleset}/rules/{rule}/history": {
            "get": op("Versions that changed a rule", obj({"page": I, "per_page": I, "total": I,
                                                          "versions": arr(ref("Version"))}),
                      codes=("404", "422"), params=rule + PAGE_Q)},
        "/api/rulesets/{ruleset}/rules/{rule}/blame": {
            "get": op("Who last changed each line", obj({"ruleset": S, "rule": S, "version": S,
                                                        "lines": arr({"type": "object"})}),
                      codes=("404", "422"), params=rule + [VERSION_Q])},
        "/api/rulesets/{ruleset}/versions/{version}": {
            "get": op("Who saved a version of a rule set, when and why", ref("Version"), codes=("404", "422"),
                      params=rs + [{"name": "version", "in": "path", "required": True, "schema": S}])},
        "/api/rulesets/{ruleset}/diff": {
            "get": op("Differences between two versions", ref("Diff"), codes=("404", "422"),
                      params=rs + [{"name": "from", "in": "query", "required": True, "schema": S},
                                   {"name": "to", "in": "query", "required": False, "schema": S}])},
        "/api/check": {
            "post": op("Check a rule without saving; try it on cases", ref("Check"), codes=("400", "404", "422"),
                       request=body(obj({"ruleset": S, "text": S, "rule": ref("StructuredRule"), "version": S,
                                         "dataset": I}, ["ruleset"])))},
        "/api/rulesets/{ruleset}/bundle": {
            "get": op("The bundle of a version (default: latest release)", {"type": "object"},
                      codes=("404", "422"), params=rs + [VERSION_Q])},
        "/api/rulesets/{ruleset}/predict": {
            "post": op("Predict with the rules", obj({"ruleset": S, "version": S, "release": NULL_S, "outcome": S,
                                                     "prediction": ref("Prediction"),
                                                     "predictions": arr(ref("Prediction")),
                                                     "warnings": arr(DATA_WARNING)}),
                       codes=("400", "404", "413", "422"), params=rs + [VERSION_Q],
                       request=body(obj({"case": {"type": "object"}, "cases": arr({"type": "object"})})))},
        "/api/rulesets/{ruleset}/evaluate": {
            "post": op("Which rules fire per case", obj({"ruleset": S, "version": S, "rules": arr(S),
                                                        "fired": arr(arr(I)), "missing_columns": arr(S),
                                                        "warnings": arr(DATA_WARNING)}),
                       codes=("400", "404", "413", "422"), params=rs + [VERSION_Q],
                       request={"required": True, "content": {
                           "application/json": {"schema": obj({"cases": arr({"type": "object"})})},
                           "text/csv": {"schema": S}}})},
        "/api/rulesets/{ruleset}/releases": {
            "get": op("Releases and requests", obj({"ruleset": S, "releases": arr(ref("Release"))}), codes=("404",),
                      params=rs),
            "post": op("Request a release", ref("Release"), status="201", codes=("400", "404", "409", "422"),
                       params=rs, request={"required": False, "content": {"application/json": {
                           "schema": obj({"version": S, "notes": S})}}})},
        "/api/rulesets/{ruleset}/releases/draft": {
            "get": op("Release notes drafted from the reasons since the last release",
                      obj({"version": S, "notes": S, "previous": {"type": ["object", "null"]}}),
                      codes=("404", "422"), params=rs + [VERSION_Q])},
        "/api/rulesets/{ruleset}/releases/{release_id}/approve": {
            "post": op("Approve a release (not one's own)", ref("Release"), codes=("400", "404", "409", "422"),
                       params=rs + [RELEASE_P], request={"required": False, "content": {"application/json": {
                           "schema": obj({"comment": S})}}})},
        "/api/rulesets/{ruleset}/releases/{release_id}/reject": {
            "post": op("Reject a release with a comment", ref("Release"), codes=("400", "404", "409", "422"),
                       params=rs + [RELEASE_P], request=body(obj({"comment": S}, ["comment"])))},
        "/api/rulesets/{ruleset}/datasets": {
            "get": op("Reference data sets", obj({"datasets": arr(ref("Dataset"))}), codes=("404",), params=rs),
            "post": op("Register a reference data set (CSV)", ref("Dataset"), status="201",
                       codes=("400", "404", "413", "422"),
                       params=rs + [{"name": "name", "in": "query", "required": True, "schema": S},
                                    {"name": "label", "in": "query", "schema": S},
                                    {"name": "group", "in": "query", "schema": S}],
                       request=body(S, "text/csv"))},
        "/api/rulesets/{ruleset}/datasets/{dataset_id}": {
            "get": op("A data set and its first rows", ref("Dataset"), codes=("404",),
                      params=rs + [DATASET_P, {"name": "rows", "in": "query", "schema": I}])},
        "/api/rulesets/{ruleset}/analysis": {
            "get": op("How the rules do on a reference data set (by subgroup with ?group=)",
                      obj({"version": S, "dataset": {"type": "object"}, "summary": {"type": "object"},
                           "rules": arr({"type": "object"}), "subgroups": {"type": "object"}, "split": SPLIT},
                          ["summary", "rules"]),
                      codes=("404", "422"), params=rs + [VERSION_Q, {"name": "dataset", "in": "query", "schema": S},
                                                        GROUP_Q, BANDS_Q])},
        "/api/rulesets/{ruleset}/impact": {
            "get": op("What a change between two versions does to the predictions",
                      obj({"from": S, "to": S, "dataset": {"type": "object"}, "rows": I, "changed": I,
                           "summary": {"type": "object"}, "transitions": arr({"type": "object"}),
                           "rule_changes": arr({"type": "object"}), "changes": arr({"type": "object"}),
                           "split": SPLIT},
                          ["rows", "changed", "transitions"]),
                      codes=("404", "422"),
                      params=rs + [{"name": "from", "in": "query", "required": True, "schema": S},
                                   {"name": "to", "in": "query", "schema": S},
                                   {"name": "dataset", "in": "query", "schema": S}, GROUP_Q, BANDS_Q])},
        "/api/session": {
            "post": op("Sign in", obj({"user": ref("User"), "csrf_token": S}), codes=("400", "401", "422", "429"),
                       request=body(obj({"name": S, "password": S}, ["name", "password"])), secured=False),
            "delete": op("Sign out", obj({"signed_out": B}), codes=("401", "403"), secured=False)},
        "/api/me": {"get": op("Who am I", obj({"user": ref("User"), "permissions": arr(S), "auth": S,
                                              "csrf_token": S}))},
        "/api/me/password": {"post": op("Change my password (ends my sessions; revokes my tokens unless "
                                        "keep_tokens is true)", obj({"changed": B, "tokens_revoked": I}),
                                        codes=("400", "422"),
                                        request=body(obj({"old_password": S, "password": S, "keep_tokens": B})))},
        "/api/tokens": {
            "get": op("My tokens", obj({"tokens": arr(ref("Token"))})),
            "post": op("Create a token (shown once)", ref("Token"), status="201", codes=("400", "422"),
                       request=body(obj({"scope": {"enum": ["read", "predict", "write", "metrics"]}, "name": S,
                                         "days": I}, ["scope"])))},
        "/api/tokens/{token_id}": {"delete": op("Revoke a token", ref("Token"), codes=("404",), params=[TOKEN_P])},
        "/api/users": {
            "get": op("People (admin)", obj({"users": arr(ref("User"))})),
            "post": op("Add a person (admin)", ref("User"), status="201", codes=("400", "422"),
                       request=body(obj({"name": S, "role": S, "password": S, "email": S},
                                        ["name", "role", "password"])))},
        "/api/users/{user_id}/tokens": {"get": op("A person's tokens (admin)", obj({"tokens": arr(ref("Token"))}),
                                                  codes=("404",), params=[USER_P])},
        "/api/users/{user_id}/disable": {"post": op("Disable a person: sessions end and tokens are revoked at once "
                                                    "(admin)", ref("User"), codes=("404", "422"), params=[USER_P])},
        "/api/users/{user_id}/enable": {"post": op("Enable a person again (admin)", ref("User"), codes=("404",),
                                                   params=[USER_P])},
        "/api/users/{user_id}/password": {"post": op("Reset a password to a one-time password; sessions end, tokens "
                                                     "are revoked (admin)", ref("User"), codes=("400", "404", "422"),
                                                     params=[USER_P],
                                                     request=body(obj({"password": S}, ["password"])))},
        "/api/users/{user_id}/unlock": {"post": op("Forget a person's failed sign-ins (admin)", ref("User"),
                                                   codes=("404",), params=[USER_P])},
        "/api/audit": {"get": op("The audit log", obj({"page": I, "per_page": I, "total": I,
                                                       "events": arr({"type": "object"})}),
                                 codes=("422",), params=PAGE_Q + [{"name": "ruleset", "in": "query", "schema": S},
                                                                   {"name": "action", "in": "query", "schema": S}])},
        "/api/openapi.json": {"get": op("This document", {"type": "object"}, secured=False)},
        "/api/signing-key": {"get": op("The public key that signs every bundle (Ed25519, PEM)",
                                       obj({"algorithm": S, "key_id": S, "public_key": S},
                                           ["algorithm", "key_id", "public_key"]),
                                       codes=("401",), secured=False)},  # 401 only for a bad token sent anyway
        # ---- operations (docs/operations.md): probes for a load balancer
        "/healthz": {"get": op("The process answers (nothing else is checked)", obj({"status": S}, ["status"]),
                               secured=False)},
        "/readyz": {"get": _probe(op("This worker can serve: database, repository, compiled releases (503 when "
                                     "not, each check saying what is wrong)", READY, secured=False))},
        "/metrics": {"get": op("Prometheus metrics (text format): open when the server runs with --metrics, "
                               "else a token of scope 'metrics' (or an admin)", {"type": "string"},
                               ok_type="text/plain")},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Rulecraft API", "version": "1",
                 "description": "Plain-language expert rules: edit with a reason, review, release, predict. "
                                "Sign in for a session cookie (writes then need X-CSRF-Token) or send "
                                "'Authorization: Bearer rc_...'."},
        "servers": [{"url": "/"}],
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "rulecraft_session"}}},
        "security": [{"token": []}, {"session": []}],
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI 3 document. Never aborts."""
    return jsonify(document())
