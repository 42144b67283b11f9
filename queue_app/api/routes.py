"""The API's endpoints: services, tickets, rooms, the queue."""

from __future__ import annotations

import re
from datetime import UTC
from functools import wraps

from flask import g, jsonify, make_response, request

from .. import payloads
from ..auth import (
    DEVICE_COOKIE,
    STAFF_ROLES,
    Principal,
    principal_for_device,
    principal_for_token,
    principal_for_user,
)
from ..extensions import db
from ..opening import is_open, next_opening
from ..phones import InvalidPhone, normalize_phone
from ..qr import qr_svg
from ..queue import PRIORITIES, Actor, request_fingerprint
from ..runtime import change, clinic_queue, patient_link_base, runtime, snapshot
from ..staff_sessions import signed_in_user
from ..throttles import limit_anonymous_check_ins
from . import api
from .errors import ApiError

CHECK_IN_ROLES = ("admin", "staff", "kiosk")
TICKET_ACTIONS = {
    "recall": "recall",
    "start": "start",
    "finish": "finish",
    "no-show": "no_show",
    "cancel": "cancel",
    "transfer": "transfer",
    # Late patients (issue 12): rooms pass over a late patient until they arrive.
    "late": "late",
    "arrived": "arrived",
}
PUBLIC_ACTOR = Actor("public", "self-check-in")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,80}$")


# -- who is asking ----------------------------------------------------------------------------


def current_principal() -> Principal | None:
    """The caller: a bearer token, else a signed-in staff session, else a paired device.

    A wrong bearer token is refused even if a session cookie is also present.  Session and
    device-cookie callers must send ``X-Requested-With`` on writes, which a cross-site form
    cannot.
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "use Authorization: Bearer <token>")
        principal = principal_for_token(db.session(), token.strip())
        if principal is None:
            raise ApiError(401, "unauthorized", "the token is unknown or revoked")
        return principal
    user = signed_in_user()
    if user is not None:
        if request.method not in ("GET", "HEAD") and not request.headers.get("X-Requested-With"):
            raise ApiError(403, "forbidden", "X-Requested-With header required with a session")
        return principal_for_user(user)
    device = principal_for_device(db.session(), request.cookies.get(DEVICE_COOKIE))
    if device is not None:
        if request.method not in ("GET", "HEAD") and not request.headers.get("X-Requested-With"):
            raise ApiError(403, "forbidden", "X-Requested-With header required with a device cookie")
        return device
    return None


def require(*roles: str):
    """Let the handler run only for callers with one of ``roles`` (401 unknown, 403 wrong role)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                raise ApiError(401, "unauthorized", "authentication required")
            if principal.role not in roles:
                raise ApiError(403, "forbidden", f"a {principal.role} may not do this")
            g.principal = principal
            return view(*args, **kwargs)

        return wrapper

    return decorator


# -- request bodies ----------------------------------------------------------------------------


def json_body() -> dict:
    """The request's JSON object ({} for an empty body), or 400 naming the body."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object", "body")
    return data


def string_field(data: dict, name: str, required: bool = False) -> str | None:
    """A string field of the body, or 400 naming it."""
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(400, "invalid", f"{name} is required", name)
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid", f"{name} must be a string", name)
    return value


def public_base() -> str:
    """The address patients' phones reach (``queue_app.links``): never a forged ``Host``."""
    return patient_link_base().url


def patient_url(token: str) -> str:
    """The patient's phone page."""
    return f"{public_base()}/t/{token}"


def refuse_when_closed(settings, now) -> None:
    """409 ``closed`` with the next opening time, outside opening hours or on a holiday.

    For kiosks and public check-in: a ticket at 23:00 would promise "no wait" to a patient
    nobody will call.  Signed-in staff may still check someone in (an early arrival, a
    patient the doctor will see before opening): they can see the clock.
    """
    if is_open(settings.hours, settings.inbox.holidays, now):
        return
    opens = next_opening(settings.hours, settings.inbox.holidays, now).astimezone(settings.timezone)
    raise ApiError(
        409,
        "closed",
        f"the clinic is closed; check-in opens at {opens:%H:%M} on {opens:%Y-%m-%d}",
        extra={
            "opens_at": payloads.iso(opens.astimezone(UTC)),
            "opens": f"{opens:%H:%M}",
            "opens_on": opens.date().isoformat(),
        },
    )


