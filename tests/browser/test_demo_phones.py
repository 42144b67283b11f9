"""The demo of `make run` in a real browser: staff keep the demo phones page open while a
patient checks in and patients are called, and "Turn near" shows up on that patient's card
by itself, without a reload, as their phone would have shown it."""

from __future__ import annotations

from .conftest import STAFF_PASSWORD, STAFF_USER, StaffApi, axe_check, start_clinic


def demo_phones_page(contexts, url: str):
    """Open /demo/messages, sign in on the way, and wait until it is live."""
    page = contexts(viewport={"width": 1366, "height": 900}, locale="en-US").new_page()
    page.goto(f"{url}/demo/messages")
    page.fill("#username", STAFF_USER)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/demo/messages")
    page.wait_for_function("document.getElementById('conn').className === 'conn'")
    return page


def card_shows(text: str) -> str:
    """A JavaScript predicate of a ticket number: its card shows ``text``."""
    return (
        "number => ([...document.querySelectorAll('#phones article')]"
        ".find(a => a.querySelector('h2').textContent === number) || {textContent: ''})"
        f".textContent.includes({text!r})"
    )


def test_turn_near_arrives_on_the_demo_phone_without_a_reload(tmp_path, contexts, screenshots):
    # "Near" by places only (3 ahead), as a fresh clinic's estimates are near by minutes.
    server = start_clinic(tmp_path, {"QUEUE_APP_SERVER_DEMO": "true", "QUEUE_APP_NOTIFY_NEAR_MINUTES": "0"})
    try:
        assert f"{server.url}/demo/messages" in server.log.read_text()  # the welcome text says where
        page = demo_phones_page(contexts, server.url)
        assert page.is_visible("#no-messages")
        page.evaluate("window.__same_page = true")
        staff_api = StaffApi(server)

        # Five check in; the fifth has four ahead, so is not near yet.
        for i in range(5):
            patient = staff_api.check_in("general", phone=f"010-5555-01{i:02d}", consent=True)
        number = patient["number"]
        page.wait_for_function(card_shows("Ticket link"), arg=number)
        card = page.locator("#phones article", has_text=number)
        assert f"you are number {number}" in card.inner_text()
        assert "Turn near" not in card.inner_text()
        assert page.is_hidden("#no-messages")

        response = staff_api.post("/rooms/room1/call-next")  # one fewer ahead: the fifth is near now
        assert response.status_code == 200, response.text
        page.wait_for_function(card_shows("Turn near"), arg=number, timeout=10000)
        newest = card.locator("li").first
        assert newest.locator("strong").inner_text() == "Turn near"
        assert f"number {number}, your turn is near" in newest.inner_text()
        assert "demo phone" in newest.inner_text()
        assert card.locator("li").count() == 2
        # The phones that just buzzed are on top (the call also told the first patient to come
        # in, at the same moment: either may be first), and the page was never reloaded.
        called = response.json()["ticket"]["number"]
        assert {page.locator("#phones article h2").nth(i).inner_text() for i in range(2)} == {number, called}
        assert page.evaluate("window.__same_page") is True

        text = page.inner_text("main")
        assert "•••• 0104" in text and "010-5555-0104" not in text and "+821055550104" not in text
        screenshots(page, "demo-phones")
        axe_check(page)
    finally:
        server.stop()
