"""What one running app holds besides Flask's own: settings, the clinic's door, the clock.

Handlers reach it with ``runtime()``; they make a change with ``change(...)`` (through the
one door, ``clinic.Clinic``) and read with ``snapshot()``; nothing else in the package needs
to know about ``current_app``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import current_app, has_request_context, request

from .appointments import Appointments, look_at_appointments, time_came
from .board import QueueBoard
from .clinic import Change, Clinic, Snapshot, late_hold
from .config import Settings
from .conversations import Inbox
from .extensions import db
from .links import LinkBase, choose_link_base, machine_address
from .notify.dispatcher import Dispatcher
from .notify.outbox import Outbox
from .queue import ClinicQueue, NotFound


@dataclass
class Runtime:
    """The app's settings, its queue board, its clock, and the messaging outbox and dispatcher.

    The dispatcher is made here but runs only where something starts it (``queue-app serve``
    in the background; tests call ``run_once``).
    """

    settings: Settings
    board: QueueBoard
    clock: object
    outbox: Outbox
    clinic: Clinic
    dispatcher: Dispatcher | None = None
    #: (host, port) ``queue-app serve`` listens on; None under the test client or another WSGI server.
    listening: tuple[str, int] | None = None


def runtime() -> Runtime:
    """The running app's ``Runtime``."""
    return current_app.extensions["queue_app"]


def clinic_queue() -> ClinicQueue:
    """The clinic's queue over this request's database session (for reading)."""
    rt = runtime()
    return ClinicQueue(db.session(), rt.clock, rt.settings.timezone, late_hold(rt.settings))


T = TypeVar("T")


def change(act: Callable[[ClinicQueue], T], *, announce: bool = False) -> Change[T]:
    """Make a change through the clinic's one door, on this request's session."""
    return runtime().clinic.change(db.session(), patient_link_base().url, act, announce=announce)


def snapshot() -> Snapshot:
    """The latest state of the queue (kept while nothing changed)."""
    return runtime().clinic.snapshot(db.session())


def look_again(app) -> None:
    """The dispatcher's minute: with nothing changed but the clock, tell whoever is near now,
    publish the order where an appointment's time came, remind whoever has an appointment
    coming, and mark the absent as no-shows."""
    with app.app_context():
        try:
            rt = runtime()
            base_url = patient_link_base().url
            clinic = rt.clinic
            clinic.time_passed(base_url)
            with clinic.session_factory() as session:
                clinic.change(session, base_url, time_came)
            if look_at_appointments(
                clinic.session_factory,
                rt.clock,
                rt.settings,
                base_url,
                rt.outbox.channels,
                on_changed=clinic.appointments_changed,
            ):
                if clinic.wake is not None:
                    clinic.wake()
        finally:
            db.session.remove()


def appointments(base_url: str | None = None, session=None) -> Appointments:
    """The clinic's appointments over ``session`` (an act's, through the door), else this request's."""
    rt = runtime()
    return Appointments(
        session or db.session(), rt.clock, rt.settings, base_url or patient_link_base().url, rt.outbox.channels
    )


def patient_link_base() -> LinkBase:
    """The base of patients' links for this request: never the ``Host`` header unless allowed.

    Outside a request (the dispatcher's minute-by-minute look) it is decided without one.

    Outside ``serve`` the listening address is unknown, so the configured port stands in and
    the machine's own address is used, as for a server listening on every interface.
    """
    rt = runtime()
    settings = rt.settings
    listen_host, port = rt.listening or (None, settings.port)
    return choose_link_base(
        public_url=settings.public_url,
        allowed_hosts=settings.allowed_hosts,
        asked_host=request.host if has_request_context() else None,
        scheme=request.scheme if has_request_context() else "http",
        listen_host=listen_host,
        port=port,
        machine_address=machine_address,
    )


def arrive(appointment_id: int, actor) -> Change:
    """The patient of the appointment is here: its ticket made through the clinic's one door
    (numbered, announced, its check-in message planned), on the door's own session."""
    base = patient_link_base().url

    desks: list[Appointments] = []

    def act(queue: ClinicQueue):
        desk = appointments(base, queue.session)
        desks.append(desk)
        return desk.arrive(desk.get(appointment_id), queue, actor)

    done = change(act)
    runtime().clinic.appointments_changed(desks[0].changed)
    return done


#: What a patient can do from their appointment's link.
PATIENT_ACTIONS = ("confirm", "cancel", "arrive")


def answer_appointment(appointment, action: str, actor):
    """The patient's confirm or cancel (committed here), or arrival (through the door).

    Returns the ticket on arrival, else None; an unknown action is ``NotFound``.
    """
    if action not in PATIENT_ACTIONS:
        raise NotFound(f"unknown action {action!r}; one of {', '.join(PATIENT_ACTIONS)}", field="action")
    if action == "arrive":
        return arrive(appointment.id, actor).result
    desk = appointments()
    (desk.confirm if action == "confirm" else desk.cancel)(appointment, actor)
    db.session.commit()
    runtime().clinic.appointments_changed(desk.changed)
    return None


def converse(act: Callable[[Inbox], T]) -> T:
    """Change the inbox through the clinic's door, on this request's session."""
    return runtime().clinic.converse(db.session(), patient_link_base().url, act)


def inbox() -> Inbox:
    """The conversations over this request's session (for reading)."""
    rt = runtime()
    return Inbox(clinic_queue(), rt.settings, rt.outbox.channels)
