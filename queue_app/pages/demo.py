"""The demo's phone page, ``/demo/messages``: what each patient's phone received, live.

``make run``'s demo clinic has no provider accounts, so its messages go to the demo
channel, and this page stands in for the patients' phones: one card per ticket, its
messages newest first, each as the patient would read it.  It exists only in demo mode
(``[server] demo``; a 404 otherwise) and only for signed-in staff, like the console: the
texts carry each patient's page link.

Live: the page listens to the ``delivery`` event staff consoles already get, and fetches
a new message's card entry from ``/demo/messages/<id>.json``; on every (re)connect it
fetches the whole list, so nothing sent while it was offline is missed.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..extensions import db
from ..notify import demo_phones
from ..runtime import clinic_queue, runtime
from . import _page_headers, _signed_in_user
from .i18n import staff_texts

demo_pages = Blueprint("demo_pages", __name__, url_prefix="/demo", template_folder="templates")
demo_pages.after_request(_page_headers)

#: Message ids are UUIDs (``outbox.Outbox._message``).
MESSAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@demo_pages.app_context_processor
def _demo_context():
    """``demo_mode`` for every template: the staff console links here only in the demo."""
    return {"demo_mode": runtime().settings.demo}


def _demo_only() -> None:
    """Outside the demo the page does not exist."""
    if not runtime().settings.demo:
        abort(404)


def _json_error(status: int, code: str, message: str, **more):
    return make_response(jsonify({"error": {"code": code, "message": message, **more}}), status)


def demo_texts() -> dict[str, str]:
    """The page's labels and what its script says, in the current locale."""
    staff = staff_texts()
    labels = {key: text for key, text in staff.items() if key.startswith(("kind_", "channel_"))}
    return {
        **labels,
        "received": _("{number} received: {kind}"),
        "offline": staff["offline"],
        "signed_out": staff["signed_out"],
    }


def _message_view(message: demo_phones.ReceivedMessage, labels: dict[str, str]) -> dict:
    """One message as the card lists it; the same for the page and its live updates."""
    settings = runtime().settings
    adapter = settings.notify.channel_settings.get(message.channel, {}).get("type", message.channel)
    local = message.at.astimezone(settings.timezone)
    return {
        "id": message.id,
        "kind": message.kind,
        "kind_label": labels.get(f"kind_{message.kind}", message.kind),
        "channel": message.channel,
        "channel_label": labels.get(f"channel_{adapter}", message.channel),
        "datetime": local.isoformat(timespec="seconds"),
        "time": local.strftime("%H:%M:%S"),
        "text": message.text,
    }


def _phone_view(phone: demo_phones.DemoPhone, labels: dict[str, str]) -> dict:
    return {
        "ticket_id": phone.ticket_id,
        "number": phone.number,
        "phone": phone.masked_phone,
        "messages": [_message_view(m, labels) for m in phone.messages],
    }


def _todays_phones(labels: dict[str, str]) -> list[dict]:
    settings = runtime().settings
    phones = demo_phones.phones_of_the_day(db.session(), settings, clinic_queue().clinic_day())
    return [_phone_view(phone, labels) for phone in phones]


@demo_pages.get("/messages")
def demo_messages():
    """The demo phones: every patient's messages of the day, as their phones showed them."""
    _demo_only()
    user = _signed_in_user()
    if user is None:
        return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    labels = demo_texts()
    setup = {
        "language": str(get_locale()),
        "list_url": url_for("demo_pages.demo_messages_json"),
        "message_url": url_for("demo_pages.demo_message_json", message_id="MESSAGE_ID"),
        "texts": labels,
    }
    return render_template("demo_messages.html", user=user, phones=_todays_phones(labels), setup=setup)


def _staff_json_or_abort() -> None:
    """The JSON endpoints: the demo only, signed-in staff only."""
    if not runtime().settings.demo:
        abort(_json_error(404, "not_found", "the demo phones exist only in demo mode"))
    if _signed_in_user() is None:
        abort(_json_error(401, "unauthorized", "sign in as staff to see the demo phones"))


@demo_pages.get("/messages.json")
def demo_messages_json():
    """``{"phones": [...]}``: the page's list, for a page that (re)connects."""
    _staff_json_or_abort()
    return jsonify({"phones": _todays_phones(demo_texts())})


@demo_pages.get("/messages/<message_id>.json")
def demo_message_json(message_id: str):
    """``{"phone": {...}, "message": {...}}``: one message a phone received, for the live page."""
    _staff_json_or_abort()
    if not MESSAGE_ID.match(message_id):
        return _json_error(400, "invalid", "message_id must be a message's id (a UUID)", field="message_id")
    found = demo_phones.received_message(db.session(), runtime().settings, message_id)
    if found is None:
        return _json_error(404, "not_found", "no phone received a message with this id", field="message_id")
    message, phone = found
    labels = demo_texts()
    return jsonify({"phone": _phone_view(phone, labels), "message": _message_view(message, labels)})
