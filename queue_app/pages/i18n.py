"""Languages of the pages: which one a request gets, and the texts the browser scripts show.

Every text lives in the Flask-Babel catalogs (``queue_app/translations``).  Server-rendered
pages call ``_()`` in their templates; the kiosk, the display and the live parts of the
patient page and staff console get their texts as JSON made here from the same catalogs,
so one ``pybabel extract`` finds them all.  Placeholders are ``{name}`` in every text, filled
in by ``fill`` here and by the scripts' own ``fill``.
"""

from __future__ import annotations

from babel import Locale
from flask import g, request
from flask_babel import Babel, force_locale
from flask_babel import gettext as _

from .. import particles
from ..runtime import runtime

babel = Babel()

#: Each language's own name, as a patient looking for it would recognise it.
LANGUAGE_NAMES = {"ko": "한국어", "en": "English", "ru": "Русский", "zh": "中文", "ja": "日本語", "vi": "Tiếng Việt"}
#: The speech-synthesis voice language for each clinic language.
SPEECH_LANGUAGES = {"ko": "ko-KR", "en": "en-US", "ru": "ru-RU", "zh": "zh-CN", "ja": "ja-JP", "vi": "vi-VN"}


def select_locale() -> str:
    """The language of this request: ``?lang=``, the ticket's, the browser's, the clinic's.

    Only the clinic's configured languages are ever chosen, so a page never switches to a
    language the clinic has no wording for.
    """
    settings = runtime().settings
    languages = settings.languages
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    # The patient page sets this from the ticket: the patient chose it at the kiosk.
    ticket_language = g.get("ticket_language")
    if ticket_language in languages:
        return ticket_language
    return request.accept_languages.best_match(languages) or settings.default_language


def init_babel(app) -> None:
    """Bind Flask-Babel to ``app`` with this project's locale choice."""
    babel.init_app(app, locale_selector=select_locale, default_domain="messages")


def fill(text: str, **values) -> str:
    """``text`` with its ``{name}`` placeholders filled in (unknown ones left as they are);
    ``{room|로}`` adds the Korean particle that fits the room's name."""
    return particles.fill(text, values)


def language_name(code: str) -> str:
    """The language's own name (``한국어``), or its code when we do not know it."""
    return LANGUAGE_NAMES.get(code, code)


# -- texts for the scripts -----------------------------------------------------------------------


def _common_texts() -> dict[str, str]:
    return {
        "wait_range": _("about {low}–{high} min"),
        "wait_about": _("about {n} min"),
        "wait_none": _("no wait"),
        "ahead": _("People ahead of you: {n}"),
        "you_are_next": _("You are next"),
        "offline": _("No connection. Trying again…"),
    }


