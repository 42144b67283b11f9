"""Generic webhook: a real HTTP receiver checks the signature the way a clinic would."""

from __future__ import annotations

import json
import time

import pytest

from queue_app.notify.channels.base import (
    CannotReach,
    ChannelConfigError,
    ChannelMisconfigured,
    Recipient,
    TemporaryFailure,
)
from queue_app.notify.channels.webhook import WebhookChannel, sign, verify_signature

SECRET = "whsec-test-1"


def channel(url, **extra):
    return WebhookChannel({"url": url + "/hooks/queue", "secret": SECRET, **extra})


def test_posts_the_event_signed_and_receiver_verifies_it(http_server, make_message):
    def receiver(request):
        ok = verify_signature(request.body, request.headers["X-Queue-Signature"], SECRET)
        return (200, {}, {"ok": True}) if ok else (401, {}, {"error": "bad signature"})

    http_server.handler = receiver
    message = make_message()
    result = channel(http_server.url).send(message)

    assert result.delivered is True
    assert result.provider_id == message.id
    request = http_server.last
    assert request.method == "POST"
    assert request.path == "/hooks/queue"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["X-Queue-Event"] == "called"
    assert request.headers["X-Queue-Event-Id"] == message.id
    # the signature is HMAC-SHA256 over the raw bytes, recomputed independently here
    import hashlib
    import hmac

    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Queue-Signature"] == expected
    assert json.loads(request.body.decode("utf-8")) == message.event
    assert "A-007" in request.body.decode("utf-8")


def test_the_event_id_is_the_same_on_a_retry(http_server, make_message):
    hook = channel(http_server.url)
    hook.send(make_message())
    hook.send(make_message())
    first, second = http_server.requests
    assert first.headers["X-Queue-Event-Id"] == second.headers["X-Queue-Event-Id"]
    assert first.body == second.body


def test_verify_signature_rejects_tampering():
    body = b'{"event":"called","id":"x"}'
    header = sign(body, SECRET)
    assert verify_signature(body, header, SECRET)
    assert not verify_signature(body + b" ", header, SECRET)
    assert not verify_signature(body, header, "other-secret")
    assert not verify_signature(body, None, SECRET)
    assert not verify_signature(body, "sha256=" + "0" * 64, SECRET)


def test_can_reach_everyone():
    hook = channel("http://127.0.0.1:9")
    assert hook.can_reach(Recipient())


def test_server_error_is_temporary(http_server, make_message):
    http_server.handler = lambda r: (503, {"Retry-After": "7"}, "busy")
    with pytest.raises(TemporaryFailure) as info:
        channel(http_server.url).send(make_message())
    assert info.value.retry_after == 7


def test_timeout_is_temporary(http_server, make_message):
    def slow(request):
        http_server.stall()
        return 200, {}, b""

    http_server.handler = slow
    started = time.monotonic()
    with pytest.raises(TemporaryFailure, match="timed out"):
        channel(http_server.url, timeout=0.2).send(make_message())
    assert time.monotonic() - started < 2


def test_connection_refused_is_temporary(closed_port, make_message):
    with pytest.raises(TemporaryFailure):
        channel(f"http://127.0.0.1:{closed_port}", timeout=1).send(make_message())


def test_client_errors_are_permanent(http_server, make_message):
    http_server.handler = lambda r: (410, {}, "gone")
    with pytest.raises(CannotReach):
        channel(http_server.url).send(make_message())
    http_server.handler = lambda r: (401, {}, "bad signature")
    with pytest.raises(ChannelMisconfigured):
        channel(http_server.url).send(make_message())


def test_requires_url_and_secret():
    with pytest.raises(ChannelConfigError):
        WebhookChannel({"url": "https://x.example"})
    with pytest.raises(ChannelConfigError):
        WebhookChannel({"url": "ftp://x.example", "secret": "s"})


def test_redirect_is_misconfiguration(http_server, make_message):
    http_server.handler = lambda r: (301, {"Location": "https://elsewhere.example/"}, b"")
    with pytest.raises(ChannelMisconfigured, match="redirect"):
        channel(http_server.url).send(make_message())
    assert len(http_server.requests) == 1  # not followed
