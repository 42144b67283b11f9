"""One patient's whole day, across the four front ends at once.

Kiosk check-in → the QR link opened as a phone → the staff console calls → the display and
the phone both show the call within a second → finish.
"""

from __future__ import annotations

import re
import time

from .conftest import axe_check


def test_a_patients_whole_day(server, kiosk, display, staff, phone):
    axe_check(kiosk)

    # The kiosk, in English: general consultation, a phone number, consent, check in.
    kiosk.click("button.lang[data-lang=en]")
    kiosk.click(".service-button[data-service=general]")
    kiosk.fill("#phone", "010-1234-5678")
    kiosk.wait_for_selector("#phone-feedback.good")
    kiosk.check("#consent")
    axe_check(kiosk)
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#result:not([hidden])")
    number = kiosk.inner_text("#result-number")
    assert re.fullmatch(r"A-\d{3}", number)
    assert kiosk.inner_text("#result-ahead") == "You are next"
    assert "Back to the start in" in kiosk.inner_text("#countdown")
    qr = kiosk.get_attribute("#result-qr", "src")
    kiosk.wait_for_function("document.getElementById('result-qr').naturalWidth > 0")
    axe_check(kiosk)

    # The QR code's link, opened on a phone: the ticket, waiting, in the patient's language.
    token = re.search(r"/api/v1/tickets/([^/]+)/qr\.svg$", qr).group(1)
    mobile = phone(f"{server.url}/t/{token}")
    assert mobile.inner_text("#number") == number
    assert mobile.inner_text("#status-text") == "You are in the queue"
    assert mobile.get_attribute("html", "lang") == "en"
    mobile.wait_for_timeout(300)  # the socket's snapshot
    axe_check(mobile)

    # Staff call the next patient to room 1; the TV and the phone show it within a second.
    staff.wait_for_function(f"document.getElementById('waiting').textContent.includes('{number}')")
    axe_check(staff)
    started = time.monotonic()
    staff.click("article[data-room=room1] .call-next")
    display.wait_for_selector(f"[data-room=room1] .room-number:text-is('{number}')", timeout=1000)
    mobile.wait_for_selector("#room:not([hidden])", timeout=1000)
    assert time.monotonic() - started < 1.5
    assert mobile.inner_text("#status-text") == "It is your turn!"
    assert mobile.inner_text("#room") == "Please go to Room 1"
    assert display.inner_text("[data-room=room1] .room-name") == "1번 진료실"
    assert "fresh" in display.get_attribute("[data-room=room1]", "class")
    axe_check(display)
    axe_check(mobile)

    # The display chimed and then said it once in each language, one after another.
    display.wait_for_function("window.__spoken.length >= 3", timeout=5000)
    spoken = display.evaluate("window.__spoken")
    assert [s["lang"] for s in spoken] == ["ko-KR", "en-US", "ru-RU"]
    assert spoken[1]["text"] == f"Number A {int(number[2:])}, please go to Room 1."
    assert "1번 진료실" in spoken[0]["text"] and "Кабинет 1" in spoken[2]["text"]
    assert display.evaluate("window.__overlaps") == 0

    # Staff see the call; start, finish; the phone thanks the patient.
    staff.wait_for_function(
        f"document.querySelector('article[data-room=room1] .state').textContent.includes('{number}')"
    )
    staff.click("article[data-room=room1] .start-called")
    mobile.wait_for_function("document.getElementById('status-text').textContent === 'You are in your consultation'")
    staff.click("article[data-room=room1] .actions button:has-text('Finish')")
    mobile.wait_for_function(
        "document.getElementById('status-text').textContent === 'Your visit is finished. Thank you!'"
    )
    assert mobile.is_hidden("#leave")

    # Done on the kiosk: back to the start, in the clinic's default language.
    kiosk.click("#done")
    kiosk.wait_for_selector("#start:not([hidden])")
    assert kiosk.get_attribute("html", "lang") == "ko"
