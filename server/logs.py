"""The server's log: one line per request, a security trail, and no flood of tracebacks in an outage.

Every line starts with a UTC timestamp and a level; LOG_FORMAT (server/config.py) chooses ``text`` (``key=value``
after the message) or ``json`` (one object a line, for a log collector); LOG_LEVEL the lowest level written. The
log goes to standard error (``rulecraft serve`` leaves it there: systemd's journal or the container's log keeps it).

Loggers an operator greps for:
    rulecraft.request    INFO, one line per request: request id (the proxy's X-Request-Id when it looks like
                         one, else made here; sent back in X-Request-Id), person id and how they came (session,
                         token and its id), method, route pattern, path, status, milliseconds.
    rulecraft.security   the security trail (``event=...``): sign-in (ok/refused/throttled, the name given,
                         the address), sign-out, token-create, token-revoke, token-use (first use of a token in
                         a worker, then at most once every TOKEN_USE_SECONDS; every use is also in the request
                         line), token-refused, bundle-download, audit-read and the administrators' changes to
                         people. The audit log in the database also records sign-ins refused, tokens created and
                         the changes to people (who, when, why); reads (bundles, audit log) are only here.
    rulecraft, server.*  warnings and errors; a warning or error repeated (same logger, same message, same kind
                         of exception) within LOG_REPEAT_SECONDS is counted, not written: the next line after the
                         interval says how many were left out, and only the first carries a traceback. A database
                         outage under load wrote 15 MB of tracebacks in 3 s before.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import threading
import time
from datetime import UTC, datetime

from flask import Flask, current_app, g, request

TOKEN_USE_SECONDS = 600
_HANDLER_MARK = "rulecraft_handler"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_log = logging.getLogger("rulecraft.request")
security_log = logging.getLogger("rulecraft.security")

# Endpoints whose every answer joins the security trail, by the event's name.
SECURITY_EVENTS = {
    "api_people.sign_in": "sign-in", "api_people.sign_out": "sign-out",
    "api_people.create_token": "token-create", "api_people.revoke_token": "token-revoke",
    "api_predict.bundle": "bundle-download", "api_people.audit_log": "audit-read",
    "api_people.create_user": "person-create", "api_people.disable_user": "person-disable",
    "api_people.enable_user": "person-enable", "api_people.reset_password": "person-password-reset",
    "api_people.unlock_user": "person-unlock", "api_people.change_password": "password-change",
}


# ---- format ------------------------------------------------------------------------------------------------------

def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text_value(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text or any(c in text for c in ' "=\n\r\t') else text


class Formatter(logging.Formatter):
    """``text``: ``TIME LEVEL LOGGER message key=value ...``; ``json``: one object with the same keys."""

    def __init__(self, style: str = "text"):
        super().__init__()
        self.json = style == "json"

    def format(self, record: logging.LogRecord) -> str:
        fields = dict(getattr(record, "fields", None) or {})
        message = record.getMessage()
        if getattr(record, "repeats", 0):
            fields["repeats_not_written"] = record.repeats
        trace = None
        if record.exc_info and not getattr(record, "brief", False):
            trace = self.formatException(record.exc_info)
        elif record.exc_info:
            fields["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"[:300]
        if self.json:
            line = {"time": _timestamp(record.created), "level": record.levelname.lower(), "logger": record.name,
                    "message": message, **fields}
            if trace:
                line["traceback"] = trace
            return json.dumps(line, ensure_ascii=False, default=str)
        parts = [_timestamp(record.created), record.levelname, record.name, message]
        parts += [f"{k}={_text_value(v)}" for k, v in fields.items()]
        text = " ".join(p for p in parts if p)
        if trace:  # every line of the traceback is prefixed, so a grep for the time or the logger finds it whole
            prefix = f"{_timestamp(record.created)} {record.levelname} {record.name} | "
            text += "\n" + "\n".join(prefix + line for line in trace.splitlines())
        return text


class RepeatFilter(logging.Filter):
    """Lets a warning or error through once per ``seconds`` for each (logger, message, exception kind); counts the
    rest and tells the next one let through how many there were. Only the first of a kind keeps its traceback."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self._lock = threading.Lock()
        self._seen: dict[tuple, list] = {}  # key -> [time last written, repeats left out since]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self.seconds <= 0:
            return True
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, str(record.msg), kind)
        now = time.monotonic()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.seconds:
                entry[1] += 1
                return False
            if len(self._seen) > 1000:  # many different messages: start afresh rather than grow
                self._seen.clear()
            record.repeats = entry[1] if entry else 0
            record.brief = entry is not None
            self._seen[key] = [now, 0]
        return True


