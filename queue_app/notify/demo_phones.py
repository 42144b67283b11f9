"""What each patient's phone received, as the demo page ``/demo/messages`` shows it.

The demo channel keeps nothing: every message is a row in ``messages`` with the facts it
was rendered from.  This reads those rows back, and renders each text again the way the
dispatcher rendered it for that channel, so the page shows what the patient read (an SMS
without its link, unless the clinic asked for links in SMS).

Only messages that left (sent or delivered) on the patient's route count: a text still
waiting, failed or found unnecessary never reached a phone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..models import MESSAGE_DELIVERED, MESSAGE_SENT, Message, Ticket
from ..phones import mask_phone
from . import texts

#: Statuses of a message that reached (or was handed to the provider for) the phone.
RECEIVED = (MESSAGE_SENT, MESSAGE_DELIVERED)
PATIENT_ROUTE = "patient"


@dataclass(frozen=True)
class ReceivedMessage:
    """One message on a patient's phone."""

    id: str
    ticket_id: int
    number: str
    kind: str
    channel: str
    at: datetime
    text: str


@dataclass(frozen=True)
class DemoPhone:
    """One patient's phone: known by the ticket number; the phone number only masked."""

    ticket_id: int
    number: str
    masked_phone: str | None
    #: Newest first.
    messages: list[ReceivedMessage] = field(default_factory=list)


def patient_text(settings: Settings, message: Message) -> str:
    """The text as the dispatcher rendered it for the message's channel."""
    facts = json.loads(message.variables)
    custom = settings.notify.templates
    channel = message.channel or ""
    adapter = settings.notify.channel_settings.get(channel, {}).get("type", channel)
    # ``adapter == "sms"``: also a second SMS section with type = "sms".
    return texts.message_text(
        message.kind, message.language, facts, custom, sms=adapter == "sms", sms_link=settings.notify.sms_include_link
    )


def _received(settings: Settings, message: Message, ticket: Ticket) -> ReceivedMessage:
    return ReceivedMessage(
        id=message.id,
        ticket_id=ticket.id,
        number=ticket.number,
        kind=message.kind,
        channel=message.channel or "",
        at=message.sent_at or message.created_at,
        text=patient_text(settings, message),
    )


def _received_rows():
    return (
        select(Message, Ticket)
        .join(Ticket, Message.ticket_id == Ticket.id)
        .where(Message.route == PATIENT_ROUTE, Message.status.in_(RECEIVED))
    )


def phones_of_the_day(session: Session, settings: Settings, clinic_day: date) -> list[DemoPhone]:
    """Every phone that received something on ``clinic_day``; the most recently messaged first."""
    phones: dict[int, DemoPhone] = {}
    rows = session.execute(
        _received_rows().where(Ticket.clinic_day == clinic_day).order_by(Message.sent_at.desc(), Message.id)
    )
    for message, ticket in rows:
        phone = phones.get(ticket.id)
        if phone is None:
            phone = phones[ticket.id] = DemoPhone(ticket.id, ticket.number, mask_phone(ticket.phone))
        phone.messages.append(_received(settings, message, ticket))
    return list(phones.values())


def received_message(session: Session, settings: Settings, message_id: str) -> tuple[ReceivedMessage, DemoPhone] | None:
    """One message a phone received (and its phone, without the other messages), or None."""
    row = session.execute(_received_rows().where(Message.id == message_id)).first()
    if row is None:
        return None
    message, ticket = row
    return _received(settings, message, ticket), DemoPhone(ticket.id, ticket.number, mask_phone(ticket.phone))
