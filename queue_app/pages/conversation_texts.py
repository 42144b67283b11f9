"""Texts of the conversation screens: the staff inbox and the phone page's thread.

Kept apart from ``i18n.py`` (the queue's own screens) because these scripts are loaded on
their own: each gets its texts as JSON made here from the same catalogs, so one
``pybabel extract`` finds them, and ``{name}`` placeholders are filled by the scripts' ``fill``.
"""

from __future__ import annotations

from flask_babel import gettext as _


def inbox_texts() -> dict[str, str]:
    """What the staff console's inbox shows, in the current locale."""
    return {
        "show_open": _("Open conversations"),
        "show_closed": _("Closed conversations"),
        "unread": _("{n} unread"),
        "none_open": _("No open conversations."),
        "none_closed": _("No closed conversations."),
        "choose": _("Choose a conversation to read it."),
        "ticket": _("Ticket {number}"),
        "no_ticket": _("No ticket today"),
        "contact_page": _("phone page"),
        "channel_sms": _("SMS"),
        "channel_telegram": _("Telegram"),
        "channel_page": _("phone page"),
        "channel_web": _("website"),
        "ticket_waiting": _("waiting"),
        "ticket_called": _("called"),
        "ticket_in_consultation": _("in consultation"),
        "ticket_finished": _("finished"),
        "ticket_left": _("left"),
        "ticket_no_show": _("no-show"),
        "ticket_cancelled": _("cancelled"),
        "ticket_expired": _("expired"),
        "callback": _("Asks to be called back"),
        "callback_at": _("Asks to be called back: {time}"),
        "assigned": _("Assigned to {user}"),
        "unassigned": _("Not assigned"),
        "take": _("Assign to me"),
        "close": _("Close conversation"),
        "reopen": _("Reopen"),
        "reply_label": _("Reply to the patient"),
        "quick_replies": _("Quick replies"),
        "send": _("Send"),
        "sending": _("Sending…"),
        "author_patient": _("Patient"),
        "author_auto": _("Automatic answer"),
        "keyword_late": _("Keyword: running late"),
        "keyword_here": _("Keyword: here"),
        "keyword_cancel": _("Keyword: cancel"),
        "keyword_stop": _("Keyword: STOP"),
        "keyword_start": _("Keyword: START"),
        "keyword_confirm": _("Appointment confirmed by reply"),
        "keyword_unbook": _("Appointment cancelled by reply"),
        "status_received": _("received"),
        "status_queued": _("waiting to send"),
        "status_sending": _("sending"),
        "status_sent": _("sent"),
        "status_delivered": _("delivered"),
        "status_failed": _("failed"),
        "failed_because": _("Not delivered: {error}"),
        "empty_reply": _("Write a reply first."),
        "action_failed": _("That did not work: {message}"),
        "alerts_on": _("Turn on message alerts"),
        "alerts_are_on": _("Message alerts are on."),
        "alerts_blocked": _("This browser blocks notifications for this page."),
        "new_message": _("New message: {contact}"),
        "new_message_said": _("New message from {contact}: {preview}"),
        "template_title": _("Edit quick replies"),
        "template_id": _("Name (lower-case letters, digits, - or _)"),
        "template_text": _("Text in {language}"),
        "template_save": _("Save quick reply"),
        "template_saved": _("Quick reply {id} saved."),
        "template_deleted": _("Quick reply {id} deleted."),
        "template_edit": _("Edit"),
        "template_delete": _("Delete"),
        "template_from_file": _("from the configuration file"),
    }


def thread_texts() -> dict[str, str]:
    """The phone page's "Message reception" thread, in the patient's language."""
    return {
        "thread_title": _("Message reception"),
        "thread_hint": _("Write to the reception desk. The answer appears here."),
        "thread_empty": _("No messages yet."),
        "thread_you": _("You"),
        "thread_clinic": _("Reception"),
        "thread_label": _("Your message"),
        "thread_send": _("Send"),
        "thread_sending": _("Sending…"),
        "thread_empty_body": _("Please write a message first."),
        "thread_failed": _("Your message was not sent. Please try again."),
        "thread_too_many": _("You have sent many messages. Please ask at the reception desk."),
        "thread_closed": _("This ticket is closed. Please phone the clinic."),
        "thread_new_reply": _("Reception answered: {body}"),
    }