def configure(level: str = "info", style: str = "text", repeat_seconds: float = 60, stream=None) -> logging.Handler:
    """Send the log to ``stream`` (standard error) in ``style``, from ``level`` up; replaces the handler an earlier
    call installed (each app built calls this), and leaves other handlers alone."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(Formatter(style))
    handler.addFilter(RepeatFilter(repeat_seconds))
    handler.setLevel(level.upper())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic says "Context impl PostgresqlImpl." at INFO each time the schema is checked (every /readyz)
    logging.getLogger("alembic").setLevel(logging.DEBUG if level.lower() == "debug" else logging.WARNING)
    return handler


# ---- per request -------------------------------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Configure the log from the app's settings and write the request and security lines. Call before the other
    request hooks are added, so that the latency includes them and the line is written last."""
    configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"], app.config["LOG_REPEAT_SECONDS"],
              app.config.get("LOG_STREAM"))
    app.extensions["rulecraft.token_uses"] = {}
    app.before_request(_started)
    app.after_request(_answered)


def _started() -> None:
    g.log_started = time.perf_counter()
    sent = request.headers.get("X-Request-Id", "")
    g.request_id = sent if _REQUEST_ID.fullmatch(sent) else secrets.token_hex(8)


def _who() -> dict:
    if g.get("auth") == "token" and g.get("token") is not None:
        return {"person": g.token.user_id, "auth": "token", "token": g.token.id}
    if g.get("auth") == "session" and g.get("user") is not None:
        return {"person": g.user.id, "auth": "session"}
    if g.get("sign_in_person") is not None:
        return {"person": g.sign_in_person, "auth": "sign-in"}
    return {"person": "-", "auth": "-"}


def _answered(response):
    started = g.get("log_started")
    request_id = g.get("request_id") or secrets.token_hex(8)
    response.headers["X-Request-Id"] = request_id
    who = _who()
    rule = request.url_rule
    status = response.status_code
    if request_log.isEnabledFor(logging.INFO):
        fields = {"id": request_id, **who, "method": request.method,
                  "route": rule.rule if rule is not None else "-", "path": request.path[:200], "status": status,
                  "ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else "-"}
        request_log.info("request", extra={"fields": fields})
    _security(request_id, who, status)
    return response


def _security(request_id: str, who: dict, status: int) -> None:
    event = SECURITY_EVENTS.get(request.endpoint or "")
    base = {"id": request_id, **who, "address": request.remote_addr or "-"}
    if event == "sign-in":
        outcome = "ok" if status < 400 else ("throttled" if status == 429 else "refused")
        security_log.info("sign-in", extra={"fields": {"event": "sign-in", "outcome": outcome, **base,
                                                       "name": g.get("sign_in_name", "-"), "status": status}})
    elif event is not None:
        security_log.info(event, extra={"fields": {"event": event, "outcome": "ok" if status < 400 else "refused",
                                                   **base, "path": request.path[:200], "status": status}})
    if who.get("auth") == "token":
        uses = current_app.extensions["rulecraft.token_uses"]
        now = time.monotonic()
        if now - uses.get(who["token"], -TOKEN_USE_SECONDS) >= TOKEN_USE_SECONDS:
            uses[who["token"]] = now
            security_log.info("token-use", extra={"fields": {"event": "token-use", **base}})
    elif status == 401 and request.headers.get("Authorization"):
        security_log.info("token-refused", extra={"fields": {"event": "token-refused", **base,
                                                             "path": request.path[:200]}})
