"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291).

The browser gives a PushSubscription ``{endpoint, keys: {p256dh, auth}}``; ``pywebpush``
encrypts the payload for it and POSTs it to the endpoint (the browser vendor's push service)
with ``Authorization: vapid t=<JWT>,k=<our public key>``.  The push service answers 201 when
it has queued the message (not delivered yet: ``delivered`` is False).

The payload is JSON the service worker shows as a notification::

    {"title": subject, "body": text, "kind": kind, "id": message id, "url": variables["link"],
     "lang": language}

Outcome mapping: 404/410 (the subscription is gone), 400/403/413 and other 4xx, a malformed
subscription -> CannotReach; 401 -> ChannelMisconfigured (VAPID keys); 429/5xx, timeouts,
refused connections -> TemporaryFailure.

Idempotency: Web Push has no idempotency key.  We send a ``Topic`` header derived from the
message id: a push service replaces a still-undelivered message with the same topic, so a
retry while the phone is offline does not show twice; once delivered, a retry can.

Settings ``[channels.webpush]``: ``vapid_private_key`` (required; base64url raw key as made by
:func:`generate_vapid_keys`, base64url DER, or PEM), ``vapid_subject`` (required,
"mailto:admin@clinic" or an https URL), ``ttl`` (seconds the push service keeps an
undelivered message, default 3600), ``urgency`` (default "high"), ``timeout``.  There is no
base URL: the endpoint comes from the subscription (tests use a local endpoint).
"""

from __future__ import annotations

import base64
import hashlib
import json

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from .base import (
    CannotReach,
    Channel,
    ChannelConfigError,
    ChannelMisconfigured,
    OutgoingMessage,
    Recipient,
    SendResult,
    TemporaryFailure,
    is_temporary_status,
    parse_retry_after,
    provider_session,
)

URGENCIES = ("very-low", "low", "normal", "high")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key, public key), both base64url without padding.

    The private key is the raw 32-byte P-256 scalar (the format of the ``web-push`` tools);
    the public key is the uncompressed point, the ``applicationServerKey`` the browser needs.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    private_raw = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url(private_raw), public_key_of(key)


def public_key_of(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(point)


def load_vapid(private_key: str) -> Vapid:
    """A py_vapid signer from a base64url raw/DER key or a PEM."""
    text = private_key.strip()
    if "-----BEGIN" in text:
        return Vapid.from_pem(text.encode("ascii"))
    return Vapid.from_string(text)


def topic_for(message_id: str) -> str:
    """A Topic header value for the message: <= 32 base64url characters, as RFC 8030 wants."""
    return _b64url(hashlib.sha256(message_id.encode("utf-8")).digest())[:32]


def valid_subscription(subscription: dict | None) -> bool:
    if not isinstance(subscription, dict):
        return False
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys")
    return (
        isinstance(endpoint, str)
        and endpoint.startswith(("https://", "http://"))
        and isinstance(keys, dict)
        and bool(keys.get("p256dh"))
        and bool(keys.get("auth"))
    )


class WebPushChannel(Channel):
    name = "webpush"

    def __init__(self, settings: dict):
        super().__init__(settings)
        self._require("vapid_private_key", "vapid_subject")
        try:
            self._vapid = load_vapid(str(self.settings["vapid_private_key"]))
        except Exception as exc:  # py_vapid raises assorted errors for a bad key
            raise ChannelConfigError("webpush: vapid_private_key cannot be read") from exc
        self.subject = str(self.settings["vapid_subject"])
        if not self.subject.startswith(("mailto:", "https://")):
            raise ChannelConfigError("webpush: vapid_subject must be mailto: or https://")
        self.ttl = int(self.settings.get("ttl", 3600))
        self.urgency = str(self.settings.get("urgency", "high"))
        if self.urgency not in URGENCIES:
            raise ChannelConfigError(f"webpush: urgency must be one of {URGENCIES}")

    @property
    def public_key(self) -> str:
        """The applicationServerKey for ``pushManager.subscribe`` (base64url)."""
        return public_key_of(self._vapid.private_key)

    def can_reach(self, recipient: Recipient) -> bool:
        return valid_subscription(recipient.push_subscription)

    @staticmethod
    def payload(message: OutgoingMessage) -> str:
        return json.dumps(
            {
                "title": message.subject,
                "body": message.text,
                "kind": message.kind,
                "id": message.id,
                "url": message.variables.get("link"),
                "lang": message.language,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def send(self, message: OutgoingMessage) -> SendResult:
        subscription = message.recipient.push_subscription
        if not valid_subscription(subscription):
            raise CannotReach("webpush: no valid push subscription")
        try:
            response = webpush(
                subscription_info=subscription,
                data=self.payload(message),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self.subject},  # a fresh dict: pywebpush adds aud/exp
                content_encoding="aes128gcm",
                timeout=self.timeout,
                ttl=self.ttl,
                headers={"Urgency": self.urgency, "Topic": topic_for(message.id)},
                requests_session=provider_session(),
            )
        except WebPushException as exc:
            raise self._classify(exc) from exc
        except requests.Timeout as exc:
            raise TemporaryFailure(f"webpush: timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(f"webpush: connection failed ({type(exc).__name__})") from exc
        except (ValueError, TypeError, KeyError) as exc:  # undecodable p256dh / auth
            raise CannotReach(f"webpush: unusable subscription ({type(exc).__name__})") from exc
        location = response.headers.get("Location") if hasattr(response, "headers") else None
        return SendResult(provider_id=location, delivered=False)

    @staticmethod
    def _classify(exc: WebPushException) -> Exception:
        response = exc.response
        if response is None:
            return CannotReach(f"webpush: {exc.message}")
        status = response.status_code
        detail = f"webpush: HTTP {status} from the push service"
        if status in (404, 410):
            return CannotReach(detail + " (subscription gone)")
        if is_temporary_status(status):
            return TemporaryFailure(detail, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if status == 401:
            return ChannelMisconfigured(detail + " (VAPID authentication refused)")
        return CannotReach(detail)
