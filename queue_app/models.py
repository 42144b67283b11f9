"""Tables: services, rooms, tickets and their event log, staff users and API tokens.

Times are stored as UTC (naive in the database, aware in Python) and shown in the clinic's
time zone.  Schema changes go through the Alembic migrations in ``migrations/``; nothing here
creates tables behind a user's back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime in Python, a plain UTC timestamp in every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Ticket statuses.  ``transferred`` is an event, not a status: the ticket waits again.
WAITING = "waiting"
CALLED = "called"
IN_CONSULTATION = "in_consultation"
FINISHED = "finished"
NO_SHOW = "no_show"
LEFT = "left"
CANCELLED = "cancelled"
EXPIRED = "expired"
OPEN_STATUSES = (WAITING, CALLED, IN_CONSULTATION)
CLOSED_STATUSES = (FINISHED, NO_SHOW, LEFT, CANCELLED, EXPIRED)

# Room statuses.
ROOM_OPEN = "open"
ROOM_PAUSED = "paused"

# Staff and device roles.
ROLES = ("admin", "staff", "kiosk", "display")


class Service(Base):
    """A service patients check in for.  Names and prefixes come from the configuration."""

    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(3), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # The ticket counter: the last number given and the clinic day it belongs to.  Kept on
    # the service row so that taking a number is one atomic UPDATE on every database.
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    last_number_day: Mapped[date | None] = mapped_column(Date, nullable=True)


class Room(Base):
    """A consultation room.  ``current_ticket_id`` is the patient called to it or in it."""

    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=ROOM_OPEN)
    # No foreign key on purpose: rooms and tickets would refer to each other, and the queue
    # keeps this pointer right itself (it is cleared whenever the ticket leaves the room).
    current_ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    services: Mapped[list[RoomService]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="RoomService.service_id"
    )

    @property
    def service_ids(self) -> list[str]:
        return [link.service_id for link in self.services]


class RoomService(Base):
    """Which services a room calls patients for."""

    __tablename__ = "room_services"

    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"), primary_key=True)


class Ticket(Base):
    """One patient's visit: a number in a service's queue, from check-in to its end."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("clinic_day", "number", name="uq_tickets_clinic_day_number"),
        # A key is one caller's, for one day: another caller's same key makes its own ticket.
        UniqueConstraint("clinic_day", "idempotency_scope", "idempotency_key", name="uq_tickets_idempotency_scope_key"),
        Index("ix_tickets_phone_day", "phone", "clinic_day"),
        Index("ix_tickets_queue", "status", "service_id", "priority", "queued_at", "id"),
        Index("ix_tickets_ended_at", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_day: Mapped[date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(12))
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    status: Mapped[str] = mapped_column(String(20), default=WAITING)
    #: 0 urgent, 1 appointment, 2 walk-in: lower is called first.
    priority: Mapped[int] = mapped_column(Integer, default=2)
    #: The patient's secret: their phone page link.  At least 128 random bits.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: A kiosk's idempotency key, so a tap that reaches the server twice makes one ticket.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    #: Whose key it is (``token:7``, ``user:3``, ``public:<address>``): only they get the ticket back.
    idempotency_scope: Mapped[str | None] = mapped_column(String(80), nullable=True)
    #: SHA-256 of the request that made the ticket: the same key with another request is refused.
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The place in line: check-in time, or the transfer time after a transfer.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    room_id: Mapped[str | None] = mapped_column(ForeignKey("rooms.id"), nullable=True)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    #: How many minutes the patient said they need to come back: "turn near" goes when the
    #: early end of their range reaches it.  None: the service's ``near_minutes``.
    lead_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Transfers so far: a transfer re-arms the "turn near" message for the new line.
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    # How the patient can be reached: what they gave and agreed to.  Erased with the phone
    # number when the retention limit passes.
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    telegram_code: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    push_subscription: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: No channel could reach the patient for a message that mattered: reception calls them.
    needs_call: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The time of the appointment this ticket came from: from then on it is called ahead
    #: of walk-ins (``appointment_rank.calling_rank``).  None for walk-ins.
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The patient wrote "running late": rooms pass over them while it holds (``queue.late_hold``).
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Set when a room first passed over the late patient: until then they keep the front of
    #: the line; after it they take their place as if they had checked in at that moment.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Optimistic lock: every update checks the version it read, so two staff pressing
    #: "finish" at once make one change and one clear refusal, not two events.
    version: Mapped[int] = mapped_column(Integer, default=1)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def has_contact(self) -> bool:
        """The patient left a way to reach them: a number, an email, push or Telegram.

        One who left none follows the TV only: nobody failed to reach them, so they are
        never put on reception's call list.
        """
        return bool(self.phone or self.email or self.push_subscription or self.telegram_chat_id)


class QueueVersion(Base):
    """One row: the number of the queue's latest change, moved on in each change's transaction.

    Shared by every server process on the database, so each event a client receives carries
    a number that tells it whether it missed one (from any process), and a process can tell
    whether the snapshot it keeps is still the latest without reading the queue.
    """

    __tablename__ = "queue_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class TicketEvent(Base):
    """The append-only history of a ticket: what happened, when, where and by whom."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    room_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    service_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    actor: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class RoomEvent(Base):
    """When a room paused or resumed: the wait estimate needs to know who was calling."""

    __tablename__ = "room_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))


class StaffUser(Base):
    """A person who signs in: reception, a nurse, a doctor, the clinic's admin."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Written into each session at sign-in; raising it (sign-out, a new password, deactivation)
    #: ends every session of this user at once, copied cookies included.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ServerSecret(Base):
    """A secret the server processes of one clinic share, such as the key that signs sessions.

    Made at the first request when the configuration gives none, and kept here so that every
    process on this database signs and reads the same cookies.
    """

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for a device or an integration.  Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# Message statuses.  ``skipped``: decided but not sent (the patient was told another way).
MESSAGE_QUEUED = "queued"
MESSAGE_SENDING = "sending"
MESSAGE_SENT = "sent"
MESSAGE_DELIVERED = "delivered"
MESSAGE_FAILED = "failed"
MESSAGE_SKIPPED = "skipped"


class Message(Base):
    """One message to one patient (or to the clinic's webhook), from decision to delivery.

    Written in the same transaction as the queue change that causes it (the outbox), then
    sent by the dispatcher.  ``id`` stays the same on every retry and every channel: it is
    the provider's idempotency key where there is one, and the webhook's event id.
    ``dedupe_key`` makes each message happen at most once per ticket.
    """

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: The ticket the message is about, or None for an appointment's own (``appointment_id``).
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True, nullable=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
    #: ``patient`` (the fallback chain of the patient's channels) or ``webhook``.
    route: Mapped[str] = mapped_column(String(16))
    #: The channel being tried now (or the one that sent it).
    channel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=MESSAGE_QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    #: JSON: clinic, number, room, link, service: fixed when the message was decided.
    variables: Mapped[str] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(120), nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    cost: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: When to ask the provider again how a sent message ended (AlimTalk answers "accepted"
    #: at once and says later whether the phone had KakaoTalk).  None: nothing to ask.
    result_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    result_checks: Mapped[int] = mapped_column(Integer, default=0)


class MessageAttempt(Base):
    """Each try of a message on a channel and how it went, for staff and for the bill."""

    __tablename__ = "message_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)


#: Why a number is not to be messaged on a channel.
OPT_OUT_STOP = "stop"  # the patient replied STOP: until they reply START
OPT_OUT_UNREACHABLE = "unreachable"  # the channel proved it cannot reach the number (no KakaoTalk)


class OptOut(Base):
    """A phone number not to be messaged on a channel: it replied STOP, or cannot be reached.

    ``until`` is None for a STOP (it lasts until START); a number that proved to have no
    KakaoTalk is skipped on AlimTalk for ``[channels.alimtalk] skip_days``, then tried again.
    """

    __tablename__ = "opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(16), default=OPT_OUT_STOP)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# Appointment statuses.
BOOKED = "booked"
CONFIRMED = "confirmed"
ARRIVED = "arrived"
APPOINTMENT_CANCELLED = "cancelled"
APPOINTMENT_NO_SHOW = "no_show"
#: An appointment the patient may still come to (reminders go, arrival is possible).
EXPECTED_STATUSES = (BOOKED, CONFIRMED)


class Appointment(Base):
    """A booked visit at a time: reminded, confirmed or cancelled, and arrived into the queue.

    No name: the clinic's own ``reference`` ties it to their records.  ``token`` is the
    patient's secret link (``/a/<token>``), like a ticket's.  Arrival makes a ticket
    (``ticket_id``) with priority ``appointment``.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        # Importing the same file twice adds nothing: one appointment per reference and time.
        UniqueConstraint("reference", "starts_at", name="uq_appointments_reference_starts_at"),
        Index("ix_appointments_day_phone", "clinic_day", "phone"),
        Index("ix_appointments_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The clinic's local date of ``starts_at``: the staff list's day and the kiosk's "today".
    clinic_day: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    #: A ``[preparation.<id>]`` of the configuration: the instructions sent and shown.
    preparation: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=BOOKED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the status last changed (confirmed, cancelled, arrived, no-show).
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Who made the last change: ``staff:kim``, ``patient:page``, ``patient:reply``, ``system``.
    status_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True)

    # What the dispatcher's channels read of a recipient (as of a ticket): a number the
    # clinic booked with is the patient's agreement to be reminded on it.
    push_subscription = None
    telegram_chat_id = None
    needs_call = False

    @property
    def consent(self) -> bool:
        return True

    @property
    def has_contact(self) -> bool:
        return bool(self.phone or self.email)

    @property
    def is_expected(self) -> bool:
        return self.status in EXPECTED_STATUSES


# Conversation statuses and message directions.
CONVERSATION_OPEN = "open"
CONVERSATION_CLOSED = "closed"
INBOUND = "in"
OUTBOUND = "out"
#: An inbound message's status: it is in the inbox.
MESSAGE_RECEIVED = "received"


class Conversation(Base):
    """One patient's thread with reception, whichever way they write (SMS, Telegram, page, website).

    Tied to the patient's open ticket when the number, chat or page matches one.  ``channel``
    is the way they last wrote: a staff reply goes out there.  ``unread`` counts inbound
    messages no one has read, so the badge survives reloads and restarts.  Contacts and
    bodies are erased with the tickets' when the retention limit passes.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_status_last", "status", "last_message_at"),
        Index("ix_conversations_phone", "phone"),
        Index("ix_conversations_telegram_chat_id", "telegram_chat_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``sms`` | ``telegram`` | ``page`` (the phone page) | ``web`` (the website widget).
    channel: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(8), default=CONVERSATION_OPEN)
    assigned_to: Mapped[str | None] = mapped_column(String(80), nullable=True)
    unread: Mapped[int] = mapped_column(Integer, default=0)
    #: The newest message's first words, for the inbox list without reading every thread.
    preview: Mapped[str] = mapped_column(String(120), default="")
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The clinic day an after-hours answer last went to this contact: one a day at most.
    after_hours_replied_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: Website contact: the patient asked to be called back, and when suits them.
    callback: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_time: Mapped[str | None] = mapped_column(String(80), nullable=True)
    #: Set when the retention limit erased its contacts and bodies.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    ticket: Mapped[Ticket | None] = relationship(lazy="joined")


class ConversationMessage(Base):
    """One message in a conversation, in (from the patient) or out (from staff or automatic).

    ``provider_id`` is the provider's own id (``twilio:SM...``, ``telegram:<update_id>``):
    unique, so a repeated delivery of the same webhook adds nothing.  An outgoing message is
    written ``queued`` in the change's transaction and sent by the dispatcher's loop.
    """

    __tablename__ = "conversation_messages"
    __table_args__ = (Index("ix_conversation_messages_due", "direction", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    #: Plain text, never HTML; at most ``conversations.MAX_BODY`` characters (cut with a note).
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: in: ``received``; out: ``queued``, ``sending``, ``sent``, ``delivered``, ``failed``.
    status: Mapped[str] = mapped_column(String(16))
    #: ``patient``, ``staff:<name>`` or ``auto`` (a keyword or after-hours answer).
    author: Mapped[str] = mapped_column(String(80))
    provider_id: Mapped[str | None] = mapped_column(String(120), unique=True, nullable=True)
    #: What a keyword did (``late``, ``here``, ``cancel``, ``stop``, ``start``), shown in the inbox.
    keyword: Mapped[str | None] = mapped_column(String(16), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


class ReplyTemplate(Base):
    """A quick reply an admin added or edited in the console (``[inbox.templates]`` are the rest)."""

    __tablename__ = "reply_templates"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: JSON object: language -> text.
    texts: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
