"""The queue itself: every change to a ticket or a room happens here, and only here.

No Flask in this module.  It works on a SQLAlchemy session the caller gives it and leaves
the commit to the caller, so a handler can validate, call one method, commit and then push
the news; the CLI and tests drive it the same way.

A ticket moves through an explicit state machine (``TRANSITIONS``).  An action that the
ticket's status does not allow is refused with ``IllegalTransition`` and changes nothing.

"Call next" must never give one patient to two rooms, nor skip a patient when a button is
pressed twice.  Two compare-and-set updates make that true on SQLite and PostgreSQL alike:
the room is claimed (``current_ticket_id`` still what we read) and then the ticket
(``status`` still ``waiting``).  If either row changed under us, the update touches no row
and we know at once, without relying on a database's isolation level.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from .estimate import PRIORITY_APPOINTMENT, PRIORITY_URGENT, PRIORITY_WALK_IN
from .late_hold import call_order, line_key
from .models import (
    CALLED,
    CANCELLED,
    EXPIRED,
    FINISHED,
    IN_CONSULTATION,
    LEFT,
    NO_SHOW,
    OPEN_STATUSES,
    OPT_OUT_STOP,
    ROOM_OPEN,
    ROOM_PAUSED,
    WAITING,
    OptOut,
    Room,
    RoomEvent,
    Service,
    Ticket,
    TicketEvent,
)

PRIORITIES = {"urgent": PRIORITY_URGENT, "appointment": PRIORITY_APPOINTMENT, "walk_in": PRIORITY_WALK_IN}
PRIORITY_NAMES = {rank: name for name, rank in PRIORITIES.items()}

#: action -> (statuses it may start from, status it leaves the ticket in, event kind)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "call": (frozenset({WAITING}), CALLED, "called"),
    "recall": (frozenset({CALLED}), CALLED, "recalled"),
    "start": (frozenset({CALLED}), IN_CONSULTATION, "consultation_started"),
    # A doctor who never pressed "start" can still finish: the call was the start.
    "finish": (frozenset({CALLED, IN_CONSULTATION}), FINISHED, "finished"),
    "no_show": (frozenset({CALLED}), NO_SHOW, "no_show"),
    "transfer": (frozenset({WAITING, CALLED, IN_CONSULTATION}), WAITING, "transferred"),
    "cancel": (frozenset({WAITING, CALLED}), CANCELLED, "cancelled"),
    "leave": (frozenset({WAITING, CALLED}), LEFT, "left"),
    "expire": (frozenset(OPEN_STATUSES), EXPIRED, "expired"),
}

#: How many of today's calls the displays list ("last called").
RECENT_CALLS = 8

#: How many times "call next" looks for another patient when the one it chose was taken
#: by another room in the same instant.  Each retry means another room got a patient.
CALL_ATTEMPTS = 20


class QueueError(Exception):
    """A refused change.  ``code`` is stable for API clients; nothing was changed."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(QueueError):
    """A value the queue cannot use, such as a language the clinic does not offer."""

    status = 400
    code = "invalid"


class NotFound(QueueError):
    """No such service, room or ticket."""

    status = 404
    code = "not_found"


class IllegalTransition(QueueError):
    """The ticket's status does not allow this action (finishing a finished ticket)."""

    status = 409
    code = "illegal_transition"


class RoomBusy(QueueError):
    """The room already has a patient called; the second press of a double click lands here."""

    status = 409
    code = "room_busy"


class RoomPaused(QueueError):
    """A paused room calls nobody until it resumes."""

    status = 409
    code = "room_paused"


class AlreadyCheckedIn(QueueError):
    """The phone number already holds an open ticket for this service today.

    The message names neither that ticket's number nor its link: whoever typed the number
    may not be the patient who holds it.
    """

    status = 409
    code = "already_checked_in"


class IdempotencyMismatch(QueueError):
    """The caller reused an idempotency key for a different request."""

    status = 409
    code = "idempotency_mismatch"


