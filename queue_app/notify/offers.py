"""What a patient's phone page may offer to reach them away from it, decided in one place.

The page shows a "Notify me" button, a Telegram link, "text me instead" and the lead-time
choice only when the clinic can keep the promise: a channel is offered only when it is
enabled and (for texts) in the order the notifier tries.  The API's endpoints ask the same
questions, so the page never offers what the server would then refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..models import Ticket
from .channels import AlimTalkChannel, Channel, TelegramChannel, TwilioSmsChannel, WebPushChannel
from .settings import LEAD_CHOICES, NotifySettings

#: The channel names the patient endpoints use (``/push``, ``/telegram``): one section each.
WEBPUSH, TELEGRAM = "webpush", "telegram"


def push_channel(channels: Mapping[str, Channel]) -> WebPushChannel | None:
    """The clinic's web push channel, or None."""
    channel = channels.get(WEBPUSH)
    return channel if isinstance(channel, WebPushChannel) else None


def telegram_bot(channels: Mapping[str, Channel]) -> str | None:
    """The username of the clinic's Telegram bot (for the ``t.me`` link), or None."""
    channel = channels.get(TELEGRAM)
    if not isinstance(channel, TelegramChannel):
        return None
    return channel.settings.get("bot_username") or None


def texting_channels(notify: NotifySettings, channels: Mapping[str, Channel]) -> list[str]:
    """The SMS and AlimTalk channels the notifier tries, in its order.

    A channel switched on but left out of ``[notify] channels`` never texts a patient, so a
    number given for it would be kept for nothing.
    """
    return [name for name in notify.order if isinstance(channels.get(name), (TwilioSmsChannel, AlimTalkChannel))]


def can_take_phone(notify: NotifySettings, channels: Mapping[str, Channel], ticket: Ticket) -> bool:
    """May this patient still leave a number for texts?  Only once, and only if texts go out."""
    return ticket.phone is None and bool(texting_channels(notify, channels))


def default_lead_minutes(notify: NotifySettings, service_id: str) -> int:
    """The lead time a patient gets without choosing: the service's ``near_minutes``."""
    return round(notify.threshold(service_id).minutes)


@dataclass(frozen=True)
class PageOffers:
    """What the phone page shows; ``as_json`` goes into the page's data island."""

    push_key: str | None
    telegram: bool
    text: bool
    subscribed: bool
    lead_choices: tuple[int, ...]
    lead_default: int
    lead_minutes: int | None
    #: Any channel at all: without one the lead time changes nothing, so it is not asked.
    any_channel: bool

    def as_json(self) -> dict:
        return {
            "push": self.push_key,
            "telegram": self.telegram,
            "text": self.text,
            "subscribed": self.subscribed,
            "lead": {"choices": list(self.lead_choices), "default": self.lead_default, "minutes": self.lead_minutes},
            "any_channel": self.any_channel,
        }


def page_offers(notify: NotifySettings, channels: Mapping[str, Channel], ticket: Ticket) -> PageOffers:
    """What the phone page of ``ticket`` offers, given the clinic's channels."""
    push = push_channel(channels)
    return PageOffers(
        push_key=push.public_key if push is not None else None,
        telegram=telegram_bot(channels) is not None,
        text=can_take_phone(notify, channels, ticket),
        subscribed=bool(ticket.push_subscription),
        lead_choices=LEAD_CHOICES,
        lead_default=default_lead_minutes(notify, ticket.service_id),
        lead_minutes=ticket.lead_minutes,
        any_channel=bool(notify.order),
    )
