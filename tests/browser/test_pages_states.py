"""Each page's states in a real browser: languages, errors, reconnects, no JavaScript."""

from __future__ import annotations

import requests

from ..notify.test_restart import sms_env
from .conftest import StaffApi, axe_check, staff_console, start_clinic


def test_unpaired_kiosk_and_display_explain_pairing(server, contexts, screenshots):
    page = contexts(locale="en-US").new_page()
    page.goto(f"{server.url}/kiosk")
    assert "not set up as a kiosk" in page.inner_text("h1")
    screenshots(page, "kiosk-unpaired")
    axe_check(page)
    page.goto(f"{server.url}/display?pair=not-a-token")
    assert "not valid" in page.inner_text(".alert")


def test_the_kiosk_speaks_three_languages_and_refuses_a_wrong_phone(kiosk, screenshots):
    assert kiosk.inner_text("#start-lead") == "진료 항목을 눌러 주세요"
    kiosk.click("button.lang[data-lang=ru]")
    assert kiosk.inner_text("#start-lead") == "Выберите услугу"
    assert "Общий приём" in kiosk.inner_text(".service-button[data-service=general]")
    screenshots(kiosk, "kiosk-start-ru")
    kiosk.click("button.lang[data-lang=en]")
    kiosk.click(".service-button[data-service=vaccination]")
    kiosk.fill("#phone", "12345")
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#phone-feedback.bad")
    assert kiosk.get_attribute("#phone", "aria-invalid") == "true"
    axe_check(kiosk)
    # A good number without consent asks for the box, and checks nobody in.
    kiosk.fill("#phone", "010-2222-3333")
    kiosk.wait_for_selector("#phone-feedback.good")
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#consent-feedback:not([hidden])")
    assert kiosk.is_visible("#details")


def test_the_kiosk_retries_while_the_server_is_down_and_makes_one_ticket(server, kiosk, staff_api, screenshots):
    kiosk.click(".service-button[data-service=pediatrics]")
    server.stop()
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#sending-retry:not([hidden])")
    assert kiosk.is_hidden("#result")
    screenshots(kiosk, "kiosk-offline-retrying")
    server.start()
    kiosk.wait_for_selector("#result:not([hidden])", timeout=15000)
    queue = requests.get(f"{server.url}/api/v1/queue", headers=staff_api.headers, timeout=10).json()
    assert [t["number"] for t in queue["waiting"]] == [kiosk.inner_text("#result-number")]


def test_the_display_reconnects_and_resyncs_after_a_server_restart(server, display, staff_api, screenshots):
    server.restart()
    # The restart was quick; the page is back by itself and shows what happened meanwhile.
    ticket = staff_api.check_in("vaccination")
    staff_api.post("/rooms/room4/call-next")
    display.wait_for_selector(f"[data-room=room4] .room-number:text-is('{ticket['number']}')", timeout=15000)
    assert display.is_hidden("#offline")
    assert display.inner_text("[data-room=room4] .room-name") == "주사실"


def test_the_display_shows_its_offline_indicator(server, display, screenshots):
    server.stop()
    display.wait_for_selector("#offline:not([hidden])", timeout=8000)
    screenshots(display, "display-offline")
    server.start()
    display.wait_for_selector("#offline", state="hidden", timeout=15000)


def test_calls_that_come_together_are_announced_one_after_another(server, display, staff_api):
    first, second = staff_api.check_in("general"), staff_api.check_in("vaccination")
    staff_api.post("/rooms/room1/call-next")
    staff_api.post("/rooms/room4/call-next")
    display.wait_for_function("window.__spoken.length >= 6", timeout=10000)
    spoken = [s["text"] for s in display.evaluate("window.__spoken")]
    assert f"A {int(first['number'][2:])}" in spoken[0] and f"V {int(second['number'][2:])}" in spoken[3]
    assert display.evaluate("window.__overlaps") == 0
    assert display.inner_text("[data-room=room1] .room-number") == first["number"]
    assert display.inner_text("[data-room=room4] .room-number") == second["number"]


