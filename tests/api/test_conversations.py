"""The inbox API: staff list, read and answer conversations; a patient writes from their page."""

from __future__ import annotations

import pytest

from queue_app.auth import create_user
from queue_app.extensions import db

from ..conftest import make_settings, prepare_database
from .test_api import assert_error, check_in

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def write(client, ticket, body):
    return client.post(f"/api/v1/tickets/{ticket['token']}/messages", json={"body": body})


def staff_post(client, tokens, path, body=None, role="staff"):
    return client.post(f"/api/v1{path}", json=body if body is not None else {}, headers=tokens.headers(role))


def test_a_patient_writes_from_the_page_and_staff_find_it_in_the_inbox(client, tokens):
    ticket = check_in(client, tokens)
    answer = write(client, ticket, "주차 가능한가요?")
    assert answer.status_code == 201
    assert answer.get_json()["message"]["from"] == "patient"
    inbox = client.get("/api/v1/conversations?status=open", headers=tokens.headers("staff")).get_json()
    assert inbox["unread_total"] == 1
    [row] = inbox["conversations"]
    assert row["ticket"] == {"id": ticket["id"], "number": ticket["number"], "status": "waiting"}
    assert (row["channel"], row["contact"], row["unread"], row["preview"]) == (
        "page",
        "phone page",
        1,
        "주차 가능한가요?",
    )
    assert set(row) >= {"id", "assigned_to", "last_message_at"}
    detail = client.get(f"/api/v1/conversations/{row['id']}", headers=tokens.headers("staff")).get_json()
    [message] = detail["messages"]
    assert {k: message[k] for k in ("direction", "channel", "body", "status", "author")} == {
        "direction": "in",
        "channel": "page",
        "body": "주차 가능한가요?",
        "status": "received",
        "author": "patient",
    }
    assert (
        client.get("/api/v1/conversations?status=closed", headers=tokens.headers("staff")).get_json()["conversations"]
        == []
    )


def test_staff_answer_by_text_or_quick_reply_and_the_page_thread_shows_it(client, tokens, app):
    ticket = check_in(client, tokens, language="en")
    write(client, ticket, "Is there parking?")
    conversation = client.get("/api/v1/conversations", headers=tokens.headers("staff")).get_json()["conversations"][0]
    reply = staff_post(
        client, tokens, f"/conversations/{conversation['id']}/reply", {"body": "Yes, behind the clinic."}
    )
    assert reply.status_code == 201
    assert reply.get_json()["message"]["status"] == "sent"
    thread = client.get(f"/api/v1/tickets/{ticket['token']}/messages").get_json()["messages"]
    assert [(m["from"], m["body"]) for m in thread] == [
        ("patient", "Is there parking?"),
        ("clinic", "Yes, behind the clinic."),
    ]
    # A quick reply an admin added, in the patient's language.
    put = client.put(
        "/api/v1/inbox/templates/parking",
        json={"texts": {"ko": "건물 뒤에 주차하실 수 있습니다.", "en": "Park behind the building."}},
        headers=tokens.headers("admin"),
    )
    assert put.status_code == 200
    templated = staff_post(client, tokens, f"/conversations/{conversation['id']}/reply", {"template": "parking"})
    assert templated.get_json()["message"]["body"] == "Park behind the building."
    assert_error(staff_post(client, tokens, f"/conversations/{conversation['id']}/reply", {"template": "nope"}), 404)
    assert_error(staff_post(client, tokens, f"/conversations/{conversation['id']}/reply", {}), 400, field="body")
    assert_error(
        staff_post(client, tokens, f"/conversations/{conversation['id']}/reply", {"body": "  "}), 400, field="body"
    )


def test_read_assign_close_reopen(client, tokens, app, clock):
    ticket = check_in(client, tokens)
    write(client, ticket, "hello")
    cid = client.get("/api/v1/conversations", headers=tokens.headers("staff")).get_json()["conversations"][0]["id"]
    assert staff_post(client, tokens, f"/conversations/{cid}/read").get_json()["conversation"]["unread"] == 0
    with app.app_context():
        create_user(db.session(), "kim", "kim-password-1", "staff", clock.now())
        db.session.commit()
    assigned = staff_post(client, tokens, f"/conversations/{cid}/assign", {"user": "kim"})
    assert assigned.get_json()["conversation"]["assigned_to"] == "kim"
    assert_error(staff_post(client, tokens, f"/conversations/{cid}/assign", {"user": "nobody"}), 400, field="user")
    assert staff_post(client, tokens, f"/conversations/{cid}/close").get_json()["conversation"]["status"] == "closed"
    assert_error(staff_post(client, tokens, f"/conversations/{cid}/close"), 409)
    assert staff_post(client, tokens, f"/conversations/{cid}/reopen").get_json()["conversation"]["status"] == "open"
    assert_error(staff_post(client, tokens, "/conversations/999/read"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/conversations"),
        ("get", "/api/v1/conversations/1"),
        ("post", "/api/v1/conversations/1/reply"),
        ("post", "/api/v1/conversations/1/read"),
        ("post", "/api/v1/conversations/1/assign"),
        ("post", "/api/v1/conversations/1/close"),
        ("post", "/api/v1/conversations/1/reopen"),
        ("get", "/api/v1/inbox/templates"),
    ],
)
def test_the_inbox_is_for_staff_only(client, tokens, method, path):
    assert_error(getattr(client, method)(path, json={}), 401)
    assert_error(getattr(client, method)(path, json={}, headers=tokens.headers("kiosk")), 403)


