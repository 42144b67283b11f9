"""Deciding an appointment's messages: reminders, preparation, and the clinic's webhook events.

Like the queue's outbox, every message is a row in ``messages`` written in the transaction of
the change (or of the minute's look) that causes it, then sent by the dispatcher through the
clinic's channel order.  Each has a dedupe key of its own (``a<id>:<kind>:<minutes>:<route>``),
so a reminder is planned once whatever restarts or processes look at the same minute.

Which reminders are due is a pure decision (``due_offsets``): of the offsets already reached,
only the latest goes; one missed while the server was off, or booked too late for it, is not
sent after a later one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..models import EXPECTED_STATUSES, MESSAGE_QUEUED, MESSAGE_SKIPPED, Appointment, Message
from .channels.base import APPOINTMENT_PATIENT_KINDS
from .outbox import new_message, reachable_channels
from .settings import WEBHOOK

REMINDER = "appointment_reminder"
PREPARATION = "appointment_preparation"
NO_CONTACT = "the appointment has no phone number or email"
WHEN_FORMATS = {"ko": "%m월 %d일 %H:%M", "ru": "%d.%m %H:%M", "en": "%d %b %H:%M"}


def due_offsets(starts_at: datetime, offsets: Iterable[int], now: datetime) -> int | None:
    """The offset (minutes before) whose message is due at ``now``, or None.

    The smallest offset already reached, while the appointment is still ahead: at 10 minutes
    to a 10:30 appointment with offsets [1440, 120], the 120; before 08:30 the day before, none.
    """
    if now >= starts_at:
        return None
    reached = [m for m in offsets if starts_at - timedelta(minutes=m) <= now]
    return min(reached) if reached else None


def when_text(starts_at: datetime, settings: Settings, language: str) -> str:
    """The appointment's time in the clinic's zone, as the patient reads it."""
    local = starts_at.astimezone(settings.timezone)
    return local.strftime(WHEN_FORMATS.get(language, WHEN_FORMATS["en"])).lstrip("0")


def appointment_variables(settings: Settings, appointment: Appointment, base_url: str) -> dict[str, str]:
    """The message's facts, fixed when it is decided: clinic, service, time, instructions, link."""
    service = settings.services.get(appointment.service_id)
    preparation = settings.appointments.preparations.get(appointment.preparation or "")
    return {
        "clinic": settings.clinic_name,
        "service": service.name(appointment.language) if service else appointment.service_id,
        "time": when_text(appointment.starts_at, settings, appointment.language),
        "instructions": preparation.text(appointment.language) if preparation else "",
        "link": f"{base_url}/a/{appointment.token}",
    }


class AppointmentOutbox:
    """Writes an appointment's messages into the caller's transaction."""

    def __init__(self, settings: Settings, base_url: str, channels=None) -> None:
        self.settings = settings
        self.notify = settings.notify
        self.base_url = base_url
        self.channels = channels if channels is not None else {}

    def plan_event(self, session: Session, appointment: Appointment, kind: str, now: datetime, minutes: int = 0):
        """The clinic's webhook event ``kind``, and for reminders the patient's message too."""
        facts = appointment_variables(self.settings, appointment, self.base_url)
        wanted = [WEBHOOK] if self.notify.webhook_enabled else []
        if kind in APPOINTMENT_PATIENT_KINDS:
            wanted.append("patient")
        keys = {route: f"a{appointment.id}:{kind}:{minutes}:{route}" for route in wanted}
        existing = set(session.scalars(select(Message.dedupe_key).where(Message.dedupe_key.in_(keys.values()))))
        made = []
        for route, key in keys.items():
            if key in existing:
                continue
            channel, status, error = WEBHOOK, MESSAGE_QUEUED, None
            if route != WEBHOOK:
                usable = reachable_channels(session, appointment, self.notify.order, self._channels(), now)
                channel = usable[0] if usable else None
                status = MESSAGE_QUEUED if usable else MESSAGE_SKIPPED
                error = None if usable or appointment.has_contact else NO_CONTACT
            made.append(
                new_message(
                    kind,
                    key,
                    route,
                    channel,
                    status,
                    appointment.language,
                    facts,
                    now,
                    error,
                    appointment_id=appointment.id,
                )
            )
        session.add_all(made)
        return made

    def plan_due(self, session: Session, now: datetime) -> list[Message]:
        """Every reminder and preparation message due at ``now`` and not planned yet."""
        settings = self.settings.appointments
        longest = max(
            [
                *settings.remind_minutes_before,
                *(m for p in settings.preparations.values() for m in p.send_minutes_before),
            ],
            default=0,
        )
        if not longest:
            return []
        upcoming = session.scalars(
            select(Appointment).where(
                Appointment.status.in_(EXPECTED_STATUSES),
                Appointment.starts_at > now,
                Appointment.starts_at <= now + timedelta(minutes=longest),
            )
        )
        made: list[Message] = []
        for appointment in upcoming:
            reminder = due_offsets(appointment.starts_at, settings.remind_minutes_before, now)
            if reminder is not None:
                made += self.plan_event(session, appointment, REMINDER, now, reminder)
            preparation = settings.preparations.get(appointment.preparation or "")
            extra = due_offsets(appointment.starts_at, preparation.send_minutes_before, now) if preparation else None
            if extra is not None:
                made += self.plan_event(session, appointment, PREPARATION, now, extra)
        return made

    def _channels(self):
        if not self.channels:
            # Built once per outbox from the configuration: only ``can_reach`` is asked here.
            self.channels = self.notify.build_channels()
        return self.channels
