"""Patients answering by SMS and Telegram, and staff answers reaching them through the providers.

Twilio's inbound webhook is posted signed, as Twilio signs it; Telegram's updates carry the
bot's secret token.  Answers go out through the local stand-in of both providers' APIs.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from queue_app.extensions import db, socketio
from queue_app.models import OptOut

from ..conftest import Tokens
from .test_patient_channels import SID, check_in, twilio_post
from .test_patient_channels import clinic as clinic  # noqa: F401  (the same clinic: SMS and Telegram on the stand-in)

PHONE = "+821012345678"
TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}


def answer_as_providers(server, request):
    """Twilio's and Telegram's answer to a message sent (anything else: 404)."""
    if request.path.endswith("/Messages.json"):
        return 201, {}, {"sid": f"SM{len(server.requests):032d}", "status": "queued"}
    if request.path.endswith("/sendMessage"):
        return 200, {}, {"ok": True, "result": {"message_id": len(server.requests)}}
    return 404, {}, {}


@pytest.fixture
def providers(http_server):
    """Twilio and Telegram in one local server: each answers as the real API does."""
    http_server.handler = lambda request: answer_as_providers(http_server, request)
    return http_server


def sms(body, sid="SM" + "a" * 32, **extra):
    return {"From": PHONE, "To": "+15005550006", "Body": body, "AccountSid": SID, "MessageSid": sid, **extra}


def telegram_update(update_id, text, chat_id=4242, language="ru"):
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id + 1000,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Анна", "language_code": language},
            "chat": {"id": chat_id, "type": "private", "first_name": "Анна"},
            "date": 1795420800,
            "text": text,
        },
    }


def inbox(client, tokens):
    return client.get("/api/v1/conversations", headers=tokens.headers("staff")).get_json()["conversations"]


def thread(client, tokens, conversation_id):
    return client.get(f"/api/v1/conversations/{conversation_id}", headers=tokens.headers("staff")).get_json()[
        "messages"
    ]


def sent_texts(server):
    """What reached the providers: (to, text) in order."""
    sent = []
    for request in server.requests:
        if request.path.endswith("/Messages.json"):
            form = request.form()
            sent.append((form["To"][0], form["Body"][0]))
        elif request.path.endswith("/sendMessage"):
            body = request.json()
            sent.append((str(body["chat_id"]), body["text"]))
    return sent


def send_due(app):
    app.extensions["queue_app"].dispatcher.run_once()


def test_an_sms_reply_lands_in_the_inbox_tied_to_the_ticket_once(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True)
    assert twilio_post(client, "/hooks/twilio/inbound", sms("주차장이 있나요?")).status_code == 200
    # Twilio did not get our 200 in time and sends the same message again.
    assert twilio_post(client, "/hooks/twilio/inbound", sms("주차장이 있나요?")).status_code == 200
    [row] = inbox(client, tokens)
    assert row["ticket"]["number"] == ticket["number"]
    assert (row["channel"], row["contact"], row["unread"]) == ("sms", "•••• 5678", 1)
    assert [m["body"] for m in thread(client, tokens, row["id"])] == ["주차장이 있나요?"]


def test_an_unsigned_sms_changes_nothing(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    forged = client.post("/hooks/twilio/inbound", data=sms("취소"), headers={"X-Twilio-Signature": "forged"})
    assert forged.status_code == 403
    assert inbox(client, tokens) == []


def test_staff_answer_an_sms_by_sms_through_the_provider(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    twilio_post(client, "/hooks/twilio/inbound", sms("Do you take walk-ins?"))
    [row] = inbox(client, tokens)
    assert row["ticket"] is None and row["language"] == "en"  # a stranger, written in English
    reply = client.post(
        f"/api/v1/conversations/{row['id']}/reply",
        json={"body": "Yes, from 9:00."},
        headers=tokens.headers("staff"),
    )
    assert reply.get_json()["message"]["status"] == "queued"
    send_due(clinic)
    assert sent_texts(providers) == [(PHONE, "Yes, from 9:00.")]
    assert thread(client, tokens, row["id"])[-1]["status"] == "sent"
    send_due(clinic)
    assert len(sent_texts(providers)) == 1  # sent once


@pytest.mark.parametrize(
    ("language", "late", "here", "cancel"),
    [
        ("ko", "늦어요", "도착", "취소"),
        ("en", "Running late", "here", "please cancel"),
        ("ru", "опаздываю", "Пришёл", "отмена"),
    ],
)
def test_keywords_by_sms_act_on_the_ticket_and_are_answered_by_sms(
    clinic, clock, providers, language, late, here, cancel
):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True, language=language)
    page = f"/api/v1/tickets/{ticket['token']}"
    twilio_post(client, "/hooks/twilio/inbound", sms(late, sid="SM" + "1" * 32))
    assert client.get(page).get_json()["late"] is True
    twilio_post(client, "/hooks/twilio/inbound", sms(here, sid="SM" + "2" * 32))
    assert client.get(page).get_json()["late"] is False
    twilio_post(client, "/hooks/twilio/inbound", sms(cancel, sid="SM" + "3" * 32))
    assert client.get(page).get_json()["status"] == "left"
    [row] = inbox(client, tokens)
    messages = thread(client, tokens, row["id"])
    assert [(m["direction"], m["keyword"]) for m in messages] == [
        ("in", "late"),
        ("out", None),
        ("in", "here"),
        ("out", None),
        ("in", "cancel"),
        ("out", None),
    ]
    send_due(clinic)
    answers = [text for to, text in sent_texts(providers) if ticket["number"] in text and to == PHONE]
    assert len(answers) == 3  # the three automatic answers, by SMS


def test_cancel_by_sms_is_also_twilios_opt_out_word_the_patient_leaves_and_is_not_texted(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True, language="en")
    twilio_post(client, "/hooks/twilio/inbound", sms("CANCEL", OptOutType="STOP"))
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["status"] == "left"
    with clinic.app_context():
        assert db.session.get(OptOut, (PHONE, "sms")) is not None
    [row] = inbox(client, tokens)
    answer = thread(client, tokens, row["id"])[-1]
    assert answer["status"] == "failed" and "STOP" in answer["error"]  # Twilio would refuse it


def test_stop_is_shown_in_the_inbox_and_an_answer_to_it_is_not_texted(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    twilio_post(client, "/hooks/twilio/inbound", sms("STOP", OptOutType="STOP"))
    with clinic.app_context():
        assert db.session.get(OptOut, (PHONE, "sms")) is not None
    [row] = inbox(client, tokens)
    assert thread(client, tokens, row["id"])[0]["keyword"] == "stop"
    reply = client.post(
        f"/api/v1/conversations/{row['id']}/reply", json={"body": "OK"}, headers=tokens.headers("staff")
    )
    message = reply.get_json()["message"]
    assert message["status"] == "failed" and "STOP" in message["error"]
    send_due(clinic)
    assert sent_texts(providers) == []


def test_a_telegram_message_lands_in_the_inbox_once_and_is_answered_in_the_chat(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    assert client.post("/hooks/telegram", json=telegram_update(1, "Здравствуйте, где вход?")).status_code == 403
    for _delivery in range(2):  # Telegram retries until it gets a 200
        assert (
            client.post(
                "/hooks/telegram", json=telegram_update(7, "Здравствуйте, где вход?"), headers=TG_HEADERS
            ).status_code
            == 204
        )
    [row] = inbox(client, tokens)
    assert (row["channel"], row["contact"], row["language"]) == ("telegram", "Telegram", "ru")
    client.post(
        f"/api/v1/conversations/{row['id']}/reply", json={"template": "parking"}, headers=tokens.headers("staff")
    )
    send_due(clinic)
    assert sent_texts(providers) == [("4242", "Парковка за зданием клиники. Первый час бесплатно.")]
    assert thread(client, tokens, row["id"])[-1]["status"] == "delivered"  # sendMessage: in the chat


def test_a_telegram_keyword_acts_on_the_ticket_its_chat_is_bound_to(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    ticket = check_in(client, tokens, language="ru")
    link = client.post(f"/api/v1/tickets/{ticket['token']}/telegram").get_json()["url"]
    code = link.rsplit("start=", 1)[1]
    client.post("/hooks/telegram", json=telegram_update(1, f"/start {code}"), headers=TG_HEADERS)
    client.post("/hooks/telegram", json=telegram_update(2, "Опаздываю"), headers=TG_HEADERS)
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["late"] is True
    [row] = inbox(client, tokens)
    assert row["ticket"]["id"] == ticket["id"]
    send_due(clinic)
    [(chat, text)] = [s for s in sent_texts(providers) if "опоздании" in s[1]]
    assert chat == "4242" and ticket["number"] in text


def test_telegram_updates_that_are_not_a_patients_text_are_ignored(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    group = telegram_update(3, "hello")
    group["message"]["chat"]["type"] = "group"
    for update in (group, {"update_id": 4}, telegram_update(5, "/start"), json.loads('{"update_id": true}')):
        assert client.post("/hooks/telegram", json=update, headers=TG_HEADERS).status_code == 204
    assert inbox(client, tokens) == []


@pytest.mark.parametrize(
    ("status", "answer"),
    [(400, {"code": 21211, "message": "The 'To' number is not a valid phone number."}), (503, {"message": "down"})],
)
def test_an_answer_the_provider_will_not_take_is_shown_failed_with_the_reason(
    clinic, clock, http_server, status, answer
):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    http_server.handler = lambda request: (status, {}, answer)
    twilio_post(client, "/hooks/twilio/inbound", sms("hello?"))
    [row] = inbox(client, tokens)
    client.post(f"/api/v1/conversations/{row['id']}/reply", json={"body": "Hello!"}, headers=tokens.headers("staff"))
    send_due(clinic)  # this clinic tries each channel once ([notify] retries = 1)
    last = thread(client, tokens, row["id"])[-1]
    assert last["status"] == "failed" and str(status) in last["error"]
    send_due(clinic)
    assert len(http_server.requests) == 1  # not tried again


def test_twilio_delivering_one_reply_four_times_at_once_files_it_once_on_postgresql(postgres_url, clock, providers):
    import threading

    from queue_app import create_app

    from ..conftest import make_settings, prepare_database
    from .test_patient_channels import PUBLIC_URL, TOKEN

    settings = make_settings(
        postgres_url,
        server={"public_url": PUBLIC_URL},
        notify={"channels": ["sms"]},
        channels={
            "sms": {"account_sid": SID, "auth_token": TOKEN, "from_number": "+15005550006", "base_url": providers.url}
        },
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    together = threading.Barrier(4, timeout=30)
    answers, errors = [], []

    def deliver():
        try:
            client = app.test_client()
            together.wait()
            answers.append(
                twilio_post(client, "/hooks/twilio/inbound", sms("같은 메시지", sid="SM" + "9" * 32)).status_code
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=deliver) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    try:
        assert not errors, errors
        assert answers == [200] * 4
        [row] = inbox(app.test_client(), Tokens(app, clock))
        assert [m["body"] for m in thread(app.test_client(), Tokens(app, clock), row["id"])] == ["같은 메시지"]
    finally:
        db.session.remove()
        db.engine.dispose()


def book(client, tokens, clock, days=1, language="ko"):
    """An appointment for PHONE, ``days`` from now."""
    starts = (clock.now() + timedelta(days=days)).isoformat()
    body = {"service": "general", "starts_at": starts, "phone": "010-1234-5678", "language": language}
    response = client.post("/api/v1/appointments", json=body, headers=tokens.headers("staff"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def appointment_status(client, tokens, appointment):
    return client.get(f"/api/v1/appointments/{appointment['id']}", headers=tokens.headers("staff")).get_json()["status"]


@pytest.mark.parametrize(
    ("reply", "status", "answer"),
    [("네", "confirmed", "예약이 확인되었습니다"), ("취소", "cancelled", "예약이 취소되었습니다")],
)
def test_a_text_answering_a_reminder_confirms_or_cancels_the_appointment_and_says_so(
    clinic, clock, providers, reply, status, answer
):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    appointment = book(client, tokens, clock)

    console = socketio.test_client(clinic, flask_test_client=client, auth={"token": tokens["staff"]})
    console.get_received()

    twilio_post(client, "/hooks/twilio/inbound", sms(reply))

    assert appointment_status(client, tokens, appointment) == status
    # Staff consoles hear of it at once (their list of the day reloads).
    heard = [e["args"][0] for e in console.get_received() if e["name"] == "appointments"]
    assert heard == [{"appointments": [{"id": appointment["id"], "day": appointment["day"], "status": status}]}]
    [row] = inbox(client, tokens)
    patient, auto = thread(client, tokens, row["id"])
    assert patient["keyword"] == ("confirm" if status == "confirmed" else "unbook")
    assert auto["author"] == "auto" and answer in auto["body"]
    send_due(clinic)
    assert [(to, text) for to, text in sent_texts(providers) if answer in text] == [(PHONE, auto["body"])]


def test_cancel_from_a_patient_waiting_today_means_the_ticket_not_the_appointment(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    appointment = book(client, tokens, clock, days=3)
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True, language="ko")

    twilio_post(client, "/hooks/twilio/inbound", sms("취소"))

    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["status"] == "left"
    assert appointment_status(client, tokens, appointment) == "booked"


def test_a_yes_from_a_number_without_an_appointment_is_for_staff(clinic, clock, providers):
    client, tokens = clinic.test_client(), Tokens(clinic, clock)
    twilio_post(client, "/hooks/twilio/inbound", sms("네"))
    [row] = inbox(client, tokens)
    [message] = thread(client, tokens, row["id"])
    assert message["keyword"] is None and row["unread"] == 1
