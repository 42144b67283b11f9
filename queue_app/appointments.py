"""Appointments: booked, reminded, confirmed or cancelled, arrived into the queue, or missed.

No Flask here.  ``Appointments`` works on the caller's session and leaves the commit to the
caller, like the queue: a handler validates (``read_booking``), calls one method, commits.
Arrival is a queue change (a ticket is made), so it runs as an act through the clinic's one
door (``Clinic.change``) on the queue's own session.  The minute's look (``look_at_appointments``)
plans the reminders that are due and marks the absent as no-shows.

Every event the clinic's webhook hears of, and every reminder, is a row in ``messages``
planned in the same transaction (``notify.appointment_outbox``), so nothing is sent twice
across restarts: each has its own dedupe key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .config import Settings
from .estimate import PRIORITY_APPOINTMENT
from .models import (
    APPOINTMENT_CANCELLED,
    APPOINTMENT_NO_SHOW,
    ARRIVED,
    BOOKED,
    CONFIRMED,
    EXPECTED_STATUSES,
    WAITING,
    Appointment,
    Ticket,
)
from .notify.appointment_outbox import AppointmentOutbox
from .phones import InvalidPhone, normalize_phone
from .queue import (
    SYSTEM,
    Actor,
    ClinicQueue,
    IllegalTransition,
    InvalidInput,
    NotFound,
    is_link_token,
    new_patient_token,
)
from .reply_words import is_reply_word, reply_words

REFERENCE_LENGTH = 64
PATIENT_PAGE = Actor("patient", "page")
PATIENT_REPLY = Actor("patient", "reply")
KIOSK_ARRIVAL = Actor("kiosk", "appointment")
#: What a patient may reply to a reminder (compared as ``reply_words`` compares every short reply).
CONFIRM_WORDS = reply_words({"확인", "네", "예", "yes", "y", "да"})
CANCEL_WORDS = reply_words({"취소", "cancel", "отмена", "отменить"})


@dataclass(frozen=True)
class Booking:
    """A validated request for an appointment."""

    service: str
    starts_at: datetime
    language: str
    phone: str | None = None
    email: str | None = None
    preparation: str | None = None
    reference: str | None = None


def read_booking(data: Mapping, settings: Settings, now: datetime, *, zone_if_missing=None) -> Booking:
    """A booking from the API's JSON or a CSV row, or ``InvalidInput`` naming the field.

    ``starts_at`` is ISO 8601 with its offset; ``zone_if_missing`` (the CSV import) reads a
    time without one in the clinic's zone instead of refusing it.
    """
    service = _text(data, "service", required=True)
    if service not in settings.services:
        raise InvalidInput(f"unknown service {service!r}", field="service")
    starts_at = _moment(data.get("starts_at"), zone_if_missing)
    if starts_at <= now:
        raise InvalidInput("starts_at is in the past", field="starts_at")
    language = _text(data, "language") or settings.default_language
    if language not in settings.languages:
        raise InvalidInput(f"language {language!r} is not offered", field="language")
    phone = _text(data, "phone")
    if phone:
        try:
            phone = normalize_phone(phone, settings.phone_region)
        except InvalidPhone as exc:
            raise InvalidInput(str(exc), field="phone") from None
    email = _text(data, "email")
    if email and (len(email) > 254 or "@" not in email.strip("@") or any(c.isspace() for c in email)):
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    preparation = _text(data, "preparation")
    if preparation and preparation not in settings.appointments.preparations:
        raise InvalidInput(f"unknown preparation {preparation!r}", field="preparation")
    reference = _text(data, "reference")
    if reference and len(reference) > REFERENCE_LENGTH:
        raise InvalidInput(f"reference is longer than {REFERENCE_LENGTH} characters", field="reference")
    return Booking(service, starts_at, language, phone or None, email or None, preparation or None, reference or None)


def _text(data: Mapping, name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    return value.strip()


def _moment(value, zone_if_missing) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("starts_at is required (ISO 8601 with offset)", field="starts_at")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{value!r} is not an ISO 8601 time", field="starts_at") from None
    if moment.tzinfo is None:
        if zone_if_missing is None:
            raise InvalidInput("starts_at needs its offset, like 2026-11-24T10:30:00+09:00", field="starts_at")
        moment = moment.replace(tzinfo=zone_if_missing)
    return moment.astimezone(UTC)


class Appointments:
    """The clinic's appointments over one database session."""

    def __init__(self, session: Session, clock, settings: Settings, base_url: str, channels=None) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        #: ``channels``: the app's channels (only asked who they can reach); None builds them.
        self.outbox = AppointmentOutbox(settings, base_url, channels)
        #: Appointments booked or moved through this object: whom staff consoles hear of.
        self.changed: list[Appointment] = []

    # -- reading ---------------------------------------------------------------------------

    def clinic_day(self, moment: datetime | None = None) -> date:
        """The clinic's local date at ``moment`` (now by default)."""
        return (moment or self.clock.now()).astimezone(self.settings.timezone).date()

    def get(self, appointment_id: int) -> Appointment:
        """An appointment by its id, or ``NotFound``."""
        in_range = isinstance(appointment_id, int) and 0 < appointment_id < 2**31
        found = self.session.get(Appointment, appointment_id) if in_range else None
        if found is None:
            raise NotFound(f"unknown appointment {appointment_id}", field="appointment")
        return found

    def by_token(self, token: str) -> Appointment:
        """An appointment by the patient's token, or ``NotFound`` (never another patient's)."""
        found = None
        if is_link_token(token):
            found = self.session.scalar(select(Appointment).where(Appointment.token == token))
        if found is None:
            raise NotFound("no appointment for this link", field="token")
        return found

    def on_day(self, day: date) -> list[Appointment]:
        """The clinic day's appointments in time order (every status)."""
        return list(
            self.session.scalars(
                select(Appointment).where(Appointment.clinic_day == day).order_by(Appointment.starts_at, Appointment.id)
            )
        )

    def today_for_phone(self, phone: str) -> list[Appointment]:
        """Today's appointments of this number that may still be arrived for, in time order."""
        return [a for a in self.on_day(self.clinic_day()) if a.phone == phone and a.is_expected]

    def opens_at(self, appointment: Appointment) -> datetime:
        """From when the patient may say "I have arrived"."""
        return appointment.starts_at - timedelta(minutes=self.settings.appointments.checkin_open_minutes_before)

    def can_arrive(self, appointment: Appointment) -> bool:
        """Is "I have arrived" offered now?  From the opening until the no-show grace ends."""
        now = self.clock.now()
        grace = timedelta(minutes=self.settings.appointments.no_show_after_minutes)
        return appointment.is_expected and self.opens_at(appointment) <= now < appointment.starts_at + grace

    # -- changes ---------------------------------------------------------------------------

    def book(self, booking: Booking, actor: Actor) -> tuple[Appointment, bool]:
        """Add the appointment; ``(appointment, created)``.

        The same reference at the same time is the same appointment (an import run twice):
        it is returned unchanged and ``created`` is False.
        """
        if booking.reference is not None:
            same = self.session.scalar(
                select(Appointment).where(
                    Appointment.reference == booking.reference, Appointment.starts_at == booking.starts_at
                )
            )
            if same is not None:
                return same, False
        now = self.clock.now()
        appointment = Appointment(
            token=new_patient_token(),
            service_id=booking.service,
            starts_at=booking.starts_at,
            clinic_day=self.clinic_day(booking.starts_at),
            phone=booking.phone,
            email=booking.email,
            language=booking.language,
            preparation=booking.preparation,
            reference=booking.reference,
            status=BOOKED,
            created_at=now,
            status_at=now,
            status_by=str(actor),
        )
        self.session.add(appointment)
        self.session.flush()
        self.changed.append(appointment)
        return appointment, True

    def confirm(self, appointment: Appointment, actor: Actor) -> Appointment:
        """The patient will come.  Confirming twice changes nothing."""
        if appointment.status == CONFIRMED:
            return appointment
        return self._move(appointment, (BOOKED,), CONFIRMED, "appointment_confirmed", actor)

    def cancel(self, appointment: Appointment, actor: Actor) -> Appointment:
        """The patient (or staff) cancels: the slot is free, no more reminders go."""
        return self._move(appointment, EXPECTED_STATUSES, APPOINTMENT_CANCELLED, "appointment_cancelled", actor)

    def arrive(self, appointment: Appointment, queue: ClinicQueue, actor: Actor) -> Ticket:
        """The patient is here: a ticket with priority ``appointment``, ranked ahead at its time.

        Runs as an act through the clinic's door (``queue`` on this session), so the ticket
        is numbered, announced and its check-in message planned like any other.
        """
        if appointment.status == ARRIVED and appointment.ticket_id is not None:
            ticket = self.session.get(Ticket, appointment.ticket_id)
            if ticket is not None:
                return ticket  # a second tap: the same ticket
        if not self.can_arrive(appointment):
            if appointment.is_expected and self.clock.now() < self.opens_at(appointment):
                raise IllegalTransition("arrival opens closer to the appointment's time", field="starts_at")
            raise IllegalTransition(f"this appointment is {appointment.status.replace('_', ' ')}", field="status")
        ticket, _ = queue.check_in(
            appointment.service_id,
            language=appointment.language,
            actor=actor,
            phone=appointment.phone,
            priority=PRIORITY_APPOINTMENT,
            consent=bool(appointment.phone),
            appointment_at=appointment.starts_at,
        )
        appointment.ticket_id = ticket.id
        self._move(appointment, EXPECTED_STATUSES, ARRIVED, "appointment_arrived", actor)
        return ticket

    def mark_no_shows(self) -> list[Appointment]:
        """Every appointment not arrived ``no_show_after_minutes`` after its time: a no-show."""
        cutoff = self.clock.now() - timedelta(minutes=self.settings.appointments.no_show_after_minutes)
        missed = list(
            self.session.scalars(
                select(Appointment).where(Appointment.status.in_(EXPECTED_STATUSES), Appointment.starts_at <= cutoff)
            )
        )
        for appointment in missed:
            self._move(appointment, EXPECTED_STATUSES, APPOINTMENT_NO_SHOW, "appointment_no_show", SYSTEM)
        return missed

    def plan_due_messages(self) -> int:
        """Plan the reminders and preparation messages due now; return how many were planned."""
        return len(self.outbox.plan_due(self.session, self.clock.now()))

    def answer_by_reply(self, phone: str, text: str) -> Appointment | None:
        """A reply from ``phone`` to a reminder: confirm (확인, 네, yes, да) or cancel (취소, cancel, отмена).

        It answers the number's next expected appointment, today or later, and returns it
        (its status says which; the caller commits).  Anything else is not ours (None): the
        inbox keeps it for staff.
        """
        confirm, cancel = is_reply_word(text, CONFIRM_WORDS), is_reply_word(text, CANCEL_WORDS)
        if not (confirm or cancel) or not phone:
            return None
        upcoming = self.session.scalar(
            select(Appointment)
            .where(
                Appointment.phone == phone,
                Appointment.status.in_(EXPECTED_STATUSES),
                Appointment.starts_at > self.clock.now(),
            )
            .order_by(Appointment.starts_at)
            .limit(1)
        )
        if upcoming is None:
            return None
        return (self.confirm if confirm else self.cancel)(upcoming, PATIENT_REPLY)

    def erase_personal_data(self, retention_days: int) -> int:
        """Blank the phone numbers and emails of appointments older than the retention limit."""
        cutoff = self.clinic_day() - timedelta(days=retention_days)
        result = self.session.execute(
            update(Appointment)
            .where(
                Appointment.clinic_day < cutoff,
                or_(Appointment.phone.is_not(None), Appointment.email.is_not(None)),
            )
            .values(phone=None, email=None)
        )
        return result.rowcount or 0

    def _move(self, appointment: Appointment, allowed, status: str, event: str, actor: Actor) -> Appointment:
        if appointment.status not in allowed:
            raise IllegalTransition(
                f"this appointment is {appointment.status.replace('_', ' ')}; it cannot be {status.replace('_', ' ')}",
                field="status",
            )
        now = self.clock.now()
        appointment.status, appointment.status_at, appointment.status_by = status, now, str(actor)
        self.session.flush()
        self.outbox.plan_event(self.session, appointment, event, now)
        self.changed.append(appointment)
        return appointment


