"""Appointments in the queue: an arrived appointment is called ahead of walk-ins from its time
(not before), the absent become no-shows after the grace, and a reply confirms or cancels."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from queue_app.appointments import Appointments, Booking, look_at_appointments
from queue_app.estimate import PRIORITY_WALK_IN
from queue_app.models import Message
from queue_app.notify.appointment_outbox import due_offsets
from queue_app.queue import SYSTEM, Actor, ClinicQueue, IllegalTransition

from .conftest import SEOUL

DESK = Actor("staff", "desk")


@pytest.fixture
def desk(session, clock, settings) -> Appointments:
    return Appointments(session, clock, settings, "https://clinic.example")


def booked(desk: Appointments, at: datetime, phone: str | None = "+821012345678", **more):
    appointment, _ = desk.book(Booking("general", at.astimezone(SEOUL), "ko", phone=phone, **more), DESK)
    desk.session.commit()
    return appointment


def walk_in(queue):
    ticket, _ = queue.check_in("general", language="ko", actor=SYSTEM, priority=PRIORITY_WALK_IN)
    queue.session.commit()
    return ticket


def test_an_early_arrival_waits_like_a_walk_in_until_its_time_then_goes_first(desk, queue, clock):
    appointment = booked(desk, clock.now() + timedelta(minutes=20))  # 10:20
    first = walk_in(queue)
    ticket = desk.arrive(appointment, queue, Actor("patient", "page"))
    desk.session.commit()
    later = walk_in(queue)
    # 10:00: the appointment is at 10:20, so it waits behind the walk-in who came before it.
    assert [t.number for t in queue.waiting()] == [first.number, ticket.number, later.number]
    clock.advance(minutes=20)  # 10:20: its time
    assert [t.number for t in queue.waiting()] == [ticket.number, first.number, later.number]
    called = queue.call_next("room1", DESK)
    assert called.id == ticket.id


def test_before_its_time_call_next_takes_the_walk_in_who_came_first(desk, queue, clock):
    walker = walk_in(queue)
    desk.arrive(booked(desk, clock.now() + timedelta(minutes=25)), queue, DESK)
    queue.session.commit()
    assert queue.call_next("room1", DESK).id == walker.id


def test_the_board_tells_the_same_order_it_calls_in(app, desk, queue, clock):
    from queue_app.runtime import runtime

    with app.test_request_context():
        first = walk_in(queue)
        ticket = desk.arrive(booked(desk, clock.now() + timedelta(minutes=10)), queue, DESK)
        desk.session.commit()
        state = runtime().board.read(queue)
        assert [t.id for t in state.lines["general"]] == [first.id, ticket.id]
        clock.advance(minutes=10)
        state = runtime().board.read(queue)
        assert [t.id for t in state.lines["general"]] == [ticket.id, first.id]
        assert state.positions[ticket.id] == 1


def test_arrival_is_refused_before_the_opening_and_after_a_cancellation(desk, queue, clock):
    appointment = booked(desk, clock.now() + timedelta(minutes=31))
    with pytest.raises(IllegalTransition):
        desk.arrive(appointment, queue, DESK)
    desk.cancel(appointment, DESK)
    clock.advance(minutes=5)
    with pytest.raises(IllegalTransition):
        desk.arrive(appointment, queue, DESK)
    assert queue.waiting() == []


def test_not_arrived_fifteen_minutes_after_its_time_is_a_no_show(app, session, desk, clock, settings):
    appointment = booked(desk, clock.now() + timedelta(minutes=30))
    came = booked(desk, clock.now() + timedelta(minutes=30), phone="+821099998888")
    new_session = app.extensions["queue_app"].clinic.session_factory

    told: list[list[int]] = []

    def status_after_a_look(*appointments) -> list[str]:
        look_at_appointments(
            new_session, clock, settings, "https://clinic.example", on_changed=lambda a: told.append([x.id for x in a])
        )
        session.expire_all()
        return [a.status for a in appointments]

    clock.advance(minutes=14)
    desk.arrive(came, ClinicQueue(session, clock, settings.timezone), DESK)
    session.commit()
    clock.advance(minutes=30)  # 10:44: 14 minutes after
    assert status_after_a_look(appointment, came) == ["booked", "arrived"]
    clock.advance(minutes=1)  # 10:45
    assert status_after_a_look(appointment, came) == ["no_show", "arrived"]
    assert told == [[appointment.id]]  # staff consoles hear of the no-show, once
    events = session.scalars(select(Message.kind).where(Message.appointment_id == appointment.id)).all()
    assert events == []  # the example clinic has no webhook: the no-show is only recorded


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("확인", "confirmed"),
        ("네.", "confirmed"),
        ("YES", "confirmed"),
        ("Да", "confirmed"),
        ("취소", "cancelled"),
        ("cancel", "cancelled"),
        ("Отмена!", "cancelled"),
        # As tolerant as the conversation keywords (one rule, queue_app.reply_words): a space
        # before the full stop, full-width letters from a Korean keyboard.
        ("ДА .", "confirmed"),
        ("ｙｅｓ", "confirmed"),
        (" 취소 !", "cancelled"),
    ],
)
def test_a_reply_confirms_or_cancels_the_next_appointment_of_the_number(desk, clock, reply, status):
    later = booked(desk, clock.now() + timedelta(days=2))
    sooner = booked(desk, clock.now() + timedelta(days=1))
    assert desk.answer_by_reply("+821012345678", reply) is sooner
    desk.session.commit()
    assert (sooner.status, later.status) == (status, "booked")


def test_a_reply_that_is_not_an_answer_or_from_another_number_is_left_alone(desk, clock):
    appointment = booked(desk, clock.now() + timedelta(days=1))
    assert desk.answer_by_reply("+821012345678", "what time is it?") is None
    assert desk.answer_by_reply("+821012345678", "yes, but can I come at 11 instead? " * 3) is None
    assert desk.answer_by_reply("+821000000000", "확인") is None
    assert appointment.status == "booked"


def test_only_the_latest_reminder_reached_is_due(clock):
    start = clock.now() + timedelta(days=1)
    assert due_offsets(start, (1440, 120), clock.now() - timedelta(minutes=1)) is None
    assert due_offsets(start, (1440, 120), clock.now()) == 1440
    assert due_offsets(start, (1440, 120), start - timedelta(minutes=5)) == 120
    assert due_offsets(start, (1440, 120), start) is None


def test_when_an_appointments_time_comes_the_minutes_look_publishes_the_new_order(app, desk, queue, clock):
    from queue_app.runtime import look_again
    from tests.support.publisher import RecordingPublisher

    door = app.extensions["queue_app"].clinic
    door.publisher = RecordingPublisher(door.settings)
    first = walk_in(queue)
    ticket = desk.arrive(booked(desk, clock.now() + timedelta(minutes=2)), queue, DESK)
    desk.session.commit()
    look_again(app)  # 10:00: its time has not come (the patients near are told)
    door.publisher.changes.clear()
    clock.advance(minutes=2)
    look_again(app)  # 10:02: its time
    [change] = door.publisher.changes
    assert change.tickets == [ticket.number]
    waiting = [t["number"] for t in change.staff["waiting"]]
    assert waiting == [ticket.number, first.number]


def test_two_server_processes_looking_at_the_same_minute_plan_one_reminder(app, desk, clock, settings):
    """Each process looks once a minute: both find the same reminder due, one keeps it."""
    from sqlalchemy.orm import Session

    engine = app.extensions["queue_app"].clinic.session_factory().get_bind()
    booked(desk, clock.now() + timedelta(days=1))
    other = Session(engine)
    Appointments(other, clock, settings, "https://clinic.example").plan_due_messages()

    class Raced(Session):
        def add_all(self, instances):
            # The other process commits between our look for planned keys and our insert.
            if other.in_transaction():
                other.commit()
            super().add_all(instances)

    assert look_at_appointments(lambda: Raced(engine), clock, settings, "https://clinic.example") == 0
    with Session(engine) as check:
        kinds = check.scalars(select(Message.kind).where(Message.appointment_id.is_not(None))).all()
    assert kinds == ["appointment_reminder"]


def test_phone_numbers_of_old_appointments_are_erased_after_the_retention_limit(desk, clock, settings):
    old = booked(desk, clock.now() + timedelta(hours=1))
    clock.advance(days=settings.retention_days)
    recent = booked(desk, clock.now() + timedelta(hours=1), phone="+821099990000")
    assert desk.erase_personal_data(settings.retention_days) == 0  # the limit is not passed yet
    clock.advance(days=1)
    assert desk.erase_personal_data(settings.retention_days) == 1
    desk.session.commit()
    desk.session.expire_all()
    assert (old.phone, recent.phone) == (None, "+821099990000")
