"""The one door: every change through ``Clinic.change``, numbered, kept and published once.

These drive the application service directly, with a publisher that records what every
audience would have been sent: no Flask request, no Socket.IO.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from queue_app import create_app
from queue_app.clinic import Clinic
from queue_app.extensions import db
from queue_app.models import Message
from queue_app.notify.dispatcher import Delivery
from queue_app.queue import Actor, IllegalTransition

from .conftest import make_settings, prepare_database
from .support.publisher import RecordingPublisher

STAFF = Actor("staff", "kim")
KIOSK = Actor("kiosk", "lobby")
BASE = "https://q.hanbit.example"


class Door:
    """One server process's door on a shared database, and what it published."""

    def __init__(self, settings, clock) -> None:
        self.app = create_app(settings, clock=clock)
        rt = self.app.extensions["queue_app"]
        self.settings = settings
        self.publisher = RecordingPublisher(settings)
        self.engine = db.engine
        self.clinic = Clinic(
            settings, rt.board, rt.outbox, clock, self.publisher, lambda: Session(self.engine, expire_on_commit=False)
        )
        self.dispatcher = rt.dispatcher

    def change(self, act, **kwargs):
        with Session(self.engine, expire_on_commit=False) as session:
            return self.clinic.change(session, BASE, act, **kwargs)

    def snapshot(self):
        with Session(self.engine, expire_on_commit=False) as session:
            return self.clinic.snapshot(session)


def open_door(tmp_path, clock, near_positions: int = 1) -> Door:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'door.db'}",
        notify={"channels": ["sms"], "near_positions": near_positions, "near_minutes": 0},
        channels={
            "sms": {"account_sid": "AC" + "1" * 32, "auth_token": "t", "from_number": "+15005550006"},
            "telegram": {"bot_token": "1:a", "bot_username": "clinic_bot", "webhook_secret": "s"},
        },
    )
    prepare_database(settings)
    return Door(settings, clock)


@pytest.fixture
def door(tmp_path, clock):
    yield open_door(tmp_path, clock)
    db.session.remove()
    db.engine.dispose()


@pytest.fixture
def door_near_four(tmp_path, clock):
    """A door whose patients are near four places ahead."""
    yield open_door(tmp_path, clock, near_positions=4)
    db.session.remove()
    db.engine.dispose()


def check_in(queue, phone="+821012345678"):
    ticket, _created = queue.check_in("general", language="ko", actor=KIOSK, phone=phone, consent=True)
    return ticket


def test_each_change_is_numbered_committed_kept_and_published_once(door):
    first = door.change(check_in)
    second = door.change(check_in)
    called = door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)
    assert door.publisher.versions == [1, 2, 3]
    assert [c.called for c in door.publisher.changes] == [None, None, first.result.number]
    assert door.publisher.changes[0].tickets == [first.result.number]
    # The change's own snapshot is the one kept: a client connecting now gets it as it is.
    assert door.snapshot() is called.snapshot
    published = door.publisher.changes[-1]
    assert published.public["version"] == 3 and published.staff["waiting"][0]["number"] == second.result.number
    assert published.moved == [second.result.number]  # first in line now: their phone is told


def test_the_staff_view_of_a_change_has_the_messages_it_decided(door):
    done = door.change(check_in)
    [row] = door.publisher.changes[0].staff["waiting"]
    # Near already at check-in: "turn near" is decided and skipped (told at the desk).
    assert [(m["kind"], m["status"]) for m in row["messages"]] == [("checked_in", "queued"), ("turn_near", "skipped")]
    assert done.messages and done.messages[0].kind == "checked_in"


def test_nothing_to_do_is_neither_numbered_nor_published(door):
    done = door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)
    assert done.result is None and done.snapshot is None
    assert door.publisher.changes == []


def test_a_refused_change_publishes_nothing_and_changes_nothing(door):
    ticket = door.change(check_in).result
    door.change(lambda queue: queue.leave(queue.ticket(ticket.id)))
    with pytest.raises(IllegalTransition):
        door.change(lambda queue: queue.leave(queue.ticket(ticket.id)))
    assert door.publisher.versions == [1, 2]
    assert door.snapshot().version == 2


