"""Is the clinic open at a moment, and when does it next open?

Open means between ``[hours] open`` and ``close`` on a day that is not one of ``[hours]
holidays``.  A lunch break is not "closed": patients may check in and write, and reception
answers after it.  No Flask, no database: the check-in and the inbox ask with their clock.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from .estimate import OpeningHours

#: How far ahead a next opening is looked for (a long holiday season, not forever).
LOOK_AHEAD_DAYS = 60


def is_open(hours: OpeningHours, holidays: Collection[date], moment: datetime) -> bool:
    """Is the clinic open at ``moment`` (aware)?"""
    local = moment.astimezone(hours.timezone)
    return local.date() not in holidays and hours.opens <= local.time() < hours.closes


def next_opening(hours: OpeningHours, holidays: Collection[date], moment: datetime) -> datetime:
    """When the clinic next opens at or after ``moment`` (``moment`` itself when open now)."""
    if is_open(hours, holidays, moment):
        return moment
    local = moment.astimezone(hours.timezone)
    day = local.date()
    if local.time() >= hours.opens:
        day += timedelta(days=1)
    for _ in range(LOOK_AHEAD_DAYS):
        if day not in holidays:
            return datetime.combine(day, hours.opens, tzinfo=hours.timezone)
        day += timedelta(days=1)
    return datetime.combine(day, hours.opens, tzinfo=hours.timezone)
