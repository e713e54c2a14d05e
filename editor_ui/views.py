"""Page shells. Each view checks who is asking and renders a template that names its page module; the module
fetches what it shows from the API. Views abort with a redirect to the sign-in page (nobody signed in), to the
password page (a one-time password still to change), or render the "not allowed" page (role lacks permission)."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, url_for

from rules_dsl.units import UNITS

bp = Blueprint("editor", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

ROLE_WORDS = {"admin": "administrator", "author": "author", "reviewer": "reviewer", "auditor": "auditor",
              "ml-engineer": "ML engineer"}


def page(permission: str | None = None):
    """A page for signed-in people (with ``permission`` when given)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.get("user") is None or g.get("auth") != "session":
                return redirect(url_for("editor.sign_in", next=request.full_path.rstrip("?")))
            if g.user.must_change_password:
                return redirect(url_for("editor.password"))
            if permission and permission not in g.permissions:
                return render_template("not_allowed.html"), 403
            return view(*args, **kwargs)
        return wrapper
    return decorate


@bp.app_context_processor
def shell_values():
    user = g.get("user")
    return {"me": user, "role_words": ROLE_WORDS.get(user.role, user.role) if user else "",
            "can": lambda p: p in g.get("permissions", set()),
            "csrf_token": g.session.csrf_token if g.get("session") is not None else ""}


def _local(target: str | None) -> str:
    """Only paths on this site are followed after signing in (never another site)."""
    if not target:
        return url_for("editor.home")
    parts = urlsplit(target)
    # Browsers read "/\evil.example" (one backslash) as "//evil.example": refuse backslashes and control characters.
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 or ord(c) == 127 for c in target)):
        return url_for("editor.home")
    return target


@bp.get("/sign-in")
def sign_in():
    return render_template("sign_in.html", next=_local(request.args.get("next")))


@bp.get("/password")
def password():
    if g.get("user") is None or g.get("auth") != "session":
        return redirect(url_for("editor.sign_in"))
    return render_template("password.html")


@bp.get("/")
@page("rulesets.list")
def home():
    return render_template("rulesets.html")


@bp.get("/rulesets/<ruleset>")
@page("rulesets.list")
def ruleset(ruleset):
    if "rules.read" not in g.permissions:
        return redirect(url_for("editor.releases", ruleset=ruleset))
    return render_template("ruleset.html", ruleset=ruleset, version=request.args.get("version", ""))


@bp.get("/rulesets/<ruleset>/rules/new")
@page("rules.write")
def new_rule(ruleset):
    return render_template("rule_edit.html", ruleset=ruleset, rule="", units=_units())


@bp.get("/rulesets/<ruleset>/rules/<rule>")
@page("rules.read")
def rule(ruleset, rule):
    version = request.args.get("version", "")
    if "rules.write" in g.permissions and not version:
        return render_template("rule_edit.html", ruleset=ruleset, rule=rule, units=_units())
    return render_template("rule_view.html", ruleset=ruleset, rule=rule, version=version)


@bp.get("/rulesets/<ruleset>/rules/<rule>/history")
@page("rules.read")
def rule_history(ruleset, rule):
    return render_template("history.html", ruleset=ruleset, rule=rule)


@bp.get("/rulesets/<ruleset>/rules/<rule>/blame")
@page("rules.read")
def blame(ruleset, rule):
    return render_template("blame.html", ruleset=ruleset, rule=rule, version=request.args.get("version", ""))


@bp.get("/rulesets/<ruleset>/history")
@page("rules.read")
def history(ruleset):
    return render_template("history.html", ruleset=ruleset, rule="")


@bp.get("/rulesets/<ruleset>/compare")
@page("rules.read")
def compare(ruleset):
    return render_template("compare.html", ruleset=ruleset, rule=request.args.get("rule", ""))


@bp.get("/audit")
@page("audit.read")
def audit():
    return render_template("audit.html")


@bp.get("/people")
@page("users.manage")
def people():
    """People and their keys for scripts (administrators); everyone else gets the "not for your role" page."""
    return render_template("people.html", roles=ROLE_WORDS)


# Pages of one rule set that need nothing but its id: (path under /rulesets/<ruleset>/, endpoint and template
# name, permission). The endpoint is what templates and redirects name in url_for.
RULESET_PAGES = (
    ("vocabulary", "vocabulary", "rules.read"),
    ("table", "table", "rules.read"),
    ("analysis", "analysis", "rules.read"),
    ("findings", "findings", "rules.read"),
    ("tests", "tests", "rules.read"),
    ("reference-cases", "reference_cases", "rules.read"),
    ("suggestions", "suggestions", "rules.suggest"),
    ("releases", "releases", "releases.read"),
)


def _ruleset_page(template: str):
    def view(ruleset):
        return render_template(template, ruleset=ruleset)
    return view


for _path, _endpoint, _permission in RULESET_PAGES:
    bp.add_url_rule(f"/rulesets/<ruleset>/{_path}", _endpoint, page(_permission)(_ruleset_page(f"{_endpoint}.html")),
                    methods=["GET"])


def _units() -> dict[str, list[str]]:
    """Every spelling of a unit -> [its symbol, its kind], so the form offers units of the feature's kind."""
    return {spelling: [unit.symbol, unit.kind] for spelling, unit in UNITS.items()}


@bp.get("/new-ruleset")
@page("rules.write")
def new_ruleset():
    """A new rule set: title, outcome, policy, a vocabulary drafted from a CSV file (authors and admins). Not under
    /rulesets/ so that no rule set id ("new") can hide it."""
    return render_template("new_ruleset.html")
