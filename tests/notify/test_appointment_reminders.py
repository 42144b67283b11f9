"""Appointment reminders: at each offset once, the preparation message at its own time, in the
patient's language, through the channel order, and once each across a restart; the clinic's
webhook hears of every step, signed as today."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from queue_app import create_app
from queue_app.extensions import db
from queue_app.models import Message
from queue_app.notify.channels.sms import compute_twilio_signature
from queue_app.runtime import look_again

from ..conftest import SEOUL, prepare_database
from .test_dispatch import SOLAPI_PATH, TWILIO_PATH, WEBHOOK_SECRET, Clinic, Providers, clinic_settings

STAFF_BOOKS = "/api/v1/appointments"
ENDOSCOPY_AT = "2026-11-24T10:30:00+09:00"  # the clock starts Monday 23 November, 10:00


@pytest.fixture
def clinic(tmp_path, clock, http_server):
    """The clinic of the dispatch tests: AlimTalk, then SMS, and the webhook."""
    settings = clinic_settings(f"sqlite:///{tmp_path / 'a.db'}", http_server.url)
    prepare_database(settings)
    yield Clinic(create_app(settings, clock=clock), clock, Providers(http_server))
    db.session.remove()


def book(clinic: Clinic, **fields) -> dict:
    body = {"service": "general", "starts_at": ENDOSCOPY_AT, "phone": "010-1234-5678", **fields}
    answer = clinic.client.post(STAFF_BOOKS, json=body, headers=clinic.tokens.headers("staff"))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def appointment_messages(app, route: str = "patient") -> list[Message]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Message)
                .where(Message.appointment_id.is_not(None), Message.route == route)
                .order_by(Message.created_at, Message.id)
            )
        )


def seoul(message: Message) -> str:
    return message.created_at.astimezone(SEOUL).strftime("%a %H:%M")


def minutes_pass(app, clock, minutes: int, step: int = 10) -> None:
    """The dispatcher's minute look, every ``step`` minutes of the clock."""
    for _ in range(minutes // step):
        clock.advance(minutes=step)
        look_again(app)


def test_reminders_at_their_offsets_and_the_preparation_at_its_own_once_each(clinic):
    book(clinic, preparation="endoscopy")
    look_again(clinic.app)
    assert appointment_messages(clinic.app) == []  # more than a day ahead: nothing yet
    minutes_pass(clinic.app, clinic.clock, 25 * 60)  # to Tuesday 11:00, past the appointment
    sent = [(m.kind, seoul(m)) for m in appointment_messages(clinic.app)]
    assert sent == [
        ("appointment_reminder", "Mon 10:30"),  # 1440 minutes before
        ("appointment_preparation", "Mon 19:30"),  # the endoscopy's own: 900 minutes before
        ("appointment_reminder", "Tue 08:30"),  # 120 minutes before
    ]
    hooks = [(m.kind, seoul(m)) for m in appointment_messages(clinic.app, "webhook")]
    assert ("appointment_reminder", "Mon 10:30") in hooks and ("appointment_reminder", "Tue 08:30") in hooks


def test_a_reminder_goes_by_alimtalk_with_the_instructions_and_to_the_webhook_signed(clinic):
    appointment = book(clinic, preparation="endoscopy", language="ko", reference="EMR-9")
    clinic.clock.advance(minutes=31)  # Monday 10:31: the day-before reminder is due
    look_again(clinic.app)
    clinic.dispatch()
    [kakao] = clinic.providers.sent(SOLAPI_PATH)
    options = kakao.json()["messages"][0]["kakaoOptions"]
    assert options["templateId"] == "T5"
    assert options["variables"]["#{instructions}"].startswith("검사 전날 21시 이후 금식하세요")
    assert options["variables"]["#{link}"].endswith(f"/a/{appointment['token']}")
    assert options["variables"]["#{time}"] == "11월 24일 10:30"
    [hook] = clinic.providers.sent("/hook")
    event = hook.json()
    assert event["event"] == "appointment_reminder" and hook.headers["X-Queue-Event"] == "appointment_reminder"
    assert (
        event["appointment"]["reference"] == "EMR-9"
        and event["appointment"]["starts_at"] == "2026-11-24T01:30:00+00:00"
    )
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["X-Queue-Signature"] == signature


def test_the_instructions_come_in_the_patients_language(clinic):
    for i, language in enumerate(("ko", "en", "ru")):
        book(clinic, preparation="endoscopy", language=language, phone=f"010-2000-000{i}")
    clinic.clock.advance(minutes=31)
    look_again(clinic.app)
    instructions = {m.language: json.loads(m.variables)["instructions"] for m in appointment_messages(clinic.app)}
    assert instructions["ko"].startswith("검사 전날 21시 이후 금식하세요")
    assert instructions["en"].startswith("Do not eat after 21:00 the evening before")
    assert instructions["ru"].startswith("Не ешьте после 21:00 накануне")


def test_a_text_message_carries_the_link_instead_of_the_instructions(clinic):
    clinic.providers.alimtalk = "refuse"  # not a KakaoTalk user: on to SMS at once
    appointment = book(clinic, preparation="endoscopy", language="en")
    clinic.clock.advance(minutes=31)
    look_again(clinic.app)
    for _ in range(3):
        clinic.dispatch(advance_seconds=1)
    [sms] = clinic.providers.sent(TWILIO_PATH)
    text = sms.form()["Body"][0]
    assert f"/a/{appointment['token']}" in text and "Do not eat" not in text and "10:30" in text


def test_a_cancelled_appointment_is_not_reminded_and_the_webhook_hears_of_it(clinic):
    appointment = book(clinic)
    cancelled = clinic.client.delete(f"{STAFF_BOOKS}/{appointment['id']}", headers=clinic.tokens.headers("staff"))
    assert cancelled.status_code == 200
    minutes_pass(clinic.app, clinic.clock, 24 * 60, step=30)
    assert appointment_messages(clinic.app) == []
    assert [m.kind for m in appointment_messages(clinic.app, "webhook")] == ["appointment_cancelled"]


def test_reminders_go_once_each_across_a_restart(clinic):
    book(clinic, preparation="vaccination")
    clinic.clock.advance(minutes=31)
    look_again(clinic.app)
    clinic.dispatch()
    # The server restarts: a new app and dispatcher over the same database, the same minute.
    db.session.remove()
    restarted = create_app(clinic.app.extensions["queue_app"].settings, clock=clinic.clock)
    look_again(restarted)
    restarted.extensions["queue_app"].dispatcher.run_once()
    minutes_pass(restarted, clinic.clock, 23 * 60)  # and on to the day's reminder
    restarted.extensions["queue_app"].dispatcher.run_once()
    kinds = [(m.kind, seoul(m), m.status) for m in appointment_messages(restarted)]
    assert kinds == [("appointment_reminder", "Mon 10:31", "sent"), ("appointment_reminder", "Tue 08:31", "sent")]
    assert len(clinic.providers.sent(SOLAPI_PATH)) == 2


def test_the_webhook_hears_of_confirmation_arrival_and_no_show(clinic):
    confirmed = book(clinic, starts_at="2026-11-23T10:20:00+09:00")
    missed = book(clinic, starts_at="2026-11-23T10:20:00+09:00", phone="010-9999-8888", reference="EMR-2")
    assert clinic.client.post(f"/a/{confirmed['token']}/confirm").status_code == 303
    assert clinic.client.post(f"/a/{confirmed['token']}/arrive").status_code == 303
    minutes_pass(clinic.app, clinic.clock, 40)  # 10:40: the grace is over
    clinic.dispatch()
    bodies = [r.json() for r in clinic.providers.sent("/hook")]
    events = [(body["event"], body["appointment"]["id"]) for body in bodies if "appointment" in body]
    assert ("appointment_confirmed", confirmed["id"]) in events
    assert ("appointment_arrived", confirmed["id"]) in events
    assert ("appointment_no_show", missed["id"]) in events
    assert ("appointment_no_show", confirmed["id"]) not in events


def test_a_confirmation_by_text_reaches_the_webhook_with_the_pages_whole_link(clinic):
    appointment = book(clinic)
    form = {"From": "+821012345678", "To": "+15005550006", "Body": "네", "MessageSid": "SM" + "7" * 32}
    signature = compute_twilio_signature("http://localhost/hooks/twilio/inbound", form, "token")
    answer = clinic.client.post("/hooks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200
    [event] = appointment_messages(clinic.app, "webhook")
    assert event.kind == "appointment_confirmed"
    # Its facts were made with the clinic's address, like a booking's, not a bare path.
    assert json.loads(event.variables)["link"] == appointment["url"]
