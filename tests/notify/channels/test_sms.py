"""Twilio SMS: a local server speaking Twilio's Messages API checks path, basic auth, form."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from queue_app.notify.channels.base import (
    CannotReach,
    ChannelConfigError,
    ChannelMisconfigured,
    Recipient,
    TemporaryFailure,
)
from queue_app.notify.channels.sms import (
    TwilioSmsChannel,
    compute_twilio_signature,
    parse_inbound,
    parse_status_callback,
    verify_twilio_signature,
)

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "test-auth-token-0123456789abcdef"
PHONE = "+821012345678"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


def channel(base_url, **extra):
    settings = {"account_sid": SID, "auth_token": TOKEN, "from_number": "+15005550006", "base_url": base_url, **extra}
    return TwilioSmsChannel(settings)


def twilio(status=201, **body):
    """A handler answering like Twilio; checks the request as Twilio would."""

    def handle(request):
        expected_auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected_auth:
            return 401, {}, {"code": 20003, "message": "Authenticate", "status": 401}
        if request.path != MESSAGES_PATH or request.method != "POST":
            return 404, {}, {"code": 20404, "message": "not found", "status": 404}
        if not request.headers["Content-Type"].startswith("application/x-www-form-urlencoded"):
            return 400, {}, {"code": 21000, "message": "form expected", "status": 400}
        if status >= 400:
            return status, {}, {"status": status, **body}
        form = request.form()
        return (
            status,
            {},
            {"sid": "SM" + "f" * 32, "status": "queued", "to": form["To"][0], "body": form["Body"][0], **body},
        )

    return handle


def test_sends_in_twilios_wire_format(http_server, make_message):
    http_server.handler = twilio()
    sms = channel(http_server.url, status_callback_url="https://clinic.example/sms/status")
    result = sms.send(make_message(Recipient(phone=PHONE)))

    assert result.provider_id == "SM" + "f" * 32
    assert result.delivered is False
    request = http_server.last
    assert request.path == MESSAGES_PATH
    form = request.form()
    assert form == {
        "To": [PHONE],
        "From": ["+15005550006"],
        "Body": ["A-007번 환자님, 2번 진료실로 들어오세요."],
        "StatusCallback": ["https://clinic.example/sms/status"],
    }


def test_messaging_service_replaces_from(http_server, make_message):
    http_server.handler = twilio()
    sms = TwilioSmsChannel(
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "base_url": http_server.url,
            "messaging_service_sid": "MG" + "1" * 32,
            "validity_period": 600,
        }
    )
    sms.send(make_message(Recipient(phone=PHONE)))
    form = http_server.last.form()
    assert "From" not in form
    assert form["MessagingServiceSid"] == ["MG" + "1" * 32]
    assert form["ValidityPeriod"] == ["600"]


def test_api_key_auth_keeps_the_account_in_the_path(http_server, make_message):
    seen = {}

    def handle(request):
        seen["auth"] = request.headers["Authorization"]
        seen["path"] = request.path
        return 201, {}, {"sid": "SM1", "status": "queued"}

    http_server.handler = handle
    sms = channel(http_server.url, api_key_sid="SK" + "2" * 32, api_key_secret="keysecret")
    sms.send(make_message(Recipient(phone=PHONE)))
    assert seen["path"] == MESSAGES_PATH
    assert seen["auth"] == "Basic " + base64.b64encode(("SK" + "2" * 32 + ":keysecret").encode()).decode()


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_refused_number_cannot_be_reached(http_server, make_message, code):
    http_server.handler = twilio(
        400, code=code, message="refused", more_info=f"https://www.twilio.com/docs/errors/{code}"
    )
    with pytest.raises(CannotReach, match=str(code)) as info:
        channel(http_server.url).send(make_message(Recipient(phone=PHONE)))
    assert not isinstance(info.value, ChannelMisconfigured)


def test_wrong_credentials_are_misconfiguration(http_server, make_message):
    http_server.handler = twilio()
    sms = TwilioSmsChannel(
        {"account_sid": SID, "auth_token": "wrong", "from_number": "+1500", "base_url": http_server.url}
    )
    with pytest.raises(ChannelMisconfigured, match="20003") as info:
        sms.send(make_message(Recipient(phone=PHONE)))
    assert "wrong" not in str(info.value)


def test_server_error_and_rate_limit_are_temporary(http_server, make_message):
    http_server.handler = twilio(500, code=20500, message="Internal Server Error")
    with pytest.raises(TemporaryFailure):
        channel(http_server.url).send(make_message(Recipient(phone=PHONE)))
    http_server.handler = twilio(429, code=20429, message="Too Many Requests")
    with pytest.raises(TemporaryFailure, match="20429"):
        channel(http_server.url).send(make_message(Recipient(phone=PHONE)))


def test_timeout_is_temporary(http_server, make_message):
    def slow(request):
        http_server.stall()
        return 201, {}, {"sid": "SM1"}

    http_server.handler = slow
    started = time.monotonic()
    with pytest.raises(TemporaryFailure, match="timed out"):
        channel(http_server.url, timeout=0.2).send(make_message(Recipient(phone=PHONE)))
    assert time.monotonic() - started < 2


def test_connection_refused_is_temporary(closed_port, make_message):
    with pytest.raises(TemporaryFailure):
        channel(f"http://127.0.0.1:{closed_port}").send(make_message(Recipient(phone=PHONE)))


def test_can_reach_needs_an_e164_number():
    sms = channel("http://127.0.0.1:9")
    assert sms.can_reach(Recipient(phone=PHONE))
    assert not sms.can_reach(Recipient(phone="010-1234-5678"))
    assert not sms.can_reach(Recipient(email="a@b.c"))


def test_settings_are_checked():
    with pytest.raises(ChannelConfigError):
        TwilioSmsChannel({"account_sid": SID, "auth_token": TOKEN})  # no sender
    with pytest.raises(ChannelConfigError):
        TwilioSmsChannel({"account_sid": SID, "from_number": "+1500"})  # no credentials


# --- X-Twilio-Signature ----------------------------------------------------------------


def documented_signature(url, params, token):
    """Computed exactly as Twilio's security page describes, independently of the module."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


