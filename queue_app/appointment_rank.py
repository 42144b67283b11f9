"""When an appointment's ticket goes ahead of walk-ins: the one rule, in SQL and for tickets in memory.

An appointment ranks ahead of walk-ins only from its time (``Ticket.appointment_at``): a patient
who arrives early for a 10:30 appointment waits like a walk-in who came in at that moment until
10:30, then goes to the front.  ``late_hold.call_order`` (calling and the board's lines alike)
orders by this rank, so what patients are told is the order they are called in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case

from .estimate import PRIORITY_APPOINTMENT, PRIORITY_WALK_IN
from .models import Ticket


def calling_rank(now: datetime):
    """SQL: a waiting ticket's rank in its line at ``now`` (lower is called first)."""
    not_yet = and_(Ticket.priority == PRIORITY_APPOINTMENT, Ticket.appointment_at > now)
    return case((not_yet, PRIORITY_WALK_IN), else_=Ticket.priority)


def rank(ticket: Ticket, now: datetime) -> int:
    """:func:`calling_rank` for a ticket in memory."""
    if ticket.priority == PRIORITY_APPOINTMENT and ticket.appointment_at is not None and ticket.appointment_at > now:
        return PRIORITY_WALK_IN
    return ticket.priority
