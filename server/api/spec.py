"""The words the OpenAPI parts are written in: schema shorthands, shared parameters and shapes, ``op()``.

Each blueprint module of server/api describes its own routes at its end (``PATHS``, and ``SCHEMAS`` for the shapes
only it answers with); openapi.py assembles them into one document. What more than one blueprint uses lives here.
Pure data: imports nothing of Flask, the services or the models.
"""
from __future__ import annotations

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
B = {"type": "boolean"}
NULL_S = {"type": ["string", "null"]}


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


# ---- shapes several blueprints answer with (components/schemas)
PROBLEM = obj({"code": S, "message": S, "severity": S, "line": I, "column": I, "end_line": I, "end_column": I,
               "suggestion": S, "field": S, "file": S}, ["code", "message", "severity"])
ERROR = obj({"error": obj({"status": I, "code": S, "message": S, "problems": arr(ref("Problem")), "field": NULL_S},
                          ["status", "code", "message"])}, ["error"])
CONDITION = {"type": "object", "description": "A comparison {feature, op, values} or a group {all}, {any}, "
                                              "{at_least, of}, {not}."}
STRUCTURED = obj({"name": S, "priority": I, "enabled": B, "when": CONDITION,
                  "then": {"type": ["object", "null"]}, "because": NULL_S}, ["name", "when"])
SCHEMAS = {"Problem": PROBLEM, "Error": ERROR, "StructuredRule": STRUCTURED}

DATA_WARNING = obj({"code": S, "column": S, "feature": S, "count": I, "examples": arr({}), "message": S},
                   ["code", "column", "message"])
DATA_REPORT = {"type": ["object", "null"], "properties": {"rows": I, "columns": arr({"type": "object"}),
                                                          "absent": {"type": "object"},
                                                          "warnings": arr(DATA_WARNING), "lines": arr(S)}}

# ---- parameters
RULESET_P = {"name": "ruleset", "in": "path", "required": True, "schema": S}
RULE_P = {"name": "rule", "in": "path", "required": True, "schema": S}
VERSION_Q = {"name": "version", "in": "query", "required": False, "schema": S,
             "description": "A release name (v1) or a full version id (40 hexadecimal characters)."}
PAGE_Q = [{"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
          {"name": "per_page", "in": "query", "required": False,
           "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]
IF_MATCH = {"name": "If-Match", "in": "header", "required": True, "schema": S,
            "description": "The ETag of the version the change is based on."}
WHY = {"why": S}
RS = [RULESET_P]
RULE = [RULESET_P, RULE_P]


def body(schema: dict, content: str = "application/json") -> dict:
    return {"required": True, "content": {content: {"schema": schema}}}


def op(summary: str, ok: dict | None, *, codes=(), params=(), request=None, status: str = "200",
       secured: bool = True, ok_type: str = "application/json", responses: dict | None = None) -> dict:
    """One operation: its answer ``ok`` at ``status``, the error answers ``codes`` (401 and 403 too when
    ``secured``), its parameters and request body; ``responses`` adds answers of other shapes."""
    answers = {status: {"description": "OK", "content": {ok_type: {"schema": ok or {"type": "object"}}}}}
    for code in sorted(set(codes) | ({"401", "403"} if secured else set())):
        answers[code] = {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema":
                                                                                               ref("Error")}}}
    answers.update(responses or {})
    operation = {"summary": summary, "responses": answers}
    if params:
        operation["parameters"] = list(params)
    if request:
        operation["requestBody"] = request
    if not secured:
        operation["security"] = []
    return operation


_DESCRIPTIONS = {"400": "Malformed request", "401": "Sign in or send a token", "403": "Not allowed",
                 "404": "Not found", "409": "Someone saved first, or already decided", "413": "Too large",
                 "422": "Invalid input (with problems and fields)", "428": "If-Match is required",
                 "429": "Too many attempts", "503": "Busy; try again"}