#: How far back the minute's look finds tickets whose appointment time came: a little over its
#: minute, so none is missed between two looks (one found twice is published twice, harmlessly).
TIME_CAME_WINDOW = timedelta(seconds=90)


def time_came(queue: ClinicQueue) -> list[Ticket]:
    """An act for the door: waiting tickets whose appointment time has just come.

    They move ahead of walk-ins now (``appointment_rank.calling_rank``) though nothing was done to them:
    marked touched, the door publishes the new order to the TV, the staff and the phones.
    """
    now = queue.clock.now()
    came = list(
        queue.session.scalars(
            select(Ticket).where(
                Ticket.status == WAITING,
                Ticket.appointment_at > now - TIME_CAME_WINDOW,
                Ticket.appointment_at <= now,
            )
        )
    )
    queue.touched.extend(ticket for ticket in came if ticket not in queue.touched)
    return came


def look_at_appointments(
    session_factory: Callable[[], Session],
    clock,
    settings: Settings,
    base_url: str,
    channels=None,
    on_changed: Callable[[list[Appointment]], None] | None = None,
) -> int:
    """The minute's look: plan the reminders due, mark the absent as no-shows; return how many.

    ``on_changed`` hears of the no-shows after the commit (staff consoles show them).

    One transaction: a crash plans nothing, and the next minute plans it again (the dedupe
    keys keep a reminder from being planned twice by two processes looking at once).
    """
    with session_factory() as session:
        appointments = Appointments(session, clock, settings, base_url, channels)
        try:
            planned = appointments.plan_due_messages()
            missed = appointments.mark_no_shows()
            session.commit()
        except IntegrityError:
            # Another server process planned the same reminder this minute (its dedupe key):
            # nothing of ours is lost; whatever else was due is planned at the next look.
            session.rollback()
            return 0
        if missed and on_changed is not None:
            on_changed(missed)
    return planned + len(missed)
