"""The pages people use: the kiosk, the waiting-room display, the patient's phone page, the staff console.

The kiosk and the display are plain HTML/CSS/JS in the ``kiosk/`` and ``display/`` folders at
the project root (inside the package once installed: see ``bundled.py``), served from here once
the device is paired.  The patient page and the
staff console are templates here, rendered with the state already in them so that they work
(and the patient page refreshes itself) without JavaScript, and then kept live by scripts over
Socket.IO.  Everything the pages change goes through the REST API, so the pages hold no queue
logic of their own.

Pairing: a kiosk or TV is set up once by opening its page with ``?pair=<token>``, a kiosk or
display API token.  The token goes into a long-lived HttpOnly, SameSite=Strict cookie and out
of the address bar; revoking the token unpairs the device.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Callable
from functools import partial
from typing import TypeVar
from urllib.parse import urlsplit

import phonenumbers
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_limiter.errors import RateLimitExceeded

from ..auth import DEVICE_COOKIE, STAFF_ROLES, authenticate_user, principal_for_device
from ..bundled import bundled_path
from ..extensions import db
from ..models import CLOSED_STATUSES, StaffUser
from ..notify.costs import daily_costs
from ..notify.offers import page_offers
from ..offload import run_cpu_bound
from ..phones import MOBILE_PREFIX, InvalidPhone, normalize_phone
from ..queue import NotFound
from ..realtime import end_ended_sessions
from ..runtime import change, clinic_queue, patient_link_base, runtime, snapshot
from ..staff_sessions import sign_in, sign_out, signed_in_user
from ..throttles import limit_sign_in, remember_device, retry_after_seconds
from .conversations import inbox_setup, thread_setup
from .i18n import (
    SPEECH_LANGUAGES,
    display_texts,
    fill,
    init_babel,
    kiosk_texts,
    language_name,
    links_loopback_text,
    patient_texts,
    recall_text,
    staff_texts,
    status_texts,
    texts_in,
)

__all__ = ["pages", "init_babel"]

T = TypeVar("T")

pages = Blueprint(
    "pages", __name__, template_folder="templates", static_folder="static", static_url_path="/static/pages"
)

KIOSK_DIR = bundled_path("kiosk")
DISPLAY_DIR = bundled_path("display")
#: Browsers cap cookie lifetimes at 400 days; a device is paired for as long as they allow.
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600
#: Pages are only ever framed by nobody; scripts, styles and sockets come from this server only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' ws: wss:; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@pages.after_request
def _page_headers(response):
    """Security headers on every page; no caching, since every page shows live state."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype in ("text/html", "application/json", "application/manifest+json"):
        response.headers["Cache-Control"] = "no-store"
    return response


@pages.app_context_processor
def _page_context():
    """What every template may use: the clinic, its languages, the current language."""
    settings = runtime().settings
    return {
        "clinic_name": settings.clinic_name,
        "languages": [(code, language_name(code)) for code in settings.languages],
        "current_language": str(get_locale() or settings.default_language),
        "fill": fill,
    }


@pages.get("/")
def home():
    """The bare address leads staff to their console (patients arrive by QR code or kiosk)."""
    return redirect(url_for("pages.staff_console"))


# -- paired devices: kiosk and display ----------------------------------------------------------


def _device():
    """The kiosk or display this browser is paired as, or None."""
    return principal_for_device(db.session(), request.cookies.get(DEVICE_COOKIE))


