"""The staff console on a real day, in a real browser: what the big button does while a patient
is on the way, results that say what happened, a transfer that asks where the patient goes,
a busy day of 150 waiting, and refusals that are shown on the page, not logged as errors."""

from __future__ import annotations

import pytest
import requests

from .conftest import STAFF_USER, axe_check


@pytest.fixture
def console_errors(staff):
    """Every error the staff console's browser console logs during the test (a refused
    request logs one too: "Failed to load resource: ... 409")."""
    errors = []
    staff.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    staff.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def room1(staff, part: str):
    return staff.locator(f"article[data-room=room1] {part}")


def wait_for_message(staff, text: str):
    staff.wait_for_function(
        "text => document.querySelector('article[data-room=room1] .room-message').textContent.includes(text)",
        arg=text,
    )
    return room1(staff, ".room-message").inner_text()


def test_while_a_patient_is_on_the_way_the_big_button_starts_them(staff, staff_api, console_errors, screenshots):
    first, second = staff_api.check_in("general"), staff_api.check_in("general")
    assert room1(staff, ".start-called").is_hidden()
    room1(staff, ".call-next").click()
    assert wait_for_message(staff, "called to Room 1") == f"{first['number']} called to Room 1."

    start = room1(staff, ".start-called")
    start.wait_for()
    assert start.inner_text().split("\n") == [f"Start {first['number']}", "called just now"]
    call_next = room1(staff, ".call-next")
    assert "secondary" in call_next.get_attribute("class") and "primary" not in call_next.get_attribute("class")
    assert start.bounding_box()["height"] > call_next.bounding_box()["height"]
    assert start.bounding_box()["y"] < call_next.bounding_box()["y"]

    # "Call next" is still there; pressing it says why it cannot call, and calls nobody.
    call_next.click()
    assert "already has a patient on the way" in wait_for_message(staff, "already has")
    assert "bad" in room1(staff, ".room-message").get_attribute("class")
    assert [t["number"] for t in staff_api.queue()["waiting"]] == [second["number"]]

    start.click()
    assert wait_for_message(staff, "in consultation") == f"{first['number']} is in consultation in Room 1."
    start.wait_for(state="hidden")
    assert "primary" in call_next.get_attribute("class")
    room1(staff, ".actions button:has-text('Finish')").click()
    assert wait_for_message(staff, "finished") == f"{first['number']} finished."
    room1(staff, ".call-next").click()
    wait_for_message(staff, second["number"])
    room1(staff, ".actions button:has-text('No-show')").click()
    assert wait_for_message(staff, "no-show") == f"{second['number']} marked no-show."
    axe_check(staff)
    assert console_errors == []


def test_the_start_button_counts_the_minutes_since_the_call(staff, staff_api):
    ticket = staff_api.check_in("general")
    staff_api.post("/rooms/room1/call-next")
    start = room1(staff, ".start-called")
    start.wait_for()
    # Three minutes pass on the staff laptop's clock.
    staff.evaluate("() => { const now = Date.now; Date.now = () => now() + 3 * 60000; }")
    staff.wait_for_function(
        "document.querySelector('article[data-room=room1] .since-call').textContent === 'called 3 min ago'",
        timeout=20000,
    )
    assert start.inner_text().startswith(f"Start {ticket['number']}")