# -- services ----------------------------------------------------------------------------------


@api.get("/services")
def list_services():
    """Each service with the number waiting and the wait a new check-in would have."""
    settings = runtime().settings
    language = request.args.get("lang")
    if language is not None and language not in settings.languages:
        raise ApiError(400, "invalid", f"language {language!r} is not offered", "lang")
    return jsonify(payloads.service_list(settings, snapshot().state, language))


# -- tickets -----------------------------------------------------------------------------------


@api.post("/tickets")
@limit_anonymous_check_ins(lambda: current_principal() is not None)
def check_in():
    """Check a patient in: ``201`` with the ticket, its token and links.

    Kiosks and staff may check in; anyone may when the clinic enables public check-in.  An
    ``Idempotency-Key`` header makes a repeated request from the same caller the same day
    return the first ticket (``200``).  A phone number with an open ticket for the service
    answers 409 ``already_checked_in`` unless staff send ``shared_phone`` (a family's phone).
    """
    settings = runtime().settings
    principal = current_principal()
    if principal is None and not settings.public_check_in:
        raise ApiError(401, "unauthorized", "check-in needs a kiosk or staff token")
    if principal is not None and principal.role not in CHECK_IN_ROLES:
        raise ApiError(403, "forbidden", f"a {principal.role} may not check patients in")
    if principal is None or principal.role not in STAFF_ROLES:
        refuse_when_closed(settings, runtime().clock.now())
    data = json_body()
    service = string_field(data, "service", required=True)
    language = string_field(data, "language") or settings.default_language
    if language not in settings.languages:
        raise ApiError(400, "invalid", f"language {language!r} is not offered", "language")
    phone = string_field(data, "phone")
    if phone is not None and phone.strip():
        try:
            phone = normalize_phone(phone, settings.phone_region)
        except InvalidPhone as exc:
            raise ApiError(400, "invalid", str(exc), "phone") from None
    else:
        phone = None
    consent = data.get("consent", False)
    if not isinstance(consent, bool):
        raise ApiError(400, "invalid", "consent must be true or false", "consent")
    priority_name = string_field(data, "priority") or "walk_in"
    if priority_name not in PRIORITIES:
        raise ApiError(400, "invalid", f"priority must be one of {', '.join(PRIORITIES)}", "priority")
    if priority_name != "walk_in" and (principal is None or principal.role not in STAFF_ROLES):
        raise ApiError(403, "forbidden", "only staff can give a priority", "priority")
    shared_phone = data.get("shared_phone", False)
    if not isinstance(shared_phone, bool):
        raise ApiError(400, "invalid", "shared_phone must be true or false", "shared_phone")
    if shared_phone and (principal is None or principal.role not in STAFF_ROLES):
        raise ApiError(403, "forbidden", "only staff can give a second ticket to one phone", "shared_phone")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise ApiError(400, "invalid", "Idempotency-Key must be 8-80 letters, digits or -_.:", "Idempotency-Key")
    actor = principal.actor if principal else PUBLIC_ACTOR
    scope = principal.scope if principal else f"public:{request.remote_addr}"
    done = change(
        lambda queue: queue.check_in(
            service,
            language=language,
            phone=phone,
            priority=PRIORITIES[priority_name],
            idempotency_key=key,
            idempotency_scope=scope,
            fingerprint=request_fingerprint(data),
            consent=consent,
            actor=actor,
            one_ticket_per_phone=settings.limits.one_ticket_per_phone and not shared_phone,
        )
    )
    ticket, created = done.result
    base = public_base()
    state = (done.snapshot or snapshot()).state
    body = payloads.new_ticket(
        settings, state, ticket, url=f"{base}/t/{ticket.token}", qr_url=f"{base}/api/v1/tickets/{ticket.token}/qr.svg"
    )
    return jsonify(body), 201 if created else 200


@api.get("/tickets/<token>")
def patient_view(token: str):
    """The patient's view of their ticket, found by their secret token."""
    latest = snapshot()
    ticket = latest.open_ticket(token) or clinic_queue().ticket_by_token(token)
    return jsonify(latest.patient(runtime().settings, ticket))