STATUS_URL = "https://clinic.example/sms/status?clinic=1"
STATUS_PARAMS = {
    "MessageSid": "SM" + "f" * 32,
    "MessageStatus": "delivered",
    "AccountSid": SID,
    "From": "+15005550006",
    "To": PHONE,
    "ApiVersion": "2010-04-01",
}


def test_signature_matches_the_documented_computation():
    signature = documented_signature(STATUS_URL, STATUS_PARAMS, TOKEN)
    assert compute_twilio_signature(STATUS_URL, STATUS_PARAMS, TOKEN) == signature
    assert verify_twilio_signature(STATUS_URL, STATUS_PARAMS, signature, TOKEN)


def test_twilio_documentation_example():
    # the worked example on Twilio's webhook security page
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert compute_twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_signature_rejects_tampering_and_wrong_token():
    signature = documented_signature(STATUS_URL, STATUS_PARAMS, TOKEN)
    tampered = dict(STATUS_PARAMS, MessageStatus="failed")
    assert not verify_twilio_signature(STATUS_URL, tampered, signature, TOKEN)
    assert not verify_twilio_signature(STATUS_URL, STATUS_PARAMS, signature, "other-token")
    assert not verify_twilio_signature(STATUS_URL.replace("clinic=1", "clinic=2"), STATUS_PARAMS, signature, TOKEN)
    assert not verify_twilio_signature(STATUS_URL, STATUS_PARAMS, None, TOKEN)
    assert not verify_twilio_signature(STATUS_URL, STATUS_PARAMS, signature, "")


def test_signature_accepts_the_url_with_or_without_the_default_port():
    with_port = "https://clinic.example:443/sms/status"
    signature = documented_signature(with_port, STATUS_PARAMS, TOKEN)
    assert verify_twilio_signature("https://clinic.example/sms/status", STATUS_PARAMS, signature, TOKEN)


def test_signature_agrees_with_twilios_own_validator():
    twilio_sdk = pytest.importorskip("twilio.request_validator")
    validator = twilio_sdk.RequestValidator(TOKEN)
    signature = validator.compute_signature(STATUS_URL, STATUS_PARAMS)
    assert verify_twilio_signature(STATUS_URL, STATUS_PARAMS, signature, TOKEN)
    ours = compute_twilio_signature(STATUS_URL, STATUS_PARAMS, TOKEN)
    assert validator.validate(STATUS_URL, STATUS_PARAMS, ours)


# --- status callbacks and inbound replies ----------------------------------------------


def test_status_callbacks():
    delivered = parse_status_callback(STATUS_PARAMS)
    assert delivered.outcome == "delivered"
    assert delivered.provider_id == "SM" + "f" * 32
    assert delivered.phone == PHONE

    sent = parse_status_callback(dict(STATUS_PARAMS, MessageStatus="sent"))
    assert sent.outcome == "pending"

    failed = parse_status_callback(dict(STATUS_PARAMS, MessageStatus="undelivered", ErrorCode="30005"))
    assert failed.outcome == "failed"
    assert failed.error_code == "30005"
    assert failed.unreachable is True

    flaky = parse_status_callback(dict(STATUS_PARAMS, MessageStatus="failed", ErrorCode="30008"))
    assert flaky.outcome == "failed" and flaky.unreachable is False

    assert parse_status_callback({"Body": "hello"}) is None


@pytest.mark.parametrize("body", ["STOP", "stop", " Unsubscribe ", "STOPALL", "quit."])
def test_stop_replies_opt_out(body):
    inbound = parse_inbound({"From": PHONE, "To": "+15005550006", "Body": body})
    assert inbound.opted_out and not inbound.opted_in
    assert inbound.phone == PHONE


def test_other_replies_do_not_opt_out():
    assert not parse_inbound({"From": PHONE, "Body": "stop calling so early"}).opted_out
    assert not parse_inbound({"From": PHONE, "Body": "감사합니다"}).opted_out
    assert parse_inbound({"From": PHONE, "Body": "START"}).opted_in
    assert parse_inbound({"From": PHONE, "Body": "수신거부"}, ["수신거부"]).opted_out
    assert parse_inbound({"Body": "STOP"}) is None


def test_advanced_opt_out_type_wins():
    inbound = parse_inbound({"From": PHONE, "Body": "ARRET", "OptOutType": "STOP"})
    assert inbound.opted_out
    assert parse_inbound({"From": PHONE, "Body": "UNSTOP", "OptOutType": "START"}).opted_in
