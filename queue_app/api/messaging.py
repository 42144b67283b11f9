"""Messaging endpoints: a patient's channels (web push, Telegram), staff's call list and costs."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from urllib.parse import urlsplit

from flask import jsonify, request

from .. import payloads
from ..extensions import db
from ..notify.channels.telegram import start_link
from ..notify.channels.webpush import valid_subscription
from ..notify.costs import daily_costs
from ..notify.offers import can_take_phone, texting_channels
from ..notify.settings import LEAD_CHOICES
from ..phones import InvalidPhone, mask_phone, normalize_phone
from ..runtime import change, clinic_queue, runtime
from . import api
from .errors import ApiError
from .routes import STAFF_ROLES, require


def _channel(name: str):
    channels = runtime().outbox.channels
    if name not in channels:
        raise ApiError(404, "not_found", f"this clinic does not send {name} messages")
    return channels[name]


@api.get("/push/key")
def push_key():
    """The VAPID public key a patient's browser subscribes with (404 without web push)."""
    return jsonify({"public_key": _channel("webpush").public_key})


def _object_body(field: str) -> dict:
    """The request's JSON object, or 400 naming ``field``: a patient's page sends one thing."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", f"the body must be a JSON object with {field}", field)
    return data


def _key_bytes(value, length: int) -> bool:
    """Is ``value`` base64url text of exactly ``length`` bytes (a browser's push key)?"""
    if not isinstance(value, str) or not value or len(value) > 200:
        return False
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == length


def _check_subscription(subscription: dict) -> None:
    """400 naming ``subscription`` unless it is one a push service can be sent to.

    The keys are checked for what they must be (a P-256 point of 65 bytes, an auth secret of
    16), so a mangled subscription is refused now instead of failing at the first message.
    """
    problem = None
    if not valid_subscription(subscription):
        problem = "not a push subscription (endpoint and keys p256dh, auth)"
    elif not urlsplit(subscription["endpoint"]).hostname or len(subscription["endpoint"]) > 1000:
        problem = "the endpoint is not a push service address"
    elif not _key_bytes(subscription["keys"]["p256dh"], 65) or not _key_bytes(subscription["keys"]["auth"], 16):
        problem = "keys.p256dh and keys.auth are not a browser's push keys"
    elif len(json.dumps(subscription)) > 4000:
        problem = "the subscription is too large"
    if problem:
        raise ApiError(400, "invalid", problem, "subscription")


def _ticket(token: str):
    """The patient's ticket (404 for an unknown link)."""
    return clinic_queue().ticket_by_token(token)


def _refuse_closed(ticket) -> None:
    if not ticket.is_open:
        raise ApiError(409, "illegal_transition", "this ticket is closed")


@api.post("/tickets/<token>/push")
def subscribe_push(token: str):
    """Store the browser's push subscription for this ticket; messages then go by push."""
    _channel("webpush")
    ticket = _ticket(token)
    subscription = _object_body("subscription")
    _check_subscription(subscription)
    change(lambda queue: queue.subscribe_push(ticket, json.dumps(subscription)))
    return jsonify({"channels": runtime().outbox.channels_for(ticket)})


@api.delete("/tickets/<token>/push")
def unsubscribe_push(token: str):
    """Forget this ticket's push subscription ("turn off notifications").

    Always allowed, even on a closed ticket or after the clinic switched web push off:
    the patient taking back what they gave is never refused.
    """
    ticket = _ticket(token)
    if ticket.push_subscription is not None:
        change(lambda queue: queue.unsubscribe_push(ticket))
    return jsonify({"channels": runtime().outbox.channels_for(ticket)})


@api.put("/tickets/<token>/lead")
def set_lead_time(token: str):
    """``{"minutes": N}``: "I need about N minutes to come back", one of the offered choices."""
    ticket = _ticket(token)
    minutes = _object_body("minutes").get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes not in LEAD_CHOICES:
        choices = ", ".join(str(n) for n in LEAD_CHOICES)
        raise ApiError(400, "invalid", f"minutes must be one of {choices}", "minutes")
    change(lambda queue: queue.set_lead_minutes(ticket, minutes))
    return jsonify({"lead_minutes": ticket.lead_minutes})


@api.post("/tickets/<token>/phone")
def text_me_instead(token: str):
    """``{"phone", "consent": true}``: a patient who gave no number at check-in asks for texts.

    Only where the clinic texts (SMS or AlimTalk in its order), only once per ticket: a
    number already given is not replaced from a page anyone with the link could open.
    """
    rt = runtime()
    if not texting_channels(rt.settings.notify, rt.outbox.channels):
        raise ApiError(404, "not_found", "this clinic does not send text messages")
    ticket = _ticket(token)
    data = _object_body("phone")
    phone = data.get("phone")
    if not isinstance(phone, str):
        raise ApiError(400, "invalid", "phone must be a string", "phone")
    try:
        phone = normalize_phone(phone, rt.settings.phone_region)
    except InvalidPhone as exc:
        raise ApiError(400, "invalid", str(exc), "phone") from None
    if data.get("consent") is not True:
        raise ApiError(400, "invalid", "consent must be true: the number is kept only to text this patient", "consent")
    _refuse_closed(ticket)
    if not can_take_phone(rt.settings.notify, rt.outbox.channels, ticket):
        raise ApiError(409, "conflict", "this ticket already has a phone number")
    change(lambda queue: queue.give_phone(ticket, phone))
    return jsonify({"channels": rt.outbox.channels_for(ticket), "phone": mask_phone(phone)})


@api.post("/tickets/<token>/telegram")
def telegram_link(token: str):
    """A one-time ``t.me`` link that binds the patient's Telegram chat to this ticket."""
    channel = _channel("telegram")
    bot = channel.settings.get("bot_username")
    if not bot:
        raise ApiError(404, "not_found", "the clinic's Telegram bot has no bot_username configured")
    ticket = _ticket(token)
    code = change(lambda queue: queue.telegram_code(ticket)).result
    return jsonify({"url": start_link(bot, code)})


@api.post("/tickets/<int:ticket_id>/reached")
@require(*STAFF_ROLES)
def mark_reached(ticket_id: int):
    """Reception reached the patient another way: take them off the call list."""
    done = change(lambda queue: queue.mark_reached(ticket_id))
    return jsonify({"ticket": payloads.staff_ticket(runtime().settings, done.snapshot.state, done.result)})


#: The days a report can be asked for: a clinic day, not the calendar's ends (9999-12-31 + 1 day overflows).
REPORT_DAYS = (date(2000, 1, 1), date(2100, 12, 31))


def _report_day(raw: str) -> date:
    """``?day=YYYY-MM-DD`` within ``REPORT_DAYS``, or 400 naming ``day``."""
    first, last = REPORT_DAYS
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid", "day must be YYYY-MM-DD", "day") from None
    if not first <= day <= last:
        raise ApiError(400, "invalid", f"day must be between {first} and {last}", "day")
    return day


@api.get("/messages/costs")
@require(*STAFF_ROLES)
def message_costs():
    """Messages sent and their cost per channel for one clinic day (``?day=YYYY-MM-DD``)."""
    settings = runtime().settings
    raw = request.args.get("day")
    day = _report_day(raw) if raw else clinic_queue().clinic_day()
    return jsonify(daily_costs(db.session, settings, day))
