"""Telling patients: the outbox decides in the queue's transaction, the dispatcher delivers.

One local HTTP server speaks Solapi (AlimTalk), Twilio (SMS) and the clinic's webhook on
their documented paths; each test sets how each provider behaves.  Time is a ManualClock, so
retries and backoff are driven step by step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_app import create_app
from queue_app.extensions import db, socketio
from queue_app.models import Message, MessageAttempt, Ticket
from queue_app.notify.outbox import ALREADY_TEXTED_TODAY, LEAD_MARGIN

from ..conftest import Tokens, make_settings, prepare_database

TWILIO_PATH = "/2010-04-01/Accounts/AC" + "1" * 32 + "/Messages.json"
SOLAPI_PATH = "/messages/v4/send-many/detail"
WEBHOOK_SECRET = "hook-secret"


class Providers:
    """How each provider answers; every request is recorded by the http_server fixture."""

    def __init__(self, server) -> None:
        self.server = server
        self.alimtalk = "ok"  # ok | down | refuse
        self.sms = "ok"  # ok | down | refuse
        self.webhook = "ok"  # ok | down
        self.alimtalk_seconds = 0.0  # how long AlimTalk takes to answer
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        server.handler = self.handle

    def handle(self, request):
        if request.path == SOLAPI_PATH and self.alimtalk_seconds:
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            time.sleep(self.alimtalk_seconds)
            with self._lock:
                self.in_flight -= 1
        if request.path == SOLAPI_PATH:
            if self.alimtalk == "down":
                return 500, {}, {"errorCode": "InternalError", "errorMessage": "try later"}
            message = request.json()["messages"][0]
            if self.alimtalk == "refuse":
                return (
                    200,
                    {},
                    {
                        "groupInfo": {"groupId": "G1", "count": {"total": 1, "registeredFailed": 1}},
                        "messageList": [],
                        "failedMessageList": [
                            {"to": message["to"], "statusCode": "3059", "statusMessage": "no kakao user"}
                        ],
                    },
                )
            return (
                200,
                {},
                {
                    "groupInfo": {"groupId": "G1", "count": {"total": 1, "registeredSuccess": 1}},
                    "failedMessageList": [],
                    "messageList": [
                        {"messageId": "M" + message["customFields"]["queueMessageId"][:8], "statusCode": "2000"}
                    ],
                },
            )
        if request.path == TWILIO_PATH:
            if self.sms == "down":
                return 503, {}, {"code": 20500, "message": "Service unavailable", "status": 503}
            if self.sms == "refuse":
                return 400, {}, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}
            return 201, {}, {"sid": "SM" + hashlib.md5(request.body).hexdigest(), "status": "queued"}
        if request.path == "/hook":
            expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
            assert request.headers["X-Queue-Signature"] == expected
            if self.webhook == "down":
                return 502, {}, b""
            return 200, {}, b""
        return 404, {}, b""

    def sent(self, path: str) -> list:
        return [r for r in self.server.requests if r.path == path]


def clinic_settings(url: str, base: str, **notify):
    return make_settings(
        url,
        notify={
            "channels": ["alimtalk", "sms"],
            "near_positions": 2,
            "near_minutes": 0,
            "retries": 3,
            "retry_base_seconds": 10,
            **notify,
        },
        channels={
            "alimtalk": {
                "api_key": "KEY",
                "api_secret": "SECRET",
                "pf_id": "PF",
                "sender": "0212345678",
                "templates": {
                    "checked_in": "T1",
                    "turn_near": "T2",
                    "called": "T3",
                    "recalled": "T4",
                    "appointment_reminder": "T5",
                    "appointment_preparation": "T6",
                },
                "base_url": base,
                "cost": 8,
                "timeout": 2,
            },
            "sms": {
                "account_sid": "AC" + "1" * 32,
                "auth_token": "token",
                "from_number": "+15005550006",
                "base_url": base,
                "cost": 20,
                "timeout": 2,
            },
            "webhook": {"url": base + "/hook", "secret": WEBHOOK_SECRET, "timeout": 2},
        },
    )


@pytest.fixture
def clinic(tmp_path, clock, http_server):
    settings = clinic_settings(f"sqlite:///{tmp_path / 'n.db'}", http_server.url)
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    yield Clinic(app, clock, Providers(http_server))
    db.session.remove()
    db.engine.dispose()


class Clinic:
    """The app, its clock, the providers, and the moves a morning is made of."""

    def __init__(self, app, clock, providers) -> None:
        self.app = app
        self.clock = clock
        self.providers = providers
        self.client = app.test_client()
        self.tokens = Tokens(app, clock)
        self.dispatcher = app.extensions["queue_app"].dispatcher
        self.patients = 0

    def check_in(self, phone: str | None = "", consent: bool = True, service: str = "general") -> dict:
        """A kiosk check-in; each patient brings their own number (010-1234-5678, -5679, ...) unless given."""
        if phone == "":
            phone = f"010-1234-{5678 + self.patients:04d}"
        self.patients += 1
        body = {"service": service, "consent": consent, **({"phone": phone} if phone else {})}
        response = self.client.post("/api/v1/tickets", json=body, headers=self.tokens.headers("kiosk"))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def call_next(self, room: str = "room1") -> dict | None:
        response = self.client.post(f"/api/v1/rooms/{room}/call-next", headers=self.tokens.headers("staff"))
        assert response.status_code in (200, 204), response.get_json()
        return response.get_json()["ticket"] if response.status_code == 200 else None

    def act(self, ticket_id: int, action: str, **body) -> dict:
        response = self.client.post(
            f"/api/v1/tickets/{ticket_id}/{action}", json=body, headers=self.tokens.headers("staff")
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()["ticket"]

    def dispatch(self, advance_seconds: float = 0) -> int:
        if advance_seconds:
            self.clock.advance(seconds=advance_seconds)
        return self.dispatcher.run_once()

    def messages(self, ticket_id: int | None = None, route: str = "patient", skipped: bool = False) -> list[Message]:
        """The messages decided, oldest first; those decided but not to be sent only on request."""
        with self.app.app_context():
            query = select(Message).where(Message.route == route).order_by(Message.created_at, Message.id)
            if not skipped:
                query = query.where(Message.status != "skipped")
            if ticket_id is not None:
                query = query.where(Message.ticket_id == ticket_id)
            return list(db.session.scalars(query))

    def ticket(self, ticket_id: int) -> Ticket:
        with self.app.app_context():
            return db.session.get(Ticket, ticket_id)


def test_check_in_writes_confirmation_and_webhook_event_with_the_ticket(clinic):
    ticket = clinic.check_in()
    patient = sorted((m.kind, m.channel, m.status) for m in clinic.messages(ticket["id"], skipped=True))
    # First in line at check-in: the "turn near" message is decided and skipped (told at the desk).
    assert patient == [("checked_in", "alimtalk", "queued"), ("turn_near", None, "skipped")]
    assert [m.kind for m in clinic.messages(ticket["id"], route="webhook")] == ["checked_in"]
    # Nothing was sent inside the request: the dispatcher sends.
    assert clinic.providers.server.requests == []


def test_refused_check_in_writes_no_message(clinic):
    response = clinic.client.post(
        "/api/v1/tickets", json={"service": "general", "phone": "12"}, headers=clinic.tokens.headers("kiosk")
    )
    assert response.status_code == 400
    assert clinic.messages() == [] and clinic.messages(route="webhook") == []


def test_dispatcher_sends_on_the_first_channel_with_the_minimum_in_it(clinic):
    ticket = clinic.check_in()
    assert clinic.dispatch() == 2
    [alimtalk] = clinic.providers.sent(SOLAPI_PATH)
    body = alimtalk.json()["messages"][0]
    assert body["to"] == "01012345678"
    assert body["kakaoOptions"]["templateId"] == "T1"
    variables = json.dumps(body["kakaoOptions"]["variables"], ensure_ascii=False)
    assert ticket["number"] in variables and ticket["token"] in variables
    [message] = clinic.messages(ticket["id"])
    assert (message.status, message.channel, message.cost) == ("sent", "alimtalk", 8.0)
    [hook] = clinic.providers.sent("/hook")
    event = hook.json()
    assert event["event"] == "checked_in" and event["ticket"]["number"] == ticket["number"]
    assert event["id"] == clinic.messages(ticket["id"], route="webhook")[0].id
    # Nothing is sent twice.
    assert clinic.dispatch() == 0
    assert len(clinic.providers.server.requests) == 2


def test_without_consent_the_phone_is_not_messaged_and_staff_see_it(clinic):
    ticket = clinic.check_in(consent=False)
    [message] = [m for m in clinic.messages(ticket["id"], skipped=True) if m.kind == "checked_in"]
    assert message.status == "skipped"  # no consent: the confirmation is not sent
    queue = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
    assert queue["waiting"][0]["reachable"] is False


def test_turn_near_once_when_within_the_places(clinic):
    tickets = [clinic.check_in() for _ in range(5)]
    last = tickets[-1]["id"]
    # Checked in already near (places 1-3): told at the desk, no "come back" message.
    assert [m.status for m in clinic.messages(tickets[0]["id"], skipped=True) if m.kind == "turn_near"] == ["skipped"]
    assert not [m for m in clinic.messages(last) if m.kind == "turn_near"]
    clinic.call_next()  # 4 ahead -> 3
    assert not [m for m in clinic.messages(last) if m.kind == "turn_near"]
    clinic.act(tickets[0]["id"], "finish")
    clinic.call_next()  # 2 ahead: near
    assert [m.kind for m in clinic.messages(last)].count("turn_near") == 1
    clinic.act(tickets[1]["id"], "finish")
    clinic.call_next()  # 1 ahead: still exactly one
    assert [m.kind for m in clinic.messages(last)].count("turn_near") == 1


def test_transfer_re_arms_turn_near(clinic):
    ticket = clinic.check_in()
    assert clinic.call_next()["id"] == ticket["id"]
    clinic.act(ticket["id"], "start")
    waiting = [clinic.check_in(service="vaccination") for _ in range(4)]
    clinic.clock.advance(minutes=6)
    clinic.act(ticket["id"], "transfer", service="vaccination")  # 4 ahead in the new line
    clinic.call_next("room4")  # 3 ahead
    assert not [m for m in clinic.messages(ticket["id"]) if m.kind == "turn_near" and m.status == "queued"]
    clinic.act(waiting[0]["id"], "finish")
    clinic.call_next("room4")  # 2 ahead: near in the new line
    near = [m for m in clinic.messages(ticket["id"], skipped=True) if m.kind == "turn_near"]
    # The first was skipped (near at check-in); the transfer armed a second, now queued.
    assert [(m.status, m.dedupe_key.split(":")[2]) for m in near] == [("skipped", "0"), ("queued", "1")]


def test_called_message_names_the_room(clinic):
    ticket = clinic.check_in()
    clinic.dispatch()
    clinic.call_next("room2")
    clinic.dispatch()
    called = [r.json()["messages"][0] for r in clinic.providers.sent(SOLAPI_PATH)][-1]
    assert called["kakaoOptions"]["templateId"] == "T3"
    assert "2번 진료실" in json.dumps(called["kakaoOptions"]["variables"], ensure_ascii=False)
    assert {m.kind for m in clinic.messages(ticket["id"]) if m.status == "sent"} == {"checked_in", "called"}


def test_provider_down_is_retried_with_backoff_then_the_next_channel(clinic):
    clinic.providers.alimtalk = "down"
    ticket = clinic.check_in()
    clinic.dispatch()
    [message] = clinic.messages(ticket["id"])
    assert (message.status, message.attempts, message.channel) == ("queued", 1, "alimtalk")
    first_retry = message.next_attempt_at - clinic.clock.now()
    assert timedelta(seconds=5) <= first_retry <= timedelta(seconds=15)  # base 10 s, jitter
    assert clinic.dispatch() == 0  # not due yet: no hammering
    clinic.dispatch(advance_seconds=16)
    [message] = clinic.messages(ticket["id"])
    assert message.attempts == 2
    second_retry = message.next_attempt_at - clinic.clock.now()
    assert timedelta(seconds=10) <= second_retry <= timedelta(seconds=30)  # doubled
    clinic.dispatch(advance_seconds=31)  # third failure: SMS takes over
    [message] = clinic.messages(ticket["id"])
    assert (message.channel, message.status, message.attempts) == ("sms", "queued", 0)
    clinic.dispatch()
    [message] = clinic.messages(ticket["id"])
    # The check-in text carries the page link: over 90 bytes in EUC-KR, billed as an LMS.
    assert (message.channel, message.status, message.cost) == ("sms", "sent", 50.0)
    assert len(clinic.providers.sent(SOLAPI_PATH)) == 3 and len(clinic.providers.sent(TWILIO_PATH)) == 1
    with clinic.app.app_context():
        outcomes = [
            (a.channel, a.outcome)
            for a in db.session.scalars(select(MessageAttempt).where(MessageAttempt.message_id == message.id))
        ]
    assert outcomes == [("alimtalk", "temporary_failure")] * 3 + [("sms", "sent")]


def test_refused_number_goes_to_the_next_channel_at_once(clinic):
    clinic.providers.alimtalk = "refuse"
    ticket = clinic.check_in()
    clinic.dispatch()
    clinic.dispatch()
    [message] = clinic.messages(ticket["id"])
    assert (message.channel, message.status) == ("sms", "sent")
    assert len(clinic.providers.sent(SOLAPI_PATH)) == 1


def test_no_channel_left_puts_the_patient_on_the_call_list(clinic):
    clinic.providers.alimtalk = "refuse"
    clinic.providers.sms = "refuse"
    tickets = [clinic.check_in(phone=f"010-1234-567{i}") for i in range(4)]
    staff_socket = socketio.test_client(
        clinic.app, flask_test_client=clinic.client, auth={"token": clinic.tokens["staff"]}
    )
    staff_socket.get_received()
    clinic.call_next()
    clinic.dispatch()
    clinic.dispatch()
    called = [m for m in clinic.messages(tickets[0]["id"]) if m.kind == "called"][0]
    assert called.status == "failed"
    assert clinic.ticket(tickets[0]["id"]).needs_call is True
    queue = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
    in_room = queue["in_rooms"][0]
    assert in_room["needs_call"] is True
    # Reception phones them: the call list has the whole number; nobody else's is shown.
    assert in_room["call_phone"] == "+821012345670"
    assert in_room["call_phone_display"] == "010-1234-5670"
    assert all((t["call_phone"] is None) == (not t["needs_call"]) for t in queue["waiting"])
    assert any(t["call_phone"] is None for t in queue["waiting"])
    [shown] = [m for m in in_room["messages"] if m["kind"] == "called" and m["route"] == "patient"]
    assert (shown["channel"], shown["status"], shown["route"], shown["id"]) == ("sms", "failed", "patient", called.id)
    assert "21211" in shown["error"] or "Invalid" in shown["error"]
    # Each step reached the staff consoles as it happened, the last one the failure.
    steps = [e["args"][0] for e in staff_socket.get_received() if e["name"] == "delivery"]
    last = [s for s in steps if s["message"]["id"] == called.id][-1]
    assert last["needs_call"] is True and last["message"]["status"] == "failed"
    # AlimTalk refused: handed to SMS (queued there), which refused too.
    assert [(s["message"]["channel"], s["message"]["status"]) for s in steps if s["message"]["id"] == called.id] == [
        ("sms", "queued"),
        ("sms", "failed"),
    ]
    # Reached by phone: off the call list, and the number is masked again.
    reached = clinic.client.post(f"/api/v1/tickets/{tickets[0]['id']}/reached", headers=clinic.tokens.headers("staff"))
    assert reached.status_code == 200
    assert reached.get_json()["ticket"]["needs_call"] is False
    assert reached.get_json()["ticket"]["call_phone"] is None
    staff_socket.disconnect()


def test_patient_who_left_no_contact_follows_the_tv_and_is_not_on_the_call_list(clinic):
    tickets = [clinic.check_in(phone=None) for _ in range(5)]
    clinic.call_next()
    clinic.act(tickets[0]["id"], "finish")
    clinic.call_next()
    assert clinic.ticket(tickets[4]["id"]).needs_call is False
    [near] = [m for m in clinic.messages(tickets[4]["id"], skipped=True) if m.kind == "turn_near"]
    assert near.status == "skipped" and near.last_error.startswith("TV only")
    staff = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
    row = next(t for t in staff["waiting"] if t["id"] == tickets[4]["id"])
    assert (row["tv_only"], row["needs_call"], row["reachable"]) == (True, False, False)
    assert not clinic.providers.server.requests  # nothing to send: no money spent


def test_patient_whose_number_no_channel_may_use_is_on_the_call_list_when_near(clinic):
    # They gave a number but did not agree to texts: reception phones them instead.
    tickets = [clinic.check_in(consent=False) for _ in range(5)]
    clinic.call_next()
    clinic.act(tickets[0]["id"], "finish")
    clinic.call_next()
    assert clinic.ticket(tickets[4]["id"]).needs_call is True
    assert [m.status for m in clinic.messages(tickets[4]["id"]) if m.kind == "turn_near"] == ["failed"]
    staff = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
    row = next(t for t in staff["waiting"] if t["id"] == tickets[4]["id"])
    assert (row["tv_only"], row["needs_call"]) == (False, True)
    assert not [r for r in clinic.providers.server.requests if r.path != "/hook"]  # no text was sent


def test_every_recall_is_a_message_of_its_own(clinic):
    ticket = clinic.check_in()
    clinic.call_next()
    clinic.act(ticket["id"], "recall")
    clinic.act(ticket["id"], "recall")
    recalls = [m for m in clinic.messages(ticket["id"]) if m.kind == "recalled"]
    assert len(recalls) == 2
    clinic.dispatch()
    sent = [r.json()["messages"][0]["kakaoOptions"]["templateId"] for r in clinic.providers.sent(SOLAPI_PATH)]
    assert sent.count("T4") == 2  # both recalls reached the patient's phone


def test_one_number_gets_one_check_in_text_a_clinic_day(clinic):
    first = clinic.check_in(phone="010-5555-0001", service="general")
    second = clinic.check_in(phone="010-5555-0001", service="vaccination")
    other = clinic.check_in(phone="010-5555-0002", service="vaccination")

    def checked_in(ticket):
        return next(m for m in clinic.messages(ticket["id"], skipped=True) if m.kind == "checked_in")

    assert checked_in(first).status == "queued" and checked_in(other).status == "queued"
    skipped = checked_in(second)
    assert (skipped.status, skipped.channel, skipped.last_error) == ("skipped", None, ALREADY_TEXTED_TODAY)
    clinic.dispatch(advance_seconds=61)
    texted = [r.json()["messages"][0]["to"] for r in clinic.providers.sent(SOLAPI_PATH)]
    assert sorted(texted) == ["01055550001", "01055550002"]
    # Only the check-in text is spared: the second visit is still told when it is called.
    clinic.call_next("room4")
    assert [m.status for m in clinic.messages(second["id"]) if m.kind == "called"] == ["queued"]
    # The next clinic day the number gets its check-in text again.
    clinic.clock.advance(days=1)
    tomorrow = clinic.check_in(phone="010-5555-0001", service="general")
    assert checked_in(tomorrow).status == "queued"


def test_old_news_is_not_sent(clinic):
    clinic.providers.alimtalk = "down"
    clinic.providers.sms = "down"
    ticket = clinic.check_in()
    clinic.call_next()
    clinic.dispatch()
    clinic.act(ticket["id"], "finish")  # the providers were down the whole visit
    clinic.providers.alimtalk = clinic.providers.sms = "ok"
    before = len(clinic.providers.server.requests)
    for _ in range(8):
        clinic.dispatch(advance_seconds=400)
    called = [m for m in clinic.messages(ticket["id"], skipped=True) if m.kind == "called"][0]
    assert called.status == "skipped"
    late = [r for r in clinic.providers.server.requests[before:] if r.path != "/hook"]
    assert late == []  # neither "you are called" nor the stale check-in confirmation went out


def test_webhook_is_retried_with_the_same_event_id(clinic):
    clinic.providers.webhook = "down"
    clinic.check_in(phone=None)
    clinic.dispatch()
    clinic.providers.webhook = "ok"
    clinic.dispatch(advance_seconds=60)
    hooks = clinic.providers.sent("/hook")
    assert len(hooks) == 2
    assert hooks[0].body == hooks[1].body  # identical bytes: the receiver can drop the repeat
    [message] = clinic.messages(route="webhook")
    assert message.status in ("sent", "delivered")


def test_two_dispatchers_never_send_one_message_twice(clinic):
    for _ in range(12):
        clinic.check_in()
    other = clinic.app.extensions["queue_app"].dispatcher.__class__(
        clinic.app.extensions["queue_app"].settings,
        clinic.dispatcher.session_factory,
        clinic.dispatcher.channels,
        clinic.clock,
    )
    start = threading.Barrier(2)

    def run(dispatcher):
        start.wait()
        while dispatcher.run_once():
            pass

    threads = [threading.Thread(target=run, args=(d,)) for d in (clinic.dispatcher, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [r.json()["messages"][0]["customFields"]["queueMessageId"] for r in clinic.providers.sent(SOLAPI_PATH)]
    hooks = [r.json()["id"] for r in clinic.providers.sent("/hook")]
    assert len(ids) == len(set(ids)) == 12
    assert len(hooks) == len(set(hooks)) == 12


def test_a_whole_morning_everyone_told_in_time(clinic):
    """30 patients, mixed channels; two rooms; every reachable patient hears "near" before
    their call, and everyone else is on the call list before their call."""
    kinds_of_patient = []
    for i in range(30):
        if i % 5 == 0:
            kinds_of_patient.append(clinic.check_in(phone=None))  # no phone: the TV only
        elif i % 7 == 0:
            kinds_of_patient.append(clinic.check_in(phone=f"+82 10 9876 54{i:02d}"))
        else:
            kinds_of_patient.append(clinic.check_in(phone=f"010-2345-{i:04d}"))
    clinic.providers.alimtalk = "down"  # AlimTalk is down all morning: SMS carries it
    called_order = []
    told_before_call: dict[int, bool] = {}
    for _ in range(40):
        for room in ("room1", "room2"):
            with clinic.app.app_context():
                current = db.session.scalar(select(Ticket).where(Ticket.room_id == room, Ticket.status == "called"))
            if current is not None:
                clinic.act(current.id, "finish")
            ticket = clinic.call_next(room)
            if ticket is None:
                continue
            tid = ticket["id"]
            near = [m for m in clinic.messages(tid) if m.kind == "turn_near"]
            position_at_check_in = next(i for i, t in enumerate(kinds_of_patient) if t["id"] == tid)
            if position_at_check_in < 3:
                told_before_call[tid] = True  # near at check-in: told at the desk
            else:
                told_before_call[tid] = bool(near) and (
                    near[0].status in ("sent", "delivered") or clinic.ticket(tid).needs_call
                )
            called_order.append(tid)
        # Six-minute consultations; the dispatcher runs every 30 seconds.
        for _ in range(12):
            clinic.dispatch(advance_seconds=30)
    assert len(called_order) == 30
    no_phone = {t["id"] for i, t in enumerate(kinds_of_patient) if i % 5 == 0}
    assert all(ok for t, ok in told_before_call.items() if t not in no_phone), told_before_call
    # Those who left no number follow the TV: not told, and not on the call list either.
    assert not any(clinic.ticket(t).needs_call for t in no_phone)
    sent = Counter(m.channel for m in clinic.messages() if m.status == "sent")
    assert sent["alimtalk"] == 0 and sent["sms"] > 0


def test_senders_work_side_by_side_and_keep_each_patients_order(tmp_path, clock, http_server):
    """A burst goes out ``senders`` at a time; one patient's messages still go in order."""
    settings = clinic_settings(f"sqlite:///{tmp_path / 'lanes.db'}", http_server.url, senders=4)
    prepare_database(settings)
    clinic = Clinic(create_app(settings, clock=clock), clock, Providers(http_server))
    try:
        clinic.providers.alimtalk_seconds = 0.15
        tickets = [clinic.check_in(phone=f"010-3456-{i:04d}") for i in range(8)]
        first = clinic.call_next("room1")
        assert first["id"] == tickets[0]["id"]

        def spawn(target, *args):
            thread = threading.Thread(target=target, args=args)
            thread.start()
            return thread

        while clinic.dispatcher.run_once(spawn):
            pass
        sent = clinic.providers.sent(SOLAPI_PATH)
        ids = [r.json()["messages"][0]["customFields"]["queueMessageId"] for r in sent]
        # 8 check-ins, one "turn near" (the fourth, now two places from the call), one call.
        assert len(ids) == len(set(ids)) == 10
        assert set(ids) == {m.id for m in clinic.messages()}
        assert clinic.providers.most_in_flight > 1
        assert all(m.status == "sent" for m in clinic.messages())
        # The first patient's "checked in" reached the provider before their "called".
        templates = [
            r.json()["messages"][0]["kakaoOptions"]["templateId"]
            for r in sent
            if r.json()["messages"][0]["customFields"]["queueMessageId"] in {m.id for m in clinic.messages(first["id"])}
        ]
        assert templates == ["T1", "T3"]
    finally:
        with clinic.app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_lead_time_the_patient_chose_decides_when_turn_near_goes(tmp_path, clock, http_server):
    """'I need about 30 minutes to come back' is told earlier than the default 15, and 5 later.

    Time is frozen: the estimates stay put and only the patients' choices differ.
    """
    settings = clinic_settings(f"sqlite:///{tmp_path / 'lead.db'}", http_server.url, near_positions=0, near_minutes=15)
    prepare_database(settings)
    clinic = Clinic(create_app(settings, clock=clock), clock, Providers(http_server))
    tickets = [clinic.check_in() for _ in range(12)]

    def low_end(ticket_id: int) -> int:
        staff = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
        return next(t["estimate_low_minutes"] for t in staff["waiting"] if t["id"] == ticket_id)

    def told(ticket_id: int) -> bool:
        # Decided, sent or not (a patient near already at check-in is told at the desk).
        return any(m.kind == "turn_near" for m in clinic.messages(ticket_id, skipped=True))

    # Two patients whose early end is between 15 and 30 minutes (with the margin): not near by
    # the default.
    between = [t["id"] for t in tickets if 15 * LEAD_MARGIN < low_end(t["id"]) <= 30 * LEAD_MARGIN]
    assert len(between) >= 2, [low_end(t["id"]) for t in tickets]
    eager, relaxed = between[0], between[1]
    # And one whose early end is between 5 and 15: near by the default (already decided).
    close = [t["id"] for t in tickets if 5 * LEAD_MARGIN < low_end(t["id"]) <= 15 * LEAD_MARGIN]
    assert close and all(told(t) for t in close), [low_end(t["id"]) for t in tickets]
    assert not told(eager) and not told(relaxed)

    with clinic.app.app_context():
        db.session.get(Ticket, eager).lead_minutes = 30
        db.session.get(Ticket, relaxed).lead_minutes = 15
        db.session.commit()
    clinic.check_in(service="vaccination")  # any change re-reads everyone's place
    assert told(eager) and not told(relaxed)
    [near] = [m for m in clinic.messages(eager) if m.kind == "turn_near"]
    assert near.status == "queued"  # on its way to the patient


