"""Deciding what to tell whom after a queue change, written in the same transaction.

Called by the code that commits a queue change, after the change and before the commit,
with the queue state as it will be (positions and estimates included).  Every message it
decides is a row in ``messages`` committed together with the change, so a crash can lose
neither: the dispatcher sends what is queued, whenever it runs.

Each message happens at most once per ticket (``dedupe_key``); a transfer re-arms them for
the new line.  A patient whom no channel can reach is put on reception's call list instead,
for the messages that matter (their turn is near, they are called).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session

from ..board import QueueState, Wait
from ..config import Settings
from ..models import (
    MESSAGE_FAILED,
    MESSAGE_QUEUED,
    MESSAGE_SKIPPED,
    Message,
    OptOut,
    Ticket,
)
from .channels import Channel, Recipient
from .settings import LEAD_CHOICES, WEBHOOK, NearThreshold

#: Queue events that cause a message of the same name.
EVENT_MESSAGES = {"checked_in": "checked_in", "called": "called", "recalled": "recalled"}
#: Messages whose failure puts the patient on reception's call list.
MUST_REACH = ("turn_near", "called", "recalled")
#: Channels a patient turns on from their own phone page (free to the clinic).
PAGE_CHANNELS = ("webpush", "telegram")
NOBODY_CAN_REACH = "no channel can reach this patient"
#: Reception answered on the phone page and the page did not show it in time: the patient is
#: told on their channels, with the page's link (see ``Outbox.relay_answer``).
ANSWER = "answer"
#: Why a relay was not sent: the page showed every answer it carried first.
SEEN_ON_PAGE = "seen on the phone page"
#: "Turn near" goes when the early end of the range is down to the lead time times this.
#: The early end is the 10th percentile of the wait, but the first moment a moving estimate
#: dips to a line is more often early than late: on the sample clinics, telling at exactly
#: the lead time brought back 79-89% in time, 1.2 times it about 93% (docs/estimates.md).
LEAD_MARGIN = 1.2
TV_ONLY = "TV only: the patient left no number and turned on no notifications"
#: A number gets one check-in text a day: a second check-in with it (another service, a
#: family's shared phone, or someone typing a stranger's number again and again) gets none.
ALREADY_TEXTED_TODAY = "this number already had a check-in message today"


def put_on_call_list(session: Session, ticket: Ticket) -> None:
    """Mark the ticket for reception to phone, whether or not this session loaded it.

    A state carried on from an earlier change holds ticket objects of an earlier session:
    setting the attribute alone would never be saved.
    """
    ticket.needs_call = True
    if ticket not in session:
        session.execute(update(Ticket).where(Ticket.id == ticket.id).values(needs_call=True))


def is_turn_near(threshold: NearThreshold, lead_minutes: int | None, position: int | None, wait: Wait | None) -> bool:
    """Is it time to tell the patient to come back?

    By place (``near_positions`` or fewer ahead), or by time: when the early end of the
    patient's 80% range (its 10th percentile) is down to the minutes they said they need
    to come back (``lead_minutes``, else the service's ``near_minutes``), with a margin
    (``LEAD_MARGIN``).  Using the early end rather than the middle, and looking again every
    minute as the clock runs, about nine in ten are back before they are called.
    """
    lead = threshold.minutes if lead_minutes is None else lead_minutes
    by_place = position is not None and position - 1 <= threshold.positions
    by_time = wait is not None and wait.low <= lead * LEAD_MARGIN
    return by_place or by_time


def recipient(ticket: Ticket, opted_out: Iterable[str] = ()) -> Recipient:
    """What the patient gave and agreed to, minus numbers that asked for no more messages.

    A phone number or email counts only with the patient's consent; a push subscription or a
    Telegram chat exists only because the patient set it up from their own phone.
    """
    phone = ticket.phone if ticket.consent and ticket.phone not in set(opted_out) else None
    push = json.loads(ticket.push_subscription) if ticket.push_subscription else None
    return Recipient(
        phone=phone,
        email=ticket.email if ticket.consent else None,
        telegram_chat_id=ticket.telegram_chat_id,
        push_subscription=push,
    )


def in_force(now: datetime | None):
    """Opt-outs that count at ``now``: a STOP (no end), or a skip whose ``until`` is ahead.

    ``now`` comes from the caller's clock, not the database's, so a test's clock decides.
    None counts every row (for callers without a clock).
    """
    if now is None:
        return true()
    return or_(OptOut.until.is_(None), OptOut.until > now)


def opted_out_phones(session: Session, phone: str | None, now: datetime | None = None) -> dict[str, set[str]]:
    """channel -> numbers not to be messaged on it at ``now`` (STOP, or skipped for a while)."""
    if not phone:
        return {}
    result: dict[str, set[str]] = {}
    for row in session.scalars(select(OptOut).where(OptOut.phone == phone, in_force(now))):
        result.setdefault(row.channel, set()).add(row.phone)
    return result


def reachable_channels(
    session: Session,
    ticket: Ticket,
    order: Iterable[str],
    channels: Mapping[str, Channel],
    now: datetime | None = None,
) -> list[str]:
    """The patient's channels in the clinic's order, each able to reach them at ``now``."""
    opted = opted_out_phones(session, ticket.phone, now)
    return [
        name for name in order if name in channels and channels[name].can_reach(recipient(ticket, opted.get(name, ())))
    ]


def variables(settings: Settings, ticket: Ticket, base_url: str) -> dict[str, str]:
    """The message's facts, fixed when it is decided: clinic, number, room, link, service."""
    room = settings.rooms.get(ticket.room_id) if ticket.room_id else None
    service = settings.services.get(ticket.service_id)
    return {
        "clinic": settings.clinic_name,
        "number": ticket.number,
        "room": room.name(ticket.language) if room else "",
        "link": f"{base_url}/t/{ticket.token}",
        "service": service.name(ticket.language) if service else ticket.service_id,
    }


def new_message(
    kind: str,
    dedupe_key: str,
    route: str,
    channel: str | None,
    status: str,
    language: str,
    facts: dict,
    now: datetime,
    error: str | None = None,
    *,
    ticket_id: int | None = None,
    appointment_id: int | None = None,
) -> Message:
    """A message decided now: about a ticket or an appointment, its facts fixed, not yet tried."""
    return Message(
        id=str(uuid.uuid4()),
        ticket_id=ticket_id,
        appointment_id=appointment_id,
        kind=kind,
        dedupe_key=dedupe_key,
        route=route,
        channel=channel,
        status=status,
        attempts=0,
        next_attempt_at=now,
        language=language,
        variables=json.dumps(facts, ensure_ascii=False),
        cost=0.0,
        created_at=now,
        last_error=error,
    )


class Outbox:
    """Writes the messages a queue change causes, into the change's own transaction."""

    def __init__(self, settings: Settings, channels: Mapping[str, Channel], clock=None) -> None:
        self.settings = settings
        self.notify = settings.notify
        self.channels = channels
        #: Decides which opt-outs have run out (``reachability`` has no ``now`` of its own).
        self.clock = clock

    def channels_for(self, ticket: Ticket, opted_out: Mapping[str, set[str]] | None = None) -> list[str]:
        """The clinic's channels that can reach this patient; ``opted_out``: channel -> phones."""
        opted_out = opted_out or {}
        return [
            name
            for name in self.notify.order
            if self.channels[name].can_reach(recipient(ticket, opted_out.get(name, ())))
        ]

    def reachability(self, session: Session, tickets: Iterable[Ticket]) -> dict[int, list[str]]:
        """Channels per ticket for many tickets, with one look-up of opt-outs."""
        tickets = list(tickets)
        phones = {t.phone for t in tickets if t.phone}
        opted: dict[str, set[str]] = {}
        if phones and self.notify.order:
            now = self.clock.now() if self.clock is not None else None
            for row in session.scalars(select(OptOut).where(OptOut.phone.in_(phones), in_force(now))):
                opted.setdefault(row.channel, set()).add(row.phone)
        return {t.id: self.channels_for(t, opted) for t in tickets}

    def plan(
        self,
        session: Session,
        state: QueueState,
        happened: Iterable[tuple[Ticket, str]],
        now: datetime,
        base_url: str,
        *,
        thorough: bool = False,
    ) -> list[Message]:
        """Add the messages caused by ``happened`` (ticket, event) and by the new positions.

        ``thorough``: look at everyone waiting (the minute's look), not only as far down each
        line as someone could be near (after a change).
        """
        wanted: list[tuple[Ticket, str]] = []
        checked_in_now: set[int] = set()
        for ticket, event in happened:
            if event == "checked_in":
                checked_in_now.add(ticket.id)
            kind = EVENT_MESSAGES.get(event)
            if kind:
                wanted.append((ticket, kind))
        waits, told = state.waits, state.told_near
        for service_id, service_line in state.lines.items():
            threshold = self.notify.threshold(service_id)
            # Estimates grow along a line (it is called in its order), so past the place rule
            # and past the longest lead anyone may choose, nobody further back can be near:
            # a change costs the same with 50 or 5,000 waiting.
            farthest = max(threshold.minutes, *LEAD_CHOICES) * LEAD_MARGIN
            for place, ticket in enumerate(service_line, start=1):
                ticket_id = ticket.id
                wait = waits.get(ticket_id)
                if ticket_id not in told and is_turn_near(threshold, ticket.lead_minutes, place, wait):
                    wanted.append((ticket, "turn_near"))
                if not thorough and place - 1 > threshold.positions and wait is not None and wait.low > farthest:
                    # A wider range further back could still reach lower: the minute's
                    # thorough look finds it, at most a minute late.
                    break
        wanted = [(t, k) for t, k in wanted if k in self.notify.kinds]
        if not wanted:
            return []

        keyed = [(ticket, kind, *self._keys(ticket, kind)) for ticket, kind in wanted]
        existing = self._planned_before(session, state, keyed)
        made: list[Message] = []
        for ticket, kind, key, webhook_key in keyed:
            webhook = webhook_key is not None and webhook_key not in existing
            if not webhook and key in existing:
                continue
            facts = variables(self.settings, ticket, base_url)
            # Near already at check-in: the patient is at the desk and has just been told
            # their place; a "come back" message (or event) would only cost money.
            suppressed = kind == "turn_near" and ticket.id in checked_in_now
            if webhook:
                status = MESSAGE_SKIPPED if suppressed else MESSAGE_QUEUED
                made.append(self._message(ticket, kind, WEBHOOK, WEBHOOK, status, facts, now))
                existing.add(webhook_key)
            if key in existing:
                continue
            existing.add(key)
            usable = reachable_channels(session, ticket, self.notify.order, self.channels, now)
            error = None
            if suppressed:
                status, channel = MESSAGE_SKIPPED, None
            elif kind == "checked_in" and usable and self._checkin_sent_to_number(session, ticket):
                status, channel, error = MESSAGE_SKIPPED, None, ALREADY_TEXTED_TODAY
            elif usable:
                status, channel = MESSAGE_QUEUED, usable[0]
            elif kind in MUST_REACH and ticket.has_contact:
                # They left a number or an address that none of our channels can use now
                # (opted out, a channel switched off): reception phones them instead.
                status, channel, error = MESSAGE_FAILED, None, NOBODY_CAN_REACH
                put_on_call_list(session, ticket)
            else:
                # No number, no notifications: the patient follows the TV.  Nobody failed.
                status, channel = MESSAGE_SKIPPED, None
                error = TV_ONLY if not ticket.has_contact else None
            message = self._message(ticket, kind, "patient", channel, status, facts, now, error)
            if kind == "checked_in" and status == MESSAGE_QUEUED:
                message.next_attempt_at = now + self._checkin_delay(channel)
            made.append(message)
        session.add_all(made)
        # Every key of these is saved now (or was): the next change passes them over.
        told.update(ticket.id for ticket, kind, _, _ in keyed if kind == "turn_near")
        return made

    def _planned_before(self, session: Session, state: QueueState, keyed: list[tuple]) -> set[str]:
        """Which of the keys of ``keyed`` (ticket, kind, key, webhook key or None) were planned already.

        Those the state knows saved are known without asking (a patient near stays near
        change after change: at 1,000 waiting hundreds may be, each planned once); only the
        rest are looked up.
        """
        keys = {key for _, _, *both in keyed for key in both if key is not None}
        unknown = keys - state.planned_keys()
        held = keys - unknown
        if unknown:
            held.update(session.scalars(select(Message.dedupe_key).where(Message.dedupe_key.in_(unknown))))
        return held

    def relay_answer(
        self, session: Session, ticket: Ticket, answer_id: int, now: datetime, base_url: str
    ) -> str | None:
        """Plan telling the patient on their channels of a staff answer their page may not show.

        Due ``[inbox] page_unseen_seconds`` after the answer; the page cancels it by saying it
        showed the answer (``Inbox.seen_on_page``).  It carries the clinic, the number and
        the link, never the answer: an SMS or a lock screen is read by whoever holds the
        phone, and staff write freely (a result, a prescription).  Answers written while one
        is still waiting share it, so three quick answers are one text.  Returns its id
        (None: the clinic keeps answers on the page).  The channel is the first that can
        reach the patient now; one they turn on before it is due is used then.
        """
        wait = self.settings.inbox.page_unseen_seconds
        if not wait:
            return None
        waiting = session.scalar(
            select(Message.id).where(
                Message.ticket_id == ticket.id, Message.kind == ANSWER, Message.status == MESSAGE_QUEUED
            )
        )
        if waiting is not None:
            return waiting
        usable = reachable_channels(session, ticket, self.notify.order, self.channels, now)
        facts = variables(self.settings, ticket, base_url)
        relay = self._message(ticket, ANSWER, "patient", usable[0] if usable else None, MESSAGE_QUEUED, facts, now)
        relay.dedupe_key = f"{ticket.id}:{ANSWER}:{answer_id}"
        relay.next_attempt_at = now + timedelta(seconds=wait)
        session.add(relay)
        return relay.id

    @staticmethod
    def _checkin_sent_to_number(session: Session, ticket: Ticket) -> bool:
        """Did another ticket with this phone number get a check-in message this clinic day?"""
        if not ticket.phone:
            return False
        earlier = session.scalar(
            select(Message.id)
            .join(Ticket, Message.ticket_id == Ticket.id)
            .where(
                Ticket.phone == ticket.phone,
                Ticket.clinic_day == ticket.clinic_day,
                Ticket.id != ticket.id,
                Message.kind == "checked_in",
                Message.route == "patient",
                Message.status != MESSAGE_SKIPPED,
            )
            .limit(1)
        )
        return earlier is not None

    def _checkin_delay(self, channel: str | None) -> timedelta:
        """How long a paid check-in text waits for the patient to turn on free notifications.

        A patient who taps "Notify me" on the page they just opened has their link already;
        the check-in text (which exists to give them that link) would only cost money.  Only
        worth waiting where the clinic offers a free channel to turn on.
        """
        costs = self.notify.costs
        free_offered = any(costs.get(name, 0.0) == 0.0 for name in self.notify.order if name in PAGE_CHANNELS)
        if channel is None or not free_offered or self.notify.costs.get(channel, 0.0) == 0.0:
            return timedelta(0)
        return timedelta(seconds=self.notify.checkin_delay_seconds)

    @staticmethod
    def _key(ticket: Ticket, kind: str, route: str) -> str:
        # Every recall is news of its own ("called again, 2nd call"); the rest happen once
        # per line the ticket waits in.
        kind_key = f"{kind}{ticket.call_count}" if kind == "recalled" else kind
        key = f"{ticket.id}:{kind_key}:{ticket.transfer_count}:{route}"
        if kind == "turn_near" and route == "patient" and not ticket.has_contact:
            # Decided for a patient who follows the TV: one who then leaves a number or
            # turns on notifications while still near is told after all.
            key += ":tv"
        return key

    def _keys(self, ticket: Ticket, kind: str) -> tuple[str, str | None]:
        """The message's key to the patient, and to the clinic's webhook (None: no webhook)."""
        webhook = self._key(ticket, kind, WEBHOOK) if self.notify.webhook_enabled else None
        return self._key(ticket, kind, "patient"), webhook

    def _message(
        self,
        ticket: Ticket,
        kind: str,
        route: str,
        channel: str | None,
        status: str,
        facts: dict,
        now: datetime,
        error: str | None = None,
    ) -> Message:
        return new_message(
            kind,
            self._key(ticket, kind, route),
            route,
            channel,
            status,
            ticket.language,
            facts,
            now,
            error,
            ticket_id=ticket.id,
        )
