"""Finding the browser for the editor's tests, and the rule for when there is none: skip with a hint how to
install it, or fail when RULECRAFT_REQUIRE_BROWSER=1 (CI sets it, so CI never passes by skipping)."""
from __future__ import annotations

import os
import re
import shutil

import pytest

INSTALL_HINT = ("the editor's browser tests need Chromium: install it with `apt-get install chromium` "
                "(or point RULECRAFT_CHROMIUM at a Chromium executable)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def find_chromium(environ=os.environ) -> str | None:
    named = environ.get("RULECRAFT_CHROMIUM")
    candidates = [named] if named else ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def browser_or_skip(environ=os.environ) -> str:
    """The Chromium to drive; without it (or without Playwright) skip, or fail when RULECRAFT_REQUIRE_BROWSER=1."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright for Python is not installed (pip install -e '.[test]')"
    path = find_chromium(environ)
    if path is None and problem is None:
        problem = "no Chromium found"
    if problem is None:
        return path
    message = f"{problem}: {INSTALL_HINT}"
    if environ.get("RULECRAFT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"RULECRAFT_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    pytest.skip(message)


# Every form control must have a name a screen reader can say (a <label for>, or aria-label / aria-labelledby).
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((c) => c.type !== "hidden" && !c.labels.length
    && !c.getAttribute("aria-label") && !c.getAttribute("aria-labelledby"))
  .map((c) => c.outerHTML.slice(0, 120))"""


def signed_in(people, name, **size):
    """That person's window, signed in (test modules also run one by one)."""
    visitor = people(name, **size)
    if not visitor.page.url.startswith(visitor.server.url) or "/sign-in" in visitor.page.url:
        visitor.sign_in()
    return visitor


def call_api(visitor, method: str, path: str, body: dict | None = None, version: str | None = None,
             expect: tuple[int, ...] = (200, 201)):
    """The API's answer, asked with the visitor's own session as the pages ask it (CSRF token, If-Match for the
    version a change is based on). Tests use it to set up the state they start from, whatever ran before them."""
    headers = {}
    if method != "GET":
        me = visitor.page.request.get(visitor.server.url + "/api/me")
        headers["X-CSRF-Token"] = me.json()["csrf_token"]
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    response = visitor.page.request.fetch(visitor.server.url + path, method=method, headers=headers, data=body)
    assert response.status in expect, f"{method} {path}: {response.status} {response.text()[:300]}"
    return response.json()


def pick_feature(scope, name: str, nth: int = 0):
    """Choose a condition's feature as a person does (issue 15, item 13): type in its Feature field (a combobox over
    the vocabulary's names, synonyms and descriptions), then click the name in the list. ``scope`` is the page or a
    part of it; ``nth`` counts the Feature fields in it. Returns the field."""
    field = scope.get_by_role("combobox", name="Feature", exact=True).nth(nth)
    field.fill(name)
    page = getattr(scope, "page", scope)
    listbox = page.locator(f"#{field.get_attribute('aria-controls')}")
    listbox.get_by_role("option").filter(
        has=page.locator(".option-name", has_text=re.compile(rf"^{re.escape(name)}( \(.*\))?$"))).first.click()
    return field
