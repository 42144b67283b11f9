"""What one clinic day's messages cost, per channel: the figure the clinic owner watches."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..models import MESSAGE_FAILED, Message


def daily_costs(session: Session, settings: Settings, day: date) -> dict:
    """Messages sent on ``day`` (the clinic's local day) and their cost, per channel.

    A message counts on the day it went out, on the channel that sent it, at the cost that
    channel had then (stored with the message, so a later price change leaves history alone).
    A message that failed unbilled (an AlimTalk that never arrived: cost 0) does not count;
    one that then went out by SMS counts once, on SMS, at SMS's cost.
    """
    start = datetime.combine(day, time(0), settings.timezone)
    end = start + timedelta(days=1)
    rows = session.execute(
        select(Message.channel, func.count(), func.coalesce(func.sum(Message.cost), 0.0))
        .where(Message.sent_at >= start, Message.sent_at < end)
        .where(not_(and_(Message.status == MESSAGE_FAILED, Message.cost == 0)))
        .group_by(Message.channel)
        .order_by(Message.channel)
    ).all()
    channels = [{"channel": channel, "sent": count, "cost": round(float(cost), 2)} for channel, count, cost in rows]
    return {
        "day": day.isoformat(),
        "currency": settings.notify.currency,
        "channels": channels,
        "total_cost": round(sum(c["cost"] for c in channels), 2),
    }
