"""A patient's own channels and the providers' callbacks, through the real app.

Web push: the phone page subscribes, the dispatcher pushes, and the test decrypts what the
local push service received with the subscription's private key.  Twilio: delivery reports
and STOP replies arrive signed the way Twilio signs them.  Telegram: the one-time start link
binds the chat.  Staff: the call list and the day's cost per channel.
"""

from __future__ import annotations

import json
import re

import http_ece
import pytest
from sqlalchemy import select, update

from queue_app import create_app
from queue_app.auth import create_user
from queue_app.extensions import db
from queue_app.models import Message, OptOut
from queue_app.notify.channels.sms import compute_twilio_signature
from queue_app.notify.channels.webpush import generate_vapid_keys

from ..conftest import Tokens, make_settings, prepare_database
from ..pages.conftest import csrf_of
from .channels.test_webpush import b64url  # noqa: F401  (same helpers as the adapter tests)
from .channels.test_webpush import subscription as browser_subscription

SID = "AC" + "2" * 32
TOKEN = "twilio-auth-token"
PUBLIC_URL = "https://queue.hanbit.example"


@pytest.fixture
def clinic(tmp_path, clock, http_server):
    private, _public = generate_vapid_keys()
    settings = make_settings(
        f"sqlite:///{tmp_path / 'c.db'}",
        server={"public_url": PUBLIC_URL},
        notify={"channels": ["webpush", "telegram", "sms"], "near_positions": 1, "near_minutes": 0, "retries": 1},
        channels={
            "webpush": {"vapid_private_key": private, "vapid_subject": "mailto:it@hanbit.example", "cost": 0},
            "telegram": {
                "bot_token": "123:abc",
                "bot_username": "hanbit_queue_bot",
                "webhook_secret": "tg-secret",
                "base_url": http_server.url,
            },
            "sms": {
                "account_sid": SID,
                "auth_token": TOKEN,
                "from_number": "+15005550006",
                "base_url": http_server.url,
                "cost": 20,
            },
        },
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    yield app
    db.session.remove()
    db.engine.dispose()


def check_in(client, tokens, **body):
    body = {"service": "general", **body}
    response = client.post("/api/v1/tickets", json=body, headers=tokens.headers("kiosk"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def twilio_post(client, path, form):
    signature = compute_twilio_signature(PUBLIC_URL + path, form, TOKEN)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def messages(app, ticket_id):
    with app.app_context():
        return list(
            db.session.scalars(select(Message).where(Message.ticket_id == ticket_id, Message.status != "skipped"))
        )


def test_web_push_from_the_phone_page_is_encrypted_for_that_browser(app_and_browser):
    app, browser, http_server, tokens, client = app_and_browser
    first = check_in(client, tokens)
    ahead = check_in(client, tokens)
    mine = check_in(client, tokens)  # two ahead: not near yet (near at one place)
    key = client.get("/api/v1/push/key").get_json()["public_key"]
    assert len(key) > 80
    sub = browser_subscription(browser, http_server.url + "/push/abc")
    answer = client.post(f"/api/v1/tickets/{mine['token']}/push", json=sub)
    assert answer.status_code == 200 and answer.get_json()["channels"] == ["webpush"]
    http_server.handler = lambda request: (201, {}, b"")
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))  # one ahead now: near
    app.extensions["queue_app"].dispatcher.run_once()
    [push] = [r for r in http_server.requests if r.path == "/push/abc"]
    payload = json.loads(
        http_ece.decrypt(
            push.body, private_key=browser["private_key"], auth_secret=browser["auth"], version="aes128gcm"
        )
    )
    assert payload["kind"] == "turn_near"
    assert mine["number"] in payload["body"]
    assert ahead["number"] not in payload["body"] and first["number"] not in payload["body"]
    assert payload["url"] == f"{PUBLIC_URL}/t/{mine['token']}"


@pytest.fixture
def app_and_browser(clinic, clock, http_server):
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private_key = ec.generate_private_key(ec.SECP256R1())
    public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    browser = {"private_key": private_key, "p256dh": b64url(public), "auth": os.urandom(16)}
    return clinic, browser, http_server, Tokens(clinic, clock), clinic.test_client()


def test_bad_push_subscription_is_400(clinic, clock):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    ticket = check_in(client, tokens)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/push", json={"endpoint": "x"})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "subscription"
    assert client.post("/api/v1/tickets/not-a-real-token-123456/push", json={}).status_code in (400, 404)


def test_telegram_start_link_binds_the_chat_once(clinic, clock, http_server):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    ticket = check_in(client, tokens)
    link = client.post(f"/api/v1/tickets/{ticket['token']}/telegram").get_json()["url"]
    assert link.startswith("https://t.me/hanbit_queue_bot?start=")
    code = link.split("start=")[1]
    update = {
        "update_id": 1,
        "message": {"message_id": 5, "chat": {"id": 777, "type": "private"}, "text": f"/start {code}"},
    }
    assert client.post("/hooks/telegram", json=update).status_code == 403  # no secret header
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    assert client.post("/hooks/telegram", json=update, headers=headers).status_code == 204
    queue = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()
    assert queue["waiting"][0]["channels"] == ["telegram"]
    # The code is spent: someone else replaying it binds nothing.
    update["message"]["chat"]["id"] = 999
    client.post("/hooks/telegram", json=update, headers=headers)
    http_server.handler = lambda request: (200, {}, {"ok": True, "result": {"message_id": 9}})
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    clinic.extensions["queue_app"].dispatcher.run_once()
    sent = [r.json() for r in http_server.requests if r.path.endswith("/sendMessage")]
    assert sent and all(m["chat_id"] in (777, "777") for m in sent)


def test_twilio_delivery_report_and_failure_fallback(clinic, clock, http_server):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "a" * 32, "status": "queued"})
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True)
    dispatcher = clinic.extensions["queue_app"].dispatcher
    # The clinic offers free push: the paid check-in text waits a minute for the patient
    # to turn it on from their page.
    assert dispatcher.run_once() == 0
    clock.advance(seconds=61)
    dispatcher.run_once()
    [sms] = messages(clinic, ticket["id"])
    assert (sms.channel, sms.status, sms.provider_id) == ("sms", "sent", "SM" + "a" * 32)
    forged = client.post("/hooks/twilio/status", data={"MessageSid": sms.provider_id, "MessageStatus": "delivered"})
    assert forged.status_code == 403
    report = {"MessageSid": sms.provider_id, "MessageStatus": "delivered", "AccountSid": SID}
    assert twilio_post(client, "/hooks/twilio/status", report).status_code == 204
    [sms] = messages(clinic, ticket["id"])
    assert sms.status == "delivered"


