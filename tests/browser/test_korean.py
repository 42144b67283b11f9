"""Korean on every page: lines break between words, and particles follow the noun."""

from __future__ import annotations

from queue_app.particles import fill

from .conftest import staff_console

WORDS = ["1번 진료실", "검사방", "주사실", "접수처", "진료실 3", "창구 6", "Room 1", "L", "2층 진료실 (내과)", "내과실"]
TEXTS = ["{room|로} 오세요", "{room|이} 일시 중지됨", "{room|를} 선택", "{room|은}", "{room|와}"]


def test_the_pages_scripts_choose_particles_as_the_server_does(server, staff_api, phone):
    """The rule lives twice (particles.py for the server and texts, dom.js for the pages): the
    same words get the same particle in both."""
    page = phone(staff_api.check_in("general", language="ko")["url"])
    for text in TEXTS:
        in_browser = page.evaluate("([t, words]) => words.map(w => Dom.fill(t, {room: w}))", [text, WORDS])
        assert in_browser == [fill(text, {"room": w}) for w in WORDS]


def test_a_korean_patient_is_sent_to_the_room_with_the_right_particle(server, staff_api, phone, display):
    ticket = staff_api.check_in("vaccination", language="ko")
    page = phone(ticket["url"])
    staff_api.post("/rooms/room4/call-next")
    page.wait_for_function("document.getElementById('room').textContent === '주사실로 오세요'")
    assert "(으)" not in page.inner_text("body")


def test_korean_breaks_between_words_on_every_page(server, staff_api, phone, kiosk, display, contexts):
    staff = staff_console(contexts, server.url, locale="ko-KR")
    patient = phone(staff_api.check_in("general", language="ko")["url"])
    for page in (patient, kiosk, display, staff):
        assert page.evaluate("document.documentElement.lang") == "ko"
        breaks = page.evaluate(
            "() => [...document.querySelectorAll('h1, h2, p, li, dd, dt, label, button, span')]"
            ".filter(e => e.offsetParent !== null && e.textContent.trim())"
            ".map(e => getComputedStyle(e).wordBreak)"
        )
        assert breaks and set(breaks) == {"keep-all"}, (page.url, set(breaks))
    kiosk.emulate_media(media="print")
    assert kiosk.evaluate("getComputedStyle(document.body).wordBreak") == "keep-all"
