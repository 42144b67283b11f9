"""What one running app holds besides Flask's own: settings, the queue board, the clock.

Handlers reach it with ``runtime()`` and get a ``ClinicQueue`` over the request's session
with ``clinic_queue()``; nothing else in the package needs to know about ``current_app``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context, request

from .board import QueueBoard
from .config import Settings
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
    dispatcher: Dispatcher | None = None
    #: (host, port) ``queue-app serve`` listens on; None under the test client or another WSGI server.
    listening: tuple[str, int] | None = None


def runtime() -> Runtime:
    """The running app's ``Runtime``."""
    return current_app.extensions["queue_app"]


def clinic_queue() -> ClinicQueue:
    """The clinic's queue over this request's database session."""
    rt = runtime()
    return ClinicQueue(db.session(), rt.clock, rt.settings.timezone)


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