def test_only_admins_edit_quick_replies_and_configured_ones_stay(tmp_path, clock):
    from queue_app import create_app

    settings = make_settings(
        f"sqlite:///{tmp_path / 't.db'}", inbox={"templates": {"hours": {"ko": "9시-18시", "en": "9 to 6"}}}
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    from ..conftest import Tokens

    client, tokens = app.test_client(), Tokens(app, clock)
    listed = client.get("/api/v1/inbox/templates", headers=tokens.headers("staff")).get_json()["templates"]
    assert {"id": "hours", "texts": {"ko": "9시-18시", "en": "9 to 6"}, "source": "config"} in listed
    body = {"texts": {"en": "x"}}
    assert_error(client.put("/api/v1/inbox/templates/x", json=body, headers=tokens.headers("staff")), 403)
    assert_error(client.put("/api/v1/inbox/templates/Bad!", json=body, headers=tokens.headers("admin")), 400)
    bad_language = {"texts": {"fr": "x"}}
    assert_error(
        client.put("/api/v1/inbox/templates/x", json=bad_language, headers=tokens.headers("admin")),
        400,
        field="texts.fr",
    )
    assert_error(client.delete("/api/v1/inbox/templates/hours", headers=tokens.headers("admin")), 409)
    assert_error(client.delete("/api/v1/inbox/templates/none", headers=tokens.headers("admin")), 404)
    client.put("/api/v1/inbox/templates/x", json=body, headers=tokens.headers("admin"))
    assert client.delete("/api/v1/inbox/templates/x", headers=tokens.headers("admin")).status_code == 200
    db.session.remove()
    db.engine.dispose()


def test_the_page_thread_needs_the_tickets_token_and_an_open_ticket(client, tokens):
    assert_error(client.get("/api/v1/tickets/" + "x" * 32 + "/messages"), 404)
    assert_error(client.post("/api/v1/tickets/" + "x" * 32 + "/messages", json={"body": "hi"}), 404)
    ticket = check_in(client, tokens)
    assert_error(write(client, ticket, ""), 400, field="body")
    assert_error(client.post(f"/api/v1/tickets/{ticket['token']}/messages", json={"body": 5}), 400, field="body")
    client.delete(f"/api/v1/tickets/{ticket['token']}")
    assert_error(write(client, ticket, "after leaving"), 409)


def test_a_script_in_a_message_comes_back_as_the_same_text(client, tokens):
    ticket = check_in(client, tokens)
    write(client, ticket, XSS)
    cid = client.get("/api/v1/conversations", headers=tokens.headers("staff")).get_json()["conversations"][0]["id"]
    detail = client.get(f"/api/v1/conversations/{cid}", headers=tokens.headers("staff"))
    assert detail.mimetype == "application/json"
    assert detail.get_json()["messages"][0]["body"] == XSS
    assert client.get(f"/api/v1/tickets/{ticket['token']}/messages").get_json()["messages"][0]["body"] == XSS


def test_a_late_patient_shows_late_in_the_staff_and_patient_views(client, tokens):
    ticket = check_in(client, tokens)
    write(client, ticket, "늦어요")
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["late"] is True
    queue = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()
    assert queue["waiting"][0]["late"] is True
    write(client, ticket, "도착")
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["late"] is False


def test_every_inbox_endpoint_is_in_the_openapi_document(app, client):
    import re

    documented = set(client.get("/api/v1/openapi.json").get_json()["paths"])
    ours = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/api/v1")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1/conversations", "/api/v1/inbox", "/api/v1/tickets/<token>/messages"))
    }
    renamed = {p.replace("{conversation_id}", "{id}").replace("{template_id}", "{template}") for p in ours}
    assert renamed and renamed <= documented


