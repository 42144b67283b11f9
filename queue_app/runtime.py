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

from .board import QueueBoard
from .clinic import Change, Clinic, Snapshot, late_hold
from .config import Settings
from .conversations import Inbox
from .extensions import db
from .links import LinkBase, choose_link_base, machine_address
from .notify.dispatcher import Dispatcher
from .notify.outbox import Outbox
from .queue import ClinicQueue


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
    """The dispatcher's minute: with nothing changed but the clock, tell whoever is near now."""
    with app.app_context():
        try:
            runtime().clinic.time_passed(patient_link_base().url)
        finally:
            db.session.remove()


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


def converse(act: Callable[[Inbox], T]) -> T:
    """Change the inbox through the clinic's door, on this request's session."""
    return runtime().clinic.converse(db.session(), patient_link_base().url, act)


def inbox() -> Inbox:
    """The conversations over this request's session (for reading)."""
    rt = runtime()
    return Inbox(clinic_queue(), rt.settings, rt.outbox.channels)
