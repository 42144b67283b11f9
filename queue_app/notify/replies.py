"""Sending reception's answers to SMS and Telegram: the conversations' part of the dispatcher.

An answer is written ``queued`` in the transaction that made it (``conversations.Inbox``);
each dispatcher pass sends those due here.  A reply goes on the one channel the patient
wrote on, with no fallback to another (they expect the answer where they asked): a
temporary failure is retried with the dispatcher's backoff, a refusal marks it ``failed``
with the reason, shown in the inbox so that staff can phone instead.  Claims are
compare-and-set with a lease, as for the queue's messages, so two processes never send one
answer twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..models import (
    MESSAGE_DELIVERED,
    MESSAGE_FAILED,
    MESSAGE_QUEUED,
    MESSAGE_SENT,
    OUTBOUND,
    Conversation,
    ConversationMessage,
)
from .channels import CannotReach, Channel, OutgoingMessage, Recipient, TemporaryFailure
from .dispatcher import claim, due, retry_delay

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(seconds=60)


class ReplySender:
    """Sends queued answers; ``on_change(session, conversation, message)`` tells staff."""

    def __init__(
        self,
        settings: Settings,
        session_factory: Callable[[], Session],
        channels: Mapping[str, Channel],
        clock,
        on_change: Callable[[Session, Conversation, ConversationMessage], None] | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.channels = channels
        self.clock = clock
        self.on_change = on_change

    def run_once(self) -> int:
        """Send every answer due now; return how many were handled."""
        now = self.clock.now()
        with self.session_factory() as session:
            waiting = list(
                session.scalars(
                    select(ConversationMessage.id)
                    .where(ConversationMessage.direction == OUTBOUND, due(ConversationMessage, now))
                    .order_by(ConversationMessage.next_attempt_at, ConversationMessage.id)
                    .limit(BATCH)
                )
            )
        handled = 0
        for message_id in waiting:
            if self._claim(message_id):
                handled += 1
                try:
                    self._deliver(message_id)
                except Exception:  # one answer's trouble must not stop the others
                    log.exception("sending answer %s failed; its lease runs out, then it is retried", message_id)
        return handled

    def _claim(self, message_id: int) -> bool:
        # Only outgoing answers are ever queued: an inbound message is "received".
        return claim(self.session_factory, ConversationMessage, message_id, self.clock.now(), LEASE)

    def _deliver(self, message_id: int) -> None:
        with self.session_factory() as session:
            message = session.get(ConversationMessage, message_id)
            conversation = session.get(Conversation, message.conversation_id)
            channel = self.channels.get(message.channel)
            if channel is None:
                self._settle(session, conversation, message, MESSAGE_FAILED, "the channel is no longer configured")
                return
            outgoing = OutgoingMessage(
                id=f"conversation-{message.id}",
                kind="reply",
                language=conversation.language,
                text=message.body,
                subject=self.settings.clinic_name,
                variables={"clinic": self.settings.clinic_name},
                recipient=Recipient(phone=conversation.phone, telegram_chat_id=conversation.telegram_chat_id),
            )
            session.commit()  # no lock held while the provider answers: only the lease
            try:
                result = channel.send(outgoing)
            except TemporaryFailure as exc:
                self._retry(session, conversation, message, str(exc), exc.retry_after)
            except CannotReach as exc:
                self._settle(session, conversation, message, MESSAGE_FAILED, str(exc))
            except Exception as exc:  # an adapter bug must not lose the answer
                log.exception("channel %s failed unexpectedly", message.channel)
                self._retry(session, conversation, message, f"unexpected error: {type(exc).__name__}", None)
            else:
                if result.provider_id:
                    message.provider_id = f"{message.channel}-out:{result.provider_id}"[:120]
                self._settle(session, conversation, message, MESSAGE_DELIVERED if result.delivered else MESSAGE_SENT)

    def _retry(self, session, conversation, message, error: str, retry_after: float | None) -> None:
        notify = self.settings.notify
        message.attempts += 1
        if message.attempts >= notify.retries:
            self._settle(session, conversation, message, MESSAGE_FAILED, error)
            return
        delay = retry_delay(notify, message.attempts, retry_after)
        message.status = MESSAGE_QUEUED
        message.next_attempt_at = self.clock.now() + timedelta(seconds=delay)
        message.lease_until = None
        message.last_error = error[:300]
        session.commit()
        self._report(session, conversation, message)

    def _settle(self, session, conversation, message, status: str, error: str | None = None) -> None:
        message.status = status
        message.lease_until = None
        message.last_error = error[:300] if error else None
        session.commit()
        self._report(session, conversation, message)

    def _report(self, session, conversation, message) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(session, conversation, message)
        except Exception:  # telling the consoles must never undo a send
            log.exception("reporting an answer's delivery failed")
