"""The kiosk's "I have an appointment": a phone number finds today's appointments (service and
time, never a name), and a tap arrives into the queue like a check-in."""

from __future__ import annotations


def book(client, tokens, starts_at: str, phone: str = "010-1234-5678", **more) -> dict:
    body = {"service": "general", "starts_at": starts_at, "phone": phone, "reference": "EMR-secret", **more}
    answer = client.post("/api/v1/appointments", json=body, headers=tokens.headers("staff"))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def find(client, tokens, phone: str, language: str = "en"):
    body = {"phone": phone, "language": language}
    return client.post("/api/v1/kiosk/appointments", json=body, headers=tokens.headers("kiosk"))


def test_a_phone_number_finds_todays_appointments_without_names(client, tokens):
    today = book(client, tokens, "2026-11-23T10:20:00+09:00")
    book(client, tokens, "2026-11-24T10:20:00+09:00")  # tomorrow: not at today's kiosk
    book(client, tokens, "2026-11-23T11:00:00+09:00", phone="010-9999-0000")  # someone else's
    answer = find(client, tokens, "01012345678")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "appointments": [
            {
                "id": today["id"],
                "service": "general",
                "service_name": "General consultation",
                "local_time": "10:20",
                "arrival_opens": "09:50",
            }
        ]
    }
    assert find(client, tokens, "010-5555-5555").get_json() == {"appointments": []}


def test_a_tap_arrives_into_the_queue_with_a_ticket_like_a_check_in(client, tokens):
    appointment = book(client, tokens, "2026-11-23T10:20:00+09:00")
    body = {"phone": "010-1234-5678"}
    answer = client.post(
        f"/api/v1/kiosk/appointments/{appointment['id']}/arrive", json=body, headers=tokens.headers("kiosk")
    )
    assert answer.status_code == 201
    ticket = answer.get_json()
    assert ticket["number"].startswith("A-") and ticket["url"].endswith(f"/t/{ticket['token']}")
    staff = client.get(f"/api/v1/appointments/{appointment['id']}", headers=tokens.headers("staff")).get_json()
    assert staff["status"] == "arrived"
    [waiting] = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()["waiting"]
    assert waiting["number"] == ticket["number"] and waiting["priority"] == "appointment"
    # Arrived: no longer offered at the kiosk.
    assert find(client, tokens, "010-1234-5678").get_json() == {"appointments": []}


def test_another_number_cannot_arrive_for_an_appointment(client, tokens):
    appointment = book(client, tokens, "2026-11-23T10:20:00+09:00")
    answer = client.post(
        f"/api/v1/kiosk/appointments/{appointment['id']}/arrive",
        json={"phone": "010-9999-0000"},
        headers=tokens.headers("kiosk"),
    )
    assert answer.status_code == 404
    staff = client.get(f"/api/v1/appointments/{appointment['id']}", headers=tokens.headers("staff")).get_json()
    assert staff["status"] == "booked"


def test_the_kiosk_refuses_bad_numbers_and_strangers(client, tokens):
    bad = find(client, tokens, "12")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "phone"
    assert client.post("/api/v1/kiosk/appointments", json={"phone": "010-1234-5678"}).status_code == 401
    display = client.post(
        "/api/v1/kiosk/appointments", json={"phone": "010-1234-5678"}, headers=tokens.headers("display")
    )
    assert display.status_code == 403


def test_a_tap_too_early_is_refused_and_changes_nothing(client, tokens):
    later = book(client, tokens, "2026-11-23T15:00:00+09:00")
    [listed] = find(client, tokens, "010-1234-5678").get_json()["appointments"]
    assert listed["arrival_opens"] == "14:30"
    answer = client.post(
        f"/api/v1/kiosk/appointments/{later['id']}/arrive",
        json={"phone": "010-1234-5678"},
        headers=tokens.headers("kiosk"),
    )
    assert answer.status_code == 409
    assert client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()["waiting"] == []
