"""Appointments over the API: staff book, list and cancel; bad input is refused naming the field."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_app.extensions import socketio


def book(client, tokens, **fields):
    body = {"service": "general", "starts_at": "2026-11-24T10:30:00+09:00", "phone": "010-1234-5678", **fields}
    return client.post("/api/v1/appointments", json=body, headers=tokens.headers("staff"))


def test_staff_book_an_appointment_and_find_it_on_its_day(client, tokens):
    answer = book(client, tokens, preparation="endoscopy", reference="EMR-77", language="ru")
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["status"] == "booked" and body["reference"] == "EMR-77"
    assert body["url"].endswith(f"/a/{body['token']}") and len(body["token"]) >= 32
    assert body["starts_at"] == "2026-11-24T01:30:00+00:00" and body["local_time"] == "10:30"
    assert body["phone"] == "•••• 5678"
    listed = client.get("/api/v1/appointments?day=2026-11-24", headers=tokens.headers("staff")).get_json()
    assert [a["id"] for a in listed["appointments"]] == [body["id"]]
    assert client.get("/api/v1/appointments", headers=tokens.headers("staff")).get_json()["appointments"] == []
    one = client.get(f"/api/v1/appointments/{body['id']}", headers=tokens.headers("staff")).get_json()
    assert one["token"] == body["token"]


def test_the_same_reference_at_the_same_time_is_booked_once(client, tokens):
    first = book(client, tokens, reference="EMR-1")
    again = book(client, tokens, reference="EMR-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]


def test_staff_cancel_an_appointment_once(client, tokens):
    appointment = book(client, tokens).get_json()
    cancelled = client.delete(f"/api/v1/appointments/{appointment['id']}", headers=tokens.headers("staff"))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = client.delete(f"/api/v1/appointments/{appointment['id']}", headers=tokens.headers("staff"))
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"starts_at": "2026-11-23T09:00:00+09:00"}, "starts_at"),
        ({"starts_at": "2026-11-24T10:30:00"}, "starts_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": None}, "starts_at"),
        ({"service": "dentistry"}, "service"),
        ({"service": 7}, "service"),
        ({"preparation": "colonoscopy"}, "preparation"),
        ({"phone": "12"}, "phone"),
        ({"language": "fr"}, "language"),
        ({"reference": "x" * 65}, "reference"),
        ({"email": "not an address"}, "email"),
    ],
)
def test_bad_bookings_are_refused_naming_the_field(client, tokens, fields, field):
    answer = book(client, tokens, **fields)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == field
    listed = client.get("/api/v1/appointments?day=2026-11-24", headers=tokens.headers("staff")).get_json()
    assert listed["appointments"] == []


def test_appointments_are_for_staff(client, tokens):
    assert book(client, tokens).status_code == 201
    body = {"service": "general", "starts_at": "2026-11-24T10:30:00+09:00"}
    assert client.post("/api/v1/appointments", json=body).status_code == 401
    assert client.post("/api/v1/appointments", json=body, headers=tokens.headers("kiosk")).status_code == 403
    assert client.get("/api/v1/appointments", headers=tokens.headers("display")).status_code == 403
    bad_day = client.get("/api/v1/appointments?day=24.11.2026", headers=tokens.headers("staff"))
    assert bad_day.status_code == 400 and bad_day.get_json()["error"]["field"] == "day"
    assert client.get("/api/v1/appointments/999", headers=tokens.headers("staff")).status_code == 404


def test_the_patients_link_answers_over_the_api_too(client, tokens):
    appointment = book(client, tokens, preparation="vaccination", language="en").get_json()
    view = client.get(f"/api/v1/appointment-links/{appointment['token']}").get_json()
    assert view["instructions"] == "Please bring the vaccination record."
    assert view["actions"] == ["confirm", "cancel"] and "reference" not in view and "phone" not in view
    confirmed = client.post(f"/api/v1/appointment-links/{appointment['token']}/confirm").get_json()
    assert confirmed["status"] == "confirmed" and confirmed["actions"] == ["cancel"]
    assert client.post(f"/api/v1/appointment-links/{appointment['token']}/dance").status_code == 404


def test_the_openapi_document_lists_the_appointment_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/appointments", "/appointments/{id}", "/appointment-links/{token}", "/kiosk/appointments"} <= set(paths)


def appointment_events(sio) -> list[dict]:
    return [e["args"][0] for e in sio.get_received() if e["name"] == "appointments"]


def test_every_staff_console_hears_at_once_when_an_appointment_changes(app, client, tokens, clock):
    """Booked, confirmed, cancelled, arrived: each reaches the consoles, never the displays."""
    console = socketio.test_client(app, flask_test_client=client, auth={"token": tokens["staff"]})
    display = socketio.test_client(app, flask_test_client=client, auth={"token": tokens["display"]})
    for sio in (console, display):
        sio.get_received()
    soon = (clock.now() + timedelta(minutes=20)).isoformat()

    kept = book(client, tokens, starts_at=soon, phone="010-1111-2222").get_json()
    gone = book(client, tokens, starts_at=soon, phone="010-3333-4444").get_json()
    client.post(f"/api/v1/appointment-links/{kept['token']}/confirm")
    client.delete(f"/api/v1/appointments/{gone['id']}", headers=tokens.headers("staff"))
    arrived = client.post(
        f"/api/v1/kiosk/appointments/{kept['id']}/arrive",
        json={"phone": "010-1111-2222"},
        headers=tokens.headers("kiosk"),
    )
    assert arrived.status_code == 201, arrived.get_json()

    day = clock.now().astimezone(ZoneInfo("Asia/Seoul")).date().isoformat()
    assert appointment_events(console) == [
        {"appointments": [{"id": kept["id"], "day": day, "status": "booked"}]},
        {"appointments": [{"id": gone["id"], "day": day, "status": "booked"}]},
        {"appointments": [{"id": kept["id"], "day": day, "status": "confirmed"}]},
        {"appointments": [{"id": gone["id"], "day": day, "status": "cancelled"}]},
        {"appointments": [{"id": kept["id"], "day": day, "status": "arrived"}]},
    ]
    assert appointment_events(display) == []
