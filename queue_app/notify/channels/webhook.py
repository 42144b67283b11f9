"""Generic webhook: POST the message's event as JSON to the clinic's own system.

Wire format (what a receiver implements)::

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Queue-Event: <kind>                 e.g. "called"
    X-Queue-Event-Id: <message id>        the same on every retry: dedupe on it
    X-Queue-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>

    {"event": "called", "id": "...", "ticket": {...}, ...}

The body is ``message.event`` serialised once (UTF-8, compact); the signature covers those
exact bytes, so a receiver must verify the raw body before parsing it (see
:func:`verify_signature`).  Any 2xx means delivered.  5xx, 408, 429, timeouts and refused
connections are retried; other answers (3xx, 4xx) are permanent.

Idempotency: the event id (``X-Queue-Event-Id`` and ``"id"`` in the body) is the key; a
receiver that has seen it already should answer 2xx and do nothing.

Settings ``[channels.webhook]``: ``url`` (required), ``secret`` (required), ``timeout``.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from .base import (
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelMisconfigured,
    OutgoingMessage,
    Recipient,
    SendResult,
    TemporaryFailure,
    http_post,
    is_temporary_status,
    parse_retry_after,
)

SIGNATURE_HEADER = "X-Queue-Signature"
EVENT_HEADER = "X-Queue-Event"
EVENT_ID_HEADER = "X-Queue-Event-Id"


def sign(body: bytes, secret: str) -> str:
    """The ``X-Queue-Signature`` value for ``body``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """True when ``header`` is the signature of the raw ``body`` under ``secret``."""
    if not header or not secret:
        return False
    if isinstance(body, str):
        body = body.encode("utf-8")
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


def encode_event(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, settings: dict):
        super().__init__(settings)
        self._require("url", "secret")
        self.url = str(self.settings["url"])
        if not self.url.startswith(("http://", "https://")):
            raise ChannelConfigError("webhook: url must be http:// or https://")
        self.secret = str(self.settings["secret"])

    def can_reach(self, recipient: Recipient) -> bool:
        return True  # the clinic's own system, not the patient

    def send(self, message: OutgoingMessage) -> SendResult:
        body = encode_event(message.event)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "queue-app-webhook",
            EVENT_HEADER: message.kind,
            EVENT_ID_HEADER: message.id,
            SIGNATURE_HEADER: sign(body, self.secret),
        }
        response = http_post(self.url, timeout=self.timeout, what="webhook", data=body, headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(provider_id=message.id, delivered=True)
        if is_temporary_status(status):
            raise TemporaryFailure(
                f"webhook: HTTP {status}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status in (401, 403):
            raise ChannelMisconfigured(f"webhook: HTTP {status} (check url and secret)")
        raise CannotReach(f"webhook: HTTP {status}")
