"""The queue's state machine: every transition, every refusal, numbering and order."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select

from queue_app.models import Room, Ticket, TicketEvent
from queue_app.queue import (
    PRIORITIES,
    TRANSITIONS,
    Actor,
    AlreadyCheckedIn,
    IdempotencyMismatch,
    IllegalTransition,
    NotFound,
    RoomBusy,
    RoomPaused,
    request_fingerprint,
)

from .conftest import SEOUL

NURSE = Actor("staff", "nurse")
KIOSK = Actor("kiosk", "lobby")


def check_in(queue, service="general", **kw):
    ticket, created = queue.check_in(service, language="ko", actor=KIOSK, **kw)
    assert created
    queue.session.commit()
    return ticket


def events(session, ticket):
    return [
        e.kind
        for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
    ]


def test_numbers_count_up_per_service_with_its_prefix(queue):
    numbers = [check_in(queue, "general").number for _ in range(3)] + [check_in(queue, "vaccination").number]
    assert numbers == ["A-001", "A-002", "A-003", "V-001"]


def test_numbers_restart_at_local_midnight_not_utc_midnight(queue, clock):
    clock.set(datetime(2026, 11, 23, 23, 50, tzinfo=SEOUL))
    assert check_in(queue).number == "A-001"
    assert check_in(queue).number == "A-002"
    # 00:10 in Seoul is still the previous day in UTC (15:10): the clinic's day decides.
    clock.set(datetime(2026, 11, 24, 0, 10, tzinfo=SEOUL))
    fresh = check_in(queue)
    assert fresh.number == "A-001"
    assert str(fresh.clinic_day) == "2026-11-24"


def test_token_is_long_random_and_unique(queue):
    tokens = {check_in(queue).token for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(t) >= 22 for t in tokens)  # 22 URL-safe characters carry 128 bits


def test_unknown_service_is_refused_and_nothing_is_made(queue, session):
    with pytest.raises(NotFound):
        queue.check_in("dentistry", language="ko", actor=KIOSK)
    session.rollback()
    assert session.scalars(select(Ticket)).all() == []


def test_first_in_first_out_within_a_service(queue, clock):
    first = check_in(queue)
    clock.advance(minutes=1)
    second = check_in(queue)
    assert queue.call_next("room1", NURSE).id == first.id
    queue.finish(first.id, NURSE)
    assert queue.call_next("room1", NURSE).id == second.id


def test_priority_goes_first_urgent_before_appointment(queue, clock):
    walk_in = check_in(queue)
    clock.advance(minutes=1)
    appointment = check_in(queue, priority=PRIORITIES["appointment"])
    clock.advance(minutes=1)
    urgent = check_in(queue, priority=PRIORITIES["urgent"])
    order = []
    for _ in range(3):
        ticket = queue.call_next("room1", NURSE)
        order.append(ticket.id)
        queue.finish(ticket.id, NURSE)
    assert order == [urgent.id, appointment.id, walk_in.id]


def test_room_serving_two_services_calls_the_longest_waiting(queue, clock):
    pediatric = check_in(queue, "pediatrics")
    clock.advance(minutes=2)
    general = check_in(queue, "general")
    # room2 serves general and pediatrics; the pediatric patient came first.
    assert queue.call_next("room2", NURSE).id == pediatric.id
    queue.finish(pediatric.id, NURSE)
    assert queue.call_next("room2", NURSE).id == general.id


def test_room_only_calls_its_own_services(queue):
    check_in(queue, "vaccination")
    assert queue.call_next("room1", NURSE) is None


def test_call_next_with_nobody_waiting_returns_none(queue):
    assert queue.call_next("room1", NURSE) is None


def test_full_visit_writes_every_event_in_order(queue, session, clock):
    ticket = check_in(queue)
    queue.call_next("room1", NURSE)
    clock.advance(minutes=1)
    queue.recall(ticket.id, NURSE)
    clock.advance(minutes=1)
    queue.start(ticket.id, NURSE)
    clock.advance(minutes=7)
    queue.finish(ticket.id, NURSE)
    session.commit()
    assert ticket.status == "finished"
    assert ticket.call_count == 2
    assert ticket.ended_at == clock.now()
    assert events(session, ticket) == ["checked_in", "called", "recalled", "consultation_started", "finished"]
    rows = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
    assert {r.actor for r in rows[1:]} == {"staff:nurse"}
    assert rows[1].room_id == "room1"
    # The room is free again.
    assert session.get(Room, "room1").current_ticket_id is None


def test_call_next_refuses_while_a_called_patient_is_on_the_way(queue, session):
    first = check_in(queue)
    second = check_in(queue)
    assert queue.call_next("room1", NURSE).id == first.id
    session.commit()
    # The second click of a double click: refused, and the second patient still waits.
    with pytest.raises(RoomBusy):
        queue.call_next("room1", NURSE)
    session.rollback()
    assert session.get(Ticket, second.id).status == "waiting"
    assert session.get(Ticket, first.id).status == "called"


def test_call_next_finishes_the_patient_in_consultation(queue, session):
    first = check_in(queue)
    second = check_in(queue)
    queue.call_next("room1", NURSE)
    queue.start(first.id, NURSE)
    called = queue.call_next("room1", NURSE)
    session.commit()
    assert called.id == second.id
    assert session.get(Ticket, first.id).status == "finished"
    assert events(session, first)[-1] == "finished"
    assert session.get(Room, "room1").current_ticket_id == second.id


def test_paused_room_calls_nobody_until_resumed(queue, session):
    ticket = check_in(queue)
    queue.pause_room("room1", NURSE)
    with pytest.raises(RoomPaused):
        queue.call_next("room1", NURSE)
    queue.resume_room("room1", NURSE)
    assert queue.call_next("room1", NURSE).id == ticket.id
    with pytest.raises(IllegalTransition):
        queue.resume_room("room1", NURSE)


def test_no_show_frees_the_room_for_the_next(queue, session):
    first = check_in(queue)
    second = check_in(queue)
    queue.call_next("room1", NURSE)
    queue.no_show(first.id, NURSE)
    assert queue.call_next("room1", NURSE).id == second.id
    assert events(session, first)[-1] == "no_show"


def test_transfer_sends_the_patient_to_the_end_of_another_line(queue, session, clock):
    waiting_vaccination = check_in(queue, "vaccination")
    ticket = check_in(queue, "general")
    queue.call_next("room1", NURSE)
    queue.start(ticket.id, NURSE)
    clock.advance(minutes=5)
    queue.transfer(ticket.id, "vaccination", NURSE)
    session.commit()
    assert ticket.status == "waiting"
    assert ticket.service_id == "vaccination"
    assert ticket.number == "A-001"  # the patient keeps the number they know
    assert ticket.room_id is None
    assert session.get(Room, "room1").current_ticket_id is None
    assert [t.id for t in queue.waiting()] == [waiting_vaccination.id, ticket.id]
    assert events(session, ticket)[-1] == "transferred"


def test_transfer_keeping_the_place_puts_the_patient_where_their_check_in_time_stands(queue, session, clock):
    ticket = check_in(queue, "general")
    clock.advance(minutes=10)
    later_vaccination = check_in(queue, "vaccination")
    queue.call_next("room1", NURSE)
    queue.start(ticket.id, NURSE)
    clock.advance(minutes=5)
    queue.transfer(ticket.id, "vaccination", NURSE, keep_place=True)
    session.commit()
    assert ticket.queued_at == ticket.checked_in_at
    assert [t.id for t in queue.waiting()] == [ticket.id, later_vaccination.id]
    last_detail = session.scalars(
        select(TicketEvent.detail).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc())
    ).first()
    assert json.loads(last_detail) == {"from": "general", "to": "vaccination", "keep_place": True}


def test_transfer_to_the_same_line_or_an_unknown_service_is_refused(queue):
    ticket = check_in(queue)
    with pytest.raises(IllegalTransition):
        queue.transfer(ticket.id, "general", NURSE)
    with pytest.raises(NotFound):
        queue.transfer(ticket.id, "dentistry", NURSE)


def test_patient_leaving_and_staff_cancelling(queue, session):
    leaving = check_in(queue)
    cancelled = check_in(queue)
    queue.leave(leaving)
    queue.cancel(cancelled.id, NURSE)
    session.commit()
    assert (leaving.status, cancelled.status) == ("left", "cancelled")
    assert queue.waiting() == []
    assert events(session, leaving)[-1] == "left"
    assert events(session, cancelled)[-1] == "cancelled"


# Every action from every status: allowed ones succeed, the rest are refused unchanged.
STATUS_SETUPS = {
    "waiting": [],
    "called": ["call"],
    "in_consultation": ["call", "start"],
    "finished": ["call", "finish"],
    "no_show": ["call", "no_show"],
    "left": ["leave"],
    "cancelled": ["cancel"],
}


def _do(queue, ticket, action):
    if action == "call":
        return queue.call_next("room1", NURSE)
    if action == "transfer":
        return queue.transfer(ticket.id, "vaccination", NURSE)
    if action == "leave":
        return queue.leave(ticket)
    if action == "expire":
        return queue.expire_open_tickets(queue.clinic_day())
    return getattr(queue, action)(ticket.id, NURSE)


@pytest.mark.parametrize("status", list(STATUS_SETUPS))
@pytest.mark.parametrize("action", [a for a in TRANSITIONS if a not in ("call", "expire")])
def test_state_machine(queue, session, status, action):
    ticket = check_in(queue)
    for step in STATUS_SETUPS[status]:
        _do(queue, ticket, step)
    session.commit()
    assert ticket.status == status
    allowed, new_status, event = TRANSITIONS[action]
    before = events(session, ticket)
    if status in allowed:
        _do(queue, ticket, action)
        session.commit()
        session.refresh(ticket)
        assert ticket.status == new_status
        assert events(session, ticket)[-1] == event
    else:
        with pytest.raises(IllegalTransition):
            _do(queue, ticket, action)
        session.rollback()
        session.refresh(ticket)
        assert ticket.status == status
        assert events(session, ticket) == before


def test_expire_closes_yesterdays_open_tickets_and_keeps_them(queue, session, clock):
    waiting = check_in(queue)
    called = check_in(queue)
    done = check_in(queue)
    queue.call_next("room1", NURSE)  # waiting is called first (FIFO)
    queue.finish(waiting.id, NURSE)
    queue.call_next("room1", NURSE)
    session.commit()
    clock.advance(days=1)
    today = check_in(queue)
    expired = queue.expire_open_tickets(queue.clinic_day() - __import__("datetime").timedelta(days=1))
    session.commit()
    assert {t.id for t in expired} == {called.id, done.id}
    assert session.get(Ticket, called.id).status == "expired"
    assert session.get(Ticket, today.id).status == "waiting"
    assert session.get(Room, "room1").current_ticket_id is None
    assert events(session, called)[-1] == "expired"


def test_personal_data_is_erased_after_retention(queue, session, clock):
    old = check_in(queue, phone="+821012345678")
    old.telegram_chat_id = "777"
    old.push_subscription = '{"endpoint": "https://push.example/x"}'
    session.commit()
    clock.advance(days=31)
    recent = check_in(queue, phone="+821087654321")
    assert queue.erase_personal_data(30) == 1
    session.commit()
    erased = session.get(Ticket, old.id)
    assert (erased.phone, erased.telegram_chat_id, erased.push_subscription) == (None, None, None)
    assert session.get(Ticket, recent.id).phone == "+821087654321"


def test_idempotency_key_returns_the_first_ticket(queue, session):
    first, created = queue.check_in("general", language="ko", actor=KIOSK, idempotency_key="tap-123456")
    session.commit()
    again, created_again = queue.check_in("general", language="ko", actor=KIOSK, idempotency_key="tap-123456")
    assert created and not created_again
    assert again.id == first.id
    assert len(session.scalars(select(Ticket)).all()) == 1


def test_an_idempotency_key_belongs_to_its_caller_and_its_request(queue, session):
    body = request_fingerprint({"service": "general"})
    mine = {"idempotency_key": "tap-123456", "idempotency_scope": "token:1", "fingerprint": body}
    first, _ = queue.check_in("general", language="ko", actor=KIOSK, **mine)
    session.commit()
    again, created = queue.check_in("general", language="ko", actor=KIOSK, **mine)
    assert (again.id, created) == (first.id, False)
    theirs, created = queue.check_in("general", language="ko", actor=KIOSK, **{**mine, "idempotency_scope": "token:2"})
    session.commit()
    assert created and theirs.id != first.id
    other_body = {**mine, "fingerprint": request_fingerprint({"service": "vaccination"})}
    with pytest.raises(IdempotencyMismatch):
        queue.check_in("vaccination", language="ko", actor=KIOSK, **other_body)


def test_a_request_fingerprint_ignores_key_order_and_spacing():
    assert request_fingerprint({"a": 1, "b": "ü"}) == request_fingerprint({"b": "ü", "a": 1})
    assert request_fingerprint({"a": 1}) != request_fingerprint({"a": "1"})


def test_one_open_ticket_per_phone_service_and_day(queue, session, clock):
    rule = {"phone": "+821023456789", "one_ticket_per_phone": True}
    first = check_in(queue, **rule)
    with pytest.raises(AlreadyCheckedIn) as refused:
        queue.check_in("general", language="ko", actor=KIOSK, **rule)
    session.rollback()
    assert refused.value.field == "phone" and first.token not in refused.value.message
    check_in(queue, "vaccination", **rule)  # another service
    check_in(queue, phone=rule["phone"])  # the rule not asked for (staff's shared phone)
    queue.finish(queue.call_next("room1", NURSE).id, NURSE)  # the first visit ends...
    session.commit()
    queue.finish(queue.call_next("room1", NURSE).id, NURSE)
    session.commit()
    check_in(queue, **rule)  # ...and the number may check in again
