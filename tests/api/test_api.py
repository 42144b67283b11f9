"""The REST API: every endpoint, and every kind of bad input answered clearly, changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.config import EXAMPLE_CONFIG
from queue_app.models import Ticket, TicketEvent

from ..conftest import make_settings, prepare_database


def check_in(client, tokens, role="kiosk", **body):
    body.setdefault("service", "general")
    response = client.post("/api/v1/tickets", json=body, headers=tokens.headers(role))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count(session, model=Ticket):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) >= {"code", "message"} and error["message"]
    if code:
        assert error["code"] == code
    if field:
        assert error["field"] == field


# -- services ----------------------------------------------------------------------------------


def test_services_list_counts_waiting_and_estimates(client, tokens):
    check_in(client, tokens)
    check_in(client, tokens)
    services = client.get("/api/v1/services").get_json()
    assert [s["id"] for s in services] == ["general", "pediatrics", "vaccination"]
    general = services[0]
    assert general["waiting"] == 2
    assert general["name"] == "일반 진료"  # the clinic's default language
    # Two ahead, and a newcomer would wait for them: more than an empty service.
    assert general["estimated_wait_minutes"] > services[1]["estimated_wait_minutes"]
    assert client.get("/api/v1/services?lang=ru").get_json()[0]["name"] == "Общий приём"


def test_services_with_unoffered_language_is_400(client):
    assert_error(client.get("/api/v1/services?lang=fr"), 400, field="lang")


# -- check-in ----------------------------------------------------------------------------------


def test_check_in_answers_with_ticket_token_and_links(client, tokens):
    body = check_in(client, tokens, phone="010-1234-5678", language="ru")
    assert set(body) >= {
        "id",
        "number",
        "token",
        "status",
        "position",
        "estimated_wait_minutes",
        "estimate_low_minutes",
        "estimate_high_minutes",
        "url",
        "qr_url",
    }
    assert body["number"] == "A-001" and body["status"] == "waiting" and body["position"] == 1
    assert body["url"].endswith("/t/" + body["token"])
    assert body["estimate_low_minutes"] <= body["estimated_wait_minutes"] <= body["estimate_high_minutes"]
    qr = client.get(body["qr_url"].replace("http://localhost", ""))
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data


def test_phone_is_stored_in_international_form(client, tokens, session):
    body = check_in(client, tokens, phone="010-1234-5678")
    assert session.get(Ticket, body["id"]).phone == "+821012345678"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"service": "general", "phone": "12"}, "phone"),
        ({"service": "general", "phone": "not a phone"}, "phone"),
        ({"service": "general", "phone": 1012345678}, "phone"),
        ({"service": "general", "language": "fr"}, "language"),
        ({"service": 7}, "service"),
        ({}, "service"),
        ({"service": "general", "priority": "vip"}, "priority"),
    ],
)
def test_check_in_bad_fields_are_400_naming_the_field(client, tokens, session, body, field):
    assert_error(client.post("/api/v1/tickets", json=body, headers=tokens.headers("kiosk")), 400, field=field)
    assert count(session) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"general"', b"\xff\xfe"])
def test_malformed_json_is_400(client, tokens, session, raw):
    response = client.post(
        "/api/v1/tickets", data=raw, headers={**tokens.headers("kiosk"), "Content-Type": "application/json"}
    )
    assert_error(response, 400, "malformed_json", "body")
    assert count(session) == 0


def test_unknown_service_is_404(client, tokens, session):
    response = client.post("/api/v1/tickets", json={"service": "dentistry"}, headers=tokens.headers("kiosk"))
    assert_error(response, 404, "not_found", "service")
    assert count(session) == 0


def test_body_over_64_kib_is_413(client, tokens, session):
    response = client.post(
        "/api/v1/tickets",
        data=b'{"service": "general", "pad": "' + b"x" * 70_000 + b'"}',
        headers={**tokens.headers("kiosk"), "Content-Type": "application/json"},
    )
    assert_error(response, 413, "too_large")
    assert count(session) == 0


def test_check_in_needs_a_token_unless_public(client, tokens, session):
    assert_error(client.post("/api/v1/tickets", json={"service": "general"}), 401, "unauthorized")
    bad = {"Authorization": "Bearer nope"}
    assert_error(client.post("/api/v1/tickets", json={"service": "general"}, headers=bad), 401)
    assert_error(client.post("/api/v1/tickets", json={"service": "general"}, headers=tokens.headers("display")), 403)
    assert count(session) == 0


def test_public_check_in_when_enabled(tmp_path, clock):
    from queue_app import create_app

    settings = make_settings(f"sqlite:///{tmp_path / 'p.db'}", clinic={"public_check_in": True})
    prepare_database(settings)
    client = create_app(settings, clock=clock).test_client()
    response = client.post("/api/v1/tickets", json={"service": "vaccination"})
    assert response.status_code == 201
    assert response.get_json()["number"] == "V-001"
    # A patient cannot give themselves priority.
    assert_error(client.post("/api/v1/tickets", json={"service": "general", "priority": "urgent"}), 403)


def test_only_staff_give_priority(client, tokens):
    assert_error(
        client.post(
            "/api/v1/tickets", json={"service": "general", "priority": "urgent"}, headers=tokens.headers("kiosk")
        ),
        403,
        field="priority",
    )
    urgent = check_in(client, tokens, role="staff", priority="urgent")
    assert urgent["position"] == 1


def test_repeated_tap_with_idempotency_key_makes_one_ticket(client, tokens, session):
    headers = {**tokens.headers("kiosk"), "Idempotency-Key": "kiosk-1-tap-42"}
    first = client.post("/api/v1/tickets", json={"service": "general"}, headers=headers)
    second = client.post("/api/v1/tickets", json={"service": "general"}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["token"] == second.get_json()["token"]
    assert count(session) == 1
    bad = {**tokens.headers("kiosk"), "Idempotency-Key": "no spaces allowed"}
    assert_error(client.post("/api/v1/tickets", json={"service": "general"}, headers=bad), 400)


# -- the patient's ticket ----------------------------------------------------------------------


def test_patient_view_and_room_once_called(client, tokens):
    first = check_in(client, tokens)
    second = check_in(client, tokens)
    view = client.get(f"/api/v1/tickets/{second['token']}").get_json()
    assert (view["position"], view["ahead"], view["status"]) == (2, 1, "waiting")
    assert "room" not in view and "phone" not in view and "token" not in view
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    called = client.get(f"/api/v1/tickets/{first['token']}").get_json()
    assert called["status"] == "called" and called["room"] == "room1"
    assert called["room_names"]["en"] == "Room 1"
    assert client.get(f"/api/v1/tickets/{second['token']}").get_json()["position"] == 1


@pytest.mark.parametrize("token", ["x", "A" * 32, "../../etc/passwd", "A" * 300])
def test_unknown_token_is_404(client, token):
    assert_error(client.get(f"/api/v1/tickets/{token}"), 404)
    assert_error(client.delete(f"/api/v1/tickets/{token}"), 404)


def test_patient_leaves_once(client, tokens, session):
    ticket = check_in(client, tokens)
    response = client.delete(f"/api/v1/tickets/{ticket['token']}")
    assert response.status_code == 200 and response.get_json()["status"] == "left"
    assert_error(client.delete(f"/api/v1/tickets/{ticket['token']}"), 409, "illegal_transition")
    assert count(session, TicketEvent) == 2  # checked_in, left: the second press wrote nothing


# -- rooms, calls and staff actions --------------------------------------------------------------


def test_rooms_list_for_staff(client, tokens):
    rooms = client.get("/api/v1/rooms", headers=tokens.headers("staff")).get_json()
    assert [r["id"] for r in rooms] == ["room1", "room2", "room3", "room4"]
    assert rooms[1] == {**rooms[1], "name": "2번 진료실", "services": ["general", "pediatrics"], "status": "open"}


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/rooms"),
        ("get", "/api/v1/queue"),
        ("post", "/api/v1/rooms/room1/call-next"),
        ("post", "/api/v1/rooms/room1/pause"),
        ("post", "/api/v1/tickets/1/finish"),
    ],
)
def test_staff_endpoints_need_a_staff_token(client, tokens, method, path):
    assert_error(getattr(client, method)(path), 401)
    assert_error(getattr(client, method)(path, headers={"Authorization": "Bearer wrong"}), 401)
    assert_error(getattr(client, method)(path, headers={"Authorization": "Basic abc"}), 401)
    for role in ("kiosk", "display"):
        assert_error(getattr(client, method)(path, headers=tokens.headers(role)), 403, "forbidden")


def test_call_next_then_204_when_nobody_waits(client, tokens):
    ticket = check_in(client, tokens)
    response = client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    assert response.status_code == 200
    assert response.get_json()["ticket"]["number"] == ticket["number"]
    client.post(f"/api/v1/tickets/{ticket['id']}/finish", headers=tokens.headers("staff"))
    empty = client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    assert empty.status_code == 204 and empty.data == b""


def test_double_clicked_call_next_calls_one_and_skips_nobody(client, tokens, session):
    first = check_in(client, tokens)
    second = check_in(client, tokens)
    staff = tokens.headers("staff")
    one = client.post("/api/v1/rooms/room1/call-next", headers=staff)
    two = client.post("/api/v1/rooms/room1/call-next", headers=staff)
    assert one.get_json()["ticket"]["id"] == first["id"]
    assert_error(two, 409, "room_busy")
    assert session.get(Ticket, second["id"]).status == "waiting"


def test_call_next_unknown_room_is_404(client, tokens):
    assert_error(client.post("/api/v1/rooms/room9/call-next", headers=tokens.headers("staff")), 404, field="room")


def test_ticket_actions_through_a_whole_visit(client, tokens, session):
    ticket = check_in(client, tokens)
    staff = tokens.headers("staff")
    client.post("/api/v1/rooms/room1/call-next", headers=staff)
    for action, status in [("recall", "called"), ("start", "in_consultation"), ("finish", "finished")]:
        response = client.post(f"/api/v1/tickets/{ticket['id']}/{action}", headers=staff)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["ticket"]["status"] == status
    kinds = session.scalars(
        select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket["id"]).order_by(TicketEvent.id)
    ).all()
    assert kinds == ["checked_in", "called", "recalled", "consultation_started", "finished"]


def test_no_show_and_cancel(client, tokens):
    staff = tokens.headers("staff")
    missing = check_in(client, tokens)
    duplicate = check_in(client, tokens)
    client.post("/api/v1/rooms/room1/call-next", headers=staff)
    assert (
        client.post(f"/api/v1/tickets/{missing['id']}/no-show", headers=staff).get_json()["ticket"]["status"]
        == "no_show"
    )
    assert (
        client.post(f"/api/v1/tickets/{duplicate['id']}/cancel", headers=staff).get_json()["ticket"]["status"]
        == "cancelled"
    )


def test_transfer_needs_a_known_service(client, tokens, session):
    staff = tokens.headers("staff")
    ticket = check_in(client, tokens)
    assert_error(client.post(f"/api/v1/tickets/{ticket['id']}/transfer", json={}, headers=staff), 400, field="service")
    assert_error(
        client.post(f"/api/v1/tickets/{ticket['id']}/transfer", json={"service": "dentistry"}, headers=staff), 404
    )
    moved = client.post(f"/api/v1/tickets/{ticket['id']}/transfer", json={"service": "vaccination"}, headers=staff)
    assert moved.status_code == 200
    assert moved.get_json()["ticket"]["service"] == "vaccination"


def test_transfer_keeps_the_place_only_when_asked_with_a_true_or_false(client, tokens, session, clock):
    staff = tokens.headers("staff")
    first = check_in(client, tokens)
    clock.advance(minutes=10)
    vaccination = check_in(client, tokens, service="vaccination")
    clock.advance(minutes=5)
    url = f"/api/v1/tickets/{first['id']}/transfer"
    assert_error(
        client.post(url, json={"service": "vaccination", "keep_place": "yes"}, headers=staff), 400, field="keep_place"
    )
    moved = client.post(url, json={"service": "vaccination", "keep_place": True}, headers=staff)
    assert moved.status_code == 200
    waiting = client.get("/api/v1/queue", headers=staff).get_json()["waiting"]
    assert [t["id"] for t in waiting if t["service"] == "vaccination"] == [first["id"], vaccination["id"]]


def test_illegal_transition_is_409_and_changes_nothing(client, tokens, session):
    ticket = check_in(client, tokens)
    staff = tokens.headers("staff")
    before = count(session, TicketEvent)
    assert_error(client.post(f"/api/v1/tickets/{ticket['id']}/finish", headers=staff), 409, "illegal_transition")
    assert_error(client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=staff), 409)
    assert count(session, TicketEvent) == before
    assert session.get(Ticket, ticket["id"]).status == "waiting"


def test_unknown_ticket_or_action_is_404(client, tokens):
    staff = tokens.headers("staff")
    assert_error(client.post("/api/v1/tickets/999/finish", headers=staff), 404)
    assert_error(client.post("/api/v1/tickets/99999999999999999999999/finish", headers=staff), 404)
    assert_error(client.post("/api/v1/tickets/0/finish", headers=staff), 404)
    ticket = check_in(client, tokens)
    assert_error(client.post(f"/api/v1/tickets/{ticket['id']}/teleport", headers=staff), 404)


def test_pause_and_resume_room(client, tokens):
    staff = tokens.headers("staff")
    check_in(client, tokens)
    assert client.post("/api/v1/rooms/room1/pause", headers=staff).get_json()["room"]["status"] == "paused"
    assert_error(client.post("/api/v1/rooms/room1/call-next", headers=staff), 409, "room_paused")
    assert_error(client.post("/api/v1/rooms/room1/pause", headers=staff), 409)
    assert client.post("/api/v1/rooms/room1/resume", headers=staff).get_json()["room"]["status"] == "open"
    assert client.post("/api/v1/rooms/room1/call-next", headers=staff).status_code == 200
    assert_error(client.post("/api/v1/rooms/room1/dance", headers=staff), 404)


def test_queue_for_staff_lists_waiting_and_in_rooms_with_estimates(client, tokens):
    staff = tokens.headers("staff")
    check_in(client, tokens, phone="01012345678")
    check_in(client, tokens)
    check_in(client, tokens, service="vaccination")
    client.post("/api/v1/rooms/room1/call-next", headers=staff)
    queue = client.get("/api/v1/queue", headers=staff).get_json()
    assert [t["number"] for t in queue["in_rooms"]] == ["A-001"]
    assert [(t["number"], t["position"]) for t in queue["waiting"]] == [("A-002", 1), ("V-001", 1)]
    assert all(t["estimated_wait_minutes"] is not None for t in queue["waiting"])
    assert queue["in_rooms"][0]["phone"] == "•••• 5678"
    # The example clinic has no messaging channel configured: nobody can be messaged, and
    # staff see it (tests/notify covers clinics with channels).
    assert queue["in_rooms"][0]["reachable"] is False and queue["in_rooms"][0]["channels"] == []


def test_openapi_document_lists_every_endpoint(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) >= {
        "/services",
        "/tickets",
        "/tickets/{token}",
        "/tickets/{id}/{action}",
        "/rooms",
        "/rooms/{room}/call-next",
        "/queue",
    }


def test_unknown_api_path_and_method_answer_json(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.put("/api/v1/services"), 405, "method_not_allowed")


def test_settings_file_is_the_example(settings):
    assert settings.source == str(EXAMPLE_CONFIG)


def test_the_whole_queue_comes_in_pages(client, tokens):
    kiosk = tokens.headers("kiosk")
    tickets = [client.post("/api/v1/tickets", json={"service": "general"}, headers=kiosk) for _ in range(5)]
    numbers = [t.get_json()["number"] for t in tickets]
    first = client.get("/api/v1/queue?per_page=2", headers=tokens.headers("staff")).get_json()
    assert [t["number"] for t in first["waiting"]] == numbers[:2]
    assert (first["page"], first["total_waiting"], first["next_page"]) == (1, 5, 2)
    last = client.get("/api/v1/queue?per_page=2&page=3", headers=tokens.headers("staff")).get_json()
    assert [t["number"] for t in last["waiting"]] == numbers[4:] and last["next_page"] is None
    whole = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()
    assert [t["number"] for t in whole["waiting"]] == numbers and whole["next_page"] is None
    for bad in ("page=0", "per_page=1001", "page=two", "per_page=-1"):
        answer = client.get(f"/api/v1/queue?{bad}", headers=tokens.headers("staff"))
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] == bad.split("=")[0]