def test_a_patient_who_needs_only_five_minutes_is_told_later_than_the_default(tmp_path, clock, http_server):
    settings = clinic_settings(f"sqlite:///{tmp_path / 'lead5.db'}", http_server.url, near_positions=0, near_minutes=15)
    prepare_database(settings)
    clinic = Clinic(create_app(settings, clock=clock), clock, Providers(http_server))
    for _ in range(12):
        clinic.check_in()

    def waiting() -> dict[int, dict]:
        staff = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
        return {t["id"]: t for t in staff["waiting"]}

    def told(ticket_id: int) -> bool:
        return any(m.kind == "turn_near" for m in clinic.messages(ticket_id, skipped=True))

    def next_call() -> None:
        staff = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
        for t in staff["in_rooms"]:
            clinic.act(t["id"], "finish")
        assert clinic.call_next("room1") or clinic.call_next("room2"), "the line ran out"

    far = [i for i, t in waiting().items() if t["estimate_low_minutes"] > 15 * LEAD_MARGIN]
    assert len(far) >= 2
    default, five = far[0], far[1]  # "five" waits right behind "default"
    with clinic.app.app_context():
        token = db.session.get(Ticket, five).token
    # As the patient says it on their page (through the clinic's door, so the kept state knows).
    assert clinic.client.put(f"/api/v1/tickets/{token}/lead", json={"minutes": 5}).status_code == 200
    while not told(default):
        next_call()
    # Behind the patient just told at 15 minutes, the five-minute patient is not told yet.
    assert waiting()[five]["estimate_low_minutes"] > 5 * LEAD_MARGIN and not told(five)
    while not told(five):
        next_call()
    assert waiting()[five]["estimate_low_minutes"] <= 5 * LEAD_MARGIN


