"""The inbox's domain: patients write, keywords act on the queue, staff answer, late patients wait.

Driven through the clinic's door (``Clinic.converse``) with a publisher that records what
staff consoles and phone pages would have been sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from queue_app import create_app
from queue_app.clinic import Clinic
from queue_app.conversations import CUT_NOTE, MAX_BODY, Inbound, keyword_of
from queue_app.extensions import db
from queue_app.models import ConversationMessage, Ticket
from queue_app.queue import Actor

from .conftest import SEOUL, make_settings, prepare_database
from .support.publisher import RecordingPublisher

STAFF = Actor("staff", "kim")
KIOSK = Actor("kiosk", "lobby")
BASE = "https://q.hanbit.example"
XSS = '<img src=x onerror="alert(1)"><script>alert(document.cookie)</script>&amp;'


class Reception:
    """The clinic's door on a fresh database, with what it published recorded."""

    def __init__(self, settings, clock) -> None:
        self.app = create_app(settings, clock=clock)
        rt = self.app.extensions["queue_app"]
        self.settings, self.clock = settings, clock
        self.publisher = RecordingPublisher(settings)
        self.engine = db.engine
        self.clinic = Clinic(
            settings, rt.board, rt.outbox, clock, self.publisher, lambda: Session(self.engine, expire_on_commit=False)
        )

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def change(self, act, **kwargs):
        with self.session() as session:
            return self.clinic.change(session, BASE, act, **kwargs)

    def converse(self, act):
        with self.session() as session:
            return self.clinic.converse(session, BASE, act)

    def check_in(self, phone=None, language="ko") -> Ticket:
        return self.change(
            lambda q: q.check_in("general", language=language, actor=KIOSK, phone=phone, consent=bool(phone))[0]
        ).result

    def call_next(self, room="room1") -> str | None:
        called = self.change(lambda q: q.call_next(room, STAFF), announce=True).result
        return called.number if called is not None else None

    def finish(self, room="room1") -> None:
        with self.session() as session:
            ticket_id = session.scalar(
                __import__("sqlalchemy").select(Ticket.id).where(Ticket.room_id == room, Ticket.status == "called")
            )
        self.change(lambda q: q.finish(ticket_id, STAFF))

    def write_from_page(self, ticket: Ticket, body: str):
        def act(inbox):
            fresh = inbox.session.get(Ticket, ticket.id)
            return inbox.receive(Inbound("page", body, ticket=fresh))

        return self.converse(act)

    def ticket(self, ticket_id: int) -> Ticket:
        with self.session() as session:
            return session.get(Ticket, ticket_id)


@pytest.fixture
def reception(tmp_path, clock):
    settings = make_settings(f"sqlite:///{tmp_path / 'inbox.db'}", queue={"late_hold_minutes": 15})
    prepare_database(settings)
    yield Reception(settings, clock)
    db.session.remove()
    db.engine.dispose()


def thread(reception, conversation_id):
    with reception.session() as session:
        return [
            (m.direction, m.author, m.body, m.status, m.keyword)
            for m in session.scalars(
                __import__("sqlalchemy")
                .select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.id)
            )
        ]


def test_a_message_from_the_phone_page_reaches_every_staff_console_unread(reception):
    ticket = reception.check_in()
    message = reception.write_from_page(ticket, "주차는 어디에 하나요?")
    event = reception.publisher.inbox_events[-1]
    assert event["conversation"]["ticket"] == {"id": ticket.id, "number": ticket.number, "status": "waiting"}
    assert event["conversation"]["unread"] == 1
    assert event["conversation"]["channel"] == "page"
    assert event["conversation"]["preview"] == "주차는 어디에 하나요?"
    assert event["message"]["body"] == "주차는 어디에 하나요?"
    assert event["unread_total"] == 1
    # A second message in the same thread: the same conversation, two unread.
    reception.write_from_page(ticket, "그리고 화장실은요?")
    again = reception.publisher.inbox_events[-1]
    assert again["conversation"]["id"] == message.conversation_id
    assert again["unread_total"] == 2


