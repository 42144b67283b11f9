"""The demo channel: every patient is reachable (the demo phone is a page), every message is
delivered at once, with its own id as the provider's."""

from __future__ import annotations

import pytest

from queue_app.notify.channels import DemoChannel, build_channel
from queue_app.notify.channels.base import Recipient


@pytest.mark.parametrize(
    "recipient",
    [Recipient(), Recipient(phone="+821012345678"), Recipient(email="patient@example.org")],
    ids=["nothing given", "phone", "email"],
)
def test_the_demo_phone_reaches_every_patient(recipient):
    assert build_channel("demo", {}).can_reach(recipient) is True


def test_a_message_is_delivered_at_once_under_its_own_id(make_message):
    channel = build_channel("demo_phone", {"type": "demo"})
    assert isinstance(channel, DemoChannel) and channel.name == "demo_phone"
    result = channel.send(make_message(id="msg-1"))
    assert result.delivered is True
    assert result.provider_id == "msg-1"