def test_a_transfer_keeps_the_place_unless_asked_and_says_where_the_patient_went(staff, staff_api, console_errors):
    sent_on = staff_api.check_in("general")
    for _ in range(2):
        staff_api.check_in("vaccination")
    staff_api.post("/rooms/room1/call-next")
    room1(staff, ".start-called").click()
    wait_for_message(staff, "in consultation")

    # The default: the place their check-in time gives them, ahead of the two who came later.
    keep = room1(staff, ".transfer input[value=keep]")
    assert keep.is_checked()
    assert room1(staff, ".transfer").inner_text().startswith("Transfer to")
    assert "Keep their place (checked in at" in room1(staff, ".transfer").inner_text()
    room1(staff, ".transfer select").select_option("vaccination")
    room1(staff, ".transfer button").click()
    assert wait_for_message(staff, "→") == f"{sent_on['number']} → Vaccination, place 1 in line."
    vaccination = [t["number"] for t in staff_api.queue()["waiting"] if t["service"] == "vaccination"]
    assert vaccination[0] == sent_on["number"] and len(vaccination) == 3

    # Sent to the back of a line, they are last in it.
    back = staff_api.check_in("general")
    staff_api.post("/rooms/room1/call-next")
    room1(staff, ".start-called").wait_for()
    room1(staff, ".transfer input[value=back]").check()
    room1(staff, ".transfer select").select_option("vaccination")
    room1(staff, ".transfer button").click()
    assert wait_for_message(staff, back["number"] + " →") == f"{back['number']} → Vaccination, place 4 in line."
    assert console_errors == []


def test_a_busy_day_of_150_waiting_stays_usable(server, staff, staff_api, screenshots):
    tickets = [staff_api.check_in("general" if n % 3 else "vaccination") for n in range(150)]
    staff.wait_for_function("document.querySelectorAll('#waiting tr[data-ticket]').length === 150", timeout=20000)
    assert "busy" in staff.get_attribute("#queue-area", "class")

    # The call list stands beside the table, in sight while the table scrolls.
    table = staff.locator(".waiting-panel").bounding_box()
    calls = staff.locator("#call-list-panel").bounding_box()
    assert calls["x"] >= table["x"] + table["width"] and abs(calls["y"] - table["y"]) < 2
    assert staff.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Only my rooms' services: room 1 calls for general consultations only.
    staff.check("#only-mine")
    staff.wait_for_function("document.querySelectorAll('#waiting tr[data-ticket]').length === 100")
    assert set(staff.locator("#waiting tr td:nth-child(2)").all_inner_texts()) == {"General consultation"}
    assert staff.inner_text("#counts") == "General consultation: 100"

    # The table is updated in place: a row stays the same element (its open history, the
    # focus in it) while others come and go around it.
    last = tickets[-1]
    row = f"#waiting tr[data-ticket='{last['id']}']"
    staff.evaluate(f"document.querySelector(\"{row}\").dataset.seen = 'yes'")
    staff_api.post("/rooms/room1/call-next")
    newcomer = staff_api.check_in("general")
    staff.wait_for_selector(f"#waiting tr[data-ticket='{newcomer['id']}']")
    staff.wait_for_function(f"!document.querySelector(\"#waiting tr[data-ticket='{tickets[1]['id']}']\")")
    assert staff.get_attribute(row, "data-seen") == "yes"
    numbers = [n.strip() for n in staff.locator("#waiting tr td.num").all_inner_texts()]
    expected = [t["number"] for t in staff_api.queue()["waiting"] if t["service"] == "general"]
    assert numbers == expected and numbers[-1] == newcomer["number"]
    axe_check(staff)

    # The choice is kept for the next visit to the console.
    staff.reload()
    staff.wait_for_function("document.getElementById('conn').className === 'conn'")
    staff.wait_for_timeout(500)  # the live connection's whole view, after the page's own
    assert staff.locator("#waiting tr[data-ticket]").count() == 100
    assert staff.is_checked("#only-mine")


def test_a_wrong_password_is_shown_on_the_page_and_no_page_logs_a_missing_file(server, contexts, staff_api):
    """No 404 on any page load (a favicon included) and no error in the console."""
    context = contexts(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    errors, missing = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    page.goto(f"{server.url}/login")
    page.fill("#username", STAFF_USER)
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert page.is_visible("#login-error")
    ticket = staff_api.check_in("general")
    for url in (
        f"/kiosk?pair={server.tokens['kiosk']}",
        f"/display?pair={server.tokens['display']}",
        ticket["url"].replace(server.url, ""),
        "/login",
    ):
        page.goto(server.url + url)
        page.wait_for_load_state("networkidle")
    icon = requests.get(f"{server.url}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.headers["Content-Type"] == "image/png"
    assert missing == []
    assert errors == []