def test_staff_reply_to_the_phone_page_appears_there_at_once(reception):
    ticket = reception.check_in()
    message = reception.write_from_page(ticket, "How long is the wait?")
    answer = reception.converse(lambda inbox: inbox.reply(message.conversation_id, STAFF, body="About 20 minutes."))
    assert answer.status == "sent" and answer.author == "staff:kim"
    ticket_id, shown = reception.publisher.ticket_messages[-1]
    assert ticket_id == ticket.id
    assert shown["from"] == "clinic" and shown["body"] == "About 20 minutes."
    assert "author" not in shown  # the patient does not see who at the desk wrote
    # Whoever answered has read the thread: the badge is down on every console.
    assert reception.publisher.inbox_events[-1]["unread_total"] == 0


def test_read_assign_close_and_reopen_are_seen_by_every_console(reception):
    ticket = reception.check_in()
    conversation_id = reception.write_from_page(ticket, "hello").conversation_id
    reception.converse(lambda inbox: inbox.read(conversation_id))
    assert reception.publisher.inbox_events[-1]["unread_total"] == 0
    reception.converse(lambda inbox: inbox.assign(conversation_id, "kim"))
    assert reception.publisher.inbox_events[-1]["conversation"]["assigned_to"] == "kim"
    reception.converse(lambda inbox: inbox.close(conversation_id))
    assert reception.publisher.inbox_events[-1]["conversation"]["status"] == "closed"
    # The patient writes again: the conversation is open again, one unread.
    reception.write_from_page(ticket, "one more thing")
    row = reception.publisher.inbox_events[-1]["conversation"]
    assert (row["id"], row["status"], row["unread"]) == (conversation_id, "open", 1)


def test_a_long_body_is_cut_with_a_note_and_markup_is_kept_as_text(reception):
    ticket = reception.check_in()
    long = reception.write_from_page(ticket, "가" * (MAX_BODY + 500))
    assert long.body == "가" * MAX_BODY + CUT_NOTE
    hostile = reception.write_from_page(ticket, XSS)
    assert hostile.body == XSS  # stored verbatim: the screens set it as text, nothing escapes or strips it
    assert reception.publisher.inbox_events[-1]["message"]["body"] == XSS


@pytest.mark.parametrize(
    ("words", "keyword"),
    [
        ("늦어요", "late"),
        ("늦을 것 같아요", "late"),
        ("  Running   LATE!  ", "late"),
        ("опаздываю", "late"),
        ("도착", "here"),
        ("왔어요", "here"),
        ("I'm here", "here"),
        ("Пришёл", "here"),
        ("пришла", "here"),
        ("취소", "cancel"),
        ("CANCEL", "cancel"),
        ("Отмена.", "cancel"),
        ("I will be late because the bus broke down", None),
        ("here is my question", None),
    ],
)
def test_keywords_are_understood_in_three_languages_whatever_the_case_and_spacing(words, keyword):
    assert keyword_of(words) == keyword


@pytest.mark.parametrize(
    ("language", "late", "here", "late_reply", "here_reply"),
    [
        ("ko", "늦을 것 같아요", "도착했어요", "15분 동안 맨 앞 순서", "도착 확인했습니다"),
        ("en", "running late", "I'm here", "front of the line for you for 15 minutes", "noted that you are here"),
        ("ru", "Опаздываю", "Я пришла", "на 15 мин", "отметили, что вы на месте"),
    ],
)
def test_late_and_here_change_the_ticket_and_are_answered_in_the_patients_language(
    reception, language, late, here, late_reply, here_reply
):
    ticket = reception.check_in(language=language)
    conversation_id = reception.write_from_page(ticket, late).conversation_id
    assert reception.ticket(ticket.id).late is True
    # Staff see the change in the queue too.
    staff_row = reception.publisher.changes[-1].staff["waiting"][0]
    assert staff_row["late"] is True
    reception.write_from_page(ticket, here)
    assert reception.ticket(ticket.id).late is False
    messages = thread(reception, conversation_id)
    assert [(d, a, k) for d, a, _b, _s, k in messages] == [
        ("in", "patient", "late"),
        ("out", "auto", None),
        ("in", "patient", "here"),
        ("out", "auto", None),
    ]
    assert late_reply in messages[1][2] and ticket.number in messages[1][2]
    assert here_reply in messages[3][2]
    # The phone page shows the answers at once.
    assert [m["from"] for _t, m in reception.publisher.ticket_messages] == ["clinic", "clinic"]


@pytest.mark.parametrize(
    ("language", "word", "reply"),
    [
        ("ko", "취소", "다시 접수하시려면"),
        ("en", "cancel", "To check in again"),
        ("ru", "отмена", "Чтобы встать в очередь снова"),
    ],
)
def test_cancel_leaves_the_queue_and_says_how_to_check_in_again(reception, language, word, reply):
    ticket = reception.check_in(language=language)
    conversation_id = reception.write_from_page(ticket, word).conversation_id
    assert reception.ticket(ticket.id).status == "left"
    assert reply in thread(reception, conversation_id)[-1][2]