@api.delete("/tickets/<token>")
def leave_queue(token: str):
    """The patient leaves the queue; a second press answers 409 and changes nothing."""
    done = change(lambda queue: queue.leave(queue.ticket_by_token(token)))
    return jsonify(done.snapshot.patient(runtime().settings, done.result))


@api.get("/tickets/<token>/qr.svg")
def ticket_qr(token: str):
    """The QR code of the patient's phone page, as SVG."""
    ticket = clinic_queue().ticket_by_token(token)
    response = make_response(qr_svg(patient_url(ticket.token)))
    response.headers["Content-Type"] = "image/svg+xml"
    # The code is the patient's link: a shared kiosk browser must not keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@api.post("/tickets/<int:ticket_id>/<action>")
@require(*STAFF_ROLES)
def ticket_action(ticket_id: int, action: str):
    """Staff act on a ticket: recall, start, finish, no-show, transfer, cancel, late or arrived."""
    method = TICKET_ACTIONS.get(action)
    if method is None:
        raise ApiError(404, "not_found", f"unknown action {action!r}; one of {', '.join(TICKET_ACTIONS)}")
    data = json_body()
    actor = g.principal.actor
    if method == "transfer":
        service = string_field(data, "service", required=True)
        keep_place = data.get("keep_place", False)
        if not isinstance(keep_place, bool):
            raise ApiError(400, "invalid", "keep_place must be true or false", "keep_place")
        done = change(lambda queue: queue.transfer(ticket_id, service, actor, keep_place=keep_place))
    else:
        done = change(lambda queue: getattr(queue, method)(ticket_id, actor), announce=method == "recall")
    return jsonify({"ticket": payloads.staff_ticket(runtime().settings, done.snapshot.state, done.result)})


# -- rooms and the queue -------------------------------------------------------------------------


@api.get("/rooms")
@require(*STAFF_ROLES)
def list_rooms():
    """The rooms, the services each calls for, open or paused, and who is in them."""
    return jsonify(payloads.room_list(runtime().settings, snapshot().state))


@api.post("/rooms/<room_id>/call-next")
@require(*STAFF_ROLES)
def call_next(room_id: str):
    """Call the next patient to the room: ``200 {"ticket"}``, or ``204`` when nobody waits."""
    actor = g.principal.actor
    done = change(lambda queue: queue.call_next(room_id, actor), announce=True)
    if done.result is None:
        return "", 204
    return jsonify({"ticket": payloads.staff_ticket(runtime().settings, done.snapshot.state, done.result)})


@api.post("/rooms/<room_id>/<action>")
@require(*STAFF_ROLES)
def room_action(room_id: str, action: str):
    """Pause a room (it calls nobody) or resume it."""
    actor = g.principal.actor
    if action == "pause":
        done = change(lambda queue: queue.pause_room(room_id, actor))
    elif action == "resume":
        done = change(lambda queue: queue.resume_room(room_id, actor))
    else:
        raise ApiError(404, "not_found", f"unknown room action {action!r}; pause or resume")
    rooms = payloads.room_list(runtime().settings, done.snapshot.state)
    return jsonify({"room": next(r for r in rooms if r["id"] == room_id)})


@api.get("/queue")
@require(*STAFF_ROLES)
def whole_queue():
    """Everyone waiting and in consultation, with estimates; ``?page=&per_page=`` for long lines.

    ``waiting`` is one page of the whole waiting list in call order (``per_page`` 1-1000,
    default 500); those in rooms, the rooms and the services always come whole.
    """
    page = _positive_int("page", 1, 1_000_000)
    per_page = _positive_int("per_page", 500, 1000)
    view = snapshot().staff(runtime().settings)
    waiting = view["waiting"]
    start = (page - 1) * per_page
    return jsonify(
        {
            **view,
            "waiting": waiting[start : start + per_page],
            "page": page,
            "per_page": per_page,
            "total_waiting": len(waiting),
            "next_page": page + 1 if start + per_page < len(waiting) else None,
        }
    )


def _positive_int(name: str, default: int, largest: int) -> int:
    """A whole-number query parameter from 1 to ``largest``, or 400 naming it."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= largest:
        raise ApiError(400, "invalid", f"{name} must be a whole number from 1 to {largest}", name)
    return int(raw)
