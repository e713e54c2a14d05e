"""Browser tests of the editor, as people would use it: a real ``rulecraft serve --demo`` process on a free
loopback port, people made with the real command line, a rule set imported with it, and Debian's Chromium driven by
Playwright for Python.

Without Chromium (or Playwright) the browser tests are skipped with a hint how to install it; with
RULECRAFT_REQUIRE_BROWSER=1 (CI sets it) they fail instead, so CI never passes by skipping them.
Screenshots of the key pages go to test-artifacts/screenshots/ (ignored by Git) for a person to look at.
"""
from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_support import CHROMIUM_ARGS, browser_or_skip

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "a long and private phrase"
# Failed requests the pages expect and handle (a conflict, a refused change): Chromium logs them as console errors.
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    data_dir: Path
    passwords: dict[str, str]
    output: list[str] = field(default_factory=list)

    def password_of(self, name: str) -> str:
        return self.passwords[name]


def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RULECRAFT_") or k == "RULECRAFT_REQUIRE_BROWSER"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _cli(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "server", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          env=_environment(), input=stdin, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"rulecraft {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def server(tmp_path_factory, browser_path):
    """`rulecraft serve --demo` (demo people with one-time passwords, the breast mass triage rule set with its
    reference cases and release v1) plus Bea Author, made with `rulecraft create-user`, and the sepsis triage rule
    set, brought in with `rulecraft import`."""
    data_dir = tmp_path_factory.mktemp("rulecraft-editor") / "data"
    _cli(data_dir, "create-user", "Bea Author", "--role", "author", stdin=PASSWORD + "\n")
    _cli(data_dir, "import", str(ROOT / "tests" / "fixtures" / "sepsis-triage"), "--as", "Bea Author",
         "--why", "Start the sepsis triage rules")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--demo", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=ROOT, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    output: list[str] = []
    passwords = {"Bea Author": PASSWORD}
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("rulecraft serve stopped:\n" + "".join(output))
            output.append(line)
            found = re.match(r"\s*name: (.+?)\s+one-time password: (\S+)", line)
            if found:
                passwords[found.group(1)] = found.group(2)
            if line.startswith("Open http"):
                break
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/sign-in", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("rulecraft serve did not answer:\n" + "".join(output))
        yield Server(url, data_dir, passwords, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        process.stdout.close()


@pytest.fixture(scope="session")
def browser_path():
    return browser_or_skip()


@pytest.fixture(scope="session")
def browser(browser_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Records Content-Security-Policy violations even where Chromium would not log them.
_WATCH_CSP = """document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline code"}`));"""


class Visitor:
    """One person in their own browser window: signs in through the pages, takes screenshots, and keeps every
    console error, script error, CSP violation and dialog the pages produce."""

    def __init__(self, browser, server: Server, name: str, width: int = 1280, height: int = 800):
        self.server = server
        self.name = name
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB",
                                           timezone_id="Europe/Lisbon")
        self.context.set_default_timeout(15_000)
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.allowed_status: set[int] = set()
        self._open_page()

    def _open_page(self):
        self.page = self.context.new_page()
        self.page.add_init_script(_WATCH_CSP)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("dialog", self._dialog)

    def discard_changes(self):
        """Leave a page with unsaved changes as a person closing the tab would, without its "leave this page?"
        question (which a test would otherwise see as an unexpected dialog)."""
        self.page.close()
        self._open_page()
        self.go("/")  # still signed in: the session cookie belongs to the window, not the page

    def _console(self, message):
        if message.type != "error":
            return
        expected = EXPECTED_STATUS.search(message.text)
        if expected and int(expected.group(1)) in self.allowed_status:
            return
        self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def go(self, path: str):
        self.page.goto(self.server.url + path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def sign_in(self):
        """Sign in with the keyboard; a one-time password leads to choosing one's own, as it would for a person."""
        page = self.go("/")
        assert "/sign-in" in page.url
        page.get_by_label("Your name").fill(self.name)
        page.keyboard.press("Tab")
        page.keyboard.type(self.server.password_of(self.name))
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/sign-in" not in url)
        page.wait_for_load_state("networkidle")
        if page.url.endswith("/password"):
            self.screenshot("choose-password")
            # The one-time password just typed is not asked again.
            assert page.get_by_label("One-time password").count() == 0
            assert page.get_by_label("Current password").count() == 0
            page.get_by_label("New password", exact=True).fill(PASSWORD)
            page.get_by_label("New password again").fill(PASSWORD)
            page.get_by_role("button", name="Save the new password").click()
            page.wait_for_url(self.server.url + "/")
            self.server.passwords[self.name] = PASSWORD
        page.wait_for_load_state("networkidle")
        assert page.locator("#me-name").text_content() == self.name
        return page

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_clean(self):
        problems, dialogs = list(self.problems), list(self.dialogs)
        self.problems.clear()
        self.dialogs.clear()
        assert not dialogs, f"{self.name}'s pages opened dialogs: {dialogs}"
        assert not problems, f"{self.name}'s pages reported errors: {problems}"

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def people(browser, server):
    """people("Ana Author") -> that person's Visitor (one window each, kept for the whole module)."""
    opened: dict[tuple, Visitor] = {}

    def open_as(name: str, width: int = 1280, height: int = 800) -> Visitor:
        key = (name, width, height)
        if key not in opened:
            opened[key] = Visitor(browser, server, name, width, height)
        return opened[key]

    open_as.opened = opened
    yield open_as
    for visitor in opened.values():
        visitor.close()


@pytest.fixture(autouse=True)
def _no_page_errors(request):
    """After each browser test: no console errors, no CSP violations, no script errors, no dialogs."""
    yield
    if "people" in request.fixturenames:
        for visitor in request.getfixturevalue("people").opened.values():
            visitor.assert_clean()
