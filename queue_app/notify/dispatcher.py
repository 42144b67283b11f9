"""Sending what the outbox holds: retries, fallback to the next channel, the call list.

Runs in the background of each server process (``queue-app serve`` starts it), never inside
a request.  Several processes may run one each: a message is claimed with a lease by a
compare-and-set update before it is sent, so only one process sends it.  A process killed
after claiming leaves a lease that runs out; the message is then sent again with the same
id, which the provider's idempotency key (where it has one) or the webhook's event id turns
into one delivery.

For each message: the current channel is tried; a temporary failure is retried with
exponential backoff and jitter; after the last retry, or at once when the channel cannot
reach the patient, the next channel in the clinic's order takes over; after the last
channel, a message that mattered puts the patient on reception's call list.

Some providers accept a message and say only later whether it reached the phone (AlimTalk:
"accepted", then seconds later "not a KakaoTalk user").  For a channel with ``results``,
a sent message carries ``result_check_at``; each pass asks the provider about those due
(one list call per channel), and a failure moves the message on to the next channel like
a refusal would, unbilled.  Solapi's report webhook feeds the same :meth:`provider_result`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import Settings
from ..models import (
    CALLED,
    EXPECTED_STATUSES,
    IN_CONSULTATION,
    MESSAGE_DELIVERED,
    MESSAGE_FAILED,
    MESSAGE_QUEUED,
    MESSAGE_SENDING,
    MESSAGE_SENT,
    MESSAGE_SKIPPED,
    OPEN_STATUSES,
    OPT_OUT_UNREACHABLE,
    WAITING,
    Appointment,
    Message,
    MessageAttempt,
    OptOut,
    Ticket,
)
from ..payloads import message_view
from . import texts
from .channels import CannotReach, Channel, OutgoingMessage, SendResult, TemporaryFailure, TwilioSmsChannel
from .channels.base import (
    DEFAULT_TIMEOUT,
    RESULT_DELIVERED,
    RESULT_FAILED,
    RESULT_PENDING,
    ChannelError,
    ProviderResult,
)
from .costs import sms_price
from .outbox import MUST_REACH, PAGE_CHANNELS, opted_out_phones, reachable_channels, recipient
from .settings import WEBHOOK

log = logging.getLogger(__name__)

#: A claimed message is ours for this many times the longest provider timeout (a call may
#: take a connect and a read timeout), plus a margin, before another process may take it.
LEASE_TIMEOUTS = 3
LEASE_MARGIN_SECONDS = 10
BATCH = 50
#: A message still worth sending only while the ticket is in one of these statuses.
STILL_RELEVANT = {
    "checked_in": OPEN_STATUSES,
    "turn_near": (WAITING,),
    "called": (CALLED,),
    "recalled": (CALLED,),
    # An appointment's: reminders only while the patient may still come; the rest are
    # webhook events, sent whatever happens next.
    "appointment_reminder": EXPECTED_STATUSES,
    "appointment_preparation": EXPECTED_STATUSES,
    "appointment_confirmed": (),
    "appointment_cancelled": (),
    "appointment_arrived": (),
    "appointment_no_show": (),
}


def holder(session: Session, message: Message) -> Ticket | Appointment:
    """Whom the message is about: its ticket, or its appointment (reminders and their events).

    Both answer what sending needs (phone, consent, email, status, language), so the
    channels, the fallback and the opt-outs work the same for either.
    """
    if message.ticket_id is not None:
        return session.get(Ticket, message.ticket_id)
    return session.get(Appointment, message.appointment_id)


def ticket_event(message: Message, ticket: Ticket, facts: dict) -> dict:
    """The webhook body of a ticket's message."""
    return {
        "event": message.kind,
        "id": message.id,
        "occurred_at": message.created_at.isoformat(timespec="seconds"),
        "ticket": {
            "number": facts["number"],
            "service": ticket.service_id,
            "language": message.language,
            **({"room": ticket.room_id} if facts.get("room") else {}),
            **({"phone": ticket.phone} if ticket.phone and ticket.consent else {}),
        },
    }


def appointment_event(message: Message, appointment: Appointment) -> dict:
    """The webhook body of an appointment's event: its id, the clinic's reference, time and status."""
    return {
        "event": message.kind,
        "id": message.id,
        "occurred_at": message.created_at.isoformat(timespec="seconds"),
        "appointment": {
            "id": appointment.id,
            "reference": appointment.reference,
            "service": appointment.service_id,
            "starts_at": appointment.starts_at.isoformat(timespec="seconds"),
            "status": appointment.status,
            "language": appointment.language,
            **({"phone": appointment.phone} if appointment.phone else {}),
        },
    }


