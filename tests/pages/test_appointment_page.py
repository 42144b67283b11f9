"""The appointment page ``/a/<token>``: time, place and instructions in the patient's language,
confirm and cancel by its buttons, and "I have arrived" from the opening into the queue."""

from __future__ import annotations

import pytest


@pytest.fixture
def book(client, tokens):
    def book(**fields) -> dict:
        body = {"service": "general", "starts_at": "2026-11-23T11:00:00+09:00", "phone": "010-1234-5678", **fields}
        answer = client.post("/api/v1/appointments", json=body, headers=tokens.headers("staff"))
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    return book


def page_of(client, appointment: dict, **query) -> str:
    answer = client.get(f"/a/{appointment['token']}", query_string=query)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "when", "where", "instructions", "confirm"),
    [
        ("ko", "11월 23일 월요일 11:00", "일반 진료", "검사 전날 21시 이후 금식하세요", "방문할게요"),
        ("en", "Mon, November 23 11:00", "General consultation", "Do not eat after 21:00 the evening", "I will come"),
        ("ru", "пн, 23 ноября 11:00", "Общий приём", "Не ешьте после 21:00 накануне", "Я приду"),
    ],
)
def test_the_page_shows_time_place_and_instructions_in_the_patients_language(
    client, book, language, when, where, instructions, confirm
):
    page = page_of(client, book(language=language, preparation="endoscopy"))
    assert when in page and instructions in page and confirm in page
    assert f"Hanbit Family Clinic · {where}" in page


def test_the_patient_confirms_and_then_cancels_from_the_page(client, book, tokens):
    appointment = book(language="en")
    confirmed = client.post(f"/a/{appointment['token']}/confirm")
    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith(f"/a/{appointment['token']}")
    page = page_of(client, appointment)
    assert "You confirmed your appointment" in page and 'id="confirm"' not in page
    client.post(f"/a/{appointment['token']}/cancel")
    page = page_of(client, appointment)
    assert "This appointment is cancelled" in page and 'id="cancel"' not in page
    staff = client.get(f"/api/v1/appointments/{appointment['id']}", headers=tokens.headers("staff")).get_json()
    assert staff["status"] == "cancelled"
    # Too late to change it back: the page says so and nothing changes.
    refused = client.post(f"/a/{appointment['token']}/confirm", follow_redirects=True)
    assert "This cannot be done any more" in refused.get_data(as_text=True)


def test_arrival_opens_thirty_minutes_before_and_leads_to_the_ticket_page(client, book, clock, tokens):
    appointment = book(language="en")  # 11:00; the clock says 10:00
    assert 'id="arrive"' not in page_of(client, appointment)
    too_early = client.post(f"/a/{appointment['token']}/arrive", follow_redirects=True)
    assert "from 30 minutes before your appointment" in too_early.get_data(as_text=True)
    clock.advance(minutes=30)
    assert 'id="arrive"' in page_of(client, appointment)
    arrived = client.post(f"/a/{appointment['token']}/arrive")
    assert arrived.status_code == 303 and "/t/" in arrived.headers["Location"]
    ticket_page = client.get(arrived.headers["Location"])
    assert ticket_page.status_code == 200
    staff = client.get(f"/api/v1/appointments/{appointment['id']}", headers=tokens.headers("staff")).get_json()
    assert staff["status"] == "arrived" and staff["ticket_id"] is not None
    queue = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()
    [waiting] = queue["waiting"]
    assert waiting["id"] == staff["ticket_id"] and waiting["priority"] == "appointment"
    # A second tap gives the same ticket, not another.
    again = client.post(f"/a/{appointment['token']}/arrive")
    assert again.headers["Location"] == arrived.headers["Location"]
    assert 'id="ticket"' in page_of(client, appointment)


def test_an_unknown_link_is_the_friendly_not_found_page(client):
    assert client.get("/a/" + "x" * 32).status_code == 404
    assert client.post("/a/" + "x" * 32 + "/confirm").status_code == 404
