"""What one running app holds besides Flask's own: settings, the queue board, the clock.

Handlers reach it with ``runtime()`` and get a ``ClinicQueue`` over the request's session
with ``clinic_queue()``; nothing else in the package needs to know about ``current_app``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .board import QueueBoard
from .config import Settings
from .extensions import db
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


def runtime() -> Runtime:
    """The running app's ``Runtime``."""
    return current_app.extensions["queue_app"]


def clinic_queue() -> ClinicQueue:
    """The clinic's queue over this request's database session."""
    rt = runtime()
    return ClinicQueue(db.session(), rt.clock, rt.settings.timezone)
