"""What messages cost, as carriers bill them, and what one clinic day's messages cost per channel.

The clinic owner watches this figure, so it must match the bill: a long SMS is not the price
of a short one.  Korea's carriers bill a text over 90 bytes in EUC-KR as one LMS (a price of
its own); elsewhere a long text is sent as parts of 153 GSM-7 characters, or 67 characters
of any other script, each billed as one text.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..models import MESSAGE_FAILED, Message
from .texts import GSM7

#: Korea: a text longer than this many bytes in EUC-KR is an LMS.
SMS_BYTES_KOREA = 90


def sms_parts(text: str) -> int:
    """How many SMS parts a text takes: one up to 160 GSM-7 (70 other) characters, else 153 (67) each."""
    if set(text) <= GSM7:
        single, part, length = 160, 153, len(text)
    else:
        # UCS-2 counts UTF-16 units: a character outside the basic plane takes two.
        single, part, length = 70, 67, len(text.encode("utf-16-le")) // 2
    return 1 if length <= single else math.ceil(length / part)


def is_korean_lms(text: str) -> bool:
    """Would a Korean carrier bill this text as an LMS (over 90 bytes in EUC-KR)?"""
    return len(text.encode("euc-kr", errors="replace")) > SMS_BYTES_KOREA


def sms_price(text: str, phone: str | None, cost: float, cost_long: float | None) -> float:
    """What one text costs: short or LMS for a Korean number, per part elsewhere."""
    if phone and phone.startswith("+82") and cost_long is not None:
        return cost_long if is_korean_lms(text) else cost
    return cost * sms_parts(text)


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
