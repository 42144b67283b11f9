"""The staff console's inbox in a real browser: a patient's message reaches every console at once,
staff read and answer it there, and the counts survive a reload."""

from __future__ import annotations

import time

import requests

from .conftest import StaffApi, axe_check, staff_console


def token_of(ticket: dict) -> str:
    return ticket["url"].rsplit("/", 1)[-1]


def patient_writes(server, ticket: dict, body: str) -> dict:
    """The patient writes from their phone page ("Message reception"), as its script does."""
    answer = requests.post(f"{server.url}/api/v1/tickets/{token_of(ticket)}/messages", json={"body": body}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["message"]


def close_every_conversation(server) -> None:
    """An inbox with nothing open, whatever the last test left (conversations outlive tickets)."""
    staff = StaffApi(server)
    listed = requests.get(f"{server.url}/api/v1/conversations?status=open", headers=staff.headers, timeout=10).json()
    for row in listed["conversations"]:
        staff.post(f"/conversations/{row['id']}/close")


def badge(page) -> int:
    return int(page.get_attribute("#inbox-badge", "data-count") or 0)


def test_a_patients_message_shows_its_badge_on_a_second_console_within_two_seconds(server, contexts, staff_api):
    close_every_conversation(server)
    reception = staff_console(contexts, server.url)
    nurse = staff_console(contexts, server.url)
    assert nurse.is_hidden("#inbox-badge")
    ticket = staff_api.check_in(language="ko")

    sent = time.monotonic()
    patient_writes(server, ticket, "주차는 어디에 하나요?")
    nurse.wait_for_selector("#inbox-badge[data-count='1']", state="visible", timeout=2000)
    assert time.monotonic() - sent < 2.0
    reception.wait_for_selector("#inbox-badge[data-count='1']", state="visible", timeout=2000)
    assert reception.title().startswith("(1) ")
    row = nurse.locator("#inbox-list .conversation").first
    assert "주차는 어디에 하나요?" in row.inner_text()
    assert ticket["number"] in row.inner_text()

    # Unread counts live in the database: a reload shows the same badge.
    nurse.reload()
    nurse.wait_for_selector("#inbox-badge[data-count='1']", state="visible")

    # Reception opens it: read on every console, the badge goes away everywhere.
    reception.click("#inbox-list .conversation")
    reception.wait_for_selector("#thread-messages .from-patient")
    nurse.wait_for_selector("#inbox-badge", state="hidden", timeout=2000)
    axe_check(reception)


def test_staff_answer_with_a_quick_reply_in_the_patients_language_and_see_it_delivered(server, contexts, staff_api):
    close_every_conversation(server)
    console = staff_console(contexts, server.url)
    ticket = staff_api.check_in(language="ru")
    patient_writes(server, ticket, "Где парковка?")
    console.wait_for_selector("#inbox-badge[data-count='1']", state="visible")
    console.click("#inbox-list .conversation")
    console.wait_for_selector("#quick-replies [data-template=parking]")

    # Labelled in the console's language by how the text begins, not by its id.
    assert console.inner_text("#quick-replies [data-template=parking]").startswith("You can park behind")
    console.click("#quick-replies [data-template=parking]")
    assert console.input_value("#reply-body") == "Парковка за зданием клиники. Первый час бесплатно."
    console.click("#reply-send")
    # Answers to the phone page are sent at once; the state shows under the answer.
    answer = console.locator("#thread-messages .from-clinic").last
    answer.wait_for()
    assert "Парковка за зданием клиники" in answer.inner_text()
    console.wait_for_selector("#thread-messages .from-clinic.status-sent")
    thread = requests.get(f"{server.url}/api/v1/tickets/{token_of(ticket)}/messages", timeout=10).json()
    assert thread["messages"][-1]["body"].startswith("Парковка за зданием клиники")


def test_staff_take_close_and_reopen_a_conversation(server, contexts, staff_api):
    close_every_conversation(server)
    console = staff_console(contexts, server.url)
    patient_writes(server, staff_api.check_in(language="en"), "Is there a pharmacy nearby?")
    ours = "#inbox-list .conversation:has-text('pharmacy')"
    console.click(ours)
    console.click("#thread-take")
    console.wait_for_selector(ours + " .assigned")
    assert console.input_value("#thread-assign") == "nurse"

    console.click("#thread-close")
    console.wait_for_selector("#inbox-list .empty")
    console.click("#inbox-show-closed")
    console.click(ours)
    console.wait_for_selector("#thread-close:text('Reopen')")
    console.click("#thread-close")
    console.wait_for_selector(ours, state="detached")
    console.click("#inbox-show-open")
    console.wait_for_selector(ours)
    assert console.inner_text("#thread-close") == "Close conversation"


NOTIFICATION_RECORDER = """
(() => {
  window.__notes = [];
  class Recorded { constructor(title, options) { window.__notes.push({title, body: options.body}); } close() {} }
  Recorded.permission = 'granted';
  Recorded.requestPermission = () => Promise.resolve('granted');
  window.Notification = Recorded;
  Object.defineProperty(document, 'hidden', {get: () => window.__background === true});
})();
"""


def test_a_console_in_the_background_shows_a_notification_and_rings_after_a_touch(server, contexts, staff_api):
    close_every_conversation(server)
    context = contexts(viewport={"width": 1366, "height": 900}, locale="en-US")
    context.add_init_script(NOTIFICATION_RECORDER)
    console = staff_console(lambda **_: context, server.url)
    console.click("#inbox-title")  # a touch: the browser now lets the page make sound
    untouched = context.new_page()  # the same nurse's second tab, never touched: silent
    untouched.goto(f"{server.url}/staff")
    untouched.wait_for_selector("#inbox-list li")
    console.evaluate("window.__background = true")
    ticket = staff_api.check_in(language="en")
    patient_writes(server, ticket, "Can I bring my dog?")
    console.wait_for_function("window.__notes.length === 1")
    note = console.evaluate("window.__notes[0]")
    assert note == {"title": f"New message: {ticket['number']} · phone page", "body": "Can I bring my dog?"}
    assert console.evaluate("window.__inboxChimes") == 1
    untouched.wait_for_selector("#inbox-badge[data-count='1']")
    assert untouched.evaluate("window.__inboxChimes") is None

    # In front, the badge and the sound say it; no notification on top.
    console.evaluate("window.__background = false")
    patient_writes(server, staff_api.check_in(language="en"), "And my cat?")
    console.wait_for_function("window.__inboxChimes === 2")
    assert console.evaluate("window.__notes.length") == 1


def sign_in_as_admin(server, contexts):
    """The clinic's admin at the console (made once per test server)."""
    try:
        server.command("create-user", "--username", "head", "--role", "admin", "--password", "head-pass-123")
    except AssertionError:
        pass  # an earlier test on this server made her already
    page = contexts(viewport={"width": 1366, "height": 900}, locale="en-US").new_page()
    page.goto(f"{server.url}/staff")
    page.fill("#username", "head")
    page.fill("#password", "head-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/staff")
    return page


def test_an_admin_adds_a_quick_reply_and_it_fills_the_box_in_the_patients_language(server, contexts, staff_api):
    close_every_conversation(server)
    admin = sign_in_as_admin(server, contexts)
    admin.click(".quick-reply-editor summary")
    admin.wait_for_selector("#template-list [data-template=parking]")
    # The configuration file's quick replies can be overridden here, not deleted.
    assert admin.locator("#template-list [data-template=parking] .danger-outline").count() == 0
    admin.fill("#template-id", "xray")
    admin.fill("#template-text-ko", "엑스레이실은 2층입니다.")
    admin.fill("#template-text-en", "The X-ray room is on the 2nd floor.")
    admin.fill("#template-text-ru", "Рентген-кабинет на втором этаже.")
    admin.click("#template-save")
    admin.wait_for_selector("#template-status:text('Quick reply xray saved.')")
    axe_check(admin)

    patient_writes(server, staff_api.check_in(language="ru"), "Где рентген?")
    admin.click("#inbox-list .conversation:has-text('Где рентген?')")
    admin.click("#quick-replies [data-template=xray]")
    assert admin.input_value("#reply-body") == "Рентген-кабинет на втором этаже."

    admin.click("#template-list [data-template=xray] .danger-outline")
    admin.wait_for_selector("#quick-replies [data-template=xray]", state="detached")
    assert admin.inner_text("#template-status") == "Quick reply xray deleted."


def test_staff_who_are_not_admins_have_no_quick_reply_editor(staff):
    staff.wait_for_selector("#inbox-list li")
    assert staff.locator(".quick-reply-editor").count() == 0