def test_turn_near_goes_as_minutes_pass_even_when_nothing_changes(tmp_path, clock, http_server):
    """The dispatcher looks once a minute: a long consultation does not hold the message back."""
    settings = clinic_settings(f"sqlite:///{tmp_path / 'tick.db'}", http_server.url, near_positions=0, near_minutes=15)
    prepare_database(settings)
    clinic = Clinic(create_app(settings, clock=clock), clock, Providers(http_server))
    tickets = [clinic.check_in() for _ in range(10)]
    clinic.call_next("room1")
    clinic.call_next("room2")
    staff = clinic.client.get("/api/v1/queue", headers=clinic.tokens.headers("staff")).get_json()
    far = next(t for t in staff["waiting"] if t["estimate_low_minutes"] > 15 * LEAD_MARGIN)
    assert not [m for m in clinic.messages(far["id"], skipped=True) if m.kind == "turn_near"]
    clinic_door = clinic.app.extensions["queue_app"].clinic
    assert clinic_door.time_passed("https://q.example").result == 0  # a minute later: nothing new
    told_after = None
    for minute in range(1, 120):
        clock.advance(seconds=60)
        if clinic_door.time_passed("https://q.example").result:
            if [m for m in clinic.messages(far["id"]) if m.kind == "turn_near"]:
                told_after = minute
                break
    assert told_after is not None, "the minutes passed and nobody was told"
    [near] = [m for m in clinic.messages(far["id"]) if m.kind == "turn_near"]
    assert near.status == "queued" and json.loads(near.variables)["link"].startswith("https://q.example/t/")
    assert len(tickets) == 10


def test_the_call_list_flag_is_saved_for_a_ticket_loaded_by_an_earlier_session(clinic):
    from queue_app.notify.outbox import put_on_call_list

    ticket = clinic.check_in(phone=None)
    with clinic.app.app_context():
        earlier = db.session.get(Ticket, ticket["id"])
        db.session.remove()  # its session is gone: the object is detached, as in a kept state
        put_on_call_list(db.session(), earlier)
        db.session.commit()
    assert clinic.ticket(ticket["id"]).needs_call is True