def _device_page(kind: str, folder):
    """Pair (``?pair=``), explain how to pair, or serve the device's page."""
    token = request.args.get("pair")
    if token is not None:
        principal = principal_for_device(db.session(), token.strip())
        if principal is None or principal.role != kind:
            return render_template("unpaired.html", kind=kind, bad_token=True), 403
        # Redirect so the token leaves the address bar (and the history) at once.
        response = redirect(url_for(f"pages.{kind}_page"), code=303)
        response.set_cookie(
            DEVICE_COOKIE,
            token.strip(),
            max_age=DEVICE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure or runtime().settings.public_url.startswith("https://"),
            path="/",
        )
        return response
    principal = _device()
    if principal is None or principal.role != kind:
        return render_template("unpaired.html", kind=kind, bad_token=False, paired_as=principal and principal.role)
    response = send_from_directory(folder, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _require_device(kind: str):
    principal = _device()
    if principal is None or principal.role != kind:
        abort(make_response(jsonify({"error": {"code": "unauthorized", "message": f"this {kind} is not paired"}}), 401))
    return principal


@pages.get("/favicon.ico")
def favicon():
    """The clinic icon where browsers look for it unasked (a JSON answer or an image has no
    ``<link rel=icon>``): without it every such load logs a 404 in the browser's console."""
    return send_from_directory(pages.static_folder, "icon-192.png", mimetype="image/png", max_age=86400)


@pages.get("/kiosk")
def kiosk_page():
    """The reception kiosk (``kiosk/index.html``), once this tablet is paired as a kiosk."""
    return _device_page("kiosk", KIOSK_DIR)


@pages.get("/display")
def display_page():
    """The waiting-room display (``display/index.html``), once this TV is paired as a display."""
    return _device_page("display", DISPLAY_DIR)


@pages.get("/kiosk/setup.json")
def kiosk_setup():
    """Everything the kiosk script needs to start: clinic, languages, texts in each language."""
    _require_device("kiosk")
    settings = runtime().settings
    example = phonenumbers.example_number_for_type(settings.phone_region, phonenumbers.PhoneNumberType.MOBILE)
    return jsonify(
        {
            "clinic": settings.clinic_name,
            "languages": [{"code": c, "name": language_name(c)} for c in settings.languages],
            "default_language": settings.default_language,
            "phone_example": phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            if example
            else "",
            "texts": texts_in(settings.languages, kiosk_texts),
            "links": _links_view(),
            "ticket_seconds": settings.kiosk_ticket_seconds,
            "auto_print": settings.kiosk_auto_print,
            "phone_prefix": MOBILE_PREFIX.get(settings.phone_region, ""),
            "retention_days": settings.retention_days,
            "timezone": settings.timezone.key,
            "hours": _hours_view(settings.hours),
        }
    )


def _links_view() -> dict:
    """Where patients' links point and whether a phone can open them, for the warning."""
    base = patient_link_base()
    return {"base": base.url, "loopback": base.loopback}


@pages.post("/kiosk/phone-check")
def kiosk_phone_check():
    """Is what the patient is typing a usable phone number?  ``{"valid", "formatted", "reason"}``.

    The kiosk asks as the patient types (the check is libphonenumber's, with the clinic's
    country as default), so the answer is the same one the check-in will give.
    """
    _require_device("kiosk")
    if not request.headers.get("X-Requested-With"):
        abort(403)
    data = request.get_json(silent=True)
    text = data.get("phone") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return jsonify({"error": {"code": "invalid", "message": "phone must be a string", "field": "phone"}}), 400
    region = runtime().settings.phone_region
    try:
        e164 = normalize_phone(text, region)
    except InvalidPhone as exc:
        return jsonify({"valid": False, "formatted": None, "reason": exc.reason})
    number = phonenumbers.parse(e164)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == region
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return jsonify({"valid": True, "formatted": phonenumbers.format_number(number, style)})


@pages.get("/display/setup.json")
def display_setup():
    """Everything the display script needs: clinic, languages with their voices, texts."""
    _require_device("display")
    settings = runtime().settings
    return jsonify(
        {
            "clinic": settings.clinic_name,
            "timezone": settings.timezone.key,
            "languages": [
                {"code": c, "name": language_name(c), "speech": SPEECH_LANGUAGES.get(c, c)} for c in settings.languages
            ],
            "default_language": settings.default_language,
            "texts": texts_in(settings.languages, display_texts),
            "hours": _hours_view(settings.hours),
        }
    )


def _hours_view(hours) -> dict:
    """The clinic's opening and closing time ("HH:MM", its own time zone), for the TV and the kiosk."""
    return {"opens": hours.opens.strftime("%H:%M"), "closes": hours.closes.strftime("%H:%M")}


@pages.get("/kiosk/<path:filename>")
def kiosk_file(filename: str):
    """The kiosk's own scripts and styles (public: they hold no secrets)."""
    return send_from_directory(KIOSK_DIR, filename, max_age=0)


@pages.get("/display/<path:filename>")
def display_file(filename: str):
    """The display's own scripts and styles."""
    return send_from_directory(DISPLAY_DIR, filename, max_age=0)


# -- the patient's phone page -------------------------------------------------------------------


def found_by_link_or_404(find: Callable[[], T]) -> T:
    """What a patient's link finds (a ticket, an appointment), its page in the patient's
    language; or the friendly "this link does not work" page with 404."""
    try:
        found = find()
    except NotFound:
        abort(make_response(render_template("ticket_not_found.html"), 404))
    g.ticket_language = found.language
    return found


def _ticket_or_404(token: str):
    """The ticket of this link, or the friendly "this link does not work" page with 404."""
    return found_by_link_or_404(lambda: clinic_queue().ticket_by_token(token))


def _patient_view(ticket) -> dict:
    return snapshot().patient(runtime().settings, ticket)


def _wait_text(view: dict) -> str | None:
    """ "about 15–25 min" for a waiting patient, or None when there is nothing to say."""
    texts = patient_texts()
    low, high = view.get("estimate_low_minutes"), view.get("estimate_high_minutes")
    if view.get("status") != "waiting":
        return None
    if low is not None and high is not None and high > low:
        return fill(texts["wait_range"], low=round(low), high=round(high))
    minutes = view.get("estimated_wait_minutes")
    if minutes is None:
        return None
    return texts["wait_none"] if round(minutes) <= 0 else fill(texts["wait_about"], n=round(minutes))


@pages.get("/t/<token>")
def patient_page(token: str):
    """The patient's own page: number, status, place, estimate; the room when called.

    Rendered complete on the server, so it works without JavaScript (and refreshes itself
    every 30 seconds then); with JavaScript it updates live over Socket.IO.
    """
    ticket = _ticket_or_404(token)
    view = _patient_view(ticket)
    language = str(get_locale())
    room = (view.get("room_names") or {}).get(language) or view.get("room")
    offers = page_offers(runtime().settings.notify, runtime().outbox.channels, ticket)
    return render_template(
        "patient.html",
        token=token,
        view=view,
        offers=offers.as_json(),
        retention_days=runtime().settings.retention_days,
        closed=view["status"] in CLOSED_STATUSES,
        status_text=status_texts().get(view["status"], view["status"]),
        recall_text=recall_text(view["call_count"], language) if view["status"] == "called" else None,
        room_name=room,
        service_name=(view.get("service_names") or {}).get(language) or view["service"],
        wait_text=_wait_text(view),
        texts=patient_texts(),
        updated=runtime().clock.now().astimezone(runtime().settings.timezone).strftime("%H:%M"),
        timezone=runtime().settings.timezone.key,
        lang_param=request.args.get("lang") if request.args.get("lang") in runtime().settings.languages else None,
        thread=thread_setup(token, view["status"]),
    )


@pages.get("/t/sw.js")
def patient_service_worker():
    """The phone page's service worker: shows push messages, opens the ticket when tapped.

    Served under ``/t/`` so that each ticket page can register it with its own scope
    (``/t/<token>``): one subscription per ticket, so turning one off leaves a second
    ticket on the same phone (a parent and a child) still notified.
    """
    response = send_from_directory(pages.static_folder, "patient-sw.js", max_age=0)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    # A browser checks for a new worker at most once a day unless told the file is fresh.
    response.headers["Cache-Control"] = "no-cache"
    return response


@pages.route("/t/<token>/leave", methods=["GET", "POST"])
def patient_leave(token: str):
    """Leaving the queue without JavaScript: a confirmation page, then the leave itself.

    The secret token in the address is what authorises it, as for the API's DELETE, so a
    cross-site form cannot forge it without already knowing the patient's link.
    """
    ticket = _ticket_or_404(token)
    if request.method == "POST":
        if ticket.status in ("waiting", "called"):
            change(lambda queue: queue.leave(ticket))
        return redirect(url_for("pages.patient_page", token=token, lang=request.args.get("lang")), code=303)
    return render_template("patient_leave.html", token=token, number=ticket.number)


@pages.get("/t/<token>/manifest.webmanifest")
def patient_manifest(token: str):
    """A web app manifest whose start page is this ticket, so "add to home screen" keeps it."""
    ticket = _ticket_or_404(token)
    settings = runtime().settings
    body = {
        "name": f"{settings.clinic_name} {ticket.number}",
        "short_name": ticket.number,
        "start_url": url_for("pages.patient_page", token=token),
        "scope": url_for("pages.patient_page", token=token),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b4f8a",
        "lang": ticket.language,
        "icons": [
            {"src": url_for("pages.static", filename="icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": url_for("pages.static", filename="icon-192.png"), "sizes": "192x192", "type": "image/png"},
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


# -- staff: sign in, the console ------------------------------------------------------------------


def _csrf_token() -> str:
    """This session's form token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent = request.form.get("csrf", "")
    return bool(sent) and hmac.compare_digest(sent, session.get("csrf", ""))


def _signed_in_user() -> StaffUser | None:
    """The signed-in staff user, or None: one rule for pages, API and sockets (``staff_sessions``)."""
    return signed_in_user()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never send a signed-in user to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return url_for("pages.staff_console")
    return target


@pages.route("/login", methods=["GET", "POST"])
@limit_sign_in
def login():
    """Staff sign in with their username and password."""
    error = None
    status = 200
    if request.method == "POST":
        if not _csrf_ok():
            error, status = "expired", 400
        else:
            user = authenticate_user(
                db.session(),
                request.form.get("username", "").strip(),
                request.form.get("password", ""),
                run_hash=partial(run_cpu_bound, runtime().settings.async_mode),
            )
            if user is None or user.role not in STAFF_ROLES:
                # Said on the page with a 200: a wrong password is an answer the form expects,
                # and a 401 would log an error in the browser's console on every typo.  The
                # sign-in limits count it by this mark instead.
                error = "wrong"
                g.sign_in_refused = True
            else:
                sign_in(user)
                _csrf_token()
                response = redirect(_safe_next(request.args.get("next")), code=303)
                remember_device(response, user.username)
                return response
    return render_template("login.html", error=error, csrf=_csrf_token()), status


@pages.errorhandler(RateLimitExceeded)
def _too_many_sign_ins(exc: RateLimitExceeded):
    """Too many wrong passwords: 429, ``Retry-After``, and the form saying how long to wait."""
    seconds = retry_after_seconds()
    page = render_template("login.html", error="too_many", minutes=math.ceil(seconds / 60), csrf=_csrf_token())
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@pages.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out (a POST with the form token; a GET only asks to confirm).

    Signing out ends every session of this user, so a copy of the cookie is worth nothing.
    """
    if request.method == "POST" and _csrf_ok():
        sign_out()
        # Open consoles of this user on this process go now; on others at their next sweep.
        end_ended_sessions(current_app._get_current_object())
        return redirect(url_for("pages.login"), code=303)
    return render_template("logout.html", csrf=_csrf_token(), signed_in=_signed_in_user() is not None)


@pages.get("/staff")
def staff_console():
    """The staff console: my rooms, "Call next", the live queue."""
    user = _signed_in_user()
    if user is None:
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    settings = runtime().settings
    latest = snapshot()
    language = str(get_locale())
    setup = {
        "language": language,
        "timezone": settings.timezone.key,
        "rooms": [
            {"id": r.id, "name": r.name(language), "services": list(r.services)} for r in settings.rooms.values()
        ],
        "services": [{"id": s.id, "name": s.name(language)} for s in settings.services.values()],
        "queue": latest.staff(settings),
        "costs": daily_costs(db.session, settings, clinic_queue().clinic_day()),
        "texts": staff_texts(),
    }
    links = _links_view()
    link_warning = fill(links_loopback_text(), address=links["base"]) if links["loopback"] else None
    return render_template(
        "staff.html", user=user, setup=setup, csrf=_csrf_token(), link_warning=link_warning, inbox=inbox_setup(user)
    )


from . import appointment as _appointment_page  # noqa: E402,F401  (registers /a/<token> on the blueprint)
