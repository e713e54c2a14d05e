"""The application factory: everything is built here, per app, nothing at import time."""
from __future__ import annotations

from flask import Flask, request
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import auth, db, housekeeping, logs, signing
from .api import errors, saves
from .api.health import PROBES
from .services.errors import Forbidden
from .services.workspace import Workspace
from .store import GitStore

# Only the app's own scripts and styles; no inline script, no framing, no plugins.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class IdConverter(IntegerConverter):
    """A database id in a path: 1 to 9 digits, so a huge number is a 404, never an overflow in the database."""

    regex = r"[1-9][0-9]{0,8}"


class NoCookieSession(SessionInterface):
    """Flask's signed-cookie session is never used: sign-in sessions live in the database (server/auth.py). Not
    opening it saves building a signing serializer on every request. Any write to ``flask.session`` fails (with
    Flask's message about a missing secret key: the reason is this class)."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        pass


def create_app(test_config: dict | None = None) -> Flask:
    """Build the whole app (database, errors, store, workspace, signing key, API, editor, logs, metrics);
    ``test_config`` overrides settings for tests. Nothing is built at import time."""
    from . import config as configuration

    app = Flask("rulecraft", static_folder=None)
    app.session_interface = NoCookieSession()
    app.url_map.converters["id"] = IdConverter
    app.config.update(configuration.build(test_config))
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    db.init_app(app)
    errors.init_app(app)
    store = GitStore(app.config["REPOSITORY"], lock_timeout=app.config["LOCK_TIMEOUT"])
    app.extensions["rulecraft.store"] = store
    app.extensions["rulecraft.workspace"] = Workspace(store)
    app.extensions["rulecraft.signing_key"] = signing.load_or_create(app.config["DATA_DIR"])
    app.extensions["rulecraft.verified_tokens"] = auth.VerifiedTokens()  # for a database outage (server/auth.py)
    from .services.shadows import Shadower

    app.extensions["rulecraft.shadower"] = Shadower(app.extensions["rulecraft.workspace"],
                                                    app.extensions["rulecraft.engine"])

    from .api import register_api

    register_api(app)
    # The editor is part of the product: an import that fails is an error to see at start, not a server that
    # quietly comes up without its whole UI (a broken import once did exactly that, behind `except ImportError`).
    from editor_ui import init_app as init_editor

    init_editor(app)

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # the client's address (sign-in throttling) and scheme (Secure cookies, Origin) as the proxy saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    from . import metrics

    logs.init_app(app)  # first: its request line is written last, with the latency of every other hook
    metrics.init_app(app)  # next: its latency includes the other hooks
    housekeeping.init_app(app)
    app.before_request(_before)
    app.before_request(saves.before_write)  # after _before: needs the identity
    app.teardown_request(saves.forget)
    app.after_request(_security_headers)
    return app


def _before():
    if request.path in PROBES:  # a load balancer's probe: no credentials looked at, so no database needed
        return
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin and origin != request.host_url.rstrip("/"):
            raise Forbidden("Requests from other sites are not accepted.", code="cross-site")
    auth.load_identity()


SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                    ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
                    ("Cross-Origin-Opener-Policy", "same-origin"))


def _security_headers(response):
    """Each header unless the view set its own. The names present are read once: six Headers.setdefault calls,
    each a scan of every header, took 17 us a response (5 us now)."""
    headers = response.headers
    present = {name.lower() for name, _value in headers}  # werkzeug Headers iterate as (name, value)
    extra = SECURITY_HEADERS + ((("Cache-Control", "no-store"),) if request.path.startswith("/api/") else ())
    for name, value in extra:
        if name.lower() not in present:
            headers.add(name, value)
    return response
