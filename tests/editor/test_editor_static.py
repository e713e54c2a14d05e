"""Checks of the editor that need no browser: the page shells, their guards, what the templates may contain under
the Content-Security-Policy, the form's table of comparisons, and the rule that decides skip or fail."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_support import browser_or_skip

from rules_dsl.checker import _OPS_BY_TYPE
from server import create_app, migrate

EDITOR = Path(__file__).resolve().parents[2] / "editor_ui"


@pytest.fixture
def client(tmp_path):
    url = f"sqlite:///{tmp_path / 'rulecraft.db'}"
    migrate.upgrade(url)
    app = create_app({"DATA_DIR": tmp_path, "DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True,
                      "PASSWORD_METHOD": "pbkdf2:sha256:1000"})
    return app.test_client()


@pytest.mark.parametrize("path", ["/", "/rulesets/x", "/rulesets/x/rules/new", "/rulesets/x/rules/y",
                                  "/rulesets/x/history", "/rulesets/x/compare", "/rulesets/x/vocabulary",
                                  "/rulesets/x/releases", "/rulesets/x/rules/y/blame", "/rulesets/x/analysis",
                                  "/rulesets/x/reference-cases", "/audit", "/people"])
def test_pages_send_nobody_to_the_sign_in_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example/x",
                                    "/\t/evil.example", "javascript:alert(1)", "evil"])
def test_sign_in_never_sends_people_to_another_site(client, target):
    page = client.get("/sign-in", query_string={"next": target}).get_data(as_text=True)
    assert 'data-next="/"' in page


def test_sign_in_returns_to_the_page_asked_for(client):
    page = client.get("/sign-in", query_string={"next": "/rulesets/x?version=v1"}).get_data(as_text=True)
    assert 'data-next="/rulesets/x?version=v1"' in page


def test_sign_in_page_has_the_strict_policy_and_no_inline_code(client):
    response = client.get("/sign-in")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for asset in ("/static/js/pages/sign-in.js", "/static/css/app.css"):
        with client.get(asset) as served:
            assert served.status_code == 200


def test_templates_hold_nothing_the_content_security_policy_would_block():
    templates = list((EDITOR / "templates").glob("*.html"))
    assert len(templates) >= 15, templates  # a loop over nothing would prove nothing
    for template in templates:
        text = template.read_text()
        assert not re.search(r"\sstyle\s*=", text), f"{template.name}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: event-handler attribute"
        for script in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in script or 'type="application/json"' in script, f"{template.name}: inline script"
        assert "|safe" not in text, f"{template.name}: autoescape switched off"


def test_scripts_never_write_html():
    scripts = list((EDITOR / "static" / "js").rglob("*.js"))
    assert len(scripts) >= 25, scripts
    for script in scripts:
        text = script.read_text()
        for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert risky not in text, f"{script.relative_to(EDITOR)} uses {risky}"


def test_pages_use_plain_words():
    """No "commit", "SHA", "HEAD", "ETag" or "JSON" in what people read: template text and the scripts' strings."""
    words = re.compile(r"\b([Cc]ommit\w*|SHA|HEAD|ETag|JSON)\b")
    scripts = [p for p in (EDITOR / "static" / "js").rglob("*.js") if p.name != "api.js"]  # api.js: HTTP headers
    pages = [*(EDITOR / "templates").glob("*.html"), *scripts]
    assert len(pages) >= 40, pages
    for path in pages:
        text = path.read_text()
        if path.suffix == ".js":
            text = "\n".join(a or b for a, b in re.findall(r'"((?:[^"\\\n]|\\.)*)"|`([^`]*)`', text))
        else:
            text = re.sub(r"{[{%#].*?[}%#]}|<[^>]*>", " ", text, flags=re.S)
        assert not words.findall(text), f"{path.name}: {sorted(set(words.findall(text)))}"


def test_the_form_offers_the_comparisons_the_checker_accepts():
    source = (EDITOR / "static" / "js" / "rule-form.js").read_text()
    table = re.search(r"export const OPS_BY_TYPE = (\{.*?\});", source, re.S).group(1)
    as_json = re.sub(r"(\w+):", r'"\1":', table).replace(",\n}", "\n}")
    assert json.loads(as_json) == {kind: list(ops) for kind, ops in _OPS_BY_TYPE.items()}


def test_without_chromium_browser_tests_skip_with_a_hint_or_fail_when_required(tmp_path):
    missing = {"RULECRAFT_CHROMIUM": str(tmp_path / "no-chromium")}
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser_or_skip(missing)
    with pytest.raises(pytest.fail.Exception, match="RULECRAFT_REQUIRE_BROWSER=1"):
        browser_or_skip({**missing, "RULECRAFT_REQUIRE_BROWSER": "1"})
