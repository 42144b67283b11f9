""" "Message reception" on the patient's phone page, in a real browser: the patient writes, reception
answers from the console, and the answer appears on the phone at once, read out to screen readers."""

from __future__ import annotations

import time

import requests

from .conftest import axe_check, staff_console
from .test_inbox import close_every_conversation, token_of


def conversation_of(staff_api, ticket: dict) -> int:
    """The inbox's conversation tied to this ticket."""
    listed = requests.get(f"{staff_api.server.url}/api/v1/conversations", headers=staff_api.headers, timeout=10).json()
    return next(row["id"] for row in listed["conversations"] if (row["ticket"] or {}).get("id") == ticket["id"])


def test_a_patient_writes_to_reception_and_sees_the_answer_arrive_live_in_korean(server, staff_api, phone):
    ticket = staff_api.check_in(language="ko")
    page = phone(ticket["url"])
    page.wait_for_selector("#thread:not([hidden]) #thread-form")
    assert page.inner_text("#thread-title") == "접수처에 메시지 보내기"
    assert page.is_visible("#thread-empty")

    page.fill("#thread-body", "주차는 어디에 하나요?")
    page.click("#thread-send")
    page.wait_for_selector("#thread-messages .from-patient:has-text('주차는 어디에 하나요?')")
    assert page.input_value("#thread-body") == ""
    assert page.is_hidden("#thread-empty")

    answer = staff_api.post(
        f"/conversations/{conversation_of(staff_api, ticket)}/reply", json={"body": "건물 뒤 주차장을 이용하세요."}
    )
    assert answer.status_code == 201, answer.text
    page.wait_for_selector("#thread-messages .from-clinic:has-text('건물 뒤 주차장을 이용하세요.')", timeout=2000)
    assert "접수처" in page.inner_text("#thread-messages .from-clinic .meta")
    # Screen readers hear the answer (a polite live region), not the whole thread again.
    assert page.inner_text("#thread-announcer") == "접수처 답장: 건물 뒤 주차장을 이용하세요."
    # The page says it showed the answer: the inbox has it delivered, and no SMS or push follows.
    shown = f"{staff_api.server.url}/api/v1/conversations/{conversation_of(staff_api, ticket)}"
    deadline = time.monotonic() + 2
    while not requests.get(shown, headers=staff_api.headers, timeout=10).json()["messages"][-1]["seen_at"]:
        assert time.monotonic() < deadline, "the page did not say it showed the answer"
        time.sleep(0.05)
    axe_check(page)

    # A reload shows the same thread, from the API.
    page.reload()
    page.wait_for_selector("#thread-messages .from-clinic")
    assert page.locator("#thread-messages .message").count() == 2


def test_an_empty_message_is_not_sent_and_a_closed_ticket_cannot_write(server, staff_api, phone):
    ticket = staff_api.check_in(language="en")
    page = phone(ticket["url"], locale="en-US")
    page.wait_for_selector("#thread-form")
    page.fill("#thread-body", "   ")
    page.click("#thread-send")
    assert page.inner_text("#thread-error") == "Please write a message first."
    assert requests.get(f"{server.url}/api/v1/tickets/{token_of(ticket)}/messages", timeout=10).json() == {
        "messages": []
    }

    staff_api.post(f"/tickets/{ticket['id']}/cancel")
    page.wait_for_selector("#thread-closed")
    assert page.is_hidden("#thread-form")


def test_a_late_keyword_is_answered_on_the_phone_and_shown_as_such_in_the_console(server, contexts, staff_api, phone):
    close_every_conversation(server)
    console = staff_console(contexts, server.url)
    ticket = staff_api.check_in(language="ko")
    page = phone(ticket["url"])
    page.wait_for_selector("#thread-form")
    page.fill("#thread-body", "늦어요")
    page.click("#thread-send")
    # The automatic answer comes back live, in Korean, as reception's.
    page.wait_for_selector("#thread-messages .from-clinic", timeout=2000)
    assert page.inner_text("#thread-announcer").startswith("접수처 답장: ")

    # The row's preview is the newest message (the answer); the ticket's number finds it.
    console.click(f"#inbox-list .conversation:has-text('{ticket['number']} ')")
    patient = console.locator("#thread-messages .from-patient")
    patient.wait_for()
    assert patient.locator(".keyword").inner_text() == "Keyword: running late"
    assert "Automatic answer" in console.inner_text("#thread-messages .from-clinic .meta")

    # The page says what "late" means; the console's queue shows the patient as late, and
    # reception can say they are here (the page's note goes).
    page.wait_for_selector("#late-note:not([hidden])", timeout=2000)
    assert "접수처" in page.inner_text("#late-note")
    row = console.locator(f"#waiting tr[data-ticket='{ticket['id']}']")
    row.locator(".badge.late").wait_for(timeout=2000)
    assert row.locator(".badge.late").inner_text() == "Running late"
    row.locator("button.arrived").click()
    console.wait_for_function(
        f"!document.querySelector(\"#waiting tr[data-ticket='{ticket['id']}'] .badge.late\")", timeout=2000
    )
    page.wait_for_selector("#late-note", state="hidden", timeout=2000)
    assert f"{ticket['number']} is here" in console.inner_text("#announcer")
