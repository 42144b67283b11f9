"""The inbox's endpoints: staff read and answer conversations; a patient writes from their page.

Staff (signed in, or a staff token): ``/conversations`` and its actions, ``/inbox/templates``
(admins edit).  The patient: ``/tickets/<token>/messages``, their page's thread, found by the
ticket's secret token.  Every body is plain text in and out: nothing here makes HTML.
"""

from __future__ import annotations

from datetime import UTC

from flask import g, jsonify, request
from sqlalchemy import select

from .. import payloads
from ..conversations import Inbound
from ..extensions import db, limiter
from ..inbox_settings import TEMPLATE_ID
from ..models import CONVERSATION_CLOSED, CONVERSATION_OPEN, StaffUser
from ..opening import is_open, next_opening
from ..pages.widget import SETUP as WIDGET_SETUP
from ..phones import InvalidPhone, normalize_phone
from ..runtime import clinic_queue, converse, inbox, runtime
from ..throttles import limit_website_contact
from . import api
from .errors import ApiError
from .routes import STAFF_ROLES, json_body, require, string_field

#: Messages a patient's page may send per hour: enough to talk, not enough to flood the inbox.
PAGE_MESSAGES_PER_HOUR = 30


def _status_filter() -> str | None:
    status = request.args.get("status")
    if status is not None and status not in (CONVERSATION_OPEN, CONVERSATION_CLOSED):
        raise ApiError(400, "invalid", "status must be open or closed", "status")
    return status


@api.get("/conversations")
@require(*STAFF_ROLES)
def list_conversations():
    """The inbox, newest message first; ``?status=open|closed``."""
    status = _status_filter()
    reader = inbox()
    rows = reader.conversations(status)
    return jsonify(
        {"conversations": [payloads.conversation_summary(c) for c in rows], "unread_total": reader.unread_total()}
    )


@api.get("/conversations/<int:conversation_id>")
@require(*STAFF_ROLES)
def show_conversation(conversation_id: int):
    """One conversation with its messages, oldest first."""

    reader = inbox()
    conversation = reader.conversation(conversation_id)
    return jsonify(payloads.conversation_detail(conversation, reader.messages(conversation)))


@api.post("/conversations/<int:conversation_id>/reply")
@require(*STAFF_ROLES)
def reply(conversation_id: int):
    """``{"body"}`` or ``{"template": "<id>"}``: answered on the channel the patient last wrote on."""
    data = json_body()
    body = string_field(data, "body")
    template = string_field(data, "template")
    if (body is None) == (template is None):
        raise ApiError(400, "invalid", "send either body or template", "body")
    actor = g.principal.actor
    message = converse(lambda inbox: inbox.reply(conversation_id, actor, body=body, template=template))
    return jsonify({"message": payloads.conversation_message(message)}), 201


def _conversation_answer(act):
    conversation = converse(act)
    return jsonify({"conversation": payloads.conversation_summary(conversation)})


@api.post("/conversations/<int:conversation_id>/read")
@require(*STAFF_ROLES)
def mark_read(conversation_id: int):
    """Read: the unread count goes to 0 on every console."""
    return _conversation_answer(lambda inbox: inbox.read(conversation_id))


@api.post("/conversations/<int:conversation_id>/assign")
@require(*STAFF_ROLES)
def assign(conversation_id: int):
    """``{"user": "<username>"}`` (or null: nobody) takes the conversation."""
    data = json_body()
    user = string_field(data, "user")
    if user is not None:
        known = db.session.scalar(select(StaffUser.id).where(StaffUser.username == user, StaffUser.active))
        if known is None:
            raise ApiError(400, "invalid", "user must be the username of an active staff member", "user")
    return _conversation_answer(lambda inbox: inbox.assign(conversation_id, user))


@api.post("/conversations/<int:conversation_id>/close")
@require(*STAFF_ROLES)
def close(conversation_id: int):
    """Done with it; a new message from the patient opens it again."""
    return _conversation_answer(lambda inbox: inbox.close(conversation_id))


@api.post("/conversations/<int:conversation_id>/reopen")
@require(*STAFF_ROLES)
def reopen(conversation_id: int):
    """Back on the open list."""
    return _conversation_answer(lambda inbox: inbox.reopen(conversation_id))


# -- the patient's page ------------------------------------------------------------------------


@api.get("/tickets/<token>/messages")
def ticket_thread(token: str):
    """The thread under the patient's ticket: their messages and the clinic's answers."""
    ticket = clinic_queue().ticket_by_token(token)
    messages = inbox().thread_of(ticket)
    return jsonify({"messages": [payloads.thread_message(m) for m in messages]})


def _ticket_token() -> str:
    return "ticket:" + str((request.view_args or {}).get("token", ""))[:64]


@api.post("/tickets/<token>/messages")
@limiter.limit(lambda: f"{PAGE_MESSAGES_PER_HOUR} per hour", key_func=_ticket_token)
def write_to_reception(token: str):
    """``{"body"}``: "Message reception" from the phone page; 201 with the message as filed."""
    ticket = clinic_queue().ticket_by_token(token)
    body = string_field(json_body(), "body", required=True)
    if not body.strip():
        raise ApiError(400, "invalid", "body is empty", "body")
    if not ticket.is_open:
        raise ApiError(409, "illegal_transition", "this ticket is closed; please phone the clinic", "token")
    message = converse(lambda inbox: inbox.receive(Inbound("page", body, ticket=ticket)))
    return jsonify({"message": payloads.thread_message(message)}), 201


