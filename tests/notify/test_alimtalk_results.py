"""AlimTalk results are read, not assumed: Solapi accepts a message to a phone without
KakaoTalk and says so only later.  The dispatcher asks Solapi's message list (and takes its
report webhook); a failure goes on to SMS, is not billed, and the number is skipped on
AlimTalk for ``skip_days``.  A local Solapi and a local Twilio answer; time is a ManualClock.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_app import create_app
from queue_app.extensions import db
from queue_app.models import Message, MessageAttempt, OptOut, Ticket

from ..conftest import make_settings, prepare_database
from .local_solapi import Fate, LocalSolapi
from .test_dispatch import TWILIO_PATH, Clinic

PHONE = "+821012345678"
NATIONAL = "01012345678"
HOOK_SECRET = "solapi-reports-2f9c1e7a"


def settings_for(url: str, base: str, order=("alimtalk", "sms"), **alimtalk):
    return make_settings(
        url,
        notify={"channels": list(order), "near_positions": 2, "near_minutes": 0, "retries": 3},
        channels={
            "alimtalk": {
                "api_key": "NCSKEY",
                "api_secret": "NCSSECRET",
                "pf_id": "KA01PF",
                "templates": {"checked_in": "T1", "turn_near": "T2", "called": "T3", "recalled": "T4"},
                "base_url": base,
                "cost": 8,
                "timeout": 1,
                "webhook_secret": HOOK_SECRET,
                **alimtalk,
            },
            "sms": {
                "account_sid": "AC" + "1" * 32,
                "auth_token": "token",
                "from_number": "+15005550006",
                "base_url": base,
                "cost": 20,
                "timeout": 1,
            },
        },
    )


class Providers:
    """The local Solapi and a Twilio that accepts every text."""

    def __init__(self, server, clock) -> None:
        self.server = server
        self.solapi = LocalSolapi(server, "NCSKEY", "NCSSECRET", now=lambda: clock.now().timestamp())
        server.handler = self.handle

    def handle(self, request):
        if self.solapi.handles(request):
            return self.solapi.handle(request)
        if request.path == TWILIO_PATH:
            return 201, {}, {"sid": "SM" + hashlib.md5(request.body).hexdigest(), "status": "queued"}
        return 404, {}, b""

    def texts(self) -> list[str]:
        return [r.form()["To"][0] for r in self.server.requests if r.path == TWILIO_PATH]


def make_clinic(tmp_path, clock, http_server, **options) -> Clinic:
    settings = settings_for(f"sqlite:///{tmp_path / 'a.db'}", http_server.url, **options)
    prepare_database(settings)
    return Clinic(create_app(settings, clock=clock), clock, Providers(http_server, clock))


@pytest.fixture
def clinic(tmp_path, clock, http_server):
    clinic = make_clinic(tmp_path, clock, http_server)
    yield clinic
    with clinic.app.app_context():
        db.session.remove()
        db.engine.dispose()


def attempts(clinic, message_id: str) -> list[tuple[str, str, str | None]]:
    with clinic.app.app_context():
        rows = db.session.scalars(
            select(MessageAttempt).where(MessageAttempt.message_id == message_id).order_by(MessageAttempt.id)
        )
        return [(a.channel, a.outcome, a.error) for a in rows]


def opt_out(clinic, phone: str = PHONE, channel: str = "alimtalk") -> OptOut | None:
    with clinic.app.app_context():
        return db.session.get(OptOut, (phone, channel))


def checked_in_message(clinic, ticket_id: int) -> Message:
    return next(m for m in clinic.messages(ticket_id) if m.kind == "checked_in")


def reachable(clinic, ticket_id: int) -> list[str]:
    """The channels staff see for the ticket (the outbox's reachability, on the app's clock)."""
    with clinic.app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        return clinic.app.extensions["queue_app"].outbox.reachability(db.session, [ticket])[ticket_id]


def test_no_kakaotalk_found_by_asking_goes_to_sms_unbilled_and_the_number_is_skipped(clinic):
    solapi = clinic.providers.solapi
    solapi.fates[NATIONAL] = Fate("3104", after=3)
    ticket = clinic.check_in(phone="010-1234-5678")
    clinic.dispatch()
    message = checked_in_message(clinic, ticket["id"])
    assert (message.channel, message.status, message.cost) == ("alimtalk", "sent", 8.0)
    assert message.result_check_at == clinic.clock.now() + timedelta(seconds=5)
    clinic.dispatch()
    assert solapi.list_calls() == []  # not asked before the poll interval

    clinic.dispatch(advance_seconds=5)  # Solapi now lists 3104: not a KakaoTalk user
    [asked] = solapi.list_calls()
    assert asked.query == {"criteria": ["messageId"], "cond": ["eq"], "value": [solapi.accepted[0].message_id]}
    message = checked_in_message(clinic, ticket["id"])
    assert (message.channel, message.status, message.cost) == ("sms", "queued", 0.0)
    skipped = opt_out(clinic)
    assert (skipped.reason, skipped.until) == ("unreachable", clinic.clock.now() + timedelta(days=30))

    clinic.dispatch()
    message = checked_in_message(clinic, ticket["id"])
    # The check-in text keeps its page link: an LMS in Korea, at the SMS channel's cost_long.
    assert (message.channel, message.status, message.cost) == ("sms", "sent", 50.0)
    assert clinic.providers.texts() == [PHONE]
    [sent, undelivered, texted] = attempts(clinic, message.id)
    assert sent[:2] == ("alimtalk", "sent") and texted[:2] == ("sms", "sent")
    assert undelivered[:2] == ("alimtalk", "undelivered") and "3104" in undelivered[2]
    # The day's cost: one text at SMS's price; the AlimTalk Solapi did not bill is not there.
    costs = clinic.client.get("/api/v1/messages/costs", headers=clinic.tokens.headers("staff")).get_json()
    assert costs["channels"] == [{"channel": "sms", "sent": 1, "cost": 50.0}] and costs["total_cost"] == 50.0

    # Called: straight to SMS, AlimTalk is not tried again for this ticket.
    clinic.call_next()
    clinic.dispatch()
    assert [m.channel for m in clinic.messages(ticket["id"]) if m.kind == "called"] == ["sms"]
    assert len(solapi.sends()) == 1 and clinic.providers.texts() == [PHONE, PHONE]

    # Another visit from the same number (the next day: one check-in text a day per number):
    # not tried on AlimTalk either, while the skip lasts.
    clinic.act(ticket["id"], "finish")
    clinic.clock.advance(days=1)
    again = clinic.check_in(phone="010-1234-5678")
    assert checked_in_message(clinic, again["id"]).channel == "sms"
    assert reachable(clinic, again["id"]) == ["sms"]
    clinic.dispatch()
    assert len(solapi.sends()) == 1

    # After skip_days the number is given another chance on AlimTalk (they may have installed it).
    clinic.clock.advance(days=29, seconds=1)
    assert reachable(clinic, again["id"]) == ["alimtalk", "sms"]
    solapi.fates[NATIONAL] = Fate("4000")
    later = clinic.check_in(phone="010-1234-5678")
    assert checked_in_message(clinic, later["id"]).channel == "alimtalk"
    clinic.dispatch()
    assert len(solapi.sends()) == 2
    clinic.dispatch(advance_seconds=5)
    message = checked_in_message(clinic, later["id"])
    assert (message.channel, message.status, message.result_check_at) == ("alimtalk", "delivered", None)


@pytest.mark.parametrize("trouble", ["malformed", "stall", "error", "empty"])
def test_a_bad_or_late_list_answer_leaves_the_message_pending_and_nothing_is_sent_twice(clinic, trouble):
    solapi = clinic.providers.solapi
    solapi.fates[NATIONAL] = Fate("3104")
    ticket = clinic.check_in()
    clinic.dispatch()
    solapi.list_mode = trouble
    for checks in (1, 2):
        clinic.dispatch(advance_seconds=5)
        message = checked_in_message(clinic, ticket["id"])
        assert (message.channel, message.status, message.result_checks) == ("alimtalk", "sent", checks)
        assert message.result_check_at == clinic.clock.now() + timedelta(seconds=5)
    assert len(solapi.list_calls()) == 2
    assert opt_out(clinic) is None and clinic.providers.texts() == []

    solapi.list_mode = "ok"  # Solapi answers properly again: the failure is acted on, once
    for _ in range(4):
        clinic.dispatch(advance_seconds=5)
    message = checked_in_message(clinic, ticket["id"])
    assert (message.channel, message.status) == ("sms", "sent")
    assert len(solapi.sends()) == 1 and clinic.providers.texts() == [PHONE]
    assert [a[1] for a in attempts(clinic, message.id)] == ["sent", "undelivered", "sent"]


def test_with_no_channel_after_alimtalk_a_called_patient_goes_on_the_call_list_unbilled(tmp_path, clock, http_server):
    clinic = make_clinic(tmp_path, clock, http_server, order=("alimtalk",))
    try:
        clinic.providers.solapi.fates[NATIONAL] = Fate("3104", after=2)
        ticket = clinic.check_in()
        clinic.call_next()
        clinic.dispatch()
        assert {m.kind: m.status for m in clinic.messages(ticket["id"])} == {"checked_in": "sent", "called": "sent"}
        assert clinic.ticket(ticket["id"]).needs_call is False
        clinic.dispatch(advance_seconds=5)
        [asked] = clinic.providers.solapi.list_calls()  # both messages in one list call
        assert sorted(json.loads(asked.query["messageIds"][0])) == [
            m.message_id for m in clinic.providers.solapi.accepted
        ]
        called = next(m for m in clinic.messages(ticket["id"]) if m.kind == "called")
        assert (called.channel, called.status, called.cost) == ("alimtalk", "failed", 0.0)
        assert "3104" in called.last_error
        assert clinic.ticket(ticket["id"]).needs_call is True  # reception phones them
        costs = clinic.client.get("/api/v1/messages/costs", headers=clinic.tokens.headers("staff")).get_json()
        assert costs["channels"] == [] and costs["total_cost"] == 0
    finally:
        with clinic.app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_asking_stops_after_the_wait_and_the_message_stays_sent(tmp_path, clock, http_server):
    clinic = make_clinic(tmp_path, clock, http_server, result_wait_minutes=1, result_poll_seconds=20)
    try:
        clinic.providers.solapi.fates[NATIONAL] = Fate("4000", after=3600)  # with Kakao for an hour
        ticket = clinic.check_in()
        clinic.dispatch()
        for _ in range(5):
            clinic.dispatch(advance_seconds=20)
        message = checked_in_message(clinic, ticket["id"])
        assert (message.status, message.result_check_at, message.result_checks) == ("sent", None, 3)
        assert len(clinic.providers.solapi.list_calls()) == 3
    finally:
        with clinic.app.app_context():
            db.session.remove()
            db.engine.dispose()


def report(message_id: str, code: str, event: str = "EV01") -> list[dict]:
    """Solapi's report webhook body for one message."""
    return [
        {
            "eventDataId": event,
            "data": {
                "messageId": message_id,
                "groupId": "G4V20261123100000ABCDEFGHIJKLM",
                "type": "ATA",
                "to": NATIONAL,
                "from": "0212345678",
                "statusCode": code,
                "statusMessage": "카카오톡 미사용자" if code == "3104" else "수신 완료",
                "dateReceived": "2026-11-23T01:00:03.000Z",
                "customFields": {},
            },
            "retryCount": 0,
        }
    ]


