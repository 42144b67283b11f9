"""What the demo phones page reads back is what each channel was handed: the demo phone's
text as the demo channel got it, an SMS as the SMS provider (a local Twilio stand-in) got it."""

from __future__ import annotations

import hashlib

import pytest

from queue_app import create_app
from queue_app.extensions import db
from queue_app.notify.channels import DemoChannel
from queue_app.notify.demo_phones import phones_of_the_day
from queue_app.notify.dispatcher import Dispatcher

from ..conftest import Tokens, make_settings, prepare_database

SID = "AC" + "4" * 32
TWILIO_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


class RecordingDemoPhone(DemoChannel):
    """The demo channel, remembering what it was handed (the real one keeps nothing)."""

    def __init__(self, settings: dict) -> None:
        super().__init__(settings)
        self.handed = []

    def send(self, message):
        self.handed.append(message)
        return super().send(message)


@pytest.fixture
def demo_clinic(tmp_path, clock, http_server):
    """A demo that also texts by SMS: patients with a phone get an SMS, the others the demo phone."""
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + hashlib.md5(request.body).hexdigest()})
    settings = make_settings(
        f"sqlite:///{tmp_path / 'demo.db'}",
        server={"demo": True},
        notify={"channels": ["sms", "demo"]},
        channels={
            "sms": {"account_sid": SID, "auth_token": "t", "from_number": "+15005550006", "base_url": http_server.url},
            "demo": {},
        },
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    yield app
    db.session.remove()
    db.engine.dispose()


def test_the_page_shows_each_text_as_its_channel_was_given_it(demo_clinic, clock, http_server):
    client, tokens = demo_clinic.test_client(), Tokens(demo_clinic, clock)
    checked_in = []
    for body in ({"phone": "010-2345-6789", "consent": True}, {}):
        response = client.post(
            "/api/v1/tickets", json={"service": "general", "language": "en", **body}, headers=tokens.headers("kiosk")
        )
        assert response.status_code == 201
        checked_in.append(response.get_json())
    texted, unreachable_by_sms = checked_in
    running = demo_clinic.extensions["queue_app"].dispatcher
    demo_phone = RecordingDemoPhone({})
    dispatcher = Dispatcher(running.settings, running.session_factory, {**running.channels, "demo": demo_phone}, clock)
    dispatcher.run_once()

    with demo_clinic.app_context():
        settings = running.settings
        phones = {
            p.ticket_id: p
            for p in phones_of_the_day(db.session(), settings, clock.now().astimezone(settings.timezone).date())
        }
    [sms] = [r for r in http_server.requests if r.path == TWILIO_PATH]
    [on_the_demo_phone] = demo_phone.handed
    [sms_shown] = phones[texted["id"]].messages
    [demo_shown] = phones[unreachable_by_sms["id"]].messages
    assert (sms_shown.channel, demo_shown.channel) == ("sms", "demo")
    assert sms_shown.text == sms.form()["Body"][0]
    assert texted["url"] in sms_shown.text  # the check-in SMS always carries the page link
    assert demo_shown.text == on_the_demo_phone.text
    assert unreachable_by_sms["url"] in demo_shown.text