@dataclass(frozen=True)
class Actor:
    """Who did something, as written into the event log: ``staff:kim``, ``kiosk:lobby``."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"[:80]


SYSTEM = Actor("system", "queue-app")
PATIENT = Actor("patient", "self")


def request_fingerprint(body: Mapping) -> str:
    """SHA-256 of a request body, the same whatever the order of its keys or its spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_link_token(token) -> bool:
    """Could this be a patient's link token?  Tokens are printable ASCII of 16-64 characters;
    anything else (a NUL, half a surrogate pair) no database can even compare."""
    return isinstance(token, str) and 16 <= len(token) <= 64 and token.isascii() and token.isprintable()


def new_patient_token() -> str:
    """An unguessable link token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


class ClinicQueue:
    """The clinic's queue over one database session.

    ``clock`` answers ``now()`` (aware UTC); ``timezone`` is the clinic's, which decides the
    clinic day that ticket numbers restart on.
    """

    def __init__(
        self, session: Session, clock, timezone: ZoneInfo, late_hold: timedelta = timedelta(minutes=15)
    ) -> None:
        self.session = session
        self.clock = clock
        self.timezone = timezone
        #: How long a passed-over late patient keeps the front of the line (``late_hold``).
        self.late_hold = late_hold
        #: Tickets changed through this object, in order: whom to tell after the commit.
        self.touched: list[Ticket] = []
        #: (ticket, event kind) in the order they happened: what messages to decide.
        self.happened: list[tuple[Ticket, str]] = []
        #: A room paused or resumed: every display must hear of it.
        self.rooms_changed = False

    # -- reading ---------------------------------------------------------------------------

    def clinic_day(self, moment: datetime | None = None) -> date:
        """The clinic's local date at ``moment`` (now by default)."""
        return (moment or self.clock.now()).astimezone(self.timezone).date()

    def service(self, service_id: str) -> Service:
        """An active service, or ``NotFound``."""
        service = self.session.get(Service, service_id) if isinstance(service_id, str) else None
        if service is None or not service.active:
            raise NotFound(f"unknown service {service_id!r}", field="service")
        return service

    def room(self, room_id: str) -> Room:
        """An active room, or ``NotFound``."""
        # With its services in the same query (a call reads them at once).
        room = self.session.get(Room, room_id, options=[joinedload(Room.services)])
        if room is None or not room.active:
            raise NotFound(f"unknown room {room_id!r}", field="room")
        return room

    def ticket(self, ticket_id: int) -> Ticket:
        """A ticket by its id, or ``NotFound``."""
        # Ids beyond a 32-bit integer cannot exist, and some databases refuse to compare them.
        in_range = isinstance(ticket_id, int) and 0 < ticket_id < 2**31
        ticket = self.session.get(Ticket, ticket_id) if in_range else None
        if ticket is None:
            raise NotFound(f"unknown ticket {ticket_id}", field="ticket")
        return ticket

    def ticket_by_token(self, token: str) -> Ticket:
        """A ticket by the patient's token, or ``NotFound`` (never another patient's)."""
        ticket = None
        if is_link_token(token):
            ticket = self.session.scalar(select(Ticket).where(Ticket.token == token))
        if ticket is None:
            raise NotFound("no ticket for this link", field="token")
        return ticket

    def waiting(self) -> list[Ticket]:
        """Everyone waiting, in the order they will be called within each service."""
        return list(
            self.session.scalars(
                select(Ticket)
                .where(Ticket.status == WAITING)
                .order_by(Ticket.service_id, *call_order(self.clock.now()))
            )
        )

    def in_rooms(self) -> list[Ticket]:
        """Patients called to a room or in consultation."""
        return list(
            self.session.scalars(
                select(Ticket).where(Ticket.status.in_((CALLED, IN_CONSULTATION))).order_by(Ticket.called_at, Ticket.id)
            )
        )

    def rooms(self) -> list[Room]:
        """The active rooms in the configuration's order."""
        return list(self.session.scalars(select(Room).where(Room.active).order_by(Room.sort_order, Room.id)))

    def services(self) -> list[Service]:
        """The active services in the configuration's order."""
        return list(
            self.session.scalars(select(Service).where(Service.active).order_by(Service.sort_order, Service.id))
        )

    def recent_calls(self, limit: int = RECENT_CALLS) -> list[Ticket]:
        """Today's most recent calls, newest first, for the display's "last called" list."""
        return list(
            self.session.scalars(
                select(Ticket)
                .where(Ticket.called_at.is_not(None), Ticket.clinic_day == self.clinic_day())
                .order_by(Ticket.called_at.desc(), Ticket.id.desc())
                .limit(limit)
            )
        )

    # -- check-in --------------------------------------------------------------------------

    def check_in(
        self,
        service_id: str,
        *,
        language: str,
        actor: Actor,
        phone: str | None = None,
        priority: int = PRIORITY_WALK_IN,
        idempotency_key: str | None = None,
        idempotency_scope: str = "",
        fingerprint: str | None = None,
        consent: bool = False,
        one_ticket_per_phone: bool = False,
        appointment_at: datetime | None = None,
    ) -> tuple[Ticket, bool]:
        """Give the patient the next number of ``service_id``; ``(ticket, created)``.

        With an ``idempotency_key`` this caller (``idempotency_scope``) already used today for
        the same request (``fingerprint``), the ticket it made is returned unchanged and
        ``created`` is False: a kiosk tap that reaches the server twice makes one ticket.  The
        same key with another request is ``IdempotencyMismatch``; another caller's key, or
        yesterday's, is none of this caller's business and makes a new ticket.

        ``one_ticket_per_phone`` refuses (``AlreadyCheckedIn``) a phone number that already
        holds an open ticket for the service today.  ``appointment_at``: the ticket comes
        from an appointment at that time (see ``appointment_rank``).
        """
        if idempotency_key is not None:
            earlier = self._earlier_check_in(idempotency_key, idempotency_scope, fingerprint)
            if earlier is not None:
                return earlier, False
        service = self.service(service_id)
        if priority not in PRIORITY_NAMES:
            raise InvalidInput(f"unknown priority {priority!r}", field="priority")
        now = self.clock.now()
        day = self.clinic_day(now)
        # One atomic UPDATE takes the number: a row lock on PostgreSQL, the write lock on
        # SQLite.  Two kiosks checking in at once get consecutive numbers, never the same.
        self.session.execute(
            update(Service)
            .where(Service.id == service.id)
            .values(last_number=_next_number(day), last_number_day=day)
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(service, ["last_number"])
        if idempotency_key is not None:
            # Asked again with the service's row ours: the same tap arriving twice at the same
            # instant found no ticket above, and the first of them has made it by now.
            earlier = self._earlier_check_in(idempotency_key, idempotency_scope, fingerprint)
            if earlier is not None:
                # Today's number had moved past the earlier ticket's, so one step back is exact.
                self.session.execute(
                    update(Service)
                    .where(Service.id == service.id)
                    .values(last_number=Service.last_number - 1)
                    .execution_options(synchronize_session=False)
                )
                return earlier, False
        if phone and one_ticket_per_phone:
            # Asked after taking the number: the service's row is ours now (locked on
            # PostgreSQL, the write lock on SQLite), so two check-ins with one number at
            # the same instant cannot both see "none yet".  A refusal rolls the number back.
            self._refuse_second_open_ticket(phone, service.id, day)
        ticket = Ticket(
            clinic_day=day,
            number=f"{service.prefix}-{service.last_number:03d}",
            service_id=service.id,
            status=WAITING,
            priority=priority,
            token=new_patient_token(),
            language=language,
            phone=phone,
            consent=consent,
            appointment_at=appointment_at,
            idempotency_key=idempotency_key,
            idempotency_scope=idempotency_scope if idempotency_key is not None else None,
            idempotency_fingerprint=fingerprint if idempotency_key is not None else None,
            checked_in_at=now,
            queued_at=now,
            call_count=0,
            transfer_count=0,
        )
        self.session.add(ticket)
        self.session.flush()
        self._log(ticket, "checked_in", actor, now, detail={"priority": PRIORITY_NAMES[priority]})
        return ticket, True

    def _earlier_check_in(self, key: str, scope: str, fingerprint: str | None) -> Ticket | None:
        """The ticket this caller's key already made today, or ``IdempotencyMismatch``."""
        earlier = self._ticket_for_key(key, scope)
        if earlier is not None and earlier.idempotency_fingerprint != fingerprint:
            raise IdempotencyMismatch(
                "this Idempotency-Key was used for a different check-in; use a new key",
                field="Idempotency-Key",
            )
        return earlier

    def _ticket_for_key(self, key: str, scope: str) -> Ticket | None:
        """The ticket this caller made today with ``key``, if any."""
        return self.session.scalar(
            select(Ticket).where(
                Ticket.idempotency_key == key,
                Ticket.idempotency_scope == scope,
                Ticket.clinic_day == self.clinic_day(),
            )
        )

    def _refuse_second_open_ticket(self, phone: str, service_id: str, day: date) -> None:
        open_one = self.session.scalar(
            select(Ticket.id)
            .where(
                Ticket.phone == phone,
                Ticket.clinic_day == day,
                Ticket.service_id == service_id,
                Ticket.status.in_(OPEN_STATUSES),
            )
            .limit(1)
        )
        if open_one is not None:
            raise AlreadyCheckedIn(
                "this phone number already has a ticket for this service today; ask at the desk",
                field="phone",
            )

    # -- calling ---------------------------------------------------------------------------

    def call_next(self, room_id: str, actor: Actor) -> Ticket | None:
        """Call the next patient to ``room_id``; ``None`` when nobody waits for it.

        A patient still in consultation in this room is finished first, so "call next" is
        the one button a doctor needs.  A patient called but not yet started blocks the call
        with ``RoomBusy``: that is the second click of a double click, and it must not pass
        over the patient who is on their way to the room.
        """
        room = self.room(room_id)
        if room.status != ROOM_OPEN:
            raise RoomPaused(f"room {room.id} is paused", field="room")
        now = self.clock.now()
        current_id = room.current_ticket_id
        if current_id is not None:
            current = self.session.get(Ticket, current_id)
            if current is not None and current.status == CALLED:
                raise RoomBusy(
                    f"{current.number} is still called to this room: start, finish or mark no-show first",
                    field="room",
                )
            if current is not None and current.status == IN_CONSULTATION:
                self._close(current, "finish", actor, now)
                self.session.flush()
                current_id = None
        service_ids = room.service_ids
        if not service_ids:
            return None
        for _ in range(CALL_ATTEMPTS):
            # A late patient is passed over (``late_hold``): the next one who is here is called.
            candidate = self.session.scalar(
                select(Ticket)
                .where(Ticket.status == WAITING, Ticket.service_id.in_(service_ids), Ticket.late.is_(False))
                .order_by(*call_order(now))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if candidate is None:
                return None
            self._hold_passed_over(service_ids, candidate, now)
            # Claim the room: still holding what we read, or another call got there first.
            claimed_room = self.session.execute(
                update(Room)
                .where(Room.id == room.id, _is(Room.current_ticket_id, current_id))
                .values(current_ticket_id=candidate.id)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed_room != 1:
                raise RoomBusy("this room has just called someone; press again if needed", "room")
            # The patient's row comes back with the claim (RETURNING): the ticket as it is
            # now, without reading it again.
            claimed_ticket = self.session.execute(
                update(Ticket)
                .where(Ticket.id == candidate.id, Ticket.status == WAITING)
                .values(
                    status=CALLED,
                    room_id=room.id,
                    called_at=now,
                    call_count=1,
                    version=Ticket.version + 1,
                )
                .returning(Ticket),
                execution_options={"synchronize_session": False, "populate_existing": True},
            ).scalar_one_or_none()
            if claimed_ticket is not None:
                set_committed_value(room, "current_ticket_id", candidate.id)
                self._log(claimed_ticket, "called", actor, now, room_id=room.id)
                return claimed_ticket
            # Another room took this patient in the same instant: give the room back and
            # look again.  Nobody is skipped: the patient we lost is in the other room.
            self.session.execute(
                update(Room)
                .where(Room.id == room.id)
                .values(current_ticket_id=current_id)
                .execution_options(synchronize_session=False)
            )
        raise RoomBusy("too many rooms are calling at once; please press again", field="room")

    def _hold_passed_over(self, service_ids: list[str], called: Ticket, now: datetime) -> None:
        """Start the hold of each late patient this call passes over (once per patient)."""
        late = self.session.scalars(
            select(Ticket).where(
                Ticket.status == WAITING,
                Ticket.service_id.in_(service_ids),
                Ticket.late.is_(True),
                Ticket.held_until.is_(None),
            )
        )
        for ticket in late:
            if line_key(ticket, now) < line_key(called, now):
                ticket.held_until = now + self.late_hold
                self._log(ticket, "passed_over", SYSTEM, now)

    # -- what the patient tells us -----------------------------------------------------------

    def mark_late(self, ticket: Ticket, actor: Actor = PATIENT) -> Ticket:
        """The patient is running late: rooms pass over them, holding their place (``late_hold``)."""
        if ticket.status != WAITING:
            raise IllegalTransition(f"{ticket.number} is not waiting", field="status")
        ticket.late = True
        self._log(ticket, "late", actor, self.clock.now())
        return ticket

    def mark_here(self, ticket: Ticket, actor: Actor = PATIENT) -> Ticket:
        """The patient is here: no longer late (a held place at the front is theirs again)."""
        self._refuse_closed(ticket)
        ticket.late = False
        self._log(ticket, "arrived", actor, self.clock.now())
        return ticket

    def late(self, ticket_id: int, actor: Actor) -> Ticket:
        """Reception marks a patient late (they phoned, or told the desk)."""
        return self.mark_late(self.ticket(ticket_id), actor)

    def arrived(self, ticket_id: int, actor: Actor) -> Ticket:
        """Reception saw the late patient come in without them writing "here"."""
        return self.mark_here(self.ticket(ticket_id), actor)

    def recall(self, ticket_id: int, actor: Actor) -> Ticket:
        """Call the same patient again to the same room."""
        ticket = self.ticket(ticket_id)
        self._transition(ticket, "recall", actor, self.clock.now())
        ticket.call_count += 1
        return ticket

    def start(self, ticket_id: int, actor: Actor) -> Ticket:
        """The patient came in: the consultation starts."""
        ticket = self.ticket(ticket_id)
        now = self.clock.now()
        self._transition(ticket, "start", actor, now)
        ticket.started_at = now
        return ticket

    def finish(self, ticket_id: int, actor: Actor) -> Ticket:
        """The consultation is over."""
        return self._close(self.ticket(ticket_id), "finish", actor)

    def no_show(self, ticket_id: int, actor: Actor) -> Ticket:
        """The patient did not answer the call."""
        return self._close(self.ticket(ticket_id), "no_show", actor)

    def cancel(self, ticket_id: int, actor: Actor) -> Ticket:
        """Staff take the ticket out of the queue (a duplicate, a mistake)."""
        return self._close(self.ticket(ticket_id), "cancel", actor)

    def leave(self, ticket: Ticket, actor: Actor = PATIENT) -> Ticket:
        """The patient leaves the queue from their phone."""
        return self._close(ticket, "leave", actor)

    def transfer(self, ticket_id: int, service_id: str, actor: Actor, keep_place: bool = False) -> Ticket:
        """Send the patient to another service's queue, keeping their number.

        By default they join the end of that line.  With ``keep_place`` they keep their
        check-in time as their place: a patient sent on from a consultation ("now the
        vaccination") has already waited once and should not wait a whole line again.
        """
        ticket = self.ticket(ticket_id)
        target = self.service(service_id)
        if target.id == ticket.service_id and ticket.status == WAITING:
            raise IllegalTransition(f"{ticket.number} already waits for {target.id}", "service")
        now = self.clock.now()
        detail = {"from": ticket.service_id, "to": target.id, "keep_place": keep_place}
        self._transition(ticket, "transfer", actor, now, detail=detail)
        self._release_room(ticket)
        ticket.service_id = target.id
        ticket.transfer_count += 1
        ticket.queued_at = ticket.checked_in_at if keep_place else now
        ticket.held_until = None  # a new line: any hold of the old one is over
        ticket.room_id = None
        ticket.called_at = None
        ticket.started_at = None
        ticket.call_count = 0
        return ticket

    # -- rooms -----------------------------------------------------------------------------

    def pause_room(self, room_id: str, actor: Actor) -> Room:
        """Stop calling patients to the room (a break, an emergency)."""
        return self._set_room_status(room_id, ROOM_PAUSED, "paused", actor)

    def resume_room(self, room_id: str, actor: Actor) -> Room:
        """Start calling patients to the room again."""
        return self._set_room_status(room_id, ROOM_OPEN, "resumed", actor)

    def _set_room_status(self, room_id: str, status: str, kind: str, actor: Actor) -> Room:
        room = self.room(room_id)
        if room.status == status:
            raise IllegalTransition(f"room {room.id} is already {status}", field="room")
        room.status = status
        self.session.add(RoomEvent(room_id=room.id, kind=kind, at=self.clock.now(), actor=str(actor)))
        self.rooms_changed = True
        return room

    # -- how the patient is reached -----------------------------------------------------------
    #
    # Not steps of the visit (no event in the log), but changes all the same: the staff
    # console shows who can be reached, and the messages decided next depend on them.

    def subscribe_push(self, ticket: Ticket, subscription: str) -> Ticket:
        """The patient turned on notifications on their page (a push subscription, as JSON)."""
        self._refuse_closed(ticket)
        ticket.push_subscription = subscription
        ticket.needs_call = False
        return self._contact_changed(ticket)

    def unsubscribe_push(self, ticket: Ticket) -> Ticket:
        """The patient turned notifications off: always allowed, even on a closed ticket."""
        ticket.push_subscription = None
        return self._contact_changed(ticket)

    def set_lead_minutes(self, ticket: Ticket, minutes: int) -> Ticket:
        """ "I need about N minutes to come back": when "turn near" should reach them."""
        self._refuse_closed(ticket)
        ticket.lead_minutes = minutes
        return self._contact_changed(ticket)

    def give_phone(self, ticket: Ticket, phone: str) -> Ticket:
        """A patient who gave no number at check-in asks to be texted (with their consent)."""
        self._refuse_closed(ticket)
        if ticket.phone:
            raise IllegalTransition("this ticket already has a phone number", field="phone")
        ticket.phone = phone
        ticket.consent = True
        ticket.needs_call = False
        return self._contact_changed(ticket)

    def telegram_code(self, ticket: Ticket) -> str:
        """The one-time code of the patient's Telegram start link (made on first ask)."""
        self._refuse_closed(ticket)
        if not ticket.telegram_code:
            ticket.telegram_code = secrets.token_urlsafe(18)
        return ticket.telegram_code

    def bind_telegram(self, code: str, chat_id: str) -> Ticket | None:
        """``/start <code>`` in the clinic's bot: that chat now reaches the ticket's patient."""
        ticket = self.session.scalar(select(Ticket).where(Ticket.telegram_code == code))
        if ticket is None or not ticket.is_open:
            return None
        ticket.telegram_chat_id = chat_id
        ticket.telegram_code = None  # one time only
        ticket.needs_call = False
        return self._contact_changed(ticket)

    def mark_reached(self, ticket_id: int) -> Ticket:
        """Reception reached the patient another way: off the call list."""
        ticket = self.ticket(ticket_id)
        ticket.needs_call = False
        return self._contact_changed(ticket)

    def opt_out(self, phone: str, channel: str, *, stop: bool) -> list[Ticket]:
        """STOP (``stop``) or START from a phone number on a channel; the open tickets it affects."""
        existing = self.session.get(OptOut, (phone, channel))
        if stop and existing is None:
            self.session.add(OptOut(phone=phone, channel=channel, at=self.clock.now()))
        elif stop and existing is not None and existing.until is not None:
            existing.reason, existing.until, existing.at = OPT_OUT_STOP, None, self.clock.now()
        elif not stop and existing is not None and existing.reason == OPT_OUT_STOP:
            self.session.delete(existing)
        else:
            return []
        tickets = self.session.scalars(select(Ticket).where(Ticket.phone == phone, Ticket.status.in_(OPEN_STATUSES)))
        return [self._contact_changed(ticket) for ticket in tickets]

    def _contact_changed(self, ticket: Ticket) -> Ticket:
        if ticket not in self.touched:
            self.touched.append(ticket)
        return ticket

    @staticmethod
    def _refuse_closed(ticket: Ticket) -> None:
        if not ticket.is_open:
            raise IllegalTransition("this ticket is closed", field="status")

    # -- end of day ------------------------------------------------------------------------

    def expire_open_tickets(self, through_day: date, actor: Actor = SYSTEM) -> list[Ticket]:
        """Expire every ticket still open from ``through_day`` or before; return them.

        The ticket and its history stay: an expired ticket is a record of a visit the day
        did not close, which the estimator and the no-show figures still want.
        """
        now = self.clock.now()
        tickets = list(
            self.session.scalars(
                select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), Ticket.clinic_day <= through_day)
            )
        )
        for ticket in tickets:
            self._close(ticket, "expire", actor, now)
        return tickets

    def erase_personal_data(self, retention_days: int) -> int:
        """Blank the contact details of visits older than the retention limit; return how many."""
        cutoff = self.clinic_day() - timedelta(days=retention_days)
        result = self.session.execute(
            update(Ticket)
            .where(
                Ticket.clinic_day < cutoff,
                or_(
                    Ticket.phone.is_not(None),
                    Ticket.email.is_not(None),
                    Ticket.telegram_chat_id.is_not(None),
                    Ticket.telegram_code.is_not(None),
                    Ticket.push_subscription.is_not(None),
                ),
            )
            .values(phone=None, email=None, telegram_chat_id=None, telegram_code=None, push_subscription=None)
        )
        return result.rowcount or 0

    # -- the state machine -----------------------------------------------------------------

    def _close(self, ticket: Ticket, action: str, actor: Actor, now: datetime | None = None) -> Ticket:
        now = now or self.clock.now()
        self._transition(ticket, action, actor, now)
        ticket.ended_at = now
        self._release_room(ticket)
        return ticket

    def _transition(
        self,
        ticket: Ticket,
        action: str,
        actor: Actor,
        now: datetime,
        detail: dict | None = None,
    ) -> None:
        allowed, new_status, event = TRANSITIONS[action]
        if ticket.status not in allowed:
            raise IllegalTransition(
                f"cannot {action.replace('_', '-')} {ticket.number}: it is {ticket.status.replace('_', ' ')}",
                field="status",
            )
        ticket.status = new_status
        self._log(ticket, event, actor, now, room_id=ticket.room_id, detail=detail)

    def _release_room(self, ticket: Ticket) -> None:
        """Free the room the ticket held, if it still holds it."""
        if ticket.room_id is None:
            return
        released = self.session.execute(
            update(Room)
            .where(Room.id == ticket.room_id, Room.current_ticket_id == ticket.id)
            .values(current_ticket_id=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        room = self.session.get(Room, ticket.room_id)
        if room is None:
            return
        if released == 1:
            set_committed_value(room, "current_ticket_id", None)  # what the row now says
        else:
            self.session.refresh(room, ["current_ticket_id"])  # someone else's now: as it is

    def _log(
        self,
        ticket: Ticket,
        kind: str,
        actor: Actor,
        now: datetime,
        room_id: str | None = None,
        detail: dict | None = None,
    ) -> None:
        if ticket not in self.touched:
            self.touched.append(ticket)
        self.happened.append((ticket, kind))
        self.session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=kind,
                at=now,
                room_id=room_id,
                service_id=ticket.service_id,
                actor=str(actor),
                detail=json.dumps(detail, ensure_ascii=False) if detail else None,
            )
        )


def _next_number(day: date):
    """SQL for the service's next ticket number: 1 on a new clinic day, else one more."""
    return case((Service.last_number_day == day, Service.last_number + 1), else_=1)


def _is(column, value):
    """``column = value`` that also matches NULL when ``value`` is None."""
    return column.is_(None) if value is None else column == value
