"""A patient who texts: the staff console shows the text, and how far each answer got on its way
back through the SMS provider (the local stand-in of Twilio's API), live."""

from __future__ import annotations

import signal
from urllib.parse import parse_qs

import pytest
import requests

from queue_app.notify.channels.sms import compute_twilio_signature

from .conftest import staff_console, start_clinic

SID, TOKEN = "AC" + "1" * 32, "twilio-auth-token"


@pytest.fixture
def texting_clinic(tmp_path, http_server):
    """A clinic that texts through the stand-in (one try per message), with its dispatcher running."""
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "2" * 32, "status": "queued"})
    env = {
        "QUEUE_APP_NOTIFY_CHANNELS": "sms",
        "QUEUE_APP_NOTIFY_RETRIES": "1",
        "QUEUE_APP_CHANNELS_SMS_ENABLED": "true",
        "QUEUE_APP_CHANNELS_SMS_ACCOUNT_SID": SID,
        "QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN": TOKEN,
        "QUEUE_APP_CHANNELS_SMS_FROM_NUMBER": "+15005550006",
        "QUEUE_APP_CHANNELS_SMS_BASE_URL": http_server.url,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    server = start_clinic(tmp_path, env)
    yield server, http_server
    server.stop(signal.SIGTERM)


def patient_texts(server, body: str, sid: str) -> None:
    """A text from the patient, as Twilio posts it to the inbound webhook (signed)."""
    form = {"From": "+821012345678", "To": "+15005550006", "Body": body, "AccountSid": SID, "MessageSid": sid}
    path = "/hooks/twilio/inbound"
    signature = compute_twilio_signature(server.url + path, form, TOKEN)
    answer = requests.post(server.url + path, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)
    assert answer.status_code == 200, answer.text


def test_an_answer_by_sms_shows_sent_and_one_the_provider_refuses_shows_failed_with_why(texting_clinic, contexts):
    server, provider = texting_clinic
    console = staff_console(contexts, server.url)
    patient_texts(server, "Is the clinic open on Saturday?", "SM" + "a" * 32)
    row = console.locator("#inbox-list .conversation:has-text('•••• 5678')")
    assert "SMS" in row.inner_text()
    row.click()
    console.fill("#reply-body", "Yes, from 9 to 1.")
    console.click("#reply-send")
    console.wait_for_selector("#thread-messages .from-clinic.status-sent", timeout=10000)
    assert parse_qs(provider.last.body.decode())["Body"] == ["Yes, from 9 to 1."]

    provider.handler = lambda request: (400, {}, {"code": 21211, "message": "The 'To' number is not valid."})
    console.fill("#reply-body", "See you then.")
    console.click("#reply-send")
    failed = console.locator("#thread-messages .from-clinic.status-failed")
    failed.wait_for(timeout=10000)
    assert "See you then." in failed.inner_text()
    why = failed.locator(".delivery-error").inner_text()
    assert why.startswith("Not delivered: ") and "400" in why
    assert "failed" in failed.locator(".meta").inner_text()
