"""Callbacks from messaging providers: Twilio delivery reports and replies, the Telegram bot,
Solapi's AlimTalk reports.

Each request is checked the provider's own way before anything is believed: Twilio's
``X-Twilio-Signature`` over the public URL and the form, Telegram's secret token header,
the secret path segment of the URL registered with Solapi (which signs nothing).
Answers are plain and quick; the work they cause (a fallback message) goes through the
outbox and the dispatcher like any other.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, abort, jsonify, request
from sqlalchemy.exc import IntegrityError

from .conversations import Inbound
from .extensions import db
from .notify.channels.alimtalk import AlimTalkChannel, parse_report
from .notify.channels.sms import parse_inbound, parse_status_callback, verify_twilio_signature
from .notify.channels.telegram import SECRET_TOKEN_HEADER, check_secret_token, parse_start, parse_text
from .runtime import change, converse, runtime

hooks = Blueprint("hooks", __name__, url_prefix="/hooks")
log = logging.getLogger(__name__)


def _sms_channel():
    channel = runtime().outbox.channels.get("sms")
    if channel is None:
        abort(404)
    return channel


def _verified_twilio_form() -> dict:
    """The callback's form, once its signature proves it came from Twilio; else 403."""
    channel = _sms_channel()
    settings = runtime().settings
    # Twilio signs the URL it called, so the request's own address is checked (not the link
    # base of queue_app.links); a forged Host only makes the signature fail.
    base = settings.public_url or request.host_url.rstrip("/")
    url = base + request.full_path.rstrip("?")
    form = request.form.to_dict(flat=True)
    token = channel.settings.get("auth_token", "")
    if not verify_twilio_signature(url, form, request.headers.get("X-Twilio-Signature", ""), token):
        abort(403)
    return form


@hooks.post("/twilio/status")
def twilio_status():
    """Twilio's delivery report for an SMS: delivered, or failed and so the next channel."""
    status = parse_status_callback(_verified_twilio_form())
    if status is None or status.outcome == "pending":
        return "", 204
    runtime().dispatcher.provider_report(
        status.provider_id,
        delivered=status.outcome == "delivered",
        error=f"Twilio {status.status} {status.error_code or ''}".strip(),
    )
    return "", 204


@hooks.post("/twilio/inbound")
def twilio_inbound():
    """A patient's SMS reply: into the inbox (once per ``MessageSid``), keywords acted on.

    STOP (and Twilio's other opt-out words) stops our SMS to them, START undoes it.
    """
    reply = parse_inbound(_verified_twilio_form())
    if reply is None:
        return "", 204
    opt = "stop" if reply.opted_out else "start" if reply.opted_in else None
    provider_id = f"twilio:{reply.message_sid}" if reply.message_sid else None

    def receive(inbox):
        if provider_id is not None and inbox.already_received(provider_id):
            return None  # Twilio sent it again: filed already, STOP already applied
        if opt is not None:
            # Through the one door: staff consoles see at once who can no longer be texted.
            inbox.queue.opt_out(reply.phone, "sms", stop=reply.opted_out)
        # Everything else (and STOP/START, shown) lands in the inbox; keywords act there.
        return inbox.receive(Inbound("sms", reply.body, phone=reply.phone, provider_id=provider_id, opt=opt))

    _file_once(receive)
    # An empty TwiML answer: Twilio itself confirms STOP and START to the patient.
    return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', 200, {"Content-Type": "text/xml"}


@hooks.post("/telegram")
def telegram_update():
    """The bot's webhook: ``/start <code>`` binds the patient's chat to their ticket; any other
    text lands in the inbox (once per ``update_id``: Telegram retries until it gets a 200)."""
    channel = runtime().outbox.channels.get("telegram")
    if channel is None:
        abort(404)
    if not check_secret_token(request.headers.get(SECRET_TOKEN_HEADER), channel.settings.get("webhook_secret")):
        abort(403)
    update = request.get_json(silent=True)
    started = parse_start(update) if isinstance(update, dict) else None
    if started is not None:
        chat_id, code = started
        change(lambda queue: queue.bind_telegram(code, chat_id))
        return "", 204
    text = parse_text(update)
    if text is not None:
        languages = runtime().settings.languages
        inbound = Inbound(
            "telegram",
            text.text,
            chat_id=text.chat_id,
            provider_id=text.provider_id,
            language=text.language if text.language in languages else None,
        )
        _file_once(lambda inbox: inbox.receive(inbound))
    return "", 204


def _file_once(act) -> None:
    """File an inbound message; a delivery racing its own retry files it once, not a 500."""
    try:
        converse(act)
    except IntegrityError:
        # The other delivery of the same provider id committed first: nothing to add.
        db.session.rollback()


@hooks.post("/solapi/<secret>")
def solapi_report(secret: str):
    """Solapi's report webhook: each AlimTalk's final result, as the poller would read it.

    The URL's last segment must be ``[channels.alimtalk] webhook_secret`` (404 otherwise, as
    if there were no such page).  A body that is not a list of reports is refused whole
    (400, naming the field); a repeated report changes nothing.
    """
    channels = [c for c in runtime().outbox.channels.values() if isinstance(c, AlimTalkChannel) and c.webhook_secret]
    if not any(hmac.compare_digest(secret.encode(), c.webhook_secret.encode()) for c in channels):
        abort(404)
    try:
        results = parse_report(request.get_json(silent=True))
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        body = {"error": {"code": "invalid_report", "message": f"{field} {message}", "field": field}}
        return jsonify(body), 400
    dispatcher = runtime().dispatcher
    settled = sum(dispatcher.provider_result(result) for result in results)
    return jsonify({"received": len(results), "settled": settled}), 200