def test_undelivered_called_message_puts_the_patient_on_the_call_list(clinic, clock, http_server):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "b" * 32, "status": "queued"})
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True)
    client.post("/api/v1/rooms/room1/call-next", headers=tokens.headers("staff"))
    dispatcher = clinic.extensions["queue_app"].dispatcher
    dispatcher.run_once()
    called = [m for m in messages(clinic, ticket["id"]) if m.kind == "called"][0]
    with clinic.app_context():
        db.session.execute(update(Message).where(Message.id == called.id).values(provider_id="SMcalled"))
        db.session.commit()
    report = {"MessageSid": "SMcalled", "MessageStatus": "undelivered", "ErrorCode": "30003", "AccountSid": SID}
    assert twilio_post(client, "/hooks/twilio/status", report).status_code == 204
    queue = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()
    assert queue["in_rooms"][0]["needs_call"] is True  # SMS was the last channel
    # Reception phoned them: off the list.
    reached = client.post(f"/api/v1/tickets/{ticket['id']}/reached", headers=tokens.headers("staff"))
    assert reached.status_code == 200 and reached.get_json()["ticket"]["needs_call"] is False


def test_stop_reply_stops_sms_to_that_number(clinic, clock, http_server):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    stop = {"From": "+821012345678", "To": "+15005550006", "Body": "STOP", "AccountSid": SID, "OptOutType": "STOP"}
    assert twilio_post(client, "/hooks/twilio/inbound", stop).status_code == 200
    with clinic.app_context():
        assert db.session.get(OptOut, ("+821012345678", "sms")) is not None
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True)
    assert [m.status for m in messages(clinic, ticket["id"])] == []  # nothing queued for SMS
    queue = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()
    assert queue["waiting"][0]["channels"] == []  # staff see it: the number asked for no SMS
    start = {**stop, "Body": "START", "OptOutType": "START"}
    twilio_post(client, "/hooks/twilio/inbound", start)
    with clinic.app_context():
        assert db.session.get(OptOut, ("+821012345678", "sms")) is None


