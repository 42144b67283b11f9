"""Conversations: every way a patient writes to reception, in one inbox, never lost.

A patient writes by SMS, to the Telegram bot, from their phone page or from the clinic's
website.  Each message lands in a :class:`Conversation`, tied to the patient's open ticket
when the number, chat or page matches one.  A few words are understood (late, here, cancel,
in Korean, English and Russian) and answered at once; they change the queue through the
same domain (``ClinicQueue``) as every other change.  Anything else waits for staff, who
reply, read, assign, close and reopen.

No Flask here.  :class:`Inbox` works on the session of a ``ClinicQueue`` and leaves the
commit to the clinic's door (``Clinic.converse``), which then publishes what it noted
(``touched``, ``to_tickets``) and wakes the sender when a reply is queued (``outgoing``).
Replies to SMS and Telegram are written ``queued`` in the same transaction (an outbox) and
sent by the dispatcher's loop (``notify.replies``); a reply to the phone page is there as
soon as it is committed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from .appointments import Appointments
from .config import Settings
from .models import (
    CONFIRMED,
    CONVERSATION_CLOSED,
    CONVERSATION_OPEN,
    INBOUND,
    MESSAGE_FAILED,
    MESSAGE_QUEUED,
    MESSAGE_RECEIVED,
    MESSAGE_SENT,
    MESSAGE_SKIPPED,
    OPEN_STATUSES,
    OUTBOUND,
    WAITING,
    Conversation,
    ConversationMessage,
    Message,
    OptOut,
    ReplyTemplate,
    Ticket,
)
from .name_locks import hold
from .notify import texts
from .notify.outbox import SEEN_ON_PAGE, in_force
from .opening import is_open, next_opening
from .queue import Actor, ClinicQueue, IllegalTransition, InvalidInput, NotFound
from .reply_words import as_reply, squeezed

#: Bodies longer than this are cut, with ``CUT_NOTE`` saying so.
MAX_BODY = 1000
CUT_NOTE = " [… cut: the message was longer than 1,000 characters]"
#: Where patients write from.
CHANNELS = ("sms", "telegram", "page", "web")
AUTO = "auto"
PATIENT_AUTHOR = "patient"
PREVIEW_CHARACTERS = 120

#: The words each keyword is known by, compared without case, spaces or punctuation.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "late": (
        "늦어요",
        "늦을 것 같아요",
        "늦습니다",
        "늦을게요",
        "조금 늦어요",
        "지각",
        "late",
        "running late",
        "i'm late",
        "i am late",
        "i'll be late",
        "will be late",
        "опаздываю",
        "опоздаю",
        "я опаздываю",
        "задерживаюсь",
    ),
    "here": (
        "도착",
        "도착했어요",
        "도착했습니다",
        "왔어요",
        "왔습니다",
        "여기 있어요",
        "here",
        "i'm here",
        "i am here",
        "arrived",
        "i have arrived",
        "пришёл",
        "пришла",
        "я пришёл",
        "я пришла",
        "я здесь",
        "на месте",
    ),
    "cancel": (
        "취소",
        "취소할게요",
        "취소해 주세요",
        "취소합니다",
        "cancel",
        "cancel please",
        "please cancel",
        "отмена",
        "отменить",
        "отмените",
        "отменяю",
    ),
}
#: Control characters other than line breaks and tabs: never shown, never stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_KEYWORD_INDEX = {squeezed(word): keyword for keyword, words in KEYWORDS.items() for word in words}


def keyword_of(body: str) -> str | None:
    """``late``, ``here`` or ``cancel`` when the whole message is one of their words, else None."""
    return _KEYWORD_INDEX.get(as_reply(body))


def plain_body(body: str) -> str:
    """The body as stored and shown: plain text, line breaks kept, cut at ``MAX_BODY`` with a note.

    Nothing is escaped or turned into HTML: every screen sets it as text (``textContent``).
    """
    text = _CONTROL.sub("", body.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY].rstrip() + CUT_NOTE
    return text


def guess_language(body: str, languages: Collection[str], default: str) -> str:
    """The language a stranger wrote in (Hangul, Cyrillic, else Latin), among the clinic's."""
    for ch in body:
        name = unicodedata.name(ch, "")
        if name.startswith("HANGUL") and "ko" in languages:
            return "ko"
        if name.startswith("CYRILLIC") and "ru" in languages:
            return "ru"
    latin = any("a" <= ch.lower() <= "z" for ch in body)
    return "en" if latin and "en" in languages else default


