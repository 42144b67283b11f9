"""The patient's appointment page ``/a/<token>``: when and where, what to prepare, and the buttons.

Rendered whole on the server and changed by plain form posts (like leaving the queue from the
phone page), so it works on any phone without JavaScript.  The secret token in the address is
what authorises each post, as for the ticket page.  "I have arrived" makes the ticket through
the clinic's one door and sends the patient on to its phone page ``/t/<token>``.
"""

from __future__ import annotations

from babel.dates import format_skeleton
from flask import abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import payloads
from ..appointments import PATIENT_PAGE
from ..extensions import db
from ..models import Appointment, Ticket
from ..queue import QueueError
from ..runtime import PATIENT_ACTIONS, answer_appointment, appointments, runtime
from . import found_by_link_or_404, pages


def _appointment_or_404(token: str) -> Appointment:
    """The appointment of this link, or the friendly "this link does not work" page with 404."""
    return found_by_link_or_404(lambda: appointments().by_token(token))


def status_texts() -> dict[str, str]:
    """What the page says of each status, in the current language."""
    return {
        "booked": _("Your appointment is booked"),
        "confirmed": _("You confirmed your appointment"),
        "cancelled": _("This appointment is cancelled"),
        "arrived": _("You have arrived"),
        "no_show": _("This appointment was missed"),
    }


def _local_time(appointment: Appointment) -> str:
    """The day and time in the clinic's zone, written the patient's language's way."""
    local = appointment.starts_at.astimezone(runtime().settings.timezone)
    return f"{format_skeleton('MMMMEEEEd', local, locale=str(get_locale()))} {local:%H:%M}"


def _ticket_token(appointment: Appointment) -> str | None:
    ticket = db.session.get(Ticket, appointment.ticket_id) if appointment.ticket_id else None
    return ticket.token if ticket is not None else None


@pages.get("/a/<token>")
def appointment_page(token: str):
    """The appointment: time, place, the instructions in the patient's language, the buttons."""
    appointment = _appointment_or_404(token)
    settings = runtime().settings
    view = payloads.appointment_patient(
        settings, appointment, can_arrive=appointments().can_arrive(appointment), ticket_url=None
    )
    preparation = settings.appointments.preparations.get(appointment.preparation or "")
    language = str(get_locale())
    service = settings.services.get(appointment.service_id)
    return render_template(
        "appointment.html",
        token=token,
        view=view,
        status_text=status_texts()[appointment.status],
        when=_local_time(appointment),
        service_name=service.name(language) if service else appointment.service_id,
        instructions=preparation.text(language) if preparation else None,
        ticket_token=_ticket_token(appointment),
        refused=request.args.get("refused"),
        open_minutes=settings.appointments.checkin_open_minutes_before,
        lang_param=request.args.get("lang") if request.args.get("lang") in settings.languages else None,
    )


@pages.post("/a/<token>/<action>")
def appointment_action(token: str, action: str):
    """Confirm, cancel or "I have arrived" from the page; back to it (or on to the ticket's page)."""
    appointment = _appointment_or_404(token)
    lang = request.args.get("lang")
    if action not in PATIENT_ACTIONS:
        abort(404)
    try:
        ticket = answer_appointment(appointment, action, PATIENT_PAGE)
        if ticket is not None:
            return redirect(url_for("pages.patient_page", token=ticket.token, lang=lang), code=303)
    except QueueError:
        # Too early, or already cancelled: the page says what is possible now.
        db.session.rollback()
        return redirect(url_for("pages.appointment_page", token=token, lang=lang, refused=action), code=303)
    return redirect(url_for("pages.appointment_page", token=token, lang=lang), code=303)