def test_room_pause_telegram_binding_and_stop_reach_staff(door):
    ticket = door.change(check_in).result
    door.change(lambda queue: queue.pause_room("room1", STAFF))
    assert door.publisher.changes[-1].staff["rooms"][0]["status"] == "paused"
    code = door.change(lambda queue: queue.telegram_code(queue.ticket(ticket.id))).result
    assert len(door.publisher.changes) == 2  # a code made is not news
    door.change(lambda queue: queue.bind_telegram(code, "777"))
    assert door.publisher.changes[-1].tickets == [ticket.number]
    assert door.publisher.changes[-1].staff["waiting"][0]["channels"] == ["sms"]  # telegram is not in the order
    door.change(lambda queue: queue.opt_out("+821012345678", "sms", stop=True))
    assert door.publisher.changes[-1].staff["waiting"][0]["channels"] == []  # STOP: staff see it at once
    door.change(lambda queue: queue.opt_out("+821012345678", "sms", stop=False))
    assert door.publisher.changes[-1].staff["waiting"][0]["channels"] == ["sms"]
    assert door.publisher.versions == [1, 2, 3, 4, 5]


def test_the_patients_own_changes_go_through_the_door(door):
    ticket = door.change(lambda queue: check_in(queue, phone=None)).result
    door.change(lambda queue: queue.set_lead_minutes(queue.ticket(ticket.id), 30))
    door.change(lambda queue: queue.give_phone(queue.ticket(ticket.id), "+821099998888"))
    subscription = {"endpoint": "https://push.example/x", "keys": {"p256dh": "k", "auth": "a"}}
    door.change(lambda queue: queue.subscribe_push(queue.ticket(ticket.id), json.dumps(subscription)))
    staff_row = door.publisher.changes[-1].staff["waiting"][0]
    assert (staff_row["tv_only"], staff_row["phone"] is not None) == (False, True)
    assert door.publisher.versions == [1, 2, 3, 4]
    with pytest.raises(IllegalTransition):
        door.change(lambda queue: queue.give_phone(queue.ticket(ticket.id), "+821011112222"))


def test_a_change_made_by_another_process_is_seen_at_the_next_read(door, clock):
    other = Door(door.settings, clock)  # a second server process on the same database
    door.change(check_in)
    kept = door.snapshot()
    other.change(check_in)
    fresh = door.snapshot()
    assert fresh is not kept and fresh.version == 2
    assert [t["number"] for t in fresh.staff(door.settings)["waiting"]] == ["A-001", "A-002"]


def test_a_patient_put_on_the_call_list_by_the_dispatcher_reaches_staff(door):
    ticket = door.change(check_in).result
    door.clinic.delivered(Delivery(ticket.id, True, {"id": "m1", "status": "failed"}))
    assert door.publisher.deliveries and door.publisher.changes[-1].tickets == [ticket.number]
    assert door.publisher.versions == [1, 2]


def test_a_check_in_at_the_back_moves_nobody_and_a_call_moves_everyone_behind(door):
    tickets = [door.change(check_in).result for _ in range(6)]
    last = door.change(check_in)
    assert door.publisher.changes[-1].moved == []  # nobody ahead of a newcomer moved
    assert door.publisher.changes[-1].tickets == [last.result.number]
    door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)
    change = door.publisher.changes[-1]
    assert change.tickets == [tickets[0].number]
    assert change.moved == [t.number for t in tickets[1:]] + [last.result.number]
    # Each phone gets its own place, not the line: the public view lists nobody.
    assert "line" not in change.public["services"][0]


def test_check_ins_at_the_back_carry_the_estimate_on_and_agree_with_reading_everything(door, clock):
    for k in range(3):
        clock.advance(seconds=20)
        door.change(
            lambda queue, k=k: check_in(queue) if k % 2 else queue.check_in("pediatrics", language="en", actor=KIOSK)[0]
        )
    first = door.snapshot().state.forecast
    for _ in range(8):
        clock.advance(seconds=1)
        door.change(check_in)
    kept = door.snapshot()
    # The same simulation was carried on through the eight check-ins (not run again) ...
    assert kept.state.forecast is first
    assert kept.version == 11
    # ... and says what reading the whole queue and running it again says: the same lines and
    # places, and the same estimates but for the seconds that passed (the simulation itself
    # is exact: tests/estimate/test_estimate.py).
    door.clinic._latest = None
    fresh = door.snapshot()
    assert fresh.state.forecast is not first
    assert fresh.state.positions == kept.state.positions
    assert {s: [t.id for t in line] for s, line in fresh.state.lines.items()} == {
        s: [t.id for t in line] for s, line in kept.state.lines.items()
    }
    for ticket_id, wait in kept.state.waits.items():
        again = fresh.state.waits[ticket_id]
        assert max(abs(wait.minutes - again.minutes), abs(wait.low - again.low), abs(wait.high - again.high)) <= 1

    def rows(snapshot):
        # Estimates aside; messages decided in one change share their time, in either order.
        return [
            {
                **{k: v for k, v in row.items() if "minutes" not in k},
                "messages": sorted(m["id"] for m in row["messages"]),
            }
            for row in snapshot.staff(door.settings)["waiting"]
        ]

    assert rows(fresh) == rows(kept)