def test_solapi_report_webhook_moves_a_failure_on_once(clinic):
    ticket = clinic.check_in()
    clinic.dispatch()
    provider_id = clinic.providers.solapi.accepted[0].message_id
    url = f"/hooks/solapi/{HOOK_SECRET}"

    assert clinic.client.post("/hooks/solapi/not-the-secret", json=report(provider_id, "3104")).status_code == 404
    bad = clinic.client.post(url, json={"messageId": provider_id, "statusCode": "3104"})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "body"
    bad = clinic.client.post(url, json=[{"data": {"messageId": provider_id}}])
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "[0].data.statusCode"
    assert checked_in_message(clinic, ticket["id"]).status == "sent" and opt_out(clinic) is None

    first = clinic.client.post(url, json=report(provider_id, "3104"))
    assert first.status_code == 200 and first.get_json() == {"received": 1, "settled": 1}
    message = checked_in_message(clinic, ticket["id"])
    assert (message.channel, message.status, message.cost) == ("sms", "queued", 0.0)
    assert opt_out(clinic).reason == "unreachable"
    with clinic.app.app_context():
        tries = db.session.scalar(select(func.count()).select_from(MessageAttempt))

    # Solapi delivers a report again (it retries): nothing changes a second time.
    repeat = clinic.client.post(url, json=report(provider_id, "3104", event="EV01"))
    assert repeat.status_code == 200 and repeat.get_json() == {"received": 1, "settled": 0}
    with clinic.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MessageAttempt)) == tries
    clinic.dispatch()
    clinic.dispatch(advance_seconds=5)
    assert clinic.providers.texts() == [PHONE]
    assert len(clinic.providers.solapi.sends()) == 1 and clinic.providers.solapi.list_calls() == []


def test_a_received_report_marks_the_alimtalk_delivered(clinic):
    ticket = clinic.check_in()
    clinic.dispatch()
    provider_id = clinic.providers.solapi.accepted[0].message_id
    answer = clinic.client.post(f"/hooks/solapi/{HOOK_SECRET}", json=report(provider_id, "4000"))
    assert answer.get_json() == {"received": 1, "settled": 1}
    message = checked_in_message(clinic, ticket["id"])
    assert (message.status, message.delivered_at, message.result_check_at) == ("delivered", clinic.clock.now(), None)
    clinic.dispatch(advance_seconds=5)
    assert clinic.providers.solapi.list_calls() == []  # nothing left to ask