def kiosk_texts() -> dict[str, str]:
    """What the kiosk shows, in the current locale."""
    return {
        **_common_texts(),
        "welcome": _("Welcome to {clinic}"),
        "have_appointment": _("I have an appointment"),
        "appointment_title": _("Your appointment today"),
        "appointment_phone_label": _("The mobile number you booked with"),
        "find_appointment": _("Find"),
        "no_appointment_today": _("No appointment today for this number. Please ask at the reception desk."),
        "tap_to_arrive": _("Touch your appointment to tell us you have arrived."),
        "choose_service": _("Touch what you came for"),
        "language": _("Language"),
        "waiting_count": _("Waiting: {n}"),
        "closed_service": _("Check-in is not open right now. Please ask at the reception desk."),
        "selected_service": _("You chose: {service}"),
        "phone_title": _("Get a message when your turn is near"),
        "phone_label": _("Mobile phone number (optional)"),
        "phone_hint": _("Example: {example}"),
        "phone_invalid": _("This is not a mobile number we can use. Please check it, or leave it empty."),
        "phone_not_mobile": _(
            "This is not a mobile number: a landline cannot get texts. Enter a mobile number, or leave it empty."
        ),
        "phone_retired": _(
            "Numbers with this prefix are no longer in use. Please enter your mobile number now, for example {example}."
        ),
        "phone_ok": _("The number looks right."),
        "keypad": _("Number keys"),
        # What is kept, why and for how long: the consent a privacy law asks for, in one line.
        "consent_label": _(
            "[Optional] The clinic keeps this mobile number to text you about your turn, "
            "and deletes it after {days} days."
        ),
        "consent_needed": _("To get messages, please tick the box. Or leave the number empty."),
        "clear": _("Clear"),
        "back": _("Back"),
        "check_in": _("Get my number"),
        "checking_in": _("Getting your number…"),
        "retrying": _("Cannot reach the clinic's server. Trying again…"),
        "cancel": _("Cancel"),
        "your_number": _("Your number"),
        "scan_to_follow": _("Scan to follow your turn on your phone"),
        "estimated_wait": _("Estimated wait"),
        "print": _("Print ticket"),
        "done": _("Done"),
        "returning_in": _("Back to the start in {s} seconds"),
        "check_in_opens": _("Check-in opens at {time}"),
        "still_there": _("Are you still there?"),
        "still_there_text": _("For your privacy, this screen starts over in {s} seconds."),
        "continue": _("Yes, continue"),
        "checked_in_at": _("Checked in at {time}"),
        "watch_screen": _("Please wait until your number is shown on the screen."),
        "error": _("Something went wrong. Please ask at the reception desk."),
        "already_checked_in": _(
            "This number already has a ticket for this service today. Please ask at the reception desk."
        ),
        "keypad_delete": _("Delete"),
        "links_loopback": links_loopback_text(),
        "unavailable": unavailable_text(),
        "try_again": _("Try again"),
    }


def unavailable_text() -> str:
    """What a patient reads while the clinic's database is away (503): not a failure, a wait."""
    return _("The clinic's system is not answering just now. Please try again in a moment.")


def links_loopback_text() -> str:
    """The kiosk's and staff console's warning when phones cannot open patients' links."""
    return _(
        "Patients' phones cannot open these QR codes and links: they point at this computer only "
        "({address}). Set [server] public_url, or start the server with HOST=0.0.0.0."
    )


def display_texts() -> dict[str, str]:
    """What the waiting-room display shows and says, in the current locale."""
    return {
        **_common_texts(),
        "now_calling": _("Now calling"),
        "last_calls": _("Last calls"),
        "waiting": _("Waiting"),
        "waiting_count": _("Waiting: {n}"),
        "estimated_wait": _("Estimated wait"),
        "please_wait": _("Please wait for your number"),
        "announce": _("Number {number}, please go to {room}."),
        "reconnecting": _("Reconnecting…"),
        "sound_off": _("Sound is off: touch the screen once to turn it on"),
        "paused": _("Paused"),
        "no_wait": _("No wait"),
        "not_today": _("May not be seen today"),
        "duration_m": _("{m} min"),
        "duration_h": _("{h} h"),
        "duration_hm": _("{h} h {m} min"),
        "wait_about_long": _("about {time}"),
        "wait_range_long": _("about {low} – {high}"),
        "sound_setup_title": _("Announcements on this screen"),
        "sound_setup_text": _("Tap to turn on the announcements. This screen keeps the choice."),
        "sound_turn_on": _("Turn on announcements"),
        "sound_keep_off": _("No sound"),
    }


def patient_texts() -> dict[str, str]:
    """What the live patient page updates itself with, in the current locale."""
    return {
        **_common_texts(),
        **status_texts(),
        "go_to_room": _("Please go to {room}"),
        "late_note": _(
            "We know you are running late: the rooms call the next patient and keep your place "
            "for a while. Write “here” below or tell reception when you arrive."
        ),
        "ahead_count": _("{n} people"),
        "updated": _("Updated at {time}"),
        "leave_failed": _("We could not take you out of the queue. Please try again."),
        **reach_texts(),
        **recall_texts(),
    }


