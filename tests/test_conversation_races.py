"""Patients writing at the same instant, on SQLite and on PostgreSQL.

A number that never wrote before sends several messages at once (a patient who taps send
twice, a provider that delivers a burst in parallel): they must land in one conversation,
not one each.  Each round is a new number, four deliveries released together by a barrier.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.conversations import Inbound
from queue_app.extensions import db
from queue_app.models import Conversation, ConversationMessage

from .conftest import make_settings, prepare_database
from .support.at_once import at_once
from .test_conversations import Reception

DELIVERIES = 4
ROUNDS = 3


def inbound(channel: str, round_: int, delivery: int) -> Inbound:
    body = f"안녕하세요, 질문이 있어요 ({delivery})"
    provider_id = f"{channel}:{round_}-{delivery}"
    if channel == "sms":
        return Inbound("sms", body, phone=f"+8210555{round_:04d}", provider_id=provider_id)
    return Inbound("telegram", body, chat_id=str(9000 + round_), provider_id=provider_id)


def write_at_once(reception: Reception, channel: str, round_: int) -> None:
    def deliver(delivery: int, wait) -> None:
        message = inbound(channel, round_, delivery)
        wait()
        reception.converse(lambda inbox: inbox.receive(message))

    at_once(DELIVERIES, deliver, timeout=30)


@pytest.mark.parametrize("channel", ["sms", "telegram"])
def test_a_new_number_writing_several_times_at_once_opens_one_conversation(any_database_url, clock, channel):
    settings = make_settings(any_database_url)
    prepare_database(settings)
    reception = Reception(settings, clock)
    try:
        for round_ in range(ROUNDS):
            write_at_once(reception, channel, round_)
        with reception.session() as session:
            conversations = session.scalars(select(Conversation).order_by(Conversation.id)).all()
            per_conversation = dict(
                session.execute(
                    select(ConversationMessage.conversation_id, func.count()).group_by(
                        ConversationMessage.conversation_id
                    )
                ).all()
            )
        # One conversation per number, holding all four messages, all four unread.
        assert len(conversations) == ROUNDS
        assert [per_conversation[c.id] for c in conversations] == [DELIVERIES] * ROUNDS
        assert [c.unread for c in conversations] == [DELIVERIES] * ROUNDS
    finally:
        db.session.remove()
        db.engine.dispose()
