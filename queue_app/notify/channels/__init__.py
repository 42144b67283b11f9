"""Messaging channel adapters behind one interface (see :mod:`.base`).

``CHANNELS`` maps a channel name (the ``<name>`` of a config section ``[channels.<name>]``)
to its adapter class; :func:`build_channel` makes one from that section.  A section may name
its adapter with ``type = "<name>"``, so two sections can use the same adapter (e.g. a
second SMS account under ``[channels.sms_backup]`` with ``type = "sms"``).
"""

from __future__ import annotations

from .alimtalk import AlimTalkChannel
from .base import (
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelError,
    ChannelMisconfigured,
    OutgoingMessage,
    Recipient,
    SendResult,
    TemporaryFailure,
)
from .demo import DemoChannel
from .email import EmailChannel
from .sms import TwilioSmsChannel
from .telegram import TelegramChannel
from .webhook import WebhookChannel
from .webpush import WebPushChannel

CHANNELS: dict[str, type[Channel]] = {
    "webpush": WebPushChannel,
    "alimtalk": AlimTalkChannel,
    "sms": TwilioSmsChannel,
    "telegram": TelegramChannel,
    "email": EmailChannel,
    "webhook": WebhookChannel,
    "demo": DemoChannel,
}


def build_channel(name: str, settings: dict) -> Channel:
    """The adapter for config section ``[channels.<name>]``.

    Raises ``ChannelConfigError`` (a ValueError) for an unknown channel type or a missing
    or invalid setting.  The instance's ``name`` is the section name.
    """
    settings = dict(settings or {})
    kind = str(settings.pop("type", name))
    try:
        cls = CHANNELS[kind]
    except KeyError:
        known = ", ".join(sorted(CHANNELS))
        raise ChannelConfigError(f"unknown channel type {kind!r} (known: {known})") from None
    channel = cls(settings)
    if name != cls.name:
        channel.name = name  # type: ignore[misc]  # instance attribute shadows the class one
    return channel


__all__ = [
    "CHANNELS",
    "AlimTalkChannel",
    "CannotReach",
    "Channel",
    "ChannelConfigError",
    "ChannelError",
    "ChannelMisconfigured",
    "DemoChannel",
    "EmailChannel",
    "OutgoingMessage",
    "Recipient",
    "SendResult",
    "TelegramChannel",
    "TemporaryFailure",
    "TwilioSmsChannel",
    "WebPushChannel",
    "WebhookChannel",
    "build_channel",
]
