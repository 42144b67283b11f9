"""Message bodies are plain text on every screen that shows them: markup a patient (or anyone) writes
appears as the characters they typed in the staff console, on the phone page and through the
website widget, and runs nothing."""

from __future__ import annotations

from tests.support.xss import PAYLOADS, assert_nothing_ran, watch_dialogs

from . import test_contact_widget
from .conftest import staff_console
from .test_inbox import close_every_conversation, patient_writes
from .test_phone_thread import conversation_of

#: The clinic's website (another origin) embedding the widget, and its queue server.
website = test_contact_widget.website


def test_markup_from_a_patient_is_literal_text_in_the_staff_console(server, contexts, staff_api):
    close_every_conversation(server)
    console = staff_console(contexts, server.url)
    opened = watch_dialogs(console)
    ticket = staff_api.check_in(language="en")
    for body in PAYLOADS:
        patient_writes(server, ticket, body)
    console.wait_for_selector(f"#inbox-badge[data-count='{len(PAYLOADS)}']")
    # The newest message is the row's preview, word for word.
    assert console.inner_text("#inbox-list .preview") == PAYLOADS[-1]

    console.click("#inbox-list .conversation")
    console.wait_for_selector(f"#thread-messages .from-patient >> nth={len(PAYLOADS) - 1}")
    shown = console.locator("#thread-messages .from-patient .body").all_inner_texts()
    assert shown == PAYLOADS
    assert_nothing_ran(console, opened, "#inbox")


def test_markup_in_staff_answers_is_literal_text_on_the_phone_page(server, staff_api, phone):
    ticket = staff_api.check_in(language="ko")
    page = phone(ticket["url"])
    opened = watch_dialogs(page)
    page.wait_for_selector("#thread-form")
    page.fill("#thread-body", PAYLOADS[0])
    page.click("#thread-send")
    page.wait_for_selector("#thread-messages .from-patient")
    conversation = conversation_of(staff_api, ticket)
    for body in PAYLOADS:
        assert staff_api.post(f"/conversations/{conversation}/reply", json={"body": body}).status_code == 201
    page.wait_for_selector(f"#thread-messages .from-clinic >> nth={len(PAYLOADS) - 1}")
    assert page.locator("#thread-messages .from-clinic .body").all_inner_texts() == PAYLOADS
    assert page.inner_text("#thread-messages .from-patient .body") == PAYLOADS[0]
    # The live region reads the last answer out as it was written.
    assert page.inner_text("#thread-announcer") == "접수처 답장: " + PAYLOADS[-1]
    assert_nothing_ran(page, opened, "#thread")


def test_markup_sent_through_the_website_widget_is_literal_text_in_the_staff_console(website, contexts):
    server, site = website
    body, when = PAYLOADS[0], PAYLOADS[2]
    page = contexts(viewport={"width": 1280, "height": 800}, locale="en-US").new_page()
    opened = watch_dialogs(page)
    page.goto(site + "/")
    page.click("[data-clinic-widget] button[aria-expanded]")
    page.fill("#clinic-widget-phone", "010-5678-9012")
    page.fill("#clinic-widget-message", body)
    page.check("[data-clinic-widget] input[type=checkbox]")
    page.fill("#clinic-widget-preferred_time", when)
    page.click("[data-clinic-widget] button[type=submit]")
    page.wait_for_function("document.getElementById('clinic-widget-status').textContent.startsWith('Спасибо')")
    assert_nothing_ran(page, opened, "[data-clinic-widget]")

    console = staff_console(contexts, server.url)
    seen = watch_dialogs(console)
    row = console.locator("#inbox-list .conversation:has-text('9012')")
    assert row.locator(".preview").inner_text() == body
    assert row.locator(".callback").inner_text().endswith(when)
    row.click()
    console.wait_for_selector("#thread-messages .from-patient")
    assert console.inner_text("#thread-messages .from-patient .body") == body
    assert console.inner_text("#thread-facts").endswith(when)
    assert_nothing_ran(console, seen, "#inbox")