def due(model, now: datetime):
    """Rows of ``model`` (a message or a conversation's answer) to send now: queued and due,
    or claimed by a process whose lease ran out (it died mid-send)."""
    return or_(
        and_(model.status == MESSAGE_QUEUED, model.next_attempt_at <= now),
        and_(model.status == MESSAGE_SENDING, model.lease_until < now),
    )


def claim(session_factory: Callable[[], Session], model, row_id, now: datetime, lease: timedelta) -> bool:
    """Take one due row for this process until ``now + lease`` (compare-and-set); False if
    another process has it or it is no longer due."""
    with session_factory() as session:
        won = session.execute(
            update(model)
            .where(model.id == row_id, due(model, now))
            .values(status=MESSAGE_SENDING, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
    return won == 1


def retry_delay(notify, attempts: int, retry_after: float | None, jitter: float = 1.0) -> float:
    """Seconds before try ``attempts + 1`` after a temporary failure: exponential, capped,
    never sooner than the provider's ``Retry-After``; ``jitter`` spreads a burst's retries."""
    delay = min(notify.retry_base_seconds * 2 ** (attempts - 1) * jitter, notify.retry_max_seconds)
    if retry_after is not None:
        delay = max(delay, min(retry_after, notify.retry_max_seconds))
    return delay


@dataclass(frozen=True)
class Delivery:
    """What happened to one message in one step, for staff screens."""

    ticket_id: int
    needs_call: bool
    #: The message as the staff console shows it (``payloads.message_view``): its id,
    #: kind, channel and status are there, not repeated here.
    message: Mapping[str, Any]


class Dispatcher:
    """Sends due messages; ``run_once`` for one pass, ``run`` for the background loop."""

    def __init__(
        self,
        settings: Settings,
        session_factory: Callable[[], Session],
        channels: Mapping[str, Channel],
        clock,
        on_delivery: Callable[[Delivery], None] | None = None,
        rng: random.Random | None = None,
        on_tick: Callable[[], None] | None = None,
        tick_seconds: float = 60.0,
    ) -> None:
        self.settings = settings
        self.notify = settings.notify
        self.session_factory = session_factory
        self.channels = channels
        self.clock = clock
        self.on_delivery = on_delivery
        #: Called every ``tick_seconds`` by the loop: estimates move as the clock runs, so
        #: who is near must be looked at again even when nothing in the queue changes.
        self.on_tick = on_tick
        self.tick_seconds = tick_seconds
        self.rng = rng or random.Random()
        longest = max((getattr(c, "timeout", DEFAULT_TIMEOUT) for c in channels.values()), default=DEFAULT_TIMEOUT)
        self.lease = timedelta(seconds=LEASE_TIMEOUTS * longest + LEASE_MARGIN_SECONDS)
        #: Reception's answers to SMS and Telegram (``notify.replies``), sent in each pass too.
        self.replies = None
        self._woken = threading.Event()
        self.stopped = False
        self._checking_results = False

    # -- the loop ------------------------------------------------------------------------

    def wake(self) -> None:
        """New messages are queued: look now instead of at the next poll."""
        self._woken.set()

    def run(
        self,
        sleep: Callable[[float], None],
        poll_seconds: float = 1.0,
        spawn: Callable[..., Any] | None = None,
    ) -> None:
        """Send forever (until ``stopped``), sleeping with ``sleep`` (``socketio.sleep``).

        ``spawn`` (``socketio.start_background_task``) lets ``[notify] senders`` messages
        be with providers at once, green threads or threads as the async mode has it.
        """
        next_tick = time.monotonic() + self.tick_seconds
        while not self.stopped:
            if self.on_tick is not None and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.tick_seconds
                try:
                    self.on_tick()
                except Exception:  # a missed look is made up a minute later
                    log.exception("the minute's look at who is near failed")
            try:
                busy = self.run_once(spawn, sleep)
            except Exception:  # a database hiccup must not end the loop
                log.exception("dispatcher pass failed")
                busy = 0
            if busy:
                continue
            waited = 0.0
            while waited < poll_seconds and not self._woken.is_set() and not self.stopped:
                sleep(0.05)
                waited += 0.05
            self._woken.clear()

    def run_once(self, spawn: Callable[..., Any] | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
        """Send every message due now; return how many were handled.

        With ``spawn``, the batch is split into ``senders`` lanes sent side by side, since
        a provider's answer takes far longer than our own bookkeeping (a burst of 500 at
        200 ms each would take 100 s one by one).  A ticket's messages stay in one lane, so
        a patient still gets "checked in" before "turn near" before "called".  The pass
        ends when every lane has (waiting with ``sleep``, since the task objects' ``join``
        does not wait under eventlet), so that no message is claimed twice at once.

        Each message is claimed just before it is sent, not with the batch, so its lease
        only has to outlast one provider call, however long the lane ahead of it is.
        """
        lanes: dict[int, list[str]] = {}
        width = self.notify.senders if spawn is not None else 1
        for message_id, lane in self._due_now():
            lanes.setdefault(lane % width, []).append(message_id)
        handled: list[int] = []
        if len(lanes) <= 1:
            for ids in lanes.values():
                self._deliver_all(ids, handled)
        else:
            for ids in lanes.values():
                spawn(self._deliver_all, ids, handled)
            while len(handled) < len(lanes):
                sleep(0.01)
        answered = self.replies.run_once() if self.replies is not None else 0
        return sum(handled) + self._results_pass(spawn) + answered

    def _deliver_all(self, message_ids: list[str], handled: list[int]) -> None:
        """One lane: claim and send each message in turn; report how many were ours."""
        count = 0
        try:
            for message_id in message_ids:
                if not self._claim(message_id):
                    continue  # another process took it
                count += 1
                try:
                    self._deliver(message_id)
                except Exception:  # one message's database trouble must not strand its lane
                    log.exception("delivering message %s failed; its lease runs out, then it is retried", message_id)
        finally:
            handled.append(count)

    # -- claiming ------------------------------------------------------------------------

    def _due(self, now: datetime):
        return due(Message, now)

    def _due_now(self) -> list[tuple[str, int]]:
        """Up to a batch of (message id, lane) due now, oldest first.

        The lane is the ticket's id, or minus the appointment's: one holder's messages in order.
        """
        with self.session_factory() as session:
            return [
                (message_id, ticket_id if ticket_id is not None else -(appointment_id or 0))
                for message_id, ticket_id, appointment_id in session.execute(
                    select(Message.id, Message.ticket_id, Message.appointment_id)
                    .where(self._due(self.clock.now()))
                    .order_by(Message.next_attempt_at, Message.created_at)
                    .limit(BATCH)
                )
            ]

    def _claim(self, message_id: str) -> bool:
        """Take the message for this process (compare-and-set); False if another has it."""
        return claim(self.session_factory, Message, message_id, self.clock.now(), self.lease)

    # -- sending -------------------------------------------------------------------------

    def _deliver(self, message_id: str) -> None:
        with self.session_factory() as session:
            message = session.get(Message, message_id)
            ticket = holder(session, message)
            if message.route != WEBHOOK and ticket.status not in STILL_RELEVANT[message.kind]:
                # Old news (sent after a long outage, the patient already called): drop it.
                self._finish(session, message, ticket, MESSAGE_SKIPPED, "no longer relevant")
                return
            if self._page_made_it_needless(message, ticket):
                self._finish(session, message, ticket, MESSAGE_SKIPPED, "the patient turned on notifications")
                return
            channel = self.channels.get(message.channel or "")
            if channel is None:
                self._next_channel(session, message, ticket, "channel no longer configured")
                return
            outgoing = self._outgoing(session, message, ticket, channel)
            # The session holds no lock while the provider is called: only the lease.
            session.commit()
            try:
                result = channel.send(outgoing)
            except TemporaryFailure as exc:
                self._temporary(session, message, ticket, str(exc), exc.retry_after)
            except CannotReach as exc:
                self._attempt(session, message, "cannot_reach", str(exc))
                self._next_channel(session, message, ticket, str(exc))
            except Exception as exc:  # an adapter bug must not lose the message
                log.exception("channel %s failed unexpectedly", message.channel)
                self._temporary(session, message, ticket, f"unexpected error: {type(exc).__name__}", None)
            else:
                self._sent(session, message, ticket, result, outgoing)

    def _page_made_it_needless(self, message: Message, ticket: Ticket) -> bool:
        """A paid check-in text whose patient has since turned on push or Telegram on their page.

        The check-in text exists to give the patient their page's link; one who tapped
        "Notify me" there has it (see ``Outbox._checkin_delay``, which holds the text back).
        """
        return (
            message.kind == "checked_in"
            and message.route != WEBHOOK
            and message.attempts == 0
            and message.channel not in PAGE_CHANNELS
            and bool(ticket.push_subscription or ticket.telegram_chat_id)
        )

    def _outgoing(self, session: Session, message: Message, ticket: Ticket, channel: Channel) -> OutgoingMessage:
        facts = json.loads(message.variables)
        custom = self.notify.templates
        # ``TwilioSmsChannel``: also a second SMS section with type = "sms".
        text = texts.message_text(
            message.kind,
            message.language,
            facts,
            custom,
            sms=isinstance(channel, TwilioSmsChannel),
            sms_link=self.notify.sms_include_link,
        )
        opted = opted_out_phones(session, ticket.phone, self.clock.now())
        if isinstance(ticket, Appointment):
            event = appointment_event(message, ticket)
        else:
            event = ticket_event(message, ticket, facts)
        return OutgoingMessage(
            id=message.id,
            kind=message.kind,
            language=message.language,
            text=text,
            subject=texts.subject(message.language, facts, custom, message.kind),
            variables=facts,
            recipient=recipient(ticket, opted.get(channel.name, ())),
            event=event,
        )

    # -- outcomes ------------------------------------------------------------------------

    def _sent(
        self, session: Session, message: Message, ticket: Ticket, result: SendResult, outgoing: OutgoingMessage
    ) -> None:
        now = self.clock.now()
        message.status = MESSAGE_DELIVERED if result.delivered else MESSAGE_SENT
        message.provider_id = result.provider_id
        message.sent_at = now
        message.delivered_at = now if result.delivered else None
        message.cost = self._price(message.channel or "", outgoing)
        message.lease_until = None
        message.last_error = None
        message.result_check_at = self._first_result_check(message, result, now)
        message.result_checks = 0
        self._attempt(session, message, "sent", None)
        session.commit()
        self._report(message, ticket)

    def _price(self, channel_name: str, outgoing: OutgoingMessage) -> float:
        """What the provider bills for this message: per text for SMS, else the channel's price."""
        cost = self.notify.costs.get(channel_name, 0.0)
        if isinstance(self.channels.get(channel_name), TwilioSmsChannel):
            return sms_price(outgoing.text, outgoing.recipient.phone, cost, self.notify.costs_long.get(channel_name))
        return cost

    def _temporary(
        self, session: Session, message: Message, ticket: Ticket, error: str, retry_after: float | None
    ) -> None:
        message.attempts += 1
        self._attempt(session, message, "temporary_failure", error)
        if message.attempts >= self.notify.retries:
            self._next_channel(session, message, ticket, error)
            return
        delay = retry_delay(self.notify, message.attempts, retry_after, self.rng.uniform(0.5, 1.5))
        message.status = MESSAGE_QUEUED
        message.next_attempt_at = self.clock.now() + timedelta(seconds=delay)
        message.lease_until = None
        message.last_error = error[:300]
        session.commit()
        self._report(message, ticket)

    def _next_channel(self, session: Session, message: Message, ticket: Ticket, error: str) -> None:
        """Hand the message to the next channel that can reach the patient, or give up."""
        following: list[str] = []
        if message.route != WEBHOOK:
            usable = reachable_channels(session, ticket, self.notify.order, self.channels, self.clock.now())
            order = list(self.notify.order)
            after = order.index(message.channel) + 1 if message.channel in order else 0
            following = [name for name in order[after:] if name in usable]
        if following:
            message.channel = following[0]
            message.attempts = 0
            message.status = MESSAGE_QUEUED
            message.next_attempt_at = self.clock.now()
            message.lease_until = None
            message.last_error = error[:300]
            session.commit()
            self._report(message, ticket)
            self.wake()
            return
        self._finish(session, message, ticket, MESSAGE_FAILED, error)

    def _finish(self, session: Session, message: Message, ticket: Ticket, status: str, error: str | None) -> None:
        message.status = status
        message.lease_until = None
        message.last_error = error[:300] if error else None
        if status == MESSAGE_FAILED and message.route != WEBHOOK and message.kind in MUST_REACH:
            if ticket.status in (WAITING, CALLED, IN_CONSULTATION):
                ticket.needs_call = True
        session.commit()
        self._report(message, ticket)

    def _attempt(self, session: Session, message: Message, outcome: str, error: str | None) -> None:
        session.add(
            MessageAttempt(
                message_id=message.id,
                channel=message.channel or "-",
                at=self.clock.now(),
                outcome=outcome,
                error=error[:300] if error else None,
            )
        )

    def _report(self, message: Message, ticket: Ticket) -> None:
        if self.on_delivery is None or message.ticket_id is None:
            # An appointment's messages are not on the queue's staff screens.
            return
        try:
            self.on_delivery(Delivery(ticket.id, ticket.needs_call, message_view(message)))
        except Exception:  # telling the staff screens must never undo a delivery
            log.exception("delivery report failed")

    # -- providers' delivery reports -------------------------------------------------------

    def provider_report(self, provider_id: str, delivered: bool, error: str | None = None) -> Message | None:
        """A provider's later word on a sent message (a Twilio status callback).

        Delivered: recorded.  Failed: as if the channel could not reach the patient, so the
        next channel takes over (or the call list).  Unknown ids are ignored.
        """
        with self.session_factory() as session:
            message = session.scalar(select(Message).where(Message.provider_id == provider_id))
            if message is None:
                return None
            ticket = holder(session, message)
            if delivered:
                if message.status == MESSAGE_SENT:
                    message.status = MESSAGE_DELIVERED
                    message.delivered_at = self.clock.now()
                    session.commit()
                    self._report(message, ticket)
            elif message.status in (MESSAGE_SENT, MESSAGE_DELIVERED):
                error = error or "the provider could not deliver it"
                self._attempt(session, message, "undelivered", error)
                if ticket.status in STILL_RELEVANT[message.kind] or message.route == WEBHOOK:
                    self._next_channel(session, message, ticket, error)
                else:
                    self._finish(session, message, ticket, MESSAGE_FAILED, error)
            return message

    # -- providers' later results (AlimTalk) ---------------------------------------------

    def _result_channel(self, name: str | None) -> Channel | None:
        """The channel if it reports results later (has ``results``), else None."""
        channel = self.channels.get(name or "")
        return channel if channel is not None and callable(getattr(channel, "results", None)) else None

    def _first_result_check(self, message: Message, result: SendResult, now: datetime) -> datetime | None:
        channel = self._result_channel(message.channel)
        if channel is None or result.delivered or not result.provider_id:
            return None
        return now + timedelta(seconds=channel.result_poll_seconds)

    def _results_pass(self, spawn: Callable[..., Any] | None) -> int:
        """Check results now (no ``spawn``: tests), or in a task of its own (the server).

        In the server the check runs beside the senders, so a slow provider list call never
        holds up the next patient's message; one check runs at a time per process.
        """
        if spawn is None:
            return self.check_results()
        if not self._checking_results:
            self._checking_results = True
            spawn(self._check_results_in_background)
        return 0

    def _check_results_in_background(self) -> None:
        try:
            self.check_results()
        except Exception:  # a database hiccup must not stop later checks
            log.exception("checking provider results failed")
        finally:
            self._checking_results = False

    def check_results(self) -> int:
        """Ask providers how the sent messages due a check ended; return how many settled.

        Each message is claimed by moving its ``result_check_at`` a lease ahead (compare-
        and-set), so two processes never ask about, or act on, the same message at once.
        """
        now = self.clock.now()
        with self.session_factory() as session:
            due = session.execute(
                select(Message.id, Message.channel, Message.provider_id)
                .where(Message.status == MESSAGE_SENT, Message.result_check_at <= now)
                .order_by(Message.result_check_at)
                .limit(BATCH)
            ).all()
        claimed: dict[str, list[tuple[str, str]]] = {}
        for message_id, channel_name, provider_id in due:
            if self._result_channel(channel_name) is None or not provider_id:
                self._stop_checking(message_id)  # the channel is gone from the configuration
            elif self._claim_result_check(message_id, now):
                claimed.setdefault(channel_name, []).append((message_id, provider_id))
        settled = 0
        for channel_name, messages in claimed.items():
            channel = self.channels[channel_name]
            try:
                answers = channel.results([provider_id for _, provider_id in messages])
            except ChannelError as exc:  # late, refused or malformed: nothing learned
                log.warning("asking %s for results failed: %s", channel_name, exc)
                answers = {}
            except Exception:  # an adapter bug must not stop the checks
                log.exception("channel %s failed to read results", channel_name)
                answers = {}
            for message_id, provider_id in messages:
                answer = answers.get(provider_id) or ProviderResult(provider_id, RESULT_PENDING)
                settled += self.provider_result(answer, message_id=message_id)
        return settled

    def _claim_result_check(self, message_id: str, now: datetime) -> bool:
        with self.session_factory() as session:
            won = session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MESSAGE_SENT, Message.result_check_at <= now)
                .values(result_check_at=now + self.lease)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
        return won == 1

    def _stop_checking(self, message_id: str) -> None:
        with self.session_factory() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == MESSAGE_SENT)
                .values(result_check_at=None)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def provider_result(self, result: ProviderResult, message_id: str | None = None) -> bool:
        """A provider's final (or not yet final) word on a sent message; True if it settled it.

        Delivered: recorded.  Failed: not billed (cost 0), an attempt with the provider's
        code, and on to the next channel (or the call list); a number that proved to have no
        account on the channel is skipped there for the channel's ``skip_days``.  Pending:
        asked again after the poll interval, until ``result_wait_minutes`` have passed.
        Every change is a compare-and-set on the status, so a repeated report, or a report
        racing the poller, changes nothing a second time and nothing is sent twice.
        """
        now = self.clock.now()
        with self.session_factory() as session:
            query = select(Message).where(Message.provider_id == result.provider_id)
            if message_id is not None:
                query = query.where(Message.id == message_id)
            message = session.scalar(query)
            if message is None:
                return False
            if result.outcome == RESULT_DELIVERED:
                return self._result_delivered(session, message, now)
            if result.outcome == RESULT_FAILED:
                try:
                    return self._result_failed(session, message, result, now)
                except IntegrityError:
                    # Another process skipped the same number a moment earlier (another
                    # ticket's AlimTalk to it failed too): all rolled back, go once more.
                    session.rollback()
                    return self._result_failed(session, message, result, now)
            if message_id is not None:  # only the poller that claimed it schedules the next check
                self._result_pending(session, message, now)
            return False

    def _result_delivered(self, session: Session, message: Message, now: datetime) -> bool:
        won = session.execute(
            update(Message)
            .where(Message.id == message.id, Message.provider_id == message.provider_id, Message.status == MESSAGE_SENT)
            .values(status=MESSAGE_DELIVERED, delivered_at=now, result_check_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if won != 1:
            return False
        session.refresh(message)
        self._report(message, holder(session, message))
        return True

    def _result_failed(self, session: Session, message: Message, result: ProviderResult, now: datetime) -> bool:
        # Taking the message out of "sent" is the compare-and-set: whoever wins it (poller or
        # webhook, in any process) moves it on; everyone else finds it no longer "sent".  The
        # rest happens in the same transaction, so a crash leaves it "sent" and checked again.
        won = session.execute(
            update(Message)
            .where(Message.id == message.id, Message.provider_id == result.provider_id, Message.status == MESSAGE_SENT)
            .values(status=MESSAGE_SENDING, lease_until=now + self.lease, result_check_at=None, cost=0.0)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            session.rollback()
            return False
        session.refresh(message)
        ticket = holder(session, message)
        error = f"{message.channel}: not delivered, status {result.code} {result.detail}".strip()
        self._attempt(session, message, "undelivered", error)
        channel = self._result_channel(message.channel)
        if result.unreachable and ticket.phone and channel is not None:
            self._skip_number(session, ticket.phone, message.channel, now + timedelta(days=channel.skip_days), now)
        if ticket.status in STILL_RELEVANT[message.kind] or message.route == WEBHOOK:
            self._next_channel(session, message, ticket, error)
        else:
            self._finish(session, message, ticket, MESSAGE_FAILED, error)
        return True

    def _skip_number(self, session: Session, phone: str, channel: str, until: datetime, now: datetime) -> None:
        """Do not try ``phone`` on ``channel`` before ``until`` (a STOP, with no end, stays)."""
        row = session.get(OptOut, (phone, channel))
        if row is None:
            session.add(OptOut(phone=phone, channel=channel, at=now, reason=OPT_OUT_UNREACHABLE, until=until))
        elif row.until is not None:
            row.at, row.reason, row.until = now, OPT_OUT_UNREACHABLE, max(row.until, until)
        session.flush()

    def _result_pending(self, session: Session, message: Message, now: datetime) -> None:
        channel = self._result_channel(message.channel)
        give_up_at = (message.sent_at or now) + timedelta(minutes=channel.result_wait_minutes if channel else 0)
        # Past the wait the message stays "sent": the provider took it, we never heard more.
        next_check = now + timedelta(seconds=channel.result_poll_seconds) if channel and now < give_up_at else None
        session.execute(
            update(Message)
            .where(Message.id == message.id, Message.status == MESSAGE_SENT)
            .values(result_checks=Message.result_checks + 1, result_check_at=next_check)
            .execution_options(synchronize_session=False)
        )
        session.commit()
