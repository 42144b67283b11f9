"""Input no database can store and no log should print: refused with 400 or 404, never a 500.

PostgreSQL refuses a NUL byte in any text and the drivers refuse a lone surrogate, so each
case runs on SQLite and on PostgreSQL: the request must be stopped before either sees it.
"""

from __future__ import annotations

import re

import pytest

from queue_app.extensions import db, socketio
from queue_app.request_checks import loggable_path

from ..conftest import Tokens, make_settings, prepare_database
from ..support.apps import clinic_app
from .test_api import assert_error, count


@pytest.fixture
def clinic(any_database_url, clock):
    """An app, its test client and tokens, on SQLite and on the real PostgreSQL."""
    settings = make_settings(any_database_url)
    prepare_database(settings)
    with clinic_app(settings, clock) as app:
        yield app, app.test_client(), Tokens(app, clock)


def tickets(app) -> int:
    from queue_app.models import Ticket

    with app.app_context():
        return count(db.session(), Ticket)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/abc%00def",
        "/api/v1/tickets/abc%0a%00",
        "/api/v1/tickets/line%0aforged",
        "/api/v1/tickets/%1b%5b31m",
    ],
)
def test_control_characters_in_an_api_path_are_404(clinic, path):
    app, client, tokens = clinic
    assert_error(client.get(path), 404, "not_found")
    assert_error(client.delete(path), 404, "not_found")
    assert_error(client.post(path + "/push", json={}), 404, "not_found")


def test_control_characters_in_a_page_path_are_404(clinic):
    _, client, _ = clinic
    assert client.get("/t/abc%00def").status_code == 404
    assert client.get("/t/abc%00def/leave").status_code == 404


def test_control_characters_in_a_staff_path_are_404(clinic):
    _, client, tokens = clinic
    response = client.post("/api/v1/rooms/room1%00/call-next", headers=tokens.headers("staff"))
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"service": "gen\u0000eral"}, "service"),
        ({"service": "general", "phone": "010\u00001234\u00005678"}, "phone"),
        ({"service": "general", "language": "ko\u0007"}, "language"),
        ({"service": "general", "priority": "walk_in\u001b"}, "priority"),
        ({"serv\u0000ice": "general"}, "body"),
    ],
)
def test_control_characters_in_a_json_field_are_400_naming_it(clinic, body, field):
    app, client, tokens = clinic
    response = client.post("/api/v1/tickets", json=body, headers=tokens.headers("kiosk"))
    assert_error(response, 400, "invalid", field)
    assert tickets(app) == 0


@pytest.mark.parametrize(
    "raw, field",
    [
        (b'{"service": "\\ud800"}', "service"),
        (b'{"service": "general", "phone": "010\\udfff12345678"}', "phone"),
        (b'{"service": "general", "extra": {"deep": ["\\udbff"]}}', "extra.deep.0"),
    ],
)
def test_a_lone_surrogate_is_400_naming_the_field(clinic, raw, field):
    app, client, tokens = clinic
    headers = {**tokens.headers("kiosk"), "Content-Type": "application/json"}
    assert_error(client.post("/api/v1/tickets", data=raw, headers=headers), 400, "invalid", field)
    assert tickets(app) == 0


def test_a_paired_surrogate_is_a_character_like_any_other(clinic):
    # "\ud83d\ude00" is one emoji, written as JSON writes characters outside the basic plane.
    _, client, tokens = clinic
    headers = {**tokens.headers("kiosk"), "Content-Type": "application/json"}
    response = client.post("/api/v1/tickets", data=b'{"service": "\\ud83d\\ude00"}', headers=headers)
    assert_error(response, 404, "not_found", "service")


def test_json_nested_30000_deep_is_400(clinic):
    app, client, tokens = clinic
    headers = {**tokens.headers("kiosk"), "Content-Type": "application/json"}
    for raw in (b"[" * 30_000 + b"]" * 30_000, b'{"service": "general", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"):
        assert_error(client.post("/api/v1/tickets", data=raw, headers=headers), 400, "malformed_json", "body")
    assert tickets(app) == 0


def test_json_nested_a_little_is_still_read(clinic):
    app, client, tokens = clinic
    response = client.post(
        "/api/v1/tickets", json={"service": "general", "x": [[[{"y": [1]}]]]}, headers=tokens.headers("kiosk")
    )
    assert response.status_code == 201
    assert tickets(app) == 1


@pytest.mark.parametrize("query, field", [("lang=%00", "lang"), ("lang=ko%0a", "lang"), ("x=%00", "x")])
def test_control_characters_in_the_query_are_400_naming_the_parameter(clinic, query, field):
    _, client, _ = clinic
    assert_error(client.get(f"/api/v1/services?{query}"), 400, "invalid", field)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1970-01-01", "2999-01-01", "2026-11-23%00"])
def test_costs_day_out_of_range_is_400(clinic, day):
    _, client, tokens = clinic
    assert_error(client.get(f"/api/v1/messages/costs?day={day}", headers=tokens.headers("staff")), 400, field="day")


def test_costs_for_a_real_day(clinic):
    _, client, tokens = clinic
    response = client.get("/api/v1/messages/costs?day=2026-11-23", headers=tokens.headers("staff"))
    assert response.status_code == 200
    assert response.get_json()["day"] == "2026-11-23"


def test_a_nul_byte_in_a_login_form_is_refused_not_a_500(clinic):
    _, client, _ = clinic
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf": csrf, "username": "nurse\x00", "password": "pw"})
    assert response.status_code == 400


def test_a_nul_byte_in_the_phone_check_is_400_in_json(clinic):
    _, client, _ = clinic
    response = client.post("/kiosk/phone-check", json={"phone": "010\u00001234"}, headers={"X-Requested-With": "fetch"})
    assert_error(response, 400, "invalid", "phone")


def test_paths_in_the_log_cannot_forge_a_line():
    assert "\n" not in loggable_path("/api/v1/tickets/x\n2026-12-02 ERROR forged")
    assert "\x1b" not in loggable_path("/t/\x1b[31m")
    assert loggable_path("/api/v1/tickets/A-001") == "/api/v1/tickets/A-001"


@pytest.mark.parametrize(
    "auth",
    [
        {"ticket": "A" * 20 + "\x00" + "B" * 10},
        {"ticket": "A" * 20 + "\ud800" + "B" * 10},
        {"ticket": "A" * 20 + "\n"},
        {"token": "staff-\ud800"},
        {"token": "staff-\x00"},
    ],
)
def test_a_live_update_client_with_unstorable_text_in_its_ticket_or_token_is_refused(clinic, auth):
    app, client, _ = clinic
    sio = socketio.test_client(app, flask_test_client=client, auth=auth)
    assert not sio.is_connected()