def test_the_patient_page_without_javascript(server, staff_api, phone, screenshots):
    ticket = staff_api.check_in("general", language="ru")
    page = phone(ticket["url"], javascript=False)
    assert page.inner_text("#number") == ticket["number"]
    assert page.inner_text("#status-text") == "Вы в очереди"
    assert page.locator("noscript").count() >= 1
    screenshots(page, "phone-no-javascript")
    page.click("#leave")
    page.click("button[type=submit]")
    assert page.inner_text("#status-text") == "Вы вышли из очереди."


def test_the_patient_leaves_with_a_confirmation(server, staff_api, phone, screenshots):
    ticket = staff_api.check_in("general", language="ko")
    page = phone(ticket["url"])
    page.click("#leave")
    assert page.is_visible("#leave-dialog")
    axe_check(page)
    page.click("#leave-yes")
    page.wait_for_function("document.getElementById('status-text').textContent === '대기를 취소했습니다.'")


def test_a_wrong_link_shows_the_friendly_page(server, phone, screenshots):
    page = phone(f"{server.url}/t/{'x' * 40}", locale="en-US")
    assert page.inner_text("h1") == "This link does not work"
    screenshots(page, "phone-not-found")
    axe_check(page)


def test_a_busy_room_is_a_clear_message_not_a_second_call(server, staff, staff_api, screenshots):
    first, second = staff_api.check_in("general"), staff_api.check_in("general")
    staff.click("article[data-room=room1] .call-next")
    staff.wait_for_function(
        f"document.querySelector('article[data-room=room1] .state').textContent.includes('{first['number']}')"
    )
    staff.click("article[data-room=room1] .call-next")
    message = staff.locator("article[data-room=room1] .room-message")
    message.wait_for()
    staff.wait_for_function(
        "document.querySelector('article[data-room=room1] .room-message').textContent.includes('already has')"
    )
    assert "bad" in message.get_attribute("class")
    queue = requests.get(f"{server.url}/api/v1/queue", headers=staff_api.headers, timeout=10).json()
    assert [t["number"] for t in queue["waiting"]] == [second["number"]]
    # Pause and resume.
    staff.click("article[data-room=room1] .actions button:has-text('Pause room')")
    staff.wait_for_selector("article[data-room=room1].paused")
    assert staff.is_disabled("article[data-room=room1] .call-next")
    staff.click("article[data-room=room1] .actions button:has-text('Resume room')")
    staff.wait_for_selector("article[data-room=room1]:not(.paused)")


def test_the_login_page(server, contexts, screenshots):
    page = contexts(locale="ru-RU").new_page()
    page.goto(f"{server.url}/login")
    assert page.inner_text("h1") == "Вход для персонала"
    page.fill("#username", "nurse")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    assert "Неверное имя" in page.inner_text("#login-error")
    screenshots(page, "login-error")
    axe_check(page)


def test_the_call_list_shows_whom_to_phone_and_clears_when_reached(tmp_path, contexts, screenshots):
    """No channel is configured in this clinic: a patient with a phone whose turn comes near
    lands on the call list with their number to dial, and "Reached" takes them off.

    A clinic of its own, with "near" by places only (3 ahead): the shared one has learned
    near-zero consultations from the other tests, so everyone there is near by minutes.
    """
    server = start_clinic(tmp_path, {"QUEUE_APP_NOTIFY_NEAR_MINUTES": "0"})
    try:
        check_the_call_list(server, staff_console(contexts, server.url), StaffApi(server), screenshots)
    finally:
        server.stop()