def reach_texts() -> dict[str, str]:
    """The phone page's "Notify me" part: every outcome told in plain words."""
    return {
        "reach_title": _("Notifications"),
        "notify_me": _("Notify me when it is my turn"),
        "notify_working": _("Turning on notifications…"),
        "notify_on": _(
            "Notifications are on. This phone will tell you when your turn is near and when you are called, "
            "even with this page closed."
        ),
        "notify_turn_off": _("Turn off notifications"),
        "notify_off": _("Notifications are off. This page still rings while it is open."),
        "notify_blocked": _(
            "Notifications are blocked for this page. To allow them: tap the lock icon next to the web address "
            "(or the ⋮ menu), open “Site settings” or “Permissions”, set Notifications to “Allow”, "
            "then tap the button again."
        ),
        "notify_dismissed": _("Notifications were not allowed. Tap the button again and choose “Allow”."),
        "notify_unsupported": _(
            "This browser cannot show notifications from this page. On an iPhone: tap the Share button, "
            "choose “Add to Home Screen”, and open the page from the home screen."
        ),
        "notify_or_text": _("Or leave your number below and we will send you messages."),
        "notify_unreachable": _(
            "The notification service cannot be reached right now. Keep this page open: it rings and vibrates "
            "when it is your turn. You can try again later."
        ),
        "save_failed": _("That did not work. Please try again."),
        "sound_on": _("Sound and vibration are on. Keep this page open."),
        "telegram": _("Get messages in Telegram"),
        "telegram_failed": _("The Telegram link could not be made. Please try again."),
        "text_me": _("Text me instead"),
        "phone_label": _("Mobile phone number"),
        "consent_label": _("Keep my number to send me messages about my turn. It is deleted after {days} days."),
        "text_send": _("Send messages to this number"),
        "text_saved": _("We will send messages to {phone}."),
        "phone_invalid": _("This is not a mobile number we can use. Please check it."),
        "consent_needed": _("Please tick the box so that we may keep your number."),
        "lead_legend": _("How long do you need to come back?"),
        "lead_hint": _("We tell you that long before your turn."),
        "lead_choice": _("about {n} minutes"),
        "lead_saved": _("Saved: we will tell you about {n} minutes before your turn."),
    }


def recall_texts() -> dict[str, str]:
    """ "Called again (2nd call)" by the language's ordinal forms (CLDR: one, two, few, other)."""
    return {
        "recalled_one": _("Called again ({n}st call) – please come now"),
        "recalled_two": _("Called again ({n}nd call) – please come now"),
        "recalled_few": _("Called again ({n}rd call) – please come now"),
        "recalled_other": _("Called again ({n}th call) – please come now"),
    }


def recall_text(call_count: int, language: str) -> str | None:
    """What a patient called for the ``call_count``-th time reads; None for the first call."""
    if not call_count or call_count < 2:
        return None
    texts = recall_texts()
    form = Locale.parse(language).ordinal_form(call_count)
    return fill(texts.get(f"recalled_{form}", texts["recalled_other"]), n=call_count)


def status_texts() -> dict[str, str]:
    """A ticket's status as its patient reads it."""
    return {
        "waiting": _("You are in the queue"),
        "called": _("It is your turn!"),
        "in_consultation": _("You are in your consultation"),
        "finished": _("Your visit is finished. Thank you!"),
        "left": _("You left the queue."),
        "no_show": _("Your number was called and your turn has passed. Please come to the reception desk."),
        "cancelled": _("This number was cancelled. Please ask at the reception desk."),
        "expired": _("This number is no longer valid. Please check in again."),
    }