# -- check-in outside opening hours -------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "opens_at", "opens"),
    [
        ((2026, 11, 23, 23, 0), "2026-11-24T00:00:00+00:00", "09:00"),  # 23:00: tomorrow 09:00 Seoul
        ((2026, 11, 23, 7, 30), "2026-11-23T00:00:00+00:00", "09:00"),  # before opening: today
        ((2026, 12, 24, 20, 0), "2026-12-26T00:00:00+00:00", "09:00"),  # Christmas is a holiday
    ],
)
def test_kiosk_and_public_check_in_are_refused_outside_hours_with_the_opening_time(
    tmp_path, clock, moment, opens_at, opens
):
    from datetime import datetime

    from queue_app import create_app

    from ..conftest import SEOUL, Tokens

    settings = make_settings(
        f"sqlite:///{tmp_path / 'h.db'}", clinic={"public_check_in": True}, hours={"holidays": ["2026-12-25"]}
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    client, tokens = app.test_client(), Tokens(app, clock)
    clock.set(datetime(*moment, tzinfo=SEOUL))
    for headers in (tokens.headers("kiosk"), {}):
        refused = client.post("/api/v1/tickets", json={"service": "general"}, headers=headers)
        assert_error(refused, 409, "closed")
        error = refused.get_json()["error"]
        assert (error["opens_at"], error["opens"]) == (opens_at, opens)
        assert opens in error["message"]
    # Reception, signed in, may still check someone in (an early arrival the doctor will see).
    staff = client.post("/api/v1/tickets", json={"service": "general"}, headers=tokens.headers("staff"))
    assert staff.status_code == 201
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=SEOUL))  # opening time: welcome
    assert (
        client.post("/api/v1/tickets", json={"service": "general"}, headers=tokens.headers("kiosk")).status_code == 201
    )
    db.session.remove()
    db.engine.dispose()


# -- the website contact form -------------------------------------------------------------------

WIDGET_ORIGIN = "https://www.hanbit-clinic.example"


@pytest.fixture
def website(tmp_path, clock):
    """A clinic whose own site embeds the contact widget; small limits to reach them."""
    from queue_app import create_app

    from ..conftest import Tokens

    settings = make_settings(
        f"sqlite:///{tmp_path / 'w.db'}",
        inbox={"widget_origins": [WIDGET_ORIGIN], "contact_per_number_per_day": 2, "contact_per_address_per_hour": 3},
        realtime={"channel": f"contact-{tmp_path.name}"[:80]},
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    yield app, app.test_client(), Tokens(app, clock)
    db.session.remove()
    db.engine.dispose()


def contact(client, body, origin=WIDGET_ORIGIN, address="203.0.113.7"):
    return client.post(
        "/api/v1/contact", json=body, headers={"Origin": origin}, environ_overrides={"REMOTE_ADDR": address}
    )


def test_a_website_question_lands_in_the_inbox_and_the_answer_tells_nothing_stored(website):
    _app, client, tokens = website
    answer = contact(
        client,
        {
            "phone": "010-5555-0101",
            "message": "토요일에도 진료하나요?",
            "callback": True,
            "preferred_time": "오후 3시 이후",
        },
    )
    assert answer.status_code == 201
    assert answer.get_json() == {"received": True, "clinic_open": True, "opens_at": None}
    [row] = client.get("/api/v1/conversations", headers=tokens.headers("staff")).get_json()["conversations"]
    assert (row["channel"], row["contact"], row["language"]) == ("web", "•••• 0101", "ko")
    assert (row["callback"], row["preferred_time"], row["preview"]) == (True, "오후 3시 이후", "토요일에도 진료하나요?")


def test_a_website_message_from_a_patient_in_the_queue_is_tied_to_their_ticket(website):
    _app, client, tokens = website
    ticket = check_in(client, tokens, phone="010-5555-0102")
    contact(client, {"phone": "+821055550102", "message": "Can I bring my son too?", "language": "en"})
    [row] = client.get("/api/v1/conversations", headers=tokens.headers("staff")).get_json()["conversations"]
    assert row["ticket"]["id"] == ticket["id"]


def test_only_the_clinics_own_site_may_post_from_a_browser(website):
    _app, client, _tokens = website
    preflight = client.options(
        "/api/v1/contact",
        headers={
            "Origin": WIDGET_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == WIDGET_ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    elsewhere = client.options("/api/v1/contact", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    posted = contact(client, {"phone": "010-5555-0103", "message": "hi"})
    assert posted.headers["Access-Control-Allow-Origin"] == WIDGET_ORIGIN
    assert "Access-Control-Allow-Credentials" not in posted.headers
    refused = contact(client, {"phone": "nope", "message": "hi"})
    assert refused.status_code == 400 and refused.headers["Access-Control-Allow-Origin"] == WIDGET_ORIGIN
    # Other API answers are never opened to other sites.
    assert (
        "Access-Control-Allow-Origin" not in client.get("/api/v1/services", headers={"Origin": WIDGET_ORIGIN}).headers
    )


def test_website_contact_is_limited_per_number_and_per_address(website):
    _app, client, _tokens = website
    assert contact(client, {"phone": "010-5555-0104", "message": "1"}, address="198.51.100.1").status_code == 201
    assert contact(client, {"phone": "+821055550104", "message": "2"}, address="198.51.100.2").status_code == 201
    # The same number a third time today, written another way, from a third address.
    again = contact(client, {"phone": "01055550104", "message": "3"}, address="198.51.100.3")
    assert_error(again, 429, "rate_limited")
    assert int(again.headers["Retry-After"]) > 0
    # One address, many numbers: the fourth in the hour is refused.
    for n in range(3):
        assert (
            contact(client, {"phone": f"010-5555-02{n:02d}", "message": "x"}, address="198.51.100.9").status_code == 201
        )
    assert_error(contact(client, {"phone": "010-5555-0299", "message": "x"}, address="198.51.100.9"), 429)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "hi"}, "phone"),
        ({"phone": "12", "message": "hi"}, "phone"),
        ({"phone": "010-5555-0105"}, "message"),
        ({"phone": "010-5555-0105", "message": "  "}, "message"),
        ({"phone": "010-5555-0105", "message": "hi", "callback": "yes"}, "callback"),
        ({"phone": "010-5555-0105", "message": "hi", "language": "fr"}, "language"),
        ({"phone": "010-5555-0105", "callback": True, "preferred_time": "x" * 81}, "preferred_time"),
    ],
)
def test_bad_website_contact_is_refused_naming_the_field(website, body, field):
    _app, client, _tokens = website
    assert_error(contact(client, body, address=f"192.0.2.{len(field)}"), 400, field=field)


