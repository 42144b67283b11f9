"""Where a late patient stands in line: the one rule, for calling and for showing the line.

A patient who wrote "running late" is passed over by the rooms while they are late.  The
first time a room passes them over, they are held: for ``[queue] late_hold_minutes`` they
keep their place at the front (say "here" and they are the next called); once the hold has
run out, they stand in line as if they had checked in at its end (``held_until``).

``call_next`` orders its SQL with :func:`call_order`; the board's lines (positions, the
estimate, the TV) are read with the same clauses, so the two can never disagree.
:func:`place_time` is the same rule for tickets already in memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case

from .appointment_rank import calling_rank, rank
from .models import Ticket


def place_time_sql(now: datetime):
    """SQL for the moment a waiting ticket's place in line counts from, at ``now``."""
    hold_over = and_(Ticket.held_until.is_not(None), Ticket.held_until <= now)
    return case((hold_over, Ticket.held_until), else_=Ticket.queued_at)


def call_order(now: datetime) -> tuple:
    """The ORDER BY of a line at ``now``: rank (an appointment ahead from its time, see
    ``appointment_rank``), then place (late hold applied), then id."""
    return (calling_rank(now), place_time_sql(now), Ticket.id)


def place_time(ticket: Ticket, now: datetime) -> datetime:
    """The moment ``ticket``'s place in line counts from (:func:`place_time_sql` in Python)."""
    if ticket.held_until is not None and ticket.held_until <= now:
        return ticket.held_until
    return ticket.queued_at


def line_key(ticket: Ticket, now: datetime) -> tuple:
    """The sort key of :func:`call_order` for a ticket in memory."""
    return (rank(ticket, now), place_time(ticket, now), ticket.id)