def test_a_check_in_a_minute_later_is_read_again(door, clock):
    door.change(check_in)
    door.change(check_in)
    first = door.snapshot().state.forecast
    clock.advance(seconds=61)
    door.change(check_in)
    assert door.snapshot().state.forecast is not first  # the estimates moved with the clock


def test_staff_are_sent_the_row_of_a_patient_a_change_decided_a_message_for(door):
    # Near by place only (one ahead); nobody with a phone who declined texts: the call list.
    tickets = [
        door.change(
            lambda queue: queue.check_in("general", language="ko", actor=KIOSK, phone="+821011112222")[0]
        ).result
        for _ in range(4)
    ]
    door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)
    door.change(lambda queue: queue.finish(tickets[0].id, STAFF))
    door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)
    change = door.publisher.changes[-1]
    assert change.noted == [tickets[3].number]  # now one ahead: turn near decided, failed
    row = next(t for t in change.staff["waiting"] if t["number"] == tickets[3].number)
    assert row["needs_call"] is True


def test_patients_still_near_are_not_asked_about_again_and_a_failed_commit_forgets_nothing(door_near_four):
    """Turn near is planned once per patient; after that the planning knows it from the kept
    state (at 1,000 waiting hundreds may be near).  A change whose commit fails leaves no key
    behind: done again, it plans what it planned the first time."""
    door = door_near_four
    tickets = [door.change(check_in).result for _ in range(7)]
    asked: list = []
    listen = lambda *args: "messages.dedupe_key IN" in args[2] and asked.append(args[3])  # noqa: E731
    event.listen(door.engine, "before_cursor_execute", listen)
    door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)
    event.remove(door.engine, "before_cursor_execute", listen)
    # Asked only about what is new: the call's message and the sixth patient, near now (the
    # four ahead of them were near from their check-in).
    keys = {key for params in asked for key in params if isinstance(key, str)}
    assert keys == {f"{tickets[0].id}:called:0:patient", f"{tickets[5].id}:turn_near:0:patient"}

    def fail(_session):
        raise RuntimeError("the disk is full")

    event.listen(Session, "before_commit", fail)
    try:
        with pytest.raises(RuntimeError):
            door.change(lambda queue: queue.call_next("room2", STAFF), announce=True)
    finally:
        event.remove(Session, "before_commit", fail)
    door.change(lambda queue: queue.call_next("room2", STAFF), announce=True)
    with Session(door.engine) as session:
        told = session.execute(select(Message.ticket_id, Message.kind)).all()
    # The seventh, near since the second call, is told once; so is the second patient called.
    assert sorted(i for i, kind in told if kind == "turn_near") == sorted(t.id for t in tickets)
    assert sorted(i for i, kind in told if kind == "called") == [tickets[0].id, tickets[1].id]


def test_a_whole_answer_names_no_earlier_event_so_a_phone_never_loops_asking_again(door):
    first = door.change(check_in).result
    second = door.change(check_in).result
    door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)  # the second moves up
    kept = door.snapshot()
    with Session(door.engine, expire_on_commit=False) as session:
        ticket = session.get(type(second), second.id)
        sent = kept.personal(second.id)  # what the change's `place` said
        whole = kept.patient(door.settings, ticket)  # what a connect or a resync answers
    assert sent["since"] is not None and whole["since"] is None and whole["mark"] == sent["mark"]
    assert first.number != second.number


def test_an_estimate_carried_on_by_check_ins_is_made_again_within_a_minute(door, clock):
    door.change(check_in)
    door.change(check_in)
    made = door.snapshot().state.estimated_at
    for _ in range(3):
        clock.advance(seconds=25)
        door.change(check_in)
    assert (clock.now() - made).total_seconds() == 75
    assert (door.snapshot().state.estimated_at - made).total_seconds() >= 50  # made again since


