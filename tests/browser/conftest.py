"""Browser tests: Debian's Chromium driven by Playwright against the real server process.

One browser for the whole session and one server (restarted by the test that needs it);
each test gets fresh browser contexts (a kiosk, a TV, a phone, a staff laptop) and an empty
queue.  Without Chromium the tests skip and say so, except under ``CI=true``.
Screenshots go to ``docs/screenshots/`` when ``SAVE_SCREENSHOTS=1``, else to a temporary
folder, so an ordinary test run leaves the work tree alone.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import LiveServer, open_all_day
from tests.notify.conftest import http_server  # noqa: F401  (a local provider, for a clinic that texts)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
STAFF_USER, STAFF_PASSWORD = "nurse", "nurse-pass-123"
#: Records what the display would say, and whether two utterances ever overlapped.
SPEECH_STUB = """
(() => {
  window.__spoken = []; window.__overlaps = 0; let speaking = false;
  const synth = {
    getVoices: () => [],
    speak(u) {
      if (speaking) window.__overlaps += 1;
      speaking = true;
      window.__spoken.push({text: u.text, lang: u.lang});
      setTimeout(() => { speaking = false; u.onend && u.onend(); }, 50);
    },
    cancel() {}, addEventListener() {},
  };
  Object.defineProperty(window, 'speechSynthesis', {value: synth});
})();
"""


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test."""
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}, and CI must run the browser tests")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def start_clinic(workdir: Path, env: dict[str, str] | None = None) -> LiveServer:
    """A real server with a staff login and kiosk, display and staff tokens, open now."""
    server = LiveServer(workdir, {**open_all_day(), **(env or {})})
    server.command("db", "upgrade")
    server.command("create-user", "--username", STAFF_USER, "--role", "staff", "--password", STAFF_PASSWORD)
    server.tokens = {role: server.token(role) for role in ("kiosk", "display", "staff")}
    server.start()
    return server


@pytest.fixture(scope="session")
def clinic(tmp_path_factory, browser):
    """The real server shared by the browser tests."""
    server = start_clinic(tmp_path_factory.mktemp("browser-clinic"))
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture
def server(clinic):
    """The clinic with an empty queue and every room open, whatever the last test left."""
    if clinic.process is None or clinic.process.poll() is not None:
        clinic.start()
    headers = {"Authorization": f"Bearer {clinic.tokens['staff']}"}
    queue = requests.get(f"{clinic.url}/api/v1/queue", headers=headers, timeout=10).json()
    for ticket in queue["in_rooms"]:
        requests.post(f"{clinic.url}/api/v1/tickets/{ticket['id']}/finish", headers=headers, timeout=10)
    for ticket in queue["waiting"]:
        requests.post(f"{clinic.url}/api/v1/tickets/{ticket['id']}/cancel", headers=headers, timeout=10)
    for room in queue["rooms"]:
        if room["status"] == "paused":
            requests.post(f"{clinic.url}/api/v1/rooms/{room['id']}/resume", headers=headers, timeout=10)
    return clinic


class StaffApi:
    """POST/GET to a server's API as staff, for arranging a test."""

    def __init__(self, server) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {server.tokens['staff']}"}

    def post(self, path, **kwargs):
        return requests.post(self.server.url + "/api/v1" + path, headers=self.headers, timeout=10, **kwargs)

    def queue(self):
        return requests.get(self.server.url + "/api/v1/queue", headers=self.headers, timeout=10).json()

    def check_in(self, service="general", language="en", **more):
        response = self.post("/tickets", json={"service": service, "language": language, **more})
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def staff_api(server):
    return StaffApi(server)


@pytest.fixture
def screenshots():
    """Where screenshots go: docs/screenshots with SAVE_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        folder = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    else:
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / "queue-app-screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return shot


@pytest.fixture
def contexts(browser):
    """Makes browser contexts and closes them after the test."""
    made = []

    def make(**options):
        options.setdefault("bypass_csp", True)  # lets the test inject axe-core
        context = browser.new_context(**options)
        context.set_default_timeout(5000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def kiosk(server, contexts):
    """A paired kiosk tablet (landscape), on its start screen."""
    context = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR")
    page = context.new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.wait_for_selector("#start:not([hidden]) .service-button")
    return page


@pytest.fixture
def display(server, contexts):
    """A paired waiting-room TV (1080p) with speech recorded instead of spoken."""
    context = contexts(viewport={"width": 1920, "height": 1080}, locale="ko-KR")
    context.add_init_script(SPEECH_STUB)
    page = context.new_page()
    page.goto(f"{server.url}/display?pair={server.tokens['display']}")
    page.wait_for_function("document.querySelectorAll('#service-list li').length > 0")
    return page


def staff_console(contexts, url: str, locale: str = "en-US"):
    """Sign in at ``url`` and open the staff console with room 1 chosen."""
    context = contexts(viewport={"width": 1366, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(f"{url}/staff")
    page.fill("#username", STAFF_USER)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/staff")
    page.check("input[name=room][value=room1]")
    page.wait_for_selector("article[data-room=room1]")
    page.wait_for_function("document.getElementById('conn').className === 'conn'")
    return page


@pytest.fixture
def staff(server, contexts):
    """A signed-in staff console with room 1 chosen."""
    return staff_console(contexts, server.url)


@pytest.fixture
def phone(contexts):
    """A patient's phone: a small screen, touch."""

    def open_page(url: str, javascript: bool = True, locale: str = "ko-KR"):
        context = contexts(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            locale=locale,
            java_script_enabled=javascript,
        )
        page = context.new_page()
        page.goto(url)
        return page

    return open_page


def axe_check(page) -> None:
    """No serious or critical accessibility violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, "\n".join(bad)
