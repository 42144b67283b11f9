"""The demo phones page, ``/demo/messages``: only in the demo, only for staff, and it lists what
each patient's phone received, as they read it, with the phone number never in full."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from queue_app.extensions import db
from queue_app.models import Message

from ..conftest import make_settings, prepare_database
from ..support.apps import clinic_app
from .conftest import PASSWORD, csrf_of

PHONE = "010-1234-5678"


@pytest.fixture
def demo_app(tmp_path, clock):
    """The demo clinic: ``[server] demo`` on, no channel configured, so the demo phone is its channel."""
    settings = make_settings(f"sqlite:///{tmp_path / 'demo.db'}", server={"demo": True})
    prepare_database(settings)
    with clinic_app(settings, clock) as app:
        yield app


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture
def demo_tokens(demo_app, clock):
    from ..conftest import Tokens

    return Tokens(demo_app, clock)


@pytest.fixture
def demo_staff(demo_app, demo_client, clock):
    """A staff user signed in to the demo clinic."""
    from queue_app.auth import create_user

    with demo_app.app_context():
        create_user(db.session(), "nurse", PASSWORD, "staff", clock.now())
        db.session.commit()
    page = demo_client.get("/login")
    demo_client.post("/login", data={"csrf": csrf_of(page), "username": "nurse", "password": PASSWORD})
    return demo_client


def check_in(client, tokens, **body):
    body = {"service": "general", "language": "en", **body}
    response = client.post("/api/v1/tickets", json=body, headers=tokens.headers("kiosk"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def send_due_messages(app):
    app.extensions["queue_app"].dispatcher.run_once()


def stored_messages(app, ticket_id):
    with app.app_context():
        return list(db.session.scalars(select(Message).where(Message.ticket_id == ticket_id)))


# -- outside the demo ------------------------------------------------------------------------------


def test_outside_the_demo_there_is_no_demo_page(signed_in):
    assert signed_in.get("/demo/messages").status_code == 404
    answer = signed_in.get("/demo/messages.json")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    assert signed_in.get("/demo/messages/00000000-0000-0000-0000-000000000000.json").status_code == 404
    assert "/demo/messages" not in signed_in.get("/staff").get_data(as_text=True)


# -- in the demo -----------------------------------------------------------------------------------


def test_the_page_needs_a_staff_sign_in(demo_client):
    response = demo_client.get("/demo/messages")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login?next=/demo/messages")
    answer = demo_client.get("/demo/messages.json")
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"


def test_a_check_in_message_shows_on_the_patients_card_once_sent(demo_app, demo_staff, demo_tokens):
    ticket = check_in(demo_staff, demo_tokens, phone=PHONE, consent=True)
    page = demo_staff.get("/demo/messages", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ticket["number"] not in page  # decided, not sent yet: no phone has it
    assert "No message has gone out today yet." in page

    send_due_messages(demo_app)
    [message] = [m for m in stored_messages(demo_app, ticket["id"]) if m.kind == "checked_in"]
    assert (message.channel, message.status, message.cost) == ("demo", "delivered", 0)

    page = demo_staff.get("/demo/messages", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f'data-ticket="{ticket["id"]}"' in page
    assert f">{ticket['number']}</h2>" in page
    assert f"Hanbit Family Clinic: you are number {ticket['number']}. Follow your turn: {ticket['url']}" in page
    assert "Ticket link" in page and "demo phone" in page
    assert '<time datetime="2026-11-23T10:00:00+09:00">10:00:00</time>' in page  # the clinic's time
    assert "•••• 5678" in page
    for full in (PHONE, "01012345678", "+821012345678", "1234-5678"):
        assert full not in page


def test_each_card_lists_its_messages_newest_first(demo_app, demo_staff, demo_tokens, clock):
    first = check_in(demo_staff, demo_tokens, service="vaccination")
    send_due_messages(demo_app)
    clock.advance(minutes=2)
    called = demo_staff.post("/api/v1/rooms/room4/call-next", headers=demo_tokens.headers("staff"))
    assert called.status_code == 200
    send_due_messages(demo_app)
    phones = demo_staff.get("/demo/messages.json").get_json()["phones"]
    [phone] = [p for p in phones if p["ticket_id"] == first["id"]]
    assert phone["phone"] is None  # no phone given: the demo phone reaches the patient all the same
    assert [m["kind"] for m in phone["messages"]] == ["called", "checked_in"]
    assert phone["messages"][0]["text"].endswith("please go to Vaccination room.")


def test_one_message_as_json_for_the_live_page(demo_app, demo_staff, demo_tokens):
    ticket = check_in(demo_staff, demo_tokens, language="ko", phone=PHONE, consent=True)
    send_due_messages(demo_app)
    [message] = [m for m in stored_messages(demo_app, ticket["id"]) if m.kind == "checked_in"]
    body = demo_staff.get(f"/demo/messages/{message.id}.json?lang=ko").get_json()
    assert body["phone"] == {
        "ticket_id": ticket["id"],
        "number": ticket["number"],
        "phone": "•••• 5678",
        "messages": [],
    }
    assert body["message"]["id"] == message.id
    assert (body["message"]["kind_label"], body["message"]["channel_label"]) == ("번호표 링크", "데모 휴대폰")
    assert body["message"]["text"].startswith(f"[Hanbit Family Clinic] 접수되었습니다. 번호 {ticket['number']}.")
    assert body["message"]["time"] == "10:00:00"


@pytest.mark.parametrize(
    "message_id, status",
    [("not-an-id", 400), ("00000000-0000-0000-0000-000000000000", 404)],
)
def test_a_bad_or_unknown_message_id_is_a_json_error(demo_staff, message_id, status):
    answer = demo_staff.get(f"/demo/messages/{message_id}.json")
    assert answer.status_code == status
    assert answer.get_json()["error"]["field"] == "message_id"


def test_a_message_still_waiting_to_be_sent_is_on_no_phone(demo_app, demo_staff, demo_tokens):
    ticket = check_in(demo_staff, demo_tokens)
    [message] = [m for m in stored_messages(demo_app, ticket["id"]) if m.kind == "checked_in"]
    assert message.status == "queued"
    assert demo_staff.get(f"/demo/messages/{message.id}.json").status_code == 404


def test_the_staff_console_links_to_the_demo_phones(demo_staff):
    console = demo_staff.get("/staff", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/demo/messages"' in console
    assert '"channel_demo": "demo phone"' in console  # the console names the channel too


def test_the_page_speaks_the_clinics_languages(demo_app, demo_staff, demo_tokens):
    check_in(demo_staff, demo_tokens, language="ru")
    send_due_messages(demo_app)
    page = demo_staff.get("/demo/messages?lang=ru").get_data(as_text=True)
    assert "Hanbit Family Clinic: ваш номер" in page  # the patient's language, not the page's
    assert "Демо-телефоны" in page and "Ссылка на талон" in page