def test_a_patients_message_reaches_every_staff_console_live_and_the_answer_their_page(app, client, tokens):
    from queue_app.extensions import socketio

    first, other = check_in(client, tokens), check_in(client, tokens)
    consoles = [socketio.test_client(app, flask_test_client=client, auth={"token": tokens["staff"]}) for _ in range(2)]
    phone = socketio.test_client(app, flask_test_client=client, auth={"ticket": first["token"]})
    other_phone = socketio.test_client(app, flask_test_client=client, auth={"ticket": other["token"]})
    display = socketio.test_client(app, flask_test_client=client, auth={"token": tokens["display"]})
    for sio in (*consoles, phone, other_phone, display):
        sio.get_received()
    write(client, first, "어디로 가면 되나요?")
    for console in consoles:
        [event] = [e["args"][0] for e in console.get_received() if e["name"] == "inbox"]
        assert event["unread_total"] == 1 and event["message"]["body"] == "어디로 가면 되나요?"
    assert not [e for e in display.get_received() if e["name"] in ("inbox", "message")]
    cid = client.get("/api/v1/conversations", headers=tokens.headers("staff")).get_json()["conversations"][0]["id"]
    staff_post(client, tokens, f"/conversations/{cid}/reply", {"body": "2층 접수처로 오세요."})
    # "message" is also the name send() uses: the test client gives its one argument bare.
    [shown] = [e["args"] for e in phone.get_received() if e["name"] == "message"]
    assert (shown["from"], shown["body"]) == ("clinic", "2층 접수처로 오세요.")
    assert not [e for e in other_phone.get_received() if e["name"] == "message"]  # only their own page
    assert not [e for e in display.get_received() if e["name"] in ("inbox", "message")]


def test_reception_marks_a_patient_late_and_arrived(client, tokens):
    first, second = check_in(client, tokens), check_in(client, tokens)
    late = staff_post(client, tokens, f"/tickets/{first['id']}/late")
    assert late.status_code == 200 and late.get_json()["ticket"]["late"] is True
    called = staff_post(client, tokens, "/rooms/room1/call-next").get_json()["ticket"]
    assert called["number"] == second["number"]  # passed over
    arrived = staff_post(client, tokens, f"/tickets/{first['id']}/arrived")
    assert arrived.get_json()["ticket"]["late"] is False
    assert_error(staff_post(client, tokens, f"/tickets/{second['id']}/late"), 409)  # already called
    assert_error(staff_post(client, tokens, f"/tickets/{first['id']}/late", role="kiosk"), 403)
