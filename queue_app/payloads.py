"""The one place that turns queue state into what clients receive.

Three audiences, three views of the same ``QueueState``:

- public (the TV, the kiosk, every patient's phone): services with how many wait and how long
  a newcomer would, rooms, recent calls.  Numbers are public (the TV shows them); tokens,
  phone numbers and ticket ids are not.  It does not list the lines: it goes to every phone
  on every change, and a list would make each change cost the square of the queue.
- place: a waiting patient's own place and range, sent only to them and only when it moved.
- staff: adds ids, statuses and who can be reached, for the console.
- the patient's own ticket: their status, place, estimate and room.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .board import QueueState, Wait
from .config import Settings
from .models import CALLED, IN_CONSULTATION, Conversation, ConversationMessage, Message, Room, Ticket
from .phones import display_phone, mask_phone
from .queue import PRIORITY_NAMES


def iso(moment: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 with offset (UTC), or None."""
    return moment.isoformat(timespec="seconds") if moment else None


def _wait_fields(wait: Wait | None) -> dict:
    return {
        "estimated_wait_minutes": wait.minutes if wait else None,
        "estimate_low_minutes": wait.low if wait else None,
        "estimate_high_minutes": wait.high if wait else None,
    }


def _room_names(settings: Settings, room_id: str | None) -> dict | None:
    config = settings.rooms.get(room_id) if room_id else None
    return dict(config.names) if config else None


def _service_names(settings: Settings, service_id: str) -> dict:
    config = settings.services.get(service_id)
    return dict(config.names) if config else {"en": service_id}


def service_list(settings: Settings, state: QueueState, language: str | None = None) -> list[dict]:
    """``GET /api/v1/services``: each service with how many wait and how long a newcomer would."""
    language = language or settings.default_language
    return [
        {
            "id": service.id,
            "name": settings.services[service.id].name(language) if service.id in settings.services else service.id,
            "names": _service_names(settings, service.id),
            "prefix": service.prefix,
            "waiting": len(state.lines.get(service.id, [])),
            **_wait_fields(state.next_walk_in.get(service.id)),
        }
        for service in state.services
    ]


def call(settings: Settings, ticket: Ticket) -> dict:
    """The ``called`` event and a display's "now calling" line: number and room only."""
    return {
        "number": ticket.number,
        "room": ticket.room_id,
        "room_names": _room_names(settings, ticket.room_id),
        "service": ticket.service_id,
        "called_at": iso(ticket.called_at),
        "call_count": ticket.call_count,
    }


def _room_view(settings: Settings, room: Room, serving: dict[str, Ticket]) -> dict:
    ticket = serving.get(room.id)
    config = settings.rooms.get(room.id)
    return {
        "id": room.id,
        "name": config.name(settings.default_language) if config else room.id,
        "names": _room_names(settings, room.id),
        "services": room.service_ids,
        "status": room.status,
        "serving": ticket.number if ticket else None,
        # Called and on the way (False) or already inside (True): the TV's "now calling"
        # shows only the first.  A flag, no name: this view is public.
        "inside": bool(ticket and ticket.status == IN_CONSULTATION),
    }


def public_queue(settings: Settings, state: QueueState) -> dict:
    """The ``queue`` event for displays, kiosks and patients' phones."""
    serving = state.serving
    return {
        "clinic": settings.clinic_name,
        "now": iso(state.now),
        "services": [
            {
                "id": service.id,
                "names": _service_names(settings, service.id),
                "prefix": service.prefix,
                "waiting": len(state.lines.get(service.id, [])),
                **_wait_fields(state.next_walk_in.get(service.id)),
            }
            for service in state.services
        ],
        "rooms": [_room_view(settings, room, serving) for room in state.rooms],
        "calls": [call(settings, t) for t in state.recent_calls],
    }


def message_view(message: Message) -> dict:
    """One message as staff see it: what, on which channel, how far it got, and why not."""
    return {
        "id": message.id,
        "kind": message.kind,
        "route": message.route,
        "channel": message.channel,
        "status": message.status,
        "attempts": message.attempts,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
        "delivered_at": iso(message.delivered_at),
        "error": message.last_error,
    }