def test_daily_cost_per_channel(clinic, clock, http_server):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "c" * 32, "status": "queued"})
    for patient in range(3):
        check_in(client, tokens, phone=f"010-1234-{5678 + patient}", consent=True)
    clock.advance(seconds=61)  # past the wait for free notifications
    clinic.extensions["queue_app"].dispatcher.run_once()
    costs = client.get("/api/v1/messages/costs", headers=tokens.headers("staff")).get_json()
    # Each check-in text carries the page link: over 90 bytes in EUC-KR, an LMS at cost_long.
    assert costs["channels"] == [{"channel": "sms", "sent": 3, "cost": 150.0}]
    assert costs["total_cost"] == 150.0
    assert costs["currency"] == "KRW"
    # The staff console opens with the same figures.
    with clinic.app_context():
        create_user(db.session(), "owner", "owner-pass-123", "staff", clock.now())
        db.session.commit()
    login = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(login), "username": "owner", "password": "owner-pass-123"})
    page = client.get("/staff").get_data(as_text=True)
    setup = json.loads(re.search(r'<script type="application/json" id="setup">(.*?)</script>', page, re.S).group(1))
    assert setup["costs"] == costs
    other_day = client.get("/api/v1/messages/costs?day=2026-11-22", headers=tokens.headers("staff")).get_json()
    assert other_day["channels"] == []
    bad = client.get("/api/v1/messages/costs?day=yesterday", headers=tokens.headers("staff"))
    assert bad.status_code == 400
    assert client.get("/api/v1/messages/costs", headers=tokens.headers("kiosk")).status_code == 403


def test_a_patient_who_turns_on_push_soon_after_check_in_is_not_also_texted(app_and_browser):
    app, browser, http_server, tokens, client = app_and_browser
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "d" * 32, "status": "queued"})
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True)
    dispatcher = app.extensions["queue_app"].dispatcher
    assert dispatcher.run_once() == 0  # the paid text waits for the patient's page first
    sub = browser_subscription(browser, http_server.url + "/push/def")
    assert client.post(f"/api/v1/tickets/{ticket['token']}/push", json=sub).status_code == 200
    app.extensions["queue_app"].clock.advance(seconds=61)
    dispatcher.run_once()
    with app.app_context():
        [checked_in] = db.session.scalars(
            select(Message).where(
                Message.ticket_id == ticket["id"], Message.route == "patient", Message.kind == "checked_in"
            )
        )
        assert (checked_in.status, checked_in.cost) == ("skipped", 0.0)
    assert not [r for r in http_server.requests if r.path.endswith("/Messages.json")]  # no SMS, no cost


def test_a_patient_who_does_not_turn_on_push_gets_the_check_in_text_with_the_link(clinic, clock, http_server):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "e" * 32, "status": "queued"})
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True)
    clock.advance(seconds=61)
    clinic.extensions["queue_app"].dispatcher.run_once()
    [sms] = [r for r in http_server.requests if r.path.endswith("/Messages.json")]
    [body] = sms.form()["Body"]
    # The check-in text always carries the page link, even though sms_include_link is off.
    assert body.endswith(f"{PUBLIC_URL}/t/{ticket['token']}")