# -- quick replies ---------------------------------------------------------------------------


def _texts(data: dict) -> dict[str, str]:
    texts = data.get("texts")
    languages = runtime().settings.languages
    if not isinstance(texts, dict) or not texts:
        raise ApiError(400, "invalid", "texts must be an object of texts per language", "texts")
    for language, text in texts.items():
        if language not in languages:
            raise ApiError(400, "invalid", f"language {language!r} is not offered", f"texts.{language}")
        if not isinstance(text, str) or not text.strip() or len(text) > 1000:
            raise ApiError(400, "invalid", "each text must be 1 to 1000 characters", f"texts.{language}")
    return texts


def _templates_answer():
    templates = inbox().templates()
    configured = runtime().settings.inbox.templates
    return jsonify(
        {
            "templates": [
                {"id": tid, "texts": texts, "source": "admin" if tid not in configured else "config"}
                for tid, texts in templates.items()
            ]
        }
    )


@api.get("/inbox/templates")
@require(*STAFF_ROLES)
def list_templates():
    """Quick replies: ``[inbox.templates]`` and the ones admins added (theirs win on the same id)."""
    return _templates_answer()


@api.put("/inbox/templates/<template_id>")
@require("admin")
def put_template(template_id: str):
    """``{"texts": {"ko": ..., "en": ..., "ru": ...}}``: add or edit a quick reply."""
    if not TEMPLATE_ID.match(template_id):
        raise ApiError(400, "invalid", "the id must be lower-case letters, digits, - or _", "id")
    texts = _texts(json_body())
    actor = g.principal.actor
    converse(lambda inbox: inbox.save_template(template_id, texts, actor))
    return _templates_answer()


@api.delete("/inbox/templates/<template_id>")
@require("admin")
def delete_template(template_id: str):
    """Remove an admin's quick reply (one from the configuration stays: 409)."""
    if not converse(lambda inbox: inbox.delete_template(template_id)):
        if template_id in runtime().settings.inbox.templates:
            raise ApiError(409, "conflict", "this quick reply is in the configuration file; edit it there", "id")
        raise ApiError(404, "not_found", f"unknown template {template_id!r}", "id")
    return _templates_answer()


# -- the clinic's website --------------------------------------------------------------------

CONTACT = "/api/v1/contact"


def _allowed_origin() -> str | None:
    """The request's ``Origin`` when it is one of ``[inbox] widget_origins``, else None."""
    origin = (request.headers.get("Origin") or "").lower()
    return origin if origin and origin in runtime().settings.inbox.widget_origins else None


@api.after_app_request
def _contact_cors(response):
    """Let pages of the clinic's own sites (``[inbox] widget_origins``) use the contact widget.

    Only its setup and the contact form, only those origins, no cookies: the widget's page
    reads the answers (errors and 429 included), and no other site's page can.
    """
    if request.path in (CONTACT, WIDGET_SETUP):
        response.headers.add("Vary", "Origin")
        origin = _allowed_origin()
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
            response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


@api.route("/contact", methods=["OPTIONS"], provide_automatic_options=False)
def contact_preflight():
    """The browser asks before posting JSON from another origin: 204, CORS headers if allowed."""
    return "", 204


def _contact_fields(data: dict) -> Inbound:
    settings = runtime().settings
    phone = string_field(data, "phone", required=True)
    try:
        phone = normalize_phone(phone, settings.phone_region)
    except InvalidPhone as exc:
        raise ApiError(400, "invalid", str(exc), "phone") from None
    callback = data.get("callback", False)
    if not isinstance(callback, bool):
        raise ApiError(400, "invalid", "callback must be true or false", "callback")
    message = (string_field(data, "message") or "").strip()
    if not message and not callback:
        raise ApiError(400, "invalid", "message is required unless asking for a call back", "message")
    preferred = (string_field(data, "preferred_time") or "").strip() or None
    if preferred is not None and len(preferred) > 80:
        raise ApiError(400, "invalid", "preferred_time must be at most 80 characters", "preferred_time")
    language = string_field(data, "language")
    if language is not None and language not in settings.languages:
        raise ApiError(400, "invalid", f"language {language!r} is not offered", "language")
    return Inbound("web", message, phone=phone, language=language, callback=callback, preferred_time=preferred)


@api.post("/contact")
@limit_website_contact
def website_contact():
    """The website widget: a question, or "please call me back" with a number and a time.

    No token.  201 with an acknowledgement only, never anything stored (the conversation,
    a ticket, another message): whoever posts a number learns nothing about its owner.
    """
    inbound = _contact_fields(json_body())
    converse(lambda inbox: inbox.receive(inbound))
    rt = runtime()
    now = rt.clock.now()
    hours, holidays = rt.settings.hours, rt.settings.inbox.holidays
    open_now = is_open(hours, holidays, now)
    opens_at = None if open_now else payloads.iso(next_opening(hours, holidays, now).astimezone(UTC))
    return jsonify({"received": True, "clinic_open": open_now, "opens_at": opens_at}), 201