def opening_text(moment: datetime, language: str) -> str:
    """When the clinic opens, as the after-hours answer says it (local time)."""
    if language == "ko":
        return f"{moment.month}월 {moment.day}일 {moment:%H:%M}"
    if language == "ru":
        return f"{moment:%H:%M} {moment.day:02d}.{moment.month:02d}"
    return f"{moment:%H:%M} on {moment:%a} {moment.day} {moment:%b}"


@dataclass(frozen=True)
class Inbound:
    """One message a patient sent, as a provider callback or a page handed it over."""

    channel: str
    body: str
    phone: str | None = None
    chat_id: str | None = None
    #: The phone page's ticket (its token proved it is theirs).
    ticket: Ticket | None = None
    #: The provider's id of this message: a second delivery of it adds nothing.
    provider_id: str | None = None
    language: str | None = None
    #: STOP or START, already handled as an opt-out: shown, not answered.
    opt: str | None = None
    #: Website contact: "please call me back", and when.
    callback: bool = False
    preferred_time: str | None = None


class Inbox:
    """The conversations over one ``ClinicQueue``'s session: receive, reply, read, assign, close."""

    def __init__(
        self, queue: ClinicQueue, settings: Settings, channels: Collection[str] = (), base_url: str = ""
    ) -> None:
        self.queue = queue
        self.session = queue.session
        self.clock = queue.clock
        self.settings = settings
        #: The messaging channels the clinic has (``sms``, ``telegram`` ...): where replies can go.
        self.channels = set(channels)
        #: Where patients' links start (an appointment answered by reply keeps its page's link).
        self.base_url = base_url
        #: Conversations changed here, in order: each goes to staff as an ``inbox`` event.
        self.touched: list[Conversation] = []
        #: (ticket id, message) for the phone page: the ``message`` event to the ticket's room.
        self.to_tickets: list[tuple[int, ConversationMessage]] = []
        #: Replies queued for a provider: the sender is woken after the commit.
        self.outgoing = 0
        #: Appointments a reply confirmed or cancelled: staff consoles hear of them.
        self.appointments_changed: list = []
        #: conversation id -> the newest message added here (the ``inbox`` event carries it).
        self.newest: dict[int, ConversationMessage] = {}
        #: (ticket, answer) for staff answers to the phone page: the clinic's door plans, in
        #: the same transaction, telling the patient elsewhere if the page does not show them.
        self.page_answers: list[tuple[Ticket, ConversationMessage]] = []
        #: Messages whose state moved without being new (seen on the page): staff see each.
        self.moved: list[tuple[Conversation, ConversationMessage]] = []

    # -- reading -------------------------------------------------------------------------------

    def conversation(self, conversation_id: int) -> Conversation:
        """A conversation by id, or ``NotFound``."""
        in_range = isinstance(conversation_id, int) and 0 < conversation_id < 2**31
        found = self.session.get(Conversation, conversation_id) if in_range else None
        if found is None:
            raise NotFound(f"unknown conversation {conversation_id}", field="conversation")
        return found

    def conversations(self, status: str | None = None, limit: int = 200) -> list[Conversation]:
        """The inbox, newest message first; ``status``: ``open`` or ``closed`` (None: both)."""
        query = select(Conversation).order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        if status is not None:
            query = query.where(Conversation.status == status)
        return list(self.session.scalars(query.limit(limit)))

    def messages(self, conversation: Conversation) -> list[ConversationMessage]:
        """A conversation's messages, oldest first."""
        return list(
            self.session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation.id)
                .order_by(ConversationMessage.created_at, ConversationMessage.id)
            )
        )

    def thread_of(self, ticket: Ticket) -> list[ConversationMessage]:
        """Every message of the ticket's conversations (its phone page's thread), oldest first."""
        return list(
            self.session.scalars(
                select(ConversationMessage)
                .join(Conversation, ConversationMessage.conversation_id == Conversation.id)
                .where(Conversation.ticket_id == ticket.id)
                .order_by(ConversationMessage.created_at, ConversationMessage.id)
            )
        )

    def unread_total(self) -> int:
        """Unread messages in open conversations: the console's badge."""
        total = self.session.scalar(
            select(func.coalesce(func.sum(Conversation.unread), 0)).where(Conversation.status == CONVERSATION_OPEN)
        )
        return int(total or 0)

    def templates(self) -> dict[str, dict[str, str]]:
        """Quick replies: the configuration's, then the admins' (which win on the same id)."""
        result = {tid: dict(texts) for tid, texts in self.settings.inbox.templates.items()}
        for row in self.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.id)):
            result[row.id] = json.loads(row.texts)
        return result

    def save_template(self, template_id: str, texts_by_language: dict[str, str], actor: Actor) -> None:
        """An admin adds or edits a quick reply (texts per language)."""
        row = self.session.get(ReplyTemplate, template_id) or ReplyTemplate(id=template_id)
        row.texts = json.dumps(texts_by_language, ensure_ascii=False)
        row.updated_at = self.clock.now()
        row.updated_by = str(actor)
        self.session.add(row)

    def delete_template(self, template_id: str) -> bool:
        """An admin removes their quick reply; False when there is none of theirs by that id."""
        row = self.session.get(ReplyTemplate, template_id)
        if row is None:
            return False
        self.session.delete(row)
        return True

    # -- a patient writes ------------------------------------------------------------------------

    def receive(self, inbound: Inbound) -> ConversationMessage | None:
        """File the patient's message, act on a keyword, answer after hours; None if already filed."""
        ticket = inbound.ticket or self._open_ticket_of(inbound)
        # Two messages from a new number at the same instant: the second waits for the
        # first's conversation instead of opening another (see ``name_locks``).
        hold(self.session, self._names_of(inbound, ticket))
        if inbound.provider_id is not None and self.already_received(inbound.provider_id):
            return None
        now = self.clock.now()
        body = plain_body(inbound.body)
        conversation = self._conversation_for(inbound, ticket, body, now)
        keyword = keyword_of(body) if inbound.channel != "web" else None
        if inbound.opt is not None and keyword != "cancel":
            # STOP and START are the provider's words; CANCEL is both theirs and ours: the
            # number is opted out (the provider enforces it) and the patient leaves the queue.
            keyword = inbound.opt
        message = self._add(conversation, INBOUND, inbound.channel, body, MESSAGE_RECEIVED, PATIENT_AUTHOR, now)
        message.provider_id = inbound.provider_id
        conversation.unread += 1
        conversation.status = CONVERSATION_OPEN
        acted = keyword in KEYWORDS and self._act_on(keyword, conversation, now)
        answered = None if acted else self._answer_appointment(conversation, inbound, body, now)
        if acted:
            message.keyword = keyword
        elif answered is not None:
            message.keyword = answered
        elif inbound.opt is not None:
            message.keyword = inbound.opt
        elif not is_open(self.settings.hours, self.settings.inbox.holidays, now):
            self._answer_after_hours(conversation, now)
        return message

    def already_received(self, provider_id: str) -> bool:
        """Is a message with this provider id filed already (a webhook delivered twice)?"""
        found = self.session.scalar(
            select(ConversationMessage.id).where(ConversationMessage.provider_id == provider_id)
        )
        return found is not None

    @staticmethod
    def _names_of(inbound: Inbound, ticket: Ticket | None) -> list[str]:
        """What a conversation is found by: the ticket, the number, the chat."""
        names = [f"ticket:{ticket.id}"] if ticket is not None else []
        if inbound.phone:
            names.append(f"phone:{inbound.phone}")
        if inbound.chat_id:
            names.append(f"telegram:{inbound.chat_id}")
        return names

    def _open_ticket_of(self, inbound: Inbound) -> Ticket | None:
        """Today's open ticket of the number or chat that wrote, the newest if several."""
        if inbound.phone:
            match = Ticket.phone == inbound.phone
        elif inbound.chat_id:
            match = Ticket.telegram_chat_id == inbound.chat_id
        else:
            return None
        return self.session.scalar(
            select(Ticket)
            .where(match, Ticket.status.in_(OPEN_STATUSES), Ticket.clinic_day == self.queue.clinic_day())
            .order_by(Ticket.id.desc())
            .limit(1)
        )

    def _conversation_for(self, inbound: Inbound, ticket: Ticket | None, body: str, now: datetime) -> Conversation:
        """The ticket's conversation, else the contact's latest one still open to it, else a new one."""
        found = None
        if ticket is not None:
            found = self.session.scalar(
                select(Conversation)
                .where(Conversation.ticket_id == ticket.id)
                .order_by(Conversation.id.desc())
                .limit(1)
            )
        if found is None and (inbound.phone or inbound.chat_id):
            contact = (
                Conversation.phone == inbound.phone
                if inbound.phone
                else Conversation.telegram_chat_id == inbound.chat_id
            )
            latest = self.session.scalar(
                select(Conversation)
                .where(contact, Conversation.erased_at.is_(None))
                .order_by(Conversation.id.desc())
                .limit(1)
            )
            # A thread about another visit stays that visit's: a new ticket starts its own.
            if latest is not None and (ticket is None or latest.ticket_id in (None, ticket.id)):
                found = latest
        if found is None:
            language = inbound.language or (
                ticket.language
                if ticket is not None
                else guess_language(body, self.settings.languages, self.settings.default_language)
            )
            found = Conversation(
                channel=inbound.channel,
                language=language,
                status=CONVERSATION_OPEN,
                unread=0,
                preview="",
                created_at=now,
                last_message_at=now,
                callback=False,
            )
            self.session.add(found)
        found.channel = inbound.channel
        found.phone = inbound.phone or found.phone
        found.telegram_chat_id = inbound.chat_id or found.telegram_chat_id
        if ticket is not None:
            found.ticket_id = ticket.id
            found.ticket = ticket
        if inbound.callback:
            found.callback = True
            found.preferred_time = inbound.preferred_time
        return found

    def _act_on(self, keyword: str, conversation: Conversation, now: datetime) -> bool:
        """Do what the keyword asks of the linked ticket and answer; False when it cannot apply."""
        ticket = conversation.ticket
        if ticket is None or ticket.status != WAITING:
            # Nothing to be late for (or already called): a person answers.
            return False
        if keyword == "late":
            if not ticket.late:
                self.queue.mark_late(ticket)
        elif keyword == "here":
            self.queue.mark_here(ticket)
        else:
            self.queue.leave(ticket)
        facts = {
            "clinic": self.settings.clinic_name,
            "number": ticket.number,
            "hold": str(self.settings.inbox.late_hold_minutes),
        }
        self._send(conversation, texts.keyword_reply(keyword, conversation.language, facts), AUTO, now)
        return True

    def _answer_appointment(self, conversation: Conversation, inbound: Inbound, body: str, now: datetime) -> str | None:
        """A text answering an appointment reminder: confirm or cancel it and say so.

        Only a text: reminders go out by text (SMS, AlimTalk), and a reply is the number's.
        A patient waiting in today's queue meant the ticket by "cancel" (``_act_on`` has
        taken it already); otherwise the number's next appointment is meant.  The keyword
        returned (``confirm``, ``unbook``) is what the inbox shows.
        """
        if inbound.channel != "sms" or not inbound.phone:
            return None
        appointment = Appointments(self.queue.session, self.clock, self.settings, self.base_url).answer_by_reply(
            inbound.phone, body
        )
        if appointment is None:
            return None
        self.appointments_changed.append(appointment)
        when = opening_text(appointment.starts_at.astimezone(self.settings.timezone), conversation.language)
        facts = {"clinic": self.settings.clinic_name, "when": when}
        self._send(conversation, texts.appointment_reply(appointment.status, conversation.language, facts), AUTO, now)
        return "confirm" if appointment.status == CONFIRMED else "unbook"

    def _answer_after_hours(self, conversation: Conversation, now: datetime) -> None:
        """Say when the clinic will answer: once per contact per clinic day."""
        day = self.queue.clinic_day(now)
        if conversation.after_hours_replied_on == day:
            return
        conversation.after_hours_replied_on = day
        inbox = self.settings.inbox
        language = conversation.language
        opens = next_opening(self.settings.hours, inbox.holidays, now).astimezone(self.settings.timezone)
        booking = ""
        if inbox.booking_url:
            booking = texts.BOOKING_LINE.get(language, texts.BOOKING_LINE["en"]).format(url=inbox.booking_url)
        template = inbox.after_hours_reply.get(language) or inbox.after_hours_reply["en"]
        text = template.format_map(
            {"clinic": self.settings.clinic_name, "opens": opening_text(opens, language), "booking": booking}
        )
        self._send(conversation, text, AUTO, now)

    # -- staff -----------------------------------------------------------------------------------

    def reply(
        self, conversation_id: int, actor: Actor, *, body: str | None = None, template: str | None = None
    ) -> ConversationMessage:
        """Staff answer: on the channel the patient last wrote on (see :meth:`_send`)."""
        conversation = self.conversation(conversation_id)
        if template is not None:
            texts_by_language = self.templates().get(template)
            if texts_by_language is None:
                raise NotFound(f"unknown template {template!r}", field="template")
            body = texts_by_language.get(conversation.language) or next(iter(texts_by_language.values()))
        text = plain_body(body or "")
        if not text:
            raise InvalidInput("the reply is empty", field="body")
        message = self._send(conversation, text, str(actor), self.clock.now())
        # Whoever answers has read what they answered.
        conversation.unread = 0
        return message

    def read(self, conversation_id: int) -> Conversation:
        """Staff read the conversation: its unread count goes to 0 on every console."""
        conversation = self.conversation(conversation_id)
        conversation.unread = 0
        return self._touch(conversation)

    def assign(self, conversation_id: int, user: str | None) -> Conversation:
        """Give the conversation to a colleague (None: to nobody)."""
        conversation = self.conversation(conversation_id)
        conversation.assigned_to = user
        return self._touch(conversation)

    def close(self, conversation_id: int) -> Conversation:
        """Done: off the open list (a new message from the patient opens it again)."""
        return self._set_status(conversation_id, CONVERSATION_CLOSED)

    def reopen(self, conversation_id: int) -> Conversation:
        """Back on the open list."""
        return self._set_status(conversation_id, CONVERSATION_OPEN)

    def _set_status(self, conversation_id: int, status: str) -> Conversation:
        conversation = self.conversation(conversation_id)
        if conversation.status == status:
            raise IllegalTransition(f"the conversation is already {status}", field="status")
        conversation.status = status
        return self._touch(conversation)

    # -- the phone page ------------------------------------------------------------------------

    def seen_on_page(self, ticket: Ticket, up_to: int) -> int:
        """The ticket's page showed the clinic's answers up to message ``up_to``; how many were new.

        Several server processes, each with its own sockets, cannot know whether some page is
        open: the page says what it showed, and a relay (``Outbox.relay_answer``) whose
        answers have all been shown is not sent.  Only a relay still waiting is cancelled
        (compare-and-set): one the dispatcher has begun to send goes out.
        """
        now = self.clock.now()
        answers = list(
            self.session.scalars(
                select(ConversationMessage)
                .join(Conversation, ConversationMessage.conversation_id == Conversation.id)
                .where(
                    Conversation.ticket_id == ticket.id,
                    ConversationMessage.direction == OUTBOUND,
                    ConversationMessage.channel == "page",
                    ConversationMessage.seen_at.is_(None),
                    ConversationMessage.id <= up_to,
                )
                .order_by(ConversationMessage.id)
            )
        )
        for answer in answers:
            answer.seen_at = now
        self.session.flush()
        for relay_id in {a.relay_id for a in answers if a.relay_id is not None}:
            unseen = self.session.scalar(
                select(func.count())
                .select_from(ConversationMessage)
                .where(ConversationMessage.relay_id == relay_id, ConversationMessage.seen_at.is_(None))
            )
            if not unseen:
                self.session.execute(
                    update(Message)
                    .where(Message.id == relay_id, Message.status == MESSAGE_QUEUED)
                    .values(status=MESSAGE_SKIPPED, last_error=SEEN_ON_PAGE)
                    .execution_options(synchronize_session=False)
                )
        for answer in answers:
            self.session.refresh(answer)  # its relay as it is now, for the consoles
            conversation = self.session.get(Conversation, answer.conversation_id)
            self.moved.append((conversation, answer))
        return len(answers)

    # -- retention -------------------------------------------------------------------------------

    def erase_older_than(self, retention_days: int) -> int:
        """Erase bodies and contacts of conversations silent past the retention limit; how many."""
        day_start = datetime.combine(self.queue.clinic_day(), datetime.min.time(), tzinfo=self.settings.timezone)
        cutoff = day_start - timedelta(days=retention_days)
        old = select(Conversation.id).where(Conversation.last_message_at < cutoff, Conversation.erased_at.is_(None))
        ids = list(self.session.scalars(old))
        if not ids:
            return 0
        self.session.execute(
            update(ConversationMessage)
            .where(ConversationMessage.conversation_id.in_(ids))
            .values(body="", provider_id=None)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(
            update(Conversation)
            .where(Conversation.id.in_(ids))
            .values(phone=None, telegram_chat_id=None, preview="", preferred_time=None, erased_at=self.clock.now())
            .execution_options(synchronize_session=False)
        )
        return len(ids)

    # -- writing ---------------------------------------------------------------------------------

    def _send(self, conversation: Conversation, text: str, author: str, now: datetime) -> ConversationMessage:
        """Write an answer where the patient will see it.

        The phone page: there at once (the ``message`` event).  SMS and Telegram: queued for
        the dispatcher's loop.  A website contact is answered by SMS to the number they gave.
        Where no channel can take it (the clinic has no SMS, the number said STOP), the
        answer is kept ``failed`` with the reason, so staff know to phone.
        """
        channel = conversation.channel if conversation.channel != "web" else "sms"
        message = self._add(conversation, OUTBOUND, channel, text, MESSAGE_QUEUED, author, now)
        problem = self._cannot_send(conversation, channel, now)
        if channel == "page":
            message.status = MESSAGE_SENT
            if conversation.ticket_id is not None:
                self.to_tickets.append((conversation.ticket_id, message))
                if author != AUTO and conversation.ticket is not None:
                    # Staff wrote it and the page may be closed (see ``seen_on_page``);
                    # an automatic answer replies to what the page has just sent.
                    self.page_answers.append((conversation.ticket, message))
        elif problem is not None:
            message.status = MESSAGE_FAILED
            message.last_error = problem
        else:
            message.next_attempt_at = now
            self.outgoing += 1
        return message

    def _cannot_send(self, conversation: Conversation, channel: str, now: datetime) -> str | None:
        if channel == "page":
            return None
        if channel not in self.channels:
            return f"this clinic does not send {channel} messages: please phone the patient"
        if channel == "sms":
            if not conversation.phone:
                return "no phone number to answer"
            stopped = self.session.scalar(
                select(OptOut.phone).where(OptOut.phone == conversation.phone, OptOut.channel == "sms", in_force(now))
            )
            if stopped is not None:
                return "the number replied STOP: please phone the patient"
        if channel == "telegram" and not conversation.telegram_chat_id:
            return "no Telegram chat to answer"
        return None

    def _add(
        self, conversation: Conversation, direction: str, channel: str, body: str, status: str, author: str, now
    ) -> ConversationMessage:
        message = ConversationMessage(
            direction=direction,
            channel=channel,
            body=body,
            created_at=now,
            status=status,
            author=author,
            attempts=0,
        )
        if conversation.id is None:
            self.session.flush()
        message.conversation_id = conversation.id
        self.session.add(message)
        self.session.flush()
        conversation.last_message_at = now
        conversation.preview = " ".join(body.split())[:PREVIEW_CHARACTERS]
        self.newest[conversation.id] = message
        self._touch(conversation)
        return message

    def _touch(self, conversation: Conversation) -> Conversation:
        if conversation not in self.touched:
            self.touched.append(conversation)
        return conversation
