"""The kiosk's ticket screen between patients: the QR code gone first, then back to the start.

The clinic here shows a ticket for ``[kiosk] ticket_seconds = 8``, so the QR code goes after
4 s (half the ticket time, as it is shorter than 20 s); the waits are Playwright's, bounded.
Between the code going and the ticket going there are 4 s for the checks (1.5 s was too
little on a loaded machine).
"""

from __future__ import annotations

import signal

import pytest

from .conftest import axe_check, start_clinic


@pytest.fixture
def quick_kiosk(tmp_path, contexts):
    """A paired kiosk of a real server whose tickets stay 8 s on screen."""
    server = start_clinic(tmp_path, {"QUEUE_APP_KIOSK_TICKET_SECONDS": "8"})
    page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.wait_for_selector("#start:not([hidden]) .service-button")
    yield page
    server.stop(signal.SIGTERM)


def take_a_number(page) -> None:
    page.click(".service-button[data-service=general]")
    page.click("#check-in")
    page.wait_for_selector("#result:not([hidden])")
    assert page.is_visible("#result-qr")
    assert page.get_attribute("#result-qr", "src").endswith("/qr.svg")


def test_the_ticket_screen_hides_the_qr_code_then_returns_to_the_start(quick_kiosk):
    page = quick_kiosk
    setup = page.evaluate("() => fetch('/kiosk/setup.json').then(r => r.json())")
    assert setup["ticket_seconds"] == 8

    take_a_number(page)
    # The number stays for the patient; the code that can cancel their place goes.
    page.wait_for_selector("#result-qr-figure", state="hidden", timeout=7000)
    assert page.is_visible("#result-number")
    assert page.get_attribute("#result-qr", "src") is None
    axe_check(page)

    # Then the whole ticket: back to the start for the next patient, no code anywhere.
    page.wait_for_selector("#start:not([hidden]) .service-button", timeout=8000)
    assert page.is_hidden("#result")
    assert page.locator("img[src*='qr.svg']").count() == 0

    # The next patient's ticket shows its own code again.
    take_a_number(page)
    page.wait_for_selector("#result-qr-figure", state="hidden", timeout=7000)


def test_a_touch_keeps_the_ticket_but_not_the_qr_code(quick_kiosk):
    page = quick_kiosk
    take_a_number(page)
    # Someone keeps touching the screen: the ticket stays, the QR code goes all the same.
    page.evaluate(
        "() => { window.__touching = setInterval(() => document.dispatchEvent("
        "new PointerEvent('pointerdown', {bubbles: true})), 300); }"
    )
    page.wait_for_selector("#result-qr-figure", state="hidden", timeout=7000)
    assert page.is_visible("#result-number")
    page.evaluate("() => clearInterval(window.__touching)")
    page.wait_for_selector("#start:not([hidden])", timeout=12000)