def check_the_call_list(server, staff, staff_api, screenshots):
    def waiting(ticket_id):
        return next((t for t in staff_api.queue()["waiting"] if t["id"] == ticket_id), None)

    # The fifth patient has four ahead: not near yet, so not told at the desk.
    for i in range(5):
        patient = staff_api.check_in("general", phone=f"010-2222-33{i:02d}", consent=True)
    assert not any(m["kind"] == "turn_near" for m in waiting(patient["id"])["messages"])
    number = patient["number"]
    for _ in range(12):
        if waiting(patient["id"])["needs_call"]:
            break
        response = staff_api.post("/rooms/room1/call-next")
        assert response.status_code == 200, response.text
        staff_api.post(f"/tickets/{response.json()['ticket']['id']}/finish")
    assert waiting(patient["id"])["needs_call"]

    staff.wait_for_function(f"document.getElementById('call-list').textContent.includes('{number}')")
    item = staff.locator("#call-list li", has_text=number)
    assert "phone them" in item.inner_text()
    phone = item.locator("a.phone")
    assert phone.get_attribute("href") == f"tel:+8210222233{i:02d}"
    assert phone.inner_text() == f"Phone 010-2222-33{i:02d}"
    row = staff.locator("#waiting tr", has_text=number)
    assert "Turn near: failed" in row.inner_text()
    row.locator("details summary").click()
    assert "no channel can reach this patient" in row.locator("details ol").inner_text()
    staff.evaluate("document.getElementById('call-list-panel').scrollIntoView()")
    screenshots(staff, "staff-call-list")
    axe_check(staff)

    item.get_by_role("button", name=f"{number} reached").click()
    staff.wait_for_function(f"!document.getElementById('call-list').textContent.includes('{number}')")
    assert "Nobody to call" in staff.inner_text("#call-list")
    assert staff.inner_text("#costs") == "No messages sent today."  # this clinic sends none
    assert waiting(patient["id"])["needs_call"] is False


def test_staff_watch_a_message_go_out_and_what_it_cost(tmp_path, contexts, http_server, screenshots):
    """A clinic texting by SMS (a local server speaking Twilio's API): the console shows the
    confirmation text turn from waiting to sent as it happens, and today's cost."""
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "e" * 32, "status": "queued"})
    server = start_clinic(tmp_path, sms_env(http_server.url, QUEUE_APP_NOTIFY_NEAR_MINUTES="0"))
    try:
        staff = staff_console(contexts, server.url)
        assert staff.inner_text("#costs") == "No messages sent today."
        patient = StaffApi(server).check_in("general", phone="010-7777-0001", consent=True)
        row = staff.locator("#waiting tr", has_text=patient["number"])
        staff.wait_for_function(
            "number => [...document.querySelectorAll('#waiting tr')].some("
            "r => r.textContent.includes(number) && r.textContent.includes('Ticket link: sent (SMS)'))",
            arg=patient["number"],
        )
        assert [r.form()["To"][0] for r in http_server.requests] == ["+821077770001"]
        # The cost panel catches up a few seconds later (it refreshes at most every 3 s).  The
        # check-in text carries its page link: over 90 bytes, a Korean LMS at `cost_long`.
        staff.wait_for_function("document.getElementById('costs').textContent.includes('₩50')", timeout=10000)
        assert "SMS" in staff.inner_text("#costs")
        assert "reach" not in row.inner_text()  # reachable: no warning badge
    finally:
        server.stop()


def test_the_kiosk_says_a_number_already_has_a_ticket_and_sends_the_patient_to_the_desk(kiosk, screenshots):
    for attempt in range(2):
        kiosk.click("button.lang[data-lang=en]")
        kiosk.click(".service-button[data-service=vaccination]")
        kiosk.fill("#phone", "010-4444-5555")
        kiosk.check("#consent")
        kiosk.click("#check-in")
        if attempt == 0:
            kiosk.wait_for_selector("#result:not([hidden])")
            kiosk.click("#done")
    kiosk.wait_for_selector("#sending-error:not([hidden])")
    assert kiosk.inner_text("#sending-error") == (
        "This number already has a ticket for this service today. Please ask at the reception desk."
    )
    assert kiosk.is_hidden("#result") and kiosk.is_visible("#sending-cancel")
    screenshots(kiosk, "kiosk-already-checked-in")
    axe_check(kiosk)
