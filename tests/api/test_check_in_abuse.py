"""Check-in cannot be turned against the clinic or its patients.

Writes must be JSON (a cross-site page cannot send it without asking); anonymous check-ins are
counted per address; a phone number holds one open ticket per service a day; an idempotency key
is its caller's own, for the day, and for one request.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app import create_app
from queue_app.extensions import db
from queue_app.models import Ticket

from ..conftest import Tokens, make_settings, prepare_database
from .test_api import assert_error, check_in, count

PHONE = "010-2345-6789"


@pytest.fixture
def public_clinic(tmp_path, clock):
    """Public check-in on, at most 3 anonymous check-ins an hour from one address."""
    settings = make_settings(
        f"sqlite:///{tmp_path / 'public.db'}",
        clinic={"public_check_in": True, "public_check_ins_per_address_per_hour": 3},
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    yield app
    db.session.remove()
    db.engine.dispose()


def anonymous(client, address: str, **body):
    body.setdefault("service", "general")
    return client.post("/api/v1/tickets", json=body, environ_base={"REMOTE_ADDR": address})


def tickets(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Ticket))


# -- only JSON is written -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_body_that_is_not_json_is_415_and_changes_nothing(client, tokens, session, content_type):
    headers = {**tokens.headers("kiosk"), **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/api/v1/tickets", data='{"service": "general"}', headers=headers)
    assert_error(response, 415, "unsupported_media_type", "Content-Type")
    assert count(session) == 0


def test_a_cross_site_text_plain_check_in_is_refused_even_when_check_in_is_public(public_clinic):
    client = public_clinic.test_client()
    response = client.post("/api/v1/tickets", data='{"service": "general"}', content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type", "Content-Type")
    assert tickets(public_clinic) == 0


def test_json_with_a_charset_and_writes_without_a_body_pass(client, tokens):
    headers = {**tokens.headers("kiosk"), "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/api/v1/tickets", data='{"service": "general"}', headers=headers).status_code == 201
    # "Call next" has nothing to send: no body, no type needed.
    assert client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff")).status_code == 200


def test_other_writes_with_a_text_body_are_415_too(client, tokens):
    ticket = check_in(client, tokens)
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/transfer",
        data='{"service": "vaccination"}',
        content_type="text/plain",
        headers=tokens.headers("staff"),
    )
    assert_error(response, 415, "unsupported_media_type")
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["service"] == "general"


# -- anonymous check-ins per address --------------------------------------------------------------


def test_anonymous_check_ins_from_one_address_are_limited_with_retry_after(public_clinic):
    client = public_clinic.test_client()
    for _ in range(3):
        assert anonymous(client, "198.51.100.20").status_code == 201
    refused = anonymous(client, "198.51.100.20")
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert tickets(public_clinic) == 3
    # Someone at another address checks in as usual.
    assert anonymous(client, "198.51.100.21").status_code == 201


def test_kiosks_and_staff_are_not_counted_against_the_address(public_clinic, clock):
    client = public_clinic.test_client()
    tokens = Tokens(public_clinic, clock)
    for _ in range(3):
        assert anonymous(client, "192.0.2.5").status_code == 201
    assert_error(anonymous(client, "192.0.2.5"), 429, "rate_limited")
    for role in ("kiosk", "kiosk", "staff", "admin"):
        response = client.post(
            "/api/v1/tickets",
            json={"service": "general"},
            headers=tokens.headers(role),
            environ_base={"REMOTE_ADDR": "192.0.2.5"},
        )
        assert response.status_code == 201, response.get_json()


def test_a_forged_device_cookie_does_not_escape_the_count(public_clinic):
    client = public_clinic.test_client()
    client.set_cookie("queue_device", "not-a-real-device-token")
    for _ in range(3):
        assert anonymous(client, "192.0.2.6").status_code == 201
    assert_error(anonymous(client, "192.0.2.6"), 429, "rate_limited")


# -- one open ticket per phone number -------------------------------------------------------------


def test_a_second_check_in_with_one_number_is_409_without_the_other_ticket(client, tokens, session):
    first = check_in(client, tokens, phone=PHONE, consent=True)
    again = client.post(
        "/api/v1/tickets", json={"service": "general", "phone": "+82 10 2345 6789"}, headers=tokens.headers("kiosk")
    )
    assert_error(again, 409, "already_checked_in", "phone")
    text = again.get_data(as_text=True)
    assert first["token"] not in text and first["number"] not in text
    assert count(session) == 1


def test_the_same_number_may_check_in_for_another_service_or_once_the_first_visit_ended(client, tokens):
    first = check_in(client, tokens, phone=PHONE)
    check_in(client, tokens, phone=PHONE, service="vaccination")
    assert_error(
        client.post("/api/v1/tickets", json={"service": "general", "phone": PHONE}, headers=tokens.headers("kiosk")),
        409,
        "already_checked_in",
    )
    client.delete(f"/api/v1/tickets/{first['token']}")  # the patient left the queue
    check_in(client, tokens, phone=PHONE)


def test_the_next_day_the_number_checks_in_again(client, tokens, clock):
    check_in(client, tokens, phone=PHONE)
    clock.advance(days=1)
    check_in(client, tokens, phone=PHONE)


def test_staff_may_give_a_shared_family_phone_a_second_ticket(client, tokens, session):
    check_in(client, tokens, phone=PHONE)
    second = check_in(client, tokens, role="staff", phone=PHONE, shared_phone=True)
    assert second["number"] == "A-002"
    kiosk = client.post(
        "/api/v1/tickets",
        json={"service": "general", "phone": PHONE, "shared_phone": True},
        headers=tokens.headers("kiosk"),
    )
    assert_error(kiosk, 403, "forbidden", "shared_phone")
    # Without the override, staff are held to the rule like everyone.
    staff = client.post("/api/v1/tickets", json={"service": "general", "phone": PHONE}, headers=tokens.headers("staff"))
    assert_error(staff, 409, "already_checked_in")
    bad = client.post(
        "/api/v1/tickets", json={"service": "general", "shared_phone": "yes"}, headers=tokens.headers("staff")
    )
    assert_error(bad, 400, "invalid", "shared_phone")
    assert count(session) == 2


def test_a_clinic_may_turn_the_rule_off(tmp_path, clock):
    settings = make_settings(f"sqlite:///{tmp_path / 'off.db'}", clinic={"one_open_ticket_per_phone": False})
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    client, tokens = app.test_client(), Tokens(app, clock)
    check_in(client, tokens, phone=PHONE)
    check_in(client, tokens, phone=PHONE)
    db.session.remove()
    db.engine.dispose()


def test_a_refused_second_check_in_does_not_use_up_a_number(client, tokens):
    check_in(client, tokens, phone=PHONE)
    client.post("/api/v1/tickets", json={"service": "general", "phone": PHONE}, headers=tokens.headers("kiosk"))
    assert check_in(client, tokens)["number"] == "A-002"


# -- idempotency keys are the caller's own ---------------------------------------------------------


def test_another_caller_repeating_a_key_gets_a_ticket_of_its_own_not_the_first(client, tokens, clock, app):
    key = {"Idempotency-Key": "kiosk-tap-000001"}
    first = client.post("/api/v1/tickets", json={"service": "general"}, headers={**tokens.headers("kiosk"), **key})
    other_kiosk = Tokens(app, clock)  # a second kiosk: its own token
    second = client.post(
        "/api/v1/tickets", json={"service": "general"}, headers={**other_kiosk.headers("kiosk"), **key}
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.get_json()["token"] != first.get_json()["token"]
    assert first.get_json()["token"] not in second.get_data(as_text=True)


def test_a_key_repeated_with_another_body_is_409_idempotency_mismatch(client, tokens, session):
    headers = {**tokens.headers("kiosk"), "Idempotency-Key": "kiosk-tap-000002"}
    first = client.post("/api/v1/tickets", json={"service": "general"}, headers=headers)
    other = client.post("/api/v1/tickets", json={"service": "vaccination"}, headers=headers)
    assert_error(other, 409, "idempotency_mismatch", "Idempotency-Key")
    assert first.get_json()["token"] not in other.get_data(as_text=True)
    # The same body, keys in another order: the same request, the same ticket.
    again = client.post(
        "/api/v1/tickets",
        data='{ "language": "ko", "service": "general" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_error(again, 409, "idempotency_mismatch")  # "language" was not in the first body
    same = client.post(
        "/api/v1/tickets", data='{"service":"general"}', headers={**headers, "Content-Type": "application/json"}
    )
    assert same.status_code == 200 and same.get_json()["token"] == first.get_json()["token"]
    assert count(session) == 1


def test_a_key_is_for_one_day(client, tokens, clock):
    headers = {**tokens.headers("kiosk"), "Idempotency-Key": "kiosk-tap-000003"}
    first = client.post("/api/v1/tickets", json={"service": "general"}, headers=headers)
    clock.advance(days=1)
    next_day = client.post("/api/v1/tickets", json={"service": "general"}, headers=headers)
    assert next_day.status_code == 201 and next_day.get_json()["token"] != first.get_json()["token"]


def test_anonymous_keys_are_scoped_to_the_address(public_clinic):
    client = public_clinic.test_client()
    headers = {"Idempotency-Key": "phone-tap-000004"}
    first = client.post(
        "/api/v1/tickets", json={"service": "general"}, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.30"}
    )
    repeat = client.post(
        "/api/v1/tickets", json={"service": "general"}, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.30"}
    )
    stranger = client.post(
        "/api/v1/tickets", json={"service": "general"}, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.31"}
    )
    assert (first.status_code, repeat.status_code, stranger.status_code) == (201, 200, 201)
    assert repeat.get_json()["token"] == first.get_json()["token"]
    assert first.get_json()["token"] not in stranger.get_data(as_text=True)
