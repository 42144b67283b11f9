"""Messaging endpoints: a patient's channels (web push, Telegram), staff's call list and costs."""

from __future__ import annotations

import json
import secrets
from datetime import date

from flask import jsonify, request

from .. import payloads
from ..changes import finish_change
from ..extensions import db
from ..notify.channels.telegram import start_link
from ..notify.channels.webpush import valid_subscription
from ..notify.costs import daily_costs
from ..runtime import clinic_queue, runtime
from . import api
from .errors import ApiError
from .routes import STAFF_ROLES, json_body, public_base, require


def _channel(name: str):
    channels = runtime().outbox.channels
    if name not in channels:
        raise ApiError(404, "not_found", f"this clinic does not send {name} messages")
    return channels[name]


@api.get("/push/key")
def push_key():
    """The VAPID public key a patient's browser subscribes with (404 without web push)."""
    return jsonify({"public_key": _channel("webpush").public_key})


@api.post("/tickets/<token>/push")
def subscribe_push(token: str):
    """Store the browser's push subscription for this ticket; messages then go by push."""
    _channel("webpush")
    subscription = json_body()
    if not valid_subscription(subscription):
        raise ApiError(400, "invalid", "not a push subscription (endpoint and keys p256dh, auth)", "subscription")
    if len(json.dumps(subscription)) > 4000:
        raise ApiError(400, "invalid", "the subscription is too large", "subscription")
    queue = clinic_queue()
    ticket = queue.ticket_by_token(token)
    if not ticket.is_open:
        raise ApiError(409, "illegal_transition", "this ticket is closed")
    ticket.push_subscription = json.dumps(subscription)
    ticket.needs_call = False
    queue.touched.append(ticket)
    finish_change(queue, public_base())
    return jsonify({"channels": runtime().outbox.channels_for(ticket)})


@api.post("/tickets/<token>/telegram")
def telegram_link(token: str):
    """A one-time ``t.me`` link that binds the patient's Telegram chat to this ticket."""
    channel = _channel("telegram")
    bot = channel.settings.get("bot_username")
    if not bot:
        raise ApiError(404, "not_found", "the clinic's Telegram bot has no bot_username configured")
    queue = clinic_queue()
    ticket = queue.ticket_by_token(token)
    if not ticket.is_open:
        raise ApiError(409, "illegal_transition", "this ticket is closed")
    if not ticket.telegram_code:
        ticket.telegram_code = secrets.token_urlsafe(18)
        db.session.commit()
    return jsonify({"url": start_link(bot, ticket.telegram_code)})


@api.post("/tickets/<int:ticket_id>/reached")
@require(*STAFF_ROLES)
def mark_reached(ticket_id: int):
    """Reception reached the patient another way: take them off the call list."""
    queue = clinic_queue()
    ticket = queue.ticket(ticket_id)
    ticket.needs_call = False
    queue.touched.append(ticket)
    state = finish_change(queue, public_base())
    return jsonify({"ticket": payloads.staff_ticket(runtime().settings, state, ticket)})


@api.get("/messages/costs")
@require(*STAFF_ROLES)
def message_costs():
    """Messages sent and their cost per channel for one clinic day (``?day=YYYY-MM-DD``)."""
    settings = runtime().settings
    raw = request.args.get("day")
    try:
        day = date.fromisoformat(raw) if raw else clinic_queue().clinic_day()
    except ValueError:
        raise ApiError(400, "invalid", "day must be YYYY-MM-DD", "day") from None
    return jsonify(daily_costs(db.session, settings, day))