def staff_ticket(settings: Settings, state: QueueState, ticket: Ticket) -> dict:
    """One ticket as staff see it."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service_id,
        "status": ticket.status,
        "priority": PRIORITY_NAMES.get(ticket.priority, "walk_in"),
        "position": state.positions.get(ticket.id),
        "room": ticket.room_id,
        "language": ticket.language,
        "phone": mask_phone(ticket.phone),
        "channels": state.channels.get(ticket.id, []),
        "reachable": bool(state.channels.get(ticket.id)),
        # Left no number and turned on no notifications: follows the TV; not a failure.
        "tv_only": not ticket.has_contact,
        "needs_call": ticket.needs_call,
        # Wrote "running late": the rooms pass over them (queue_app.late_hold).
        "late": bool(ticket.late),
        # Reception phones the patients nobody else could reach, so the call list carries
        # their whole number; everyone else's stays masked.
        "call_phone": ticket.phone if ticket.needs_call else None,
        "call_phone_display": display_phone(ticket.phone, settings.phone_region)
        if ticket.needs_call and ticket.phone
        else None,
        "messages": [message_view(m) for m in state.messages.get(ticket.id, [])],
        "checked_in_at": iso(ticket.checked_in_at),
        "called_at": iso(ticket.called_at),
        "call_count": ticket.call_count,
        **_wait_fields(state.waits.get(ticket.id)),
    }


def staff_queue(settings: Settings, state: QueueState) -> dict:
    """The ``queue`` event for staff and ``GET /api/v1/queue``."""
    serving = state.serving
    return {
        "now": iso(state.now),
        "waiting": [
            staff_ticket(settings, state, t) for service in state.services for t in state.lines.get(service.id, [])
        ],
        "in_rooms": [staff_ticket(settings, state, t) for t in state.in_rooms],
        "rooms": [_room_view(settings, room, serving) for room in state.rooms],
        "services": service_list(settings, state),
    }


def staff_changes(settings: Settings, state: QueueState, tickets: Iterable[Ticket], moved: Iterable[int]) -> dict:
    """The ``staff_changes`` event: what one change changed, not the whole queue.

    ``tickets``: the changed tickets, whole (their status says whether they are still in
    line); ``places``: ``[id, position, minutes, low, high]`` for those only moved.  A call
    with a thousand waiting is a thousand short rows, not the whole console again.
    """
    places = []
    for ticket_id in moved:
        wait = state.waits.get(ticket_id)
        places.append(
            [ticket_id, state.positions.get(ticket_id), *((wait.minutes, wait.low, wait.high) if wait else (None,) * 3)]
        )
    return {
        "now": iso(state.now),
        "tickets": [staff_ticket(settings, state, t) for t in tickets],
        "places": places,
        "rooms": room_list(settings, state),
        "services": service_list(settings, state),
    }


def patient_ticket(settings: Settings, state: QueueState, ticket: Ticket) -> dict:
    """The patient's own ticket: the ``ticket`` event and ``GET /api/v1/tickets/{token}``."""
    position = state.positions.get(ticket.id)
    view = {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service_id,
        "service_names": _service_names(settings, ticket.service_id),
        "status": ticket.status,
        "language": ticket.language,
        "position": position,
        "ahead": position - 1 if position else None,
        "checked_in_at": iso(ticket.checked_in_at),
        # How many times the patient has been called (2 and more: "called again").
        "call_count": ticket.call_count,
        # Minutes the patient needs to come back (None: the clinic's default).
        "lead_minutes": ticket.lead_minutes,
        "late": bool(ticket.late),
        **_wait_fields(state.waits.get(ticket.id)),
    }
    if ticket.status in (CALLED, IN_CONSULTATION) and ticket.room_id:
        view["room"] = ticket.room_id
        view["room_names"] = _room_names(settings, ticket.room_id)
        view["called_at"] = iso(ticket.called_at)
    return view


