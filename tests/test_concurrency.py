"""Many rooms pressing "call next" at the same instant, on SQLite and on PostgreSQL.

Eight rooms, two threads each (every press is a double click), on real databases: every
patient is called exactly once, nobody is skipped, and each room has one patient at a time.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app.clock import SystemClock
from queue_app.extensions import make_engine
from queue_app.models import Service, Ticket, TicketEvent
from queue_app.queue import Actor, AlreadyCheckedIn, ClinicQueue, RoomBusy

from .conftest import make_settings, prepare_database

ROOMS = [f"room{i}" for i in range(1, 9)]
PATIENTS = 120


def crowded_clinic(url):
    extra_rooms = {f"room{i}": {"name": f"Room {i}", "services": ["general"]} for i in range(1, 9)}
    settings = make_settings(url, rooms=extra_rooms)
    prepare_database(settings)
    return settings


def run_morning(url: str) -> None:
    settings = crowded_clinic(url)
    engine = make_engine(url)
    clock = SystemClock()
    with Session(engine) as session:
        queue = ClinicQueue(session, clock, settings.timezone)
        for _ in range(PATIENTS):
            queue.check_in("general", language="ko", actor=Actor("kiosk", "lobby"))
        session.commit()

    errors: list[BaseException] = []
    called_by_room: dict[str, list[int]] = {room: [] for room in ROOMS}
    # Both hands of a room press at the same instant, round after round.
    together = {room: threading.Barrier(2, timeout=60) for room in ROOMS}
    results: dict[str, list] = {room: [] for room in ROOMS}

    def press(room: str, hand: int) -> None:
        from sqlalchemy.orm.exc import StaleDataError

        try:
            with Session(engine) as session:
                queue = ClinicQueue(session, clock, settings.timezone)
                actor = Actor("staff", f"{room}-{hand}")
                while True:
                    together[room].wait()
                    try:
                        ticket = queue.call_next(room, actor)
                        if ticket is not None:
                            queue.start(ticket.id, actor)
                        session.commit()
                        outcome = ticket.id if ticket is not None else None
                    except (RoomBusy, StaleDataError):
                        session.rollback()
                        outcome = "busy"
                    if isinstance(outcome, int):
                        called_by_room[room].append(outcome)
                    results[room].append(outcome)
                    together[room].wait()
                    round_results = results[room][-2:]
                    together[room].wait()
                    if round_results == [None, None]:
                        break
        except BaseException as exc:  # noqa: BLE001 - reported below
            for barrier in together.values():
                barrier.abort()
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(room, hand)) for room in ROOMS for hand in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    with Session(engine) as session:
        tickets = session.scalars(select(Ticket)).all()
        calls = Counter(session.scalars(select(TicketEvent.ticket_id).where(TicketEvent.kind == "called")))
    engine.dispose()
    assert len(tickets) == PATIENTS
    # Nobody skipped: nobody is left waiting.  Nobody called twice: one "called" event each.
    assert [t.number for t in tickets if t.status == "waiting"] == []
    # No patient was left standing "called" to a room that went on to call someone else,
    # and each room ends with at most its last patient still inside.
    assert [t.number for t in tickets if t.status == "called"] == []
    in_rooms = Counter(t.room_id for t in tickets if t.status == "in_consultation")
    assert all(n == 1 for n in in_rooms.values())
    assert sum(1 for t in tickets if t.status == "finished") == PATIENTS - len(in_rooms)
    assert set(calls) == {t.id for t in tickets}
    assert max(calls.values()) == 1
    all_called = [tid for ids in called_by_room.values() for tid in ids]
    assert len(all_called) == len(set(all_called)) == PATIENTS
    # Every room took part: the calls really were concurrent.
    assert sum(1 for ids in called_by_room.values() if ids) >= 4


def test_concurrent_call_next_on_sqlite(tmp_path):
    run_morning(f"sqlite:///{tmp_path / 'busy.db'}")


@pytest.mark.postgres
def test_concurrent_call_next_on_postgresql(postgres_url):
    run_morning(postgres_url)


def test_concurrent_check_ins_get_distinct_consecutive_numbers(tmp_path):
    url = f"sqlite:///{tmp_path / 'numbers.db'}"
    _check_in_burst(url)


@pytest.mark.postgres
def test_concurrent_check_ins_on_postgresql(postgres_url):
    _check_in_burst(postgres_url)


def _check_in_burst(url: str) -> None:
    settings = crowded_clinic(url)
    engine = make_engine(url)
    start = threading.Barrier(8)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def kiosk(i: int) -> None:
        try:
            with Session(engine) as session:
                queue = ClinicQueue(session, SystemClock(), settings.timezone)
                start.wait()
                for _ in range(10):
                    ticket, _ = queue.check_in("general", language="ko", actor=Actor("kiosk", str(i)))
                    session.commit()
                    numbers.append(ticket.number)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    assert not errors, errors
    assert sorted(numbers) == [f"A-{n:03d}" for n in range(1, 81)]


def _one_number_at_eight_kiosks(url: str) -> None:
    """Eight kiosks check in one phone number for one service at the same instant."""
    settings = crowded_clinic(url)
    engine = make_engine(url)
    start = threading.Barrier(8, timeout=60)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def kiosk(i: int) -> None:
        try:
            with Session(engine) as session:
                queue = ClinicQueue(session, SystemClock(), settings.timezone)
                start.wait()
                try:
                    queue.check_in(
                        "general",
                        language="ko",
                        actor=Actor("kiosk", str(i)),
                        phone="+821023456789",
                        one_ticket_per_phone=True,
                    )
                    session.commit()
                    outcomes.append("created")
                except AlreadyCheckedIn:
                    session.rollback()
                    outcomes.append("refused")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with Session(engine) as session:
        numbers = session.scalars(select(Ticket.number)).all()
    engine.dispose()
    assert not errors, errors
    assert sorted(outcomes) == ["created"] + ["refused"] * 7
    # The refused check-ins gave their numbers back.
    assert numbers == ["A-001"]


def test_one_phone_number_at_eight_kiosks_at_once_gets_one_ticket(tmp_path):
    _one_number_at_eight_kiosks(f"sqlite:///{tmp_path / 'phone.db'}")


@pytest.mark.postgres
def test_one_phone_number_at_eight_kiosks_at_once_gets_one_ticket_on_postgresql(postgres_url):
    _one_number_at_eight_kiosks(postgres_url)


def _one_key_sent_eight_times(url: str) -> None:
    """One kiosk's tap reaches the server eight times at the same instant (a flaky network's retries)."""
    settings = crowded_clinic(url)
    engine = make_engine(url)
    start = threading.Barrier(8, timeout=60)
    tickets: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def retry(i: int) -> None:
        try:
            with Session(engine) as session:
                queue = ClinicQueue(session, SystemClock(), settings.timezone)
                start.wait()
                ticket, created = queue.check_in(
                    "general",
                    language="ko",
                    actor=Actor("kiosk", "front-desk"),
                    idempotency_key="tap-0001",
                    idempotency_scope="kiosk:front-desk",
                    fingerprint="same-request",
                )
                session.commit()
                tickets.append((ticket.id, created))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=retry, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with Session(engine) as session:
        numbers = session.scalars(select(Ticket.number)).all()
        last_number = session.scalar(select(Service.last_number).where(Service.id == "general"))
    engine.dispose()
    assert not errors, errors
    # Every retry got the one ticket; only the first made it.
    assert len({ticket_id for ticket_id, _ in tickets}) == 1
    assert sorted(created for _, created in tickets) == [False] * 7 + [True]
    assert numbers == ["A-001"]
    # The retries gave back the numbers they took: the next patient is A-002.
    assert last_number == 1


def test_one_tap_arriving_eight_times_at_once_makes_one_ticket(tmp_path):
    _one_key_sent_eight_times(f"sqlite:///{tmp_path / 'retries.db'}")


@pytest.mark.postgres
def test_one_tap_arriving_eight_times_at_once_makes_one_ticket_on_postgresql(postgres_url):
    _one_key_sent_eight_times(postgres_url)
