"""The demo's own channel: the patient's phone is a page on this server, ``/demo/messages``.

``make run`` starts a demo clinic that has no provider accounts; without a channel it would
send nothing, and a newcomer would never see "your turn is near" go out.  This adapter
"delivers" every message at once, to every patient (with a phone number or without: the
demo phone is the page, not a number), and costs nothing.  It keeps nothing itself: each
message is already a row in ``messages`` with the facts it was rendered from, which is what
the demo page reads.

It is for the demo only: configuration refuses it unless ``[server] demo = true`` (see
:mod:`queue_app.notify.settings`), so a real clinic can never believe a patient was told
when nobody was.  Settings ``[channels.demo]``: none besides the common ``timeout``.
"""

from __future__ import annotations

from .base import Channel, OutgoingMessage, Recipient, SendResult


class DemoChannel(Channel):
    name = "demo"

    def can_reach(self, recipient: Recipient) -> bool:
        return True  # the demo phone is the page: it needs no number

    def send(self, message: OutgoingMessage) -> SendResult:
        # Delivered the moment it is "sent": the page shows the stored message itself.
        return SendResult(provider_id=message.id, delivered=True)
