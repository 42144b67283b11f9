"""The kiosk's phone number, as a patient standing at it types one: a large keypad with "010"
ready, the number formatted as it grows, only mobile numbers in use taken for texts (and a
reason the patient can act on when not), a consent line that says what is kept, why and how
long, and a printed ticket in the clinic's time."""

from __future__ import annotations

import signal
import time

from .conftest import axe_check, start_clinic


def tap(kiosk, keys: str) -> None:
    for key in keys:
        kiosk.click(f"#keypad button[data-key='{key}']")


def test_the_keypad_types_after_010_and_formats_the_number_as_it_grows(kiosk, screenshots):
    kiosk.click(".service-button[data-service=general]")
    assert kiosk.input_value("#phone") == "010"
    keys = kiosk.locator("#keypad button")
    assert keys.count() == 11  # 1-9, 0 and delete: a telephone's 3x4 with one place empty
    boxes = [keys.nth(i).bounding_box() for i in range(keys.count())]
    assert min(b["width"] for b in boxes) >= 72 and min(b["height"] for b in boxes) >= 64
    assert len({round(b["x"]) for b in boxes}) == 3 and len({round(b["y"]) for b in boxes}) == 4
    assert all(b["y"] + b["height"] <= 800 for b in boxes), "the whole keypad on the screen"

    tap(kiosk, "1234")
    assert kiosk.input_value("#phone") == "010-1234"
    tap(kiosk, "5678")
    assert kiosk.input_value("#phone") == "010-1234-5678"
    kiosk.wait_for_selector("#phone-feedback.good")
    kiosk.click("#keypad-delete")
    assert kiosk.input_value("#phone") == "010-1234-567"
    assert kiosk.get_attribute("#keypad-delete", "aria-label") == "삭제"
    screenshots(kiosk, "kiosk-keypad")
    axe_check(kiosk)

    # Typed on a keyboard, it is formatted the same way.
    kiosk.fill("#phone", "01098765432")
    assert kiosk.input_value("#phone") == "010-9876-5432"


def test_a_landline_or_a_retired_prefix_is_refused_with_a_reason(kiosk):
    kiosk.click("button.lang[data-lang=en]")
    kiosk.click(".service-button[data-service=general]")
    kiosk.fill("#phone", "02-123-4567")
    kiosk.wait_for_selector("#phone-feedback.bad")
    assert "landline" in kiosk.inner_text("#phone-feedback")
    kiosk.fill("#phone", "0171234567")
    kiosk.wait_for_function("document.getElementById('phone-feedback').textContent.includes('no longer in use')")
    assert kiosk.input_value("#phone") == "017-123-4567"
    assert "010-" in kiosk.inner_text("#phone-feedback")  # the example: what to type instead
    assert kiosk.get_attribute("#phone", "aria-invalid") == "true"


def test_the_consent_says_what_is_kept_why_and_how_long(kiosk):
    kiosk.click(".service-button[data-service=general]")
    assert kiosk.inner_text("#consent-label") == (
        "[선택] 개인정보 수집·이용 동의 (항목: 휴대폰 번호 / 목적: 대기 알림 / 보유기간: 30일)"
    )
    kiosk.click("button.lang[data-lang=en]")
    consent = kiosk.inner_text("#consent-label")
    assert "mobile number" in consent and "text you about your turn" in consent and "30 days" in consent


def test_010_alone_is_no_number_and_the_printed_time_is_the_clinics(server, kiosk, staff_api, contexts):
    """A patient who leaves "010" as it was gets a ticket without a phone; the ticket says
    the clinic's time though this tablet is set to another zone."""
    context = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR", timezone_id="Pacific/Honolulu")
    page = context.new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.click(".service-button[data-service=general]")
    page.click("#check-in")
    page.wait_for_selector("#result:not([hidden])")
    number = page.inner_text("#result-number")
    ticket = next(t for t in staff_api.queue()["waiting"] if t["number"] == number)
    assert ticket["phone"] is None and ticket["tv_only"]
    clinic_time = page.evaluate(
        "([at, zone]) => new Intl.DateTimeFormat('ko', {hour: '2-digit', minute: '2-digit', hourCycle: 'h23', "
        "timeZone: zone}).format(new Date(at))",
        [
            ticket["checked_in_at"],
            page.evaluate("fetch('/kiosk/setup.json').then(r => r.json()).then(s => s.timezone)"),
        ],
    )
    printed = page.text_content("#result-time")
    assert clinic_time in printed, (clinic_time, printed)
    page.emulate_media(media="print")
    assert page.is_visible("#result-time")
    assert page.evaluate("getComputedStyle(document.getElementById('result-time')).wordBreak") == "keep-all"


#: Counts the kiosk's print requests instead of opening the browser's print dialog.
COUNT_PRINTS = "window.__prints = 0; window.print = () => { window.__prints += 1; };"


def test_with_auto_print_each_new_ticket_is_printed_without_a_tap(tmp_path, contexts):
    server = start_clinic(tmp_path, {"QUEUE_APP_KIOSK_AUTO_PRINT": "true"})
    try:
        page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
        page.add_init_script(COUNT_PRINTS)
        page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
        for expected in (1, 2):
            page.click(".service-button[data-service=general]")
            page.click("#check-in")
            page.wait_for_selector("#result:not([hidden])")
            assert page.evaluate("window.__prints") == expected
            page.click("#done")
    finally:
        server.stop(signal.SIGTERM)


def test_without_auto_print_the_ticket_is_printed_only_when_asked(kiosk):
    kiosk.add_init_script(COUNT_PRINTS)
    kiosk.reload()
    kiosk.click(".service-button[data-service=general]")
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#result:not([hidden])")
    assert kiosk.evaluate("window.__prints") == 0
    kiosk.click("#print")
    assert kiosk.evaluate("window.__prints") == 1


def test_the_appointment_button_has_its_text_when_its_script_arrives_after_the_setup(server, contexts):
    """The kiosk's setup can come back before ``appointment.js`` has loaded (a slow network):
    the "I have an appointment" button still gets its text, not an empty button."""
    page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()

    def late(route):
        time.sleep(1.5)
        route.continue_()

    page.route("**/kiosk/appointment.js", late)
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.wait_for_selector("#start:not([hidden]) .service-button")
    page.wait_for_function("() => window.Kiosk && document.readyState === 'complete'")
    assert page.text_content("#appointment-start").strip() != ""
    axe_check(page)