def test_a_check_in_behind_a_room_shared_with_an_empty_service_agrees_with_reading_everything(door, clock):
    # Room 2 calls for general and pediatrics; nobody waits for pediatrics: its next walk-in is
    # simulated in the same rooms as the general line the newcomers join.
    for _ in range(6):
        clock.advance(seconds=1)
        door.change(check_in)
    kept = door.snapshot()
    door.clinic._latest = None
    fresh = door.snapshot()
    assert {i: (w.minutes, w.low, w.high) for i, w in kept.state.waits.items()} == {
        i: (w.minutes, w.low, w.high) for i, w in fresh.state.waits.items()
    }
    assert kept.state.next_walk_in == fresh.state.next_walk_in


def _state_as_read(state) -> dict:
    """Everything a snapshot's state tells anyone, by ticket id (estimates included)."""
    return {
        "lines": {s: [t.id for t in line] for s, line in state.lines.items()},
        "positions": state.positions,
        "in_rooms": [(t.id, t.status, t.room_id) for t in state.in_rooms],
        "recent_calls": [(t.id, t.call_count) for t in state.recent_calls],
        "waits": state.waits,
        "next_walk_in": state.next_walk_in,
        "channels": {i: c for i, c in state.channels.items() if c},
        "messages": {i: sorted(m.id for m in ms) for i, ms in state.messages.items() if ms},
    }


def _random_change(rng, door):
    """One change a busy morning might bring, chosen at random: (its kind, the act)."""
    snapshot = door.snapshot().state
    waiting = [t.id for line in snapshot.lines.values() for t in line]
    in_rooms = [t.id for t in snapshot.in_rooms]
    kind = rng.choice(
        ["check_in", "check_in", "call", "call", "call", "start", "finish", "no_show", "recall", "cancel", "leave"]
        + ["transfer", "pause", "late", "late", "here"]
    )
    if kind == "check_in":
        service = rng.choice(["general", "general", "pediatrics"])
        phone = rng.choice([None, f"+8210{rng.randrange(10**8):08d}"])
        return kind, lambda q: q.check_in(service, language="ko", actor=KIOSK, phone=phone, consent=bool(phone))[0]
    if kind == "call":
        room = rng.choice(["room1", "room2", "room3"])
        return kind, lambda q: q.call_next(room, STAFF)
    if kind == "pause":
        room = rng.choice(["room1", "room2", "room3"])
        return kind, lambda q: (q.pause_room if q.room(room).status == "open" else q.resume_room)(room, STAFF)
    if kind in ("start", "finish", "no_show", "recall") and in_rooms:
        ticket_id = rng.choice(in_rooms)
        return kind, lambda q: getattr(q, kind)(ticket_id, STAFF)
    if kind in ("late", "here") and waiting:
        ticket_id = rng.choice(waiting)
        # Running late: passed over by the calls, held, then back in line when the hold runs out.
        return kind, lambda q: (q.mark_late if kind == "late" else q.mark_here)(q.ticket(ticket_id))
    if kind in ("cancel", "leave", "transfer") and waiting:
        ticket_id = rng.choice(waiting)
        if kind == "transfer":
            return kind, lambda q: q.transfer(ticket_id, rng.choice(["general", "pediatrics"]), STAFF)
        if kind == "leave":
            return kind, lambda q: q.leave(q.ticket(ticket_id))
        return kind, lambda q: q.cancel(ticket_id, STAFF)
    return None, None