def test_a_keyword_from_a_patient_already_called_is_a_message_for_staff(reception):
    ticket = reception.check_in()
    reception.call_next()
    conversation_id = reception.write_from_page(ticket, "late").conversation_id
    assert thread(reception, conversation_id) == [("in", "patient", "late", "received", None)]
    assert reception.ticket(ticket.id).late is False


def test_a_late_patient_is_passed_over_keeps_the_front_for_the_hold_then_normal_order(reception, clock):
    late = reception.check_in()
    second, third, fourth = reception.check_in(), reception.check_in(), reception.check_in()
    reception.write_from_page(late, "늦어요")
    # Their turn: the room calls the next patient instead.
    assert reception.call_next() == second.number
    assert reception.ticket(late.id).held_until == clock.now() + timedelta(minutes=15)
    # Within the hold they keep the front: here, and they are the next called.
    clock.advance(minutes=10)
    reception.finish()
    reception.write_from_page(late, "도착")
    assert reception.call_next() == late.number
    assert [third.number, fourth.number] == [
        t.number for t in reception.clinic.snapshot(reception.session()).state.lines["general"]
    ]


def test_a_late_patient_who_comes_after_the_hold_takes_their_place_from_its_end(reception, clock):
    late = reception.check_in()
    second = reception.check_in()
    reception.write_from_page(late, "late")
    assert reception.call_next() == second.number
    clock.advance(minutes=20)  # the hold (15 min) ran out
    after_hold = reception.check_in()  # checked in after the hold ended: behind the late patient
    reception.finish()
    # Still late: passed over again, nobody else waits but one who came later.
    assert reception.call_next() == after_hold.number
    reception.finish()
    reception.write_from_page(late, "here")
    assert reception.call_next() == late.number


def test_the_board_shows_the_line_in_the_order_rooms_call_it(reception, clock):
    late = reception.check_in()
    second = reception.check_in()
    clock.advance(minutes=5)
    third = reception.check_in()  # 10:05
    reception.write_from_page(late, "late")
    clock.advance(minutes=1)
    assert reception.call_next() == second.number  # 10:06: late is passed over, held until 10:21

    def line():
        return [t.number for t in reception.clinic.snapshot(reception.session()).state.lines["general"]]

    clock.advance(minutes=10)  # 10:16: within the hold they keep the front
    assert line() == [late.number, third.number]
    clock.advance(minutes=6)  # 10:22: the hold is over; their place counts from 10:21
    fourth = reception.check_in()
    assert line() == [third.number, late.number, fourth.number]
    reception.write_from_page(late, "here")
    reception.finish()
    # The room calls in the order the board shows.
    assert [reception.call_next(), reception.finish(), reception.call_next()][::2] == [third.number, late.number]


def test_after_hours_a_message_is_answered_once_per_clinic_day_and_still_lands_in_the_inbox(reception, clock):
    ticket = reception.check_in()
    clock.set(datetime(2026, 11, 23, 19, 30, tzinfo=SEOUL))  # closed since 18:00
    first = reception.write_from_page(ticket, "내일 몇 시에 여나요?")
    reception.write_from_page(ticket, "답장 부탁드려요")
    answers = [m for m in thread(reception, first.conversation_id) if m[0] == "out"]
    assert len(answers) == 1
    assert "11월 24일 09:00" in answers[0][2]
    assert reception.publisher.inbox_events[-1]["conversation"]["unread"] == 2
    # The next evening is another clinic day: one more answer.
    clock.set(datetime(2026, 11, 24, 20, 0, tzinfo=SEOUL))
    reception.write_from_page(ticket, "또 질문이 있어요")
    assert len([m for m in thread(reception, first.conversation_id) if m[0] == "out"]) == 2


def test_during_opening_hours_nobody_is_answered_automatically(reception):
    ticket = reception.check_in()
    message = reception.write_from_page(ticket, "질문이 있어요")
    assert [m[0] for m in thread(reception, message.conversation_id)] == ["in"]