def staff_texts() -> dict[str, str]:
    """What the staff console's script shows, in the current locale."""
    return {
        "call_next": _("Call next"),
        "recall": _("Call again"),
        "start_number": _("Start {number}"),
        "since_call": _("called {n} min ago"),
        "since_call_now": _("called just now"),
        "finish": _("Finish"),
        "no_show": _("No-show"),
        "transfer": _("Transfer"),
        "transfer_to": _("Transfer to"),
        "pause": _("Pause room"),
        "resume": _("Resume room"),
        "paused": _("Paused"),
        "open": _("Open"),
        "free": _("Nobody in the room"),
        "called": _("Called {number}"),
        "in_consultation": _("{number} in consultation"),
        "room_busy": _("{room} already has a patient on the way. Start, finish or mark them no-show first."),
        "room_paused": _("{room} is paused. Resume it to call patients."),
        "nobody_waiting": _("Nobody is waiting for {room}."),
        "now_called": _("{number} called to {room}."),
        "result_recall": _("{number} called again to {room}."),
        "result_start": _("{number} is in consultation in {room}."),
        "result_finish": _("{number} finished."),
        "result_no_show": _("{number} marked no-show."),
        "result_transfer": _("{number} → {service}, place {n} in line."),
        "result_paused": _("{room} paused."),
        "result_resumed": _("{room} is open again."),
        "keep_place": _("Keep their place"),
        "keep_place_since": _("Keep their place (checked in at {time})"),
        "to_the_back": _("To the end of the line"),
        "nobody_in_rooms": _("Nobody is in the rooms."),
        "failed": _("That did not work: {message}"),
        "offline": _("Connection lost. Reconnecting…"),
        "signed_out": _("You are signed out. Please sign in again."),
        "waited": _("{n} min"),
        "eta": _("≈ {time}"),
        "unreachable": _("No messages reach this patient: call out the number"),
        "reachable": _("Gets messages"),
        "on_call_list": _("On the call list"),
        "tv_only": _("TV only (no phone given)"),
        "history": _("All messages ({n})"),
        "tries": _("{n} tries"),
        "call_list_none": _("Nobody to call: every patient has been told."),
        "call_reason_none": _("No phone: call out the number in the waiting room."),
        "call_reason_no_channel": _("No message channel reaches this patient: phone them."),
        "call_reason_failed": _("Messages failed: {error}"),
        "call_status_waiting": _("Waiting, place {n}"),
        "call_status_called": _("Called to {room}"),
        "call_phone": _("Phone {phone}"),
        "reached": _("Reached"),
        "reached_label": _("{number} reached: take off the call list"),
        "reached_done": _("{number} is off the call list."),
        "kind_checked_in": _("Ticket link"),
        "kind_turn_near": _("Turn near"),
        "kind_called": _("Called in"),
        "kind_recalled": _("Called again"),
        "kind_answer": _("Reception's answer (page closed)"),
        "status_queued": _("waiting to send"),
        "status_sending": _("sending"),
        "status_sent": _("sent"),
        "status_delivered": _("delivered"),
        "status_failed": _("failed"),
        "status_skipped": _("not needed"),
        "channel_webpush": _("web push"),
        "channel_telegram": _("Telegram"),
        "channel_alimtalk": _("KakaoTalk"),
        "channel_sms": _("SMS"),
        "channel_email": _("email"),
        "channel_webhook": _("clinic system"),
        "channel_demo": _("demo phone"),
        "costs_none": _("No messages sent today."),
        "costs_total": _("Total"),
        "nobody": _("Nobody is waiting."),
        "choose_rooms_first": _("Choose your room above."),
        "priority_urgent": _("Urgent"),
        "priority_appointment": _("Appointment"),
        "late": _("Running late"),
        "mark_arrived": _("Here now"),
        "arrived_done": _("{number} is here: called in turn again."),
        "priority_walk_in": _("Walk-in"),
    }


def widget_texts() -> dict[str, str]:
    """What the website contact widget shows, in the current locale."""
    return {
        "open": _("Message the clinic"),
        "close": _("Close"),
        "phone": _("Your phone number"),
        "message": _("Your question"),
        "callback": _("Please call me back"),
        "preferred_time": _("When can we call you? (optional)"),
        "send": _("Send"),
        "sending": _("Sending…"),
        "sent": _("Thank you. Reception will answer you by text message."),
        "sent_closed": _("Thank you. The clinic is closed now; we will answer from {time}."),
        "error_phone": _("Please check the phone number."),
        "error_message": _("Please write your question, or ask us to call you back."),
        "error_busy": _("Too many messages just now. Please try again later."),
        "error": _("The message could not be sent. Please try again or call the clinic."),
    }


def texts_in(languages, build) -> dict[str, dict[str, str]]:
    """``build()`` once per language, for pages that speak several at once (kiosk, display)."""
    result = {}
    for language in languages:
        with force_locale(language):
            result[language] = build()
    return result