#: The ``place`` event's fields, in the order it is written.
PLACE_FIELDS = (
    "position",
    "ahead",
    "estimated_wait_minutes",
    "estimate_low_minutes",
    "estimate_high_minutes",
    "version",
    "mark",
    "since",
)
_PLACE_TEXT = "{" + ",".join(f'"{name}":%s' for name in PLACE_FIELDS) + "}"


def place(state: QueueState, ticket_id: int, *, version: int, mark: int | None, since: int | None) -> str:
    """The ``place`` event as JSON text: a waiting patient's place and range, the few fields
    that move, and where it stands in the phone's own sequence (``Snapshot.personal``).

    Written straight, not through ``json``: a call at 1,000 waiting sends a thousand of these,
    and every field is a whole number or null (the text is what ``json.dumps`` of the same
    fields would give, ``tests/test_personal_events.py``).
    """
    position = state.positions.get(ticket_id)
    wait = state.waits.get(ticket_id)
    if position and wait:  # nearly always: a moved patient has both, each a whole number
        return _PLACE_TEXT % (
            position,
            position - 1,
            wait.minutes,
            wait.low,
            wait.high,
            version,
            "null" if mark is None else mark,
            "null" if since is None else since,
        )
    values = (
        position,
        position - 1 if position else None,
        *((wait.minutes, wait.low, wait.high) if wait else (None, None, None)),
        version,
        mark,
        since,
    )
    return _PLACE_TEXT % tuple("null" if value is None else int(value) for value in values)


def new_ticket(settings: Settings, state: QueueState, ticket: Ticket, url: str, qr_url: str) -> dict:
    """The answer to a check-in: the patient's view plus their token and links."""
    return {**patient_ticket(settings, state, ticket), "token": ticket.token, "url": url, "qr_url": qr_url}


def room_list(settings: Settings, state: QueueState) -> list[dict]:
    """``GET /api/v1/rooms``."""
    serving = state.serving
    return [_room_view(settings, room, serving) for room in state.rooms]


# -- appointments ---------------------------------------------------------------------------------


def appointment_staff(settings: Settings, appointment, base_url: str) -> dict:
    """An appointment as staff and the clinic's systems see it (``/api/v1/appointments``)."""
    return {
        "id": appointment.id,
        "token": appointment.token,
        "url": f"{base_url}/a/{appointment.token}",
        "status": appointment.status,
        "service": appointment.service_id,
        "starts_at": iso(appointment.starts_at),
        "local_time": appointment.starts_at.astimezone(settings.timezone).strftime("%H:%M"),
        "day": appointment.clinic_day.isoformat(),
        "language": appointment.language,
        "phone": mask_phone(appointment.phone),
        "email": bool(appointment.email),
        "preparation": appointment.preparation,
        "reference": appointment.reference,
        "status_at": iso(appointment.status_at),
        "ticket_id": appointment.ticket_id,
    }


def appointment_patient(settings: Settings, appointment, *, can_arrive: bool, ticket_url: str | None) -> dict:
    """The patient's own appointment (their page): time, place, instructions, what they can do.

    No id, phone or reference: whoever holds the link sees only what the patient needs.
    """
    service = settings.services.get(appointment.service_id)
    preparation = settings.appointments.preparations.get(appointment.preparation or "")
    language = appointment.language
    expected = appointment.is_expected
    return {
        "status": appointment.status,
        "starts_at": iso(appointment.starts_at),
        "local_time": appointment.starts_at.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M"),
        "clinic": settings.clinic_name,
        "service_name": service.name(language) if service else appointment.service_id,
        "language": language,
        "instructions": preparation.text(language) if preparation else None,
        "actions": [
            *(["confirm"] if appointment.status == "booked" else []),
            *(["cancel"] if expected else []),
            *(["arrive"] if can_arrive else []),
        ],
        "ticket_url": ticket_url,
    }