@pytest.mark.parametrize(
    ("section", "values", "key"),
    [
        ("hours", {"holidays": ["25 December"]}, "[hours] holidays[0]"),
        ("queue", {"late_hold_minutes": -1}, "[queue] late_hold_minutes"),
        ("inbox", {"booking_url": "clinic.example"}, "[inbox] booking_url"),
        ("inbox", {"widget_origins": ["https://clinic.example/page"]}, "[inbox] widget_origins[0]"),
        ("inbox", {"after_hours_reply": {"fr": "fermé"}}, "[inbox] after_hours_reply.fr"),
        ("inbox", {"templates": {"Bad Id": {"en": "x"}}}, "[inbox.templates.Bad Id]"),
        ("inbox", {"templates": {"ok": {"en": ""}}}, "[inbox.templates.ok].en"),
        ("inbox", {"contact_per_address_per_hour": 0}, "[inbox] contact_per_address_per_hour"),
    ],
)
def test_bad_inbox_configuration_stops_the_start_naming_the_key(tmp_path, section, values, key):
    from queue_app.config import ConfigError

    with pytest.raises(ConfigError) as error:
        make_settings(f"sqlite:///{tmp_path / 'x.db'}", **{section: values})
    assert error.value.key == key


def test_retention_erases_old_conversations_bodies_and_contacts_and_keeps_recent_ones(reception, clock):
    from sqlalchemy import select

    from queue_app.models import Conversation

    def sms_from(phone, body, sid):
        return reception.converse(lambda inbox: inbox.receive(Inbound("sms", body, phone=phone, provider_id=sid)))

    old = sms_from("+821011110000", "제 이름은 김민수, 생년월일 1980-01-01", "twilio:SM1")
    clock.advance(days=20)
    recent = sms_from("+821022220000", "recent question", "twilio:SM2")
    clock.advance(days=11)  # the first is now 31 days old, past the 30-day limit
    erased = reception.converse(lambda inbox: inbox.erase_older_than(30))
    assert erased == 1
    with reception.session() as session:
        gone = session.get(Conversation, old.conversation_id)
        assert (gone.phone, gone.preview, gone.erased_at) == (None, "", clock.now())
        assert [
            m.body
            for m in session.scalars(select(ConversationMessage).where(ConversationMessage.conversation_id == gone.id))
        ] == [""]
        kept = session.get(Conversation, recent.conversation_id)
        assert kept.phone == "+821022220000" and kept.preview == "recent question"
    # Once erased, not again; a new message from the erased number starts a new conversation.
    assert reception.converse(lambda inbox: inbox.erase_older_than(30)) == 0
    again = sms_from("+821011110000", "hello again", "twilio:SM3")
    assert again.conversation_id != old.conversation_id


def test_expire_day_erases_conversations_past_the_retention_limit(tmp_path):
    from sqlalchemy import select

    from queue_app.clock import ManualClock
    from queue_app.config import EXAMPLE_CONFIG, load_settings
    from queue_app.conversations import Inbox
    from queue_app.models import Conversation
    from queue_app.queue import ClinicQueue

    from .test_cli import engine_of, run

    run(tmp_path, "db", "upgrade")
    settings = load_settings(EXAMPLE_CONFIG, environ={})
    long_ago = ManualClock(datetime.now(SEOUL) - timedelta(days=45))
    with Session(engine_of(tmp_path)) as session:
        inbox = Inbox(ClinicQueue(session, long_ago, SEOUL), settings)
        inbox.receive(Inbound("sms", "my old question", phone="+821033330000", provider_id="twilio:SMold"))
        session.commit()
    output = run(tmp_path, "expire-day").stdout
    assert "erased the messages and contacts of 1 conversation(s)" in output
    with Session(engine_of(tmp_path)) as session:
        conversation = session.scalar(select(Conversation))
        assert conversation.phone is None and conversation.erased_at is not None
        assert session.scalar(select(ConversationMessage.body)) == ""


def test_the_late_hold_orders_calls_the_same_on_postgresql(postgres_url, clock):
    settings = make_settings(postgres_url)
    prepare_database(settings)
    reception = Reception(settings, clock)
    try:
        late, second, third = reception.check_in(), reception.check_in(), reception.check_in()
        reception.write_from_page(late, "running late")
        assert reception.call_next() == second.number
        clock.advance(minutes=5)
        reception.finish()
        reception.write_from_page(late, "I'm here")
        assert reception.call_next() == late.number
        reception.finish()
        assert reception.call_next() == third.number
    finally:
        db.session.remove()
        db.engine.dispose()
