"""Web Push: a local push service receives the request, checks the VAPID JWT, and the test
decrypts the aes128gcm payload with the subscription's private key, as a browser would."""

from __future__ import annotations

import base64
import json
import os
import time

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from queue_app.notify.channels.base import (
    CannotReach,
    ChannelConfigError,
    ChannelMisconfigured,
    Recipient,
    TemporaryFailure,
)
from queue_app.notify.channels.webpush import (
    WebPushChannel,
    generate_vapid_keys,
    topic_for,
)

SUBJECT = "mailto:admin@hanbit-clinic.example"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def vapid_keys():
    return generate_vapid_keys()


@pytest.fixture
def browser():
    """What a browser keeps for one subscription: its ECDH key pair and auth secret."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"private_key": private_key, "p256dh": b64url(public), "auth": os.urandom(16)}


def subscription(browser, endpoint):
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": browser["p256dh"], "auth": b64url(browser["auth"])},
    }


def channel(vapid_keys, **extra):
    return WebPushChannel({"vapid_private_key": vapid_keys[0], "vapid_subject": SUBJECT, **extra})


def verify_vapid(authorization: str, audience: str, public_key_b64: str) -> dict:
    """Check 'vapid t=<jwt>,k=<key>' as a push service does; returns the JWT claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key_b64
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    key.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims


def test_push_is_encrypted_for_the_subscription_and_vapid_signed(http_server, browser, vapid_keys, make_message):
    http_server.handler = lambda r: (201, {"Location": f"{http_server.url}/m/abc"}, b"")
    push = channel(vapid_keys, ttl=900)
    assert push.public_key == vapid_keys[1]
    endpoint = f"{http_server.url}/push/v1/sub-123"
    message = make_message(Recipient(push_subscription=subscription(browser, endpoint)))

    result = push.send(message)

    assert result.delivered is False
    assert result.provider_id == f"{http_server.url}/m/abc"
    request = http_server.last
    assert request.method == "POST" and request.path == "/push/v1/sub-123"
    assert request.headers["Content-Encoding"] == "aes128gcm"
    assert request.headers["TTL"] == "900"
    assert request.headers["Urgency"] == "high"
    assert request.headers["Topic"] == topic_for(message.id)
    verify_vapid(request.headers["Authorization"], http_server.url, vapid_keys[1])

    plaintext = http_ece.decrypt(
        request.body, private_key=browser["private_key"], auth_secret=browser["auth"], version="aes128gcm"
    )
    payload = json.loads(plaintext.decode("utf-8"))
    assert payload == {
        "title": message.subject,
        "body": message.text,
        "kind": "called",
        "id": message.id,
        "url": message.variables["link"],
        "lang": "ko",
    }


def test_a_forged_vapid_token_would_be_caught(http_server, browser, vapid_keys, make_message):
    """The check above is real: a token signed by another key fails it."""
    http_server.handler = lambda r: (201, {}, b"")
    other = generate_vapid_keys()
    sub = subscription(browser, f"{http_server.url}/push/x")
    channel(other).send(make_message(Recipient(push_subscription=sub)))
    authorization = http_server.last.headers["Authorization"]
    forged = authorization.replace(f"k={other[1]}", f"k={vapid_keys[1]}")
    with pytest.raises(InvalidSignature):
        verify_vapid(forged, http_server.url, vapid_keys[1])


@pytest.mark.parametrize("status", [404, 410])
def test_gone_subscription_cannot_be_reached(http_server, browser, vapid_keys, make_message, status):
    http_server.handler = lambda r: (status, {}, "subscription expired")
    sub = subscription(browser, f"{http_server.url}/push/old")
    with pytest.raises(CannotReach, match="gone"):
        channel(vapid_keys).send(make_message(Recipient(push_subscription=sub)))


def test_refused_vapid_is_misconfiguration(http_server, browser, vapid_keys, make_message):
    http_server.handler = lambda r: (401, {}, "bad jwt")
    sub = subscription(browser, f"{http_server.url}/push/x")
    with pytest.raises(ChannelMisconfigured):
        channel(vapid_keys).send(make_message(Recipient(push_subscription=sub)))


def test_server_error_and_rate_limit_are_temporary(http_server, browser, vapid_keys, make_message):
    sub = subscription(browser, f"{http_server.url}/push/x")
    http_server.handler = lambda r: (500, {}, "oops")
    with pytest.raises(TemporaryFailure):
        channel(vapid_keys).send(make_message(Recipient(push_subscription=sub)))
    http_server.handler = lambda r: (429, {"Retry-After": "30"}, "slow down")
    with pytest.raises(TemporaryFailure) as info:
        channel(vapid_keys).send(make_message(Recipient(push_subscription=sub)))
    assert info.value.retry_after == 30


def test_timeout_is_temporary(http_server, browser, vapid_keys, make_message):
    def slow(request):
        http_server.stall()
        return 201, {}, b""

    http_server.handler = slow
    sub = subscription(browser, f"{http_server.url}/push/x")
    started = time.monotonic()
    with pytest.raises(TemporaryFailure, match="timed out"):
        channel(vapid_keys, timeout=0.2).send(make_message(Recipient(push_subscription=sub)))
    assert time.monotonic() - started < 2


def test_connection_refused_is_temporary(closed_port, browser, vapid_keys, make_message):
    sub = subscription(browser, f"http://127.0.0.1:{closed_port}/push/x")
    with pytest.raises(TemporaryFailure):
        channel(vapid_keys).send(make_message(Recipient(push_subscription=sub)))


def test_malformed_subscription_cannot_be_reached(vapid_keys, make_message):
    push = channel(vapid_keys)
    broken = {"endpoint": "http://127.0.0.1:9/x", "keys": {"p256dh": "not-a-key", "auth": "x"}}
    assert push.can_reach(Recipient(push_subscription=broken))  # looks fine ...
    with pytest.raises(CannotReach):  # ... but the key cannot be used
        push.send(make_message(Recipient(push_subscription=broken)))
    assert not push.can_reach(Recipient(push_subscription={"endpoint": "x"}))
    assert not push.can_reach(Recipient())


def test_generated_keys_and_pem_keys_load(vapid_keys):
    private, public = vapid_keys
    assert len(unb64url(private)) == 32
    assert len(unb64url(public)) == 65 and unb64url(public)[0] == 4
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    push = WebPushChannel({"vapid_private_key": pem, "vapid_subject": SUBJECT})
    expected = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert push.public_key == b64url(expected)


def test_settings_are_checked(vapid_keys):
    with pytest.raises(ChannelConfigError):
        WebPushChannel({"vapid_subject": SUBJECT})
    with pytest.raises(ChannelConfigError):
        WebPushChannel({"vapid_private_key": "garbage", "vapid_subject": SUBJECT})
    with pytest.raises(ChannelConfigError):
        WebPushChannel({"vapid_private_key": vapid_keys[0], "vapid_subject": "admin@x"})
