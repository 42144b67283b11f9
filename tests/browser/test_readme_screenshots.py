"""The README's pictures: each state of each front end, in Korean, at the sizes people use
(a 390x844 phone, a 1920x1080 TV, a 1280x800 kiosk, a 1366x900 staff laptop).

``SAVE_SCREENSHOTS=1 pytest tests/browser/test_readme_screenshots.py`` writes them to
docs/screenshots; without it they go to a temporary folder and the walk is one more test
that every state shows without an accessibility problem.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .conftest import axe_check, staff_console
from .test_inbox import close_every_conversation


def test_every_state_in_korean(server, kiosk, display, phone, staff_api, contexts, screenshots):
    for _ in range(4):
        staff_api.check_in("general")
    staff_api.check_in("vaccination")
    display.wait_for_timeout(500)  # the live view after the check-ins
    screenshots(display, "display-waiting")
    screenshots(kiosk, "kiosk-start")

    # The kiosk: a service, the keypad with 010 ready, consent, the ticket.
    kiosk.click(".service-button[data-service=general]")
    for key in "12345678":
        kiosk.click(f"#keypad button[data-key='{key}']")
    kiosk.wait_for_selector("#phone-feedback.good")
    kiosk.check("#consent")
    screenshots(kiosk, "kiosk-details")
    kiosk.fill("#phone", "02-123-4567")
    kiosk.wait_for_selector("#phone-feedback.bad")
    screenshots(kiosk, "kiosk-phone-invalid")
    kiosk.click("#phone-clear")
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#result:not([hidden])")
    kiosk.wait_for_function("document.getElementById('result-qr').naturalWidth > 0")
    screenshots(kiosk, "kiosk-ticket")
    axe_check(kiosk)
    number = kiosk.inner_text("#result-number")
    ticket = next(t for t in staff_api.queue()["waiting"] if t["number"] == number)

    # The phone, waiting; the staff console with the queue.
    token = re.search(r"/api/v1/tickets/([^/]+)/qr\.svg$", kiosk.get_attribute("#result-qr", "src")).group(1)
    mobile = phone(f"{server.url}/t/{token}")
    mobile.wait_for_timeout(300)
    screenshots(mobile, "phone-waiting")
    staff = staff_console(contexts, server.url, locale="ko-KR")
    staff.wait_for_function(f"document.getElementById('waiting').textContent.includes('{number}')")
    screenshots(staff, "staff-queue")

    # Called: the TV, the phone, the console's "Start A-00x".
    staff.click("article[data-room=room1] .call-next")
    staff.wait_for_selector("article[data-room=room1] .start-called:not([hidden])")
    display.wait_for_selector("[data-room=room1].fresh")
    screenshots(display, "display-calling")
    screenshots(staff, "staff-called")
    staff.click("article[data-room=room1] .call-next")
    staff.wait_for_selector("article[data-room=room1] .room-message.bad")
    screenshots(staff, "staff-room-busy")
    axe_check(staff)

    # Everyone ahead is seen; our patient is called, comes in, finishes.
    for _ in range(8):
        called = staff_api.queue()["in_rooms"]
        if any(t["id"] == ticket["id"] for t in called):
            break
        for t in called:
            staff_api.post(f"/tickets/{t['id']}/finish")
        staff_api.post("/rooms/room1/call-next")
        staff_api.post("/rooms/room2/call-next")
    mobile.wait_for_function("document.getElementById('main').dataset.status === 'called'")
    mobile.wait_for_timeout(500)
    screenshots(mobile, "phone-called")
    staff_api.post(f"/tickets/{ticket['id']}/start")
    mobile.wait_for_function("document.getElementById('main').dataset.status === 'in_consultation'")
    screenshots(mobile, "phone-in-consultation")
    staff_api.post(f"/tickets/{ticket['id']}/finish")
    mobile.wait_for_function("document.getElementById('main').dataset.status === 'finished'")
    screenshots(mobile, "phone-finished")
    axe_check(mobile)

    # Another patient's page: leaving asks first; a no-show is told what to do.
    other = staff_api.check_in("pediatrics", language="ko")
    leaving = phone(other["url"])
    leaving.click("#leave")
    screenshots(leaving, "phone-leave-confirm")
    missed = staff_api.check_in("vaccination", language="ko")
    staff_api.post("/rooms/room4/call-next")
    for t in staff_api.queue()["in_rooms"]:
        if t["room"] == "room4":
            staff_api.post(f"/tickets/{t['id']}/no-show")
    screenshots(phone(missed["url"]), "phone-no-show")

    # The room paused, on the console.
    staff.click("article[data-room=room1] .pause-room")
    staff.wait_for_selector("article[data-room=room1].paused")
    screenshots(staff, "staff-paused")
    staff.click("article[data-room=room1] .pause-room")
    staff.wait_for_selector("article[data-room=room1]:not(.paused)")


def test_a_busy_day_on_the_console_in_korean(server, staff_api, contexts, screenshots):
    for n in range(150):
        staff_api.check_in("general" if n % 3 else "vaccination")
    staff = staff_console(contexts, server.url, locale="ko-KR")
    staff.check("#only-mine")
    staff.wait_for_function("document.querySelectorAll('#waiting tr[data-ticket]').length === 100", timeout=20000)
    staff.evaluate("document.getElementById('queue-area').scrollIntoView()")
    screenshots(staff, "staff-busy-day")
    staff.uncheck("#only-mine")  # the choice is kept in this browser only; leave it as found


def test_a_conversation_and_an_appointment_in_korean(server, phone, staff_api, contexts, screenshots):
    """A patient writes from the phone page and reception answers with a quick reply; a
    patient opens the appointment page with its preparation instructions."""
    close_every_conversation(server)
    ticket = staff_api.check_in("general", language="ko")
    mobile = phone(ticket["url"])
    mobile.wait_for_selector("#thread-form")
    mobile.fill("#thread-body", "주차는 어디에 하나요?")
    mobile.click("#thread-send")
    staff = staff_console(contexts, server.url, locale="ko-KR")
    staff.wait_for_selector("#inbox-badge[data-count='1']", state="visible")
    staff.click("#inbox-list .conversation")
    staff.wait_for_selector("#quick-replies [data-template=parking]")
    staff.click("#quick-replies [data-template=parking]")
    staff.click("#reply-send")
    # An answer to the phone page is "sent" at once and "delivered" as soon as the open page
    # shows it: the console may go straight to the second (it did in two CI runs).
    staff.wait_for_selector("#thread-messages .from-clinic:is(.status-sent, .status-delivered)")
    staff.locator("#inbox").scroll_into_view_if_needed()
    screenshots(staff, "staff-inbox")
    mobile.wait_for_selector("#thread-messages .from-clinic")
    mobile.locator("#thread").scroll_into_view_if_needed()
    screenshots(mobile, "phone-thread")
    axe_check(mobile)

    soon = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0).isoformat()
    booked = staff_api.post(
        "/appointments", json={"service": "general", "starts_at": soon, "language": "ko", "preparation": "endoscopy"}
    ).json()
    page = phone(booked["url"].replace(booked["url"].split("/a/")[0], server.url))
    page.wait_for_selector("#instructions")
    screenshots(page, "appointment-page")
    axe_check(page)
