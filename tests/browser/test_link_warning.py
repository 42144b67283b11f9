"""The kiosk's ticket screen and the staff console say when phones cannot open patients' links.

The shared browser clinic is served on 127.0.0.1, as ``make run`` serves it: its QR codes point
at this computer only, so both screens show the warning with the setting to change.  A clinic
with ``[server] public_url`` shows none.
"""

from __future__ import annotations

import signal

from .conftest import axe_check, start_clinic


def take_a_number(kiosk) -> None:
    kiosk.click(".service-button[data-service=general]")
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#result:not([hidden])")
    # The QR image itself loaded (same origin as the kiosk, whatever address the link names).
    kiosk.wait_for_function("document.getElementById('result-qr').naturalWidth > 0")


def test_kiosk_ticket_and_staff_console_warn_when_links_point_at_this_computer(server, kiosk, staff, screenshots):
    take_a_number(kiosk)
    assert kiosk.is_visible("#link-warning")
    warning = kiosk.inner_text("#link-warning")
    assert server.url in warning and "[server] public_url" in warning and "HOST=0.0.0.0" in warning
    assert "휴대폰" in warning  # the kiosk's default language
    screenshots(kiosk, "kiosk-ticket-loopback-warning")
    axe_check(kiosk)

    assert staff.is_visible("#link-warning")
    shown = staff.inner_text("#link-warning")
    assert server.url in shown and "[server] public_url" in shown
    screenshots(staff, "staff-loopback-warning")
    axe_check(staff)


def test_kiosk_ticket_shows_no_warning_with_a_public_url(tmp_path, contexts):
    clinic = start_clinic(tmp_path, {"QUEUE_APP_SERVER_PUBLIC_URL": "https://queue.example-clinic.kr"})
    try:
        page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
        page.goto(f"{clinic.url}/kiosk?pair={clinic.tokens['kiosk']}")
        page.wait_for_selector("#start:not([hidden]) .service-button")
        take_a_number(page)
        assert page.is_hidden("#link-warning")
    finally:
        clinic.stop(signal.SIGTERM)
