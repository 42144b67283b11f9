"""Appointments in a real browser: the kiosk's "I have an appointment" (a phone number, today's
appointment as service and time, no name, a tap, the ticket screen), the staff console's list of
today's appointments, and the patient's appointment page on a phone (confirm, then arrive)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from .conftest import axe_check, staff_console


def test_a_patient_arrives_for_their_appointment_at_the_kiosk(server, staff_api, contexts):
    starts_at = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0).isoformat()
    booked = staff_api.post(
        "/appointments",
        json={"service": "general", "starts_at": starts_at, "phone": "010-4321-8765", "reference": "EMR-KIOSK"},
    )
    assert booked.status_code == 201, booked.text
    page = contexts(viewport={"width": 1280, "height": 800}, locale="en-US").new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.wait_for_selector("#start:not([hidden]) .service-button")
    page.click("button[data-lang=en]")
    page.click("#appointment-start")
    page.wait_for_selector("#appointment:not([hidden])")
    page.fill("#appointment-phone", "010 4321 8765")
    page.click("#appointment-find")
    choice = page.wait_for_selector(".appointment-choice")
    shown = choice.inner_text()
    assert "General consultation" in shown and "EMR-KIOSK" not in shown
    axe_check(page)
    choice.click()
    page.wait_for_selector("#result:not([hidden])")
    number = page.inner_text("#result-number")
    [waiting] = [t for t in staff_api.queue()["waiting"] if t["number"] == number]
    assert waiting["priority"] == "appointment"
    answer = requests.get(
        f"{server.url}/api/v1/appointments/{booked.json()['id']}", headers=staff_api.headers, timeout=10
    )
    assert answer.json()["status"] == "arrived"


def test_a_number_without_an_appointment_today_is_told_to_ask_at_the_desk(server, contexts):
    page = contexts(viewport={"width": 1280, "height": 800}, locale="ko-KR").new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.wait_for_selector("#start:not([hidden]) .service-button")
    page.click("#appointment-start")
    page.fill("#appointment-phone", "010-1111-2222")
    page.click("#appointment-find")
    page.wait_for_function("document.getElementById('appointment-feedback').textContent.includes('접수처')")
    assert page.locator(".appointment-choice").count() == 0
    page.click("#appointment-back")
    page.wait_for_selector("#start:not([hidden])")


def test_staff_see_todays_appointments_and_a_cancellation_at_once(server, staff_api, contexts):
    soon = (datetime.now(UTC) + timedelta(minutes=40)).replace(microsecond=0).isoformat()
    kept = staff_api.post("/appointments", json={"service": "general", "starts_at": soon, "reference": "EMR-A"}).json()
    gone = staff_api.post("/appointments", json={"service": "vaccination", "starts_at": soon, "reference": "EMR-B"})
    laptop = staff_console(contexts, server.url)
    laptop.wait_for_selector(f"#appointments tr[data-appointment='{kept['id']}']")
    row = laptop.inner_text(f"#appointments tr[data-appointment='{kept['id']}']")
    assert "EMR-A" in row and "Booked" in row and "General consultation" in row
    requests.delete(f"{server.url}/api/v1/appointments/{gone.json()['id']}", headers=staff_api.headers, timeout=10)
    # No reload, no refresh: the console's socket hears of the cancellation.
    laptop.wait_for_function(
        f"document.querySelector(\"#appointments tr[data-appointment='{gone.json()['id']}'] .status\")"
        ".textContent === 'Cancelled'",
        timeout=5000,
    )
    axe_check(laptop)


def test_the_appointment_page_on_a_phone_confirms_and_arrives(server, staff_api, contexts):
    soon = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0).isoformat()
    booked = staff_api.post(
        "/appointments", json={"service": "general", "starts_at": soon, "language": "ko", "preparation": "endoscopy"}
    ).json()
    phone = contexts(viewport={"width": 360, "height": 740}, locale="ko-KR").new_page()
    phone.goto(booked["url"].replace(booked["url"].split("/a/")[0], server.url))
    assert "검사 전날 21시 이후 금식하세요" in phone.inner_text("#instructions")
    axe_check(phone)
    phone.click("#confirm")
    phone.wait_for_selector("#arrive")
    assert phone.inner_text("#status-text") == "방문 예정으로 확인되었습니다"
    phone.click("#arrive")
    phone.wait_for_url(f"{server.url}/t/*")
    assert phone.inner_text("#number").startswith("A-")


def test_a_tap_before_arrival_opens_says_from_when(server, staff_api, contexts):
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0).isoformat()
    staff_api.post("/appointments", json={"service": "general", "starts_at": later, "phone": "010-7777-1212"})
    page = contexts(viewport={"width": 1280, "height": 800}, locale="en-US").new_page()
    page.goto(f"{server.url}/kiosk?pair={server.tokens['kiosk']}")
    page.wait_for_selector("#start:not([hidden]) .service-button")
    page.click("button[data-lang=en]")
    page.click("#appointment-start")
    page.fill("#appointment-phone", "010-7777-1212")
    page.click("#appointment-find")
    page.click(".appointment-choice")
    page.wait_for_function(
        "document.getElementById('appointment-feedback').textContent.startsWith('Check-in opens at')"
    )
    assert page.is_visible("#appointment") and page.is_hidden("#result")