@pytest.mark.parametrize("seed", range(4))
def test_a_state_carried_on_through_calls_and_finishes_is_what_reading_everything_gives(door, clock, seed):
    """Random mornings of 80 changes: after every change the kept state (carried on from the one before
    whenever it can be: calls, starts, finishes, no-shows, recalls, cancels, leaving) equals a
    fresh read of the whole queue, estimates included, and a carried change reads no line.
    Late patients are passed over and held, and their holds run out as the clock moves."""
    import random

    from queue_app.queue import QueueError

    rng = random.Random(seed)
    statements: list[str] = []
    event.listen(door.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for _ in range(12):
        clock.advance(seconds=5)
        door.change(check_in)
    carried = 0
    for _ in range(80):
        clock.advance(seconds=rng.choice([0, 3, 20, 50]))
        kind, act = _random_change(rng, door)
        if act is None:
            continue
        statements.clear()
        try:
            if door.change(act).snapshot is None:
                continue  # nothing to do (nobody here for that room): nothing new kept
        except QueueError:
            continue
        reads_lines = any("ORDER BY tickets.service_id, tickets.priority" in s for s in statements)
        kept = door.snapshot()
        # What the planning takes as told without asking has been saved, every key of it.
        with Session(door.engine) as session:
            assert kept.state.planned_keys() <= set(session.scalars(select(Message.dedupe_key)))
        if kind not in ("check_in", "transfer", "pause", "late", "here"):
            carried += not reads_lines
        with Session(door.engine, expire_on_commit=False) as session:
            fresh = door.clinic.board.read(door.clinic.queue(session))
        if kind == "check_in" and not reads_lines:
            continue  # carried on by the runs (their moment is the first check-in's): tested above
        assert _state_as_read(kept.state) == _state_as_read(fresh), kind
    assert carried >= 12  # most calls, starts and finishes were carried on, not read again


def _recalled_every_50_seconds(door, clock, called, times: int):
    """Recall ``called`` every 50 s (each change carried on from the one before, while it can
    be); after each, the kept state is what reading everything says.  The last kept one."""
    for _ in range(times):
        clock.advance(seconds=50)
        kept = door.change(lambda queue: queue.recall(called.id, STAFF)).snapshot
        with Session(door.engine, expire_on_commit=False) as session:
            fresh = door.clinic.board.read(door.clinic.queue(session))
        assert _state_as_read(kept.state) == _state_as_read(fresh)
    return kept


def test_a_late_patients_hold_running_out_between_two_changes_is_not_carried_over(door, clock):
    """Held at the front while late; when the hold runs out they stand at the back: the next
    change reads the lines again rather than carry the old order on."""
    tickets = [door.change(check_in).result for _ in range(5)]
    door.change(lambda queue: queue.mark_late(queue.ticket(tickets[0].id)))
    called = door.change(lambda queue: queue.call_next("room1", STAFF), announce=True).result
    assert called.id == tickets[1].id  # the late patient was passed over, and is held
    front = [t.id for t in door.snapshot().state.lines["general"]]
    assert front[0] == tickets[0].id
    kept = _recalled_every_50_seconds(door, clock, called, times=20)
    assert [t.id for t in kept.state.lines["general"]][-1] == tickets[0].id  # the hold ran out


def test_an_appointments_time_coming_between_two_changes_is_not_carried_over(door, clock):
    """Early for a 10:05 appointment, the patient waits as a walk-in; at 10:05 they go to the
    front of the line, with nothing done to their ticket: the next change reads the lines."""
    from datetime import timedelta

    from queue_app.estimate import PRIORITY_APPOINTMENT

    walk_ins = [door.change(check_in).result for _ in range(4)]
    booked = door.change(
        lambda queue: queue.check_in(
            "general",
            language="ko",
            actor=KIOSK,
            priority=PRIORITY_APPOINTMENT,
            appointment_at=clock.now() + timedelta(minutes=5),
        )[0]
    ).result
    called = door.change(lambda queue: queue.call_next("room1", STAFF), announce=True).result
    assert called.id == walk_ins[0].id
    assert [t.id for t in door.snapshot().state.lines["general"]][-1] == booked.id
    kept = _recalled_every_50_seconds(door, clock, called, times=10)
    assert [t.id for t in kept.state.lines["general"]][0] == booked.id  # its time came


def test_the_sender_is_woken_for_messages_to_send_not_for_those_skipped(door):
    woken: list[int] = []
    door.clinic.wake = lambda: woken.append(1)
    tv_only = door.change(lambda queue: check_in(queue, phone=None))
    # Decided and skipped (no number: the patient follows the TV): nothing for the sender.
    assert tv_only.messages and {m.status for m in tv_only.messages} == {"skipped"}
    assert woken == []
    door.change(check_in)  # a number: the check-in text is queued
    assert woken == [1]


def test_a_patient_following_the_tv_who_leaves_a_number_while_near_is_told_after_all(door):
    first = door.change(check_in).result
    door.change(check_in)
    tv_only = door.change(lambda queue: check_in(queue, phone=None)).result  # not near yet: third
    door.change(lambda queue: queue.call_next("room1", STAFF), announce=True)  # one ahead now: near
    door.change(lambda queue: queue.give_phone(queue.ticket(tv_only.id), "+821055556666"))
    door.change(lambda queue: queue.start(first.id, STAFF))  # a later change decides nothing more
    with Session(door.engine) as session:
        near = session.execute(
            select(Message.status, Message.channel, Message.last_error).where(
                Message.ticket_id == tv_only.id, Message.kind == "turn_near"
            )
        ).all()
    # Decided while they followed the TV (nothing to send), then sent once they could be reached.
    assert sorted((status, channel or "") for status, channel, _ in near) == [("queued", "sms"), ("skipped", "")]
    assert any(error and error.startswith("TV only") for _, _, error in near)
