"""The appointment endpoints: staff book and list, the patient's link confirms, cancels, arrives,
the kiosk finds today's appointment of a phone number.

Thin like the rest: read the request, call ``Appointments`` (arrival through the clinic's one
door, as it makes a ticket), commit, answer.
"""

from __future__ import annotations

from datetime import date

from flask import g, jsonify, request

from .. import payloads
from ..appointments import KIOSK_ARRIVAL, PATIENT_PAGE, read_booking
from ..auth import STAFF_ROLES
from ..extensions import db
from ..models import Appointment, Ticket
from ..phones import InvalidPhone, normalize_phone
from ..runtime import answer_appointment, appointments, arrive, runtime, snapshot
from . import api
from .errors import ApiError
from .routes import CHECK_IN_ROLES, json_body, public_base, require, string_field


def _staff_view(appointment: Appointment) -> dict:
    return payloads.appointment_staff(runtime().settings, appointment, public_base())


@api.post("/appointments")
@require(*STAFF_ROLES)
def book_appointment():
    """Book an appointment: ``201`` with its id, token and page link (``200``: the same
    reference at the same time was booked already)."""
    rt = runtime()
    booking = read_booking(json_body(), rt.settings, rt.clock.now())
    desk = appointments()
    appointment, created = desk.book(booking, g.principal.actor)
    db.session.commit()
    runtime().clinic.appointments_changed(desk.changed)
    return jsonify(_staff_view(appointment)), 201 if created else 200


@api.get("/appointments")
@require(*STAFF_ROLES)
def list_appointments():
    """One clinic day's appointments (``?day=YYYY-MM-DD``, today by default), every status."""
    desk = appointments()
    raw = request.args.get("day")
    try:
        day = date.fromisoformat(raw) if raw is not None else desk.clinic_day()
    except ValueError:
        raise ApiError(400, "invalid", "day must be a date like 2026-11-24", "day") from None
    return jsonify({"day": day.isoformat(), "appointments": [_staff_view(a) for a in desk.on_day(day)]})


@api.get("/appointments/<int:appointment_id>")
@require(*STAFF_ROLES)
def get_appointment(appointment_id: int):
    """One appointment."""
    return jsonify(_staff_view(appointments().get(appointment_id)))


@api.delete("/appointments/<int:appointment_id>")
@require(*STAFF_ROLES)
def cancel_appointment(appointment_id: int):
    """Staff cancel the appointment (the slot is free, no more reminders)."""
    desk = appointments()
    appointment = desk.cancel(desk.get(appointment_id), g.principal.actor)
    db.session.commit()
    runtime().clinic.appointments_changed(desk.changed)
    return jsonify(_staff_view(appointment))


# -- the patient's link ------------------------------------------------------------------------


def patient_view(appointment: Appointment) -> dict:
    """The patient's view of their appointment, with their ticket's page once they arrived."""
    ticket_url = None
    if appointment.ticket_id is not None:
        ticket = db.session.get(Ticket, appointment.ticket_id)
        ticket_url = f"{public_base()}/t/{ticket.token}" if ticket is not None else None
    return payloads.appointment_patient(
        runtime().settings, appointment, can_arrive=appointments().can_arrive(appointment), ticket_url=ticket_url
    )


@api.get("/appointment-links/<token>")
def patient_appointment(token: str):
    """The patient's appointment, found by their secret token."""
    return jsonify(patient_view(appointments().by_token(token)))


@api.post("/appointment-links/<token>/<action>")
def patient_appointment_action(token: str, action: str):
    """The patient confirms, cancels, or says they have arrived (a ticket; its page's link)."""
    desk = appointments()
    answer_appointment(desk.by_token(token), action, PATIENT_PAGE)
    return jsonify(patient_view(desk.by_token(token)))


# -- the kiosk: "I have an appointment" ------------------------------------------------------------


def _kiosk_phone(data: dict) -> str:
    phone = string_field(data, "phone", required=True)
    try:
        return normalize_phone(phone, runtime().settings.phone_region)
    except InvalidPhone as exc:
        raise ApiError(400, "invalid", str(exc), "phone") from None


@api.post("/kiosk/appointments")
@require(*CHECK_IN_ROLES)
def kiosk_find_appointments():
    """Today's appointments of a phone number that can still be arrived for: service and time only."""
    data = json_body()
    settings = runtime().settings
    language = string_field(data, "language") or settings.default_language
    if language not in settings.languages:
        raise ApiError(400, "invalid", f"language {language!r} is not offered", "language")
    desk = appointments()
    found = desk.today_for_phone(_kiosk_phone(data))
    return jsonify(
        {"appointments": [payloads.appointment_at_kiosk(settings, a, language, desk.opens_at(a)) for a in found]}
    )


@api.post("/kiosk/appointments/<int:appointment_id>/arrive")
@require(*CHECK_IN_ROLES)
def kiosk_arrive(appointment_id: int):
    """The patient tapped their appointment: a ticket, answered like a check-in.

    The phone number must be sent again and match: an id alone does not let anyone at the
    kiosk arrive for somebody else's appointment.
    """
    phone = _kiosk_phone(json_body())
    desk = appointments()
    if desk.get(appointment_id).phone != phone:
        raise ApiError(404, "not_found", "no appointment today for this number", "appointment")
    done = arrive(appointment_id, KIOSK_ARRIVAL)
    ticket = done.result
    base = public_base()
    state = (done.snapshot or snapshot()).state
    body = payloads.new_ticket(
        runtime().settings,
        state,
        ticket,
        url=f"{base}/t/{ticket.token}",
        qr_url=f"{base}/api/v1/tickets/{ticket.token}/qr.svg",
    )
    return jsonify(body), 201