def appointment_at_kiosk(settings: Settings, appointment, language: str, opens_at: datetime) -> dict:
    """One of today's appointments for a phone number, as the kiosk lists it: no name, no number.

    ``arrival_opens``: from when a tap can arrive (earlier, the kiosk says so).
    """
    service = settings.services.get(appointment.service_id)
    return {
        "id": appointment.id,
        "service": appointment.service_id,
        "service_name": service.name(language) if service else appointment.service_id,
        "local_time": appointment.starts_at.astimezone(settings.timezone).strftime("%H:%M"),
        "arrival_opens": opens_at.astimezone(settings.timezone).strftime("%H:%M"),
    }


# -- conversations (the staff inbox and the phone page's thread) ------------------------------

#: How each channel's contact is shown in the inbox list: never a whole number or chat id.
CONTACT_LABELS = {"telegram": "Telegram", "page": "phone page"}


def conversation_summary(conversation: Conversation) -> dict:
    """One row of the inbox (``GET /api/v1/conversations`` and the ``inbox`` event)."""
    ticket = conversation.ticket
    contact = mask_phone(conversation.phone) if conversation.phone else CONTACT_LABELS.get(conversation.channel)
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "contact": contact,
        "language": conversation.language,
        "status": conversation.status,
        "ticket": {"id": ticket.id, "number": ticket.number, "status": ticket.status} if ticket else None,
        "unread": conversation.unread,
        "assigned_to": conversation.assigned_to,
        "last_message_at": iso(conversation.last_message_at),
        "preview": conversation.preview,
        "callback": conversation.callback,
        "preferred_time": conversation.preferred_time,
    }


def answer_progress(message: ConversationMessage) -> tuple[str, str, str | None]:
    """(channel, status, error) of a message as the inbox shows it.

    An answer to the phone page is ``page``/``sent`` until the page shows it (``delivered``:
    the patient has it on screen); once its relay to the patient's channels has begun, it
    follows the relay (``sms``/``sent``, ``webpush``/``failed`` ...) like any other answer.
    """
    relay = message.relay
    if message.seen_at is not None:
        return message.channel, "delivered", None
    if relay is not None and (relay.status != "queued" or relay.attempts or relay.last_error):
        return relay.channel or message.channel, relay.status, relay.last_error
    return message.channel, message.status, message.last_error


def conversation_message(message: ConversationMessage) -> dict:
    """One message as staff see it: plain text, who wrote it, how far it got."""
    channel, status, error = answer_progress(message)
    return {
        "id": message.id,
        "direction": message.direction,
        "channel": channel,
        "body": message.body,
        "created_at": iso(message.created_at),
        "status": status,
        "author": message.author,
        "keyword": message.keyword,
        "error": error,
        "seen_at": iso(message.seen_at),
    }


def conversation_detail(conversation: Conversation, messages: Iterable[ConversationMessage]) -> dict:
    """``GET /api/v1/conversations/{id}``: the row and its messages, oldest first."""
    return {**conversation_summary(conversation), "messages": [conversation_message(m) for m in messages]}


def appointments_event(appointments) -> dict:
    """The ``appointments`` event to staff: which appointments changed, on which day, to what."""
    return {
        "appointments": [
            {"id": a.id, "day": a.clinic_day.isoformat(), "status": a.status}
            for a in sorted(appointments, key=lambda a: a.id)
        ]
    }


def inbox_event(conversation: Conversation, message: ConversationMessage | None, unread_total: int) -> dict:
    """The ``inbox`` event to staff: the conversation's row, its newest message, the badge."""
    return {
        "conversation": conversation_summary(conversation),
        "message": conversation_message(message) if message is not None else None,
        "unread_total": unread_total,
    }


def thread_message(message: ConversationMessage) -> dict:
    """One message of the phone page's thread: no staff names, no provider details."""
    return {
        "id": message.id,
        "from": "patient" if message.direction == "in" else "clinic",
        "body": message.body,
        "created_at": iso(message.created_at),
        "status": message.status,
    }
