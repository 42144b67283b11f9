"""How a patient asks to be reached from their phone page: push on and off, the lead time,
"text me instead" - and every bad request answered 400 naming the field, changing nothing.

The clinic here has web push, Telegram and SMS (Twilio, on a local stand-in that is never
called: these endpoints store what the patient gave, the notifier sends later).
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from queue_app import create_app
from queue_app.extensions import db
from queue_app.notify.channels.webpush import generate_vapid_keys

from ..conftest import Tokens, make_settings, prepare_database
from ..notify.channels.test_webpush import b64url
from ..notify.conftest import http_server  # noqa: F401  (the SMS provider's stand-in)
from .test_api import assert_error

SID = "AC" + "3" * 32


def clinic_settings(tmp_path, provider_url: str, order=("webpush", "telegram", "sms"), **notify):
    """The example clinic with web push, Telegram and SMS switched on, in ``order``."""
    private, _public = generate_vapid_keys()
    return make_settings(
        f"sqlite:///{tmp_path / 'reach.db'}",
        notify={"channels": list(order), "near_minutes": 10, **notify},
        channels={
            "webpush": {"vapid_private_key": private, "vapid_subject": "mailto:it@hanbit.example"},
            "telegram": {
                "bot_token": "123:abc",
                "bot_username": "hanbit_queue_bot",
                "webhook_secret": "tg-secret",
                "base_url": provider_url,
            },
            "sms": {
                "account_sid": SID,
                "auth_token": "token",
                "from_number": "+15005550006",
                "base_url": provider_url,
            },
        },
    )


@pytest.fixture
def reach_app(tmp_path, clock, http_server):  # noqa: F811
    settings = clinic_settings(tmp_path, http_server.url)
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    yield app
    db.session.remove()
    db.engine.dispose()


@pytest.fixture
def reach(reach_app, clock):
    """A test client of the clinic with channels, and its tokens."""
    return reach_app.test_client(), Tokens(reach_app, clock)


def check_in(client, tokens, **body):
    response = client.post("/api/v1/tickets", json={"service": "general", **body}, headers=tokens.headers("kiosk"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def browser_subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc123") -> dict:
    """What ``PushSubscription.toJSON()`` gives: a real P-256 key and a 16-byte secret."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))},
    }


def staff_view(client, tokens, number: str) -> dict:
    """The ticket as the staff console sees it: its masked phone and the channels that reach it."""
    queue = client.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()
    return next(t for t in queue["waiting"] + queue["in_rooms"] if t["number"] == number)


def close(client, tokens, ticket) -> None:
    assert client.post(f"/api/v1/tickets/{ticket['id']}/cancel", headers=tokens.headers("staff")).status_code == 200


# -- web push: on, off ------------------------------------------------------------------------


def test_a_patient_turns_push_on_and_off_again(reach):
    client, tokens = reach
    ticket = check_in(client, tokens)
    on = client.post(f"/api/v1/tickets/{ticket['token']}/push", json=browser_subscription())
    assert on.status_code == 200 and on.get_json()["channels"] == ["webpush"]
    assert staff_view(client, tokens, ticket["number"])["channels"] == ["webpush"]

    off = client.delete(f"/api/v1/tickets/{ticket['token']}/push")
    assert off.status_code == 200 and off.get_json()["channels"] == []
    assert staff_view(client, tokens, ticket["number"])["channels"] == []
    # Pressing "turn off" twice is no error: there is simply nothing left to forget.
    assert client.delete(f"/api/v1/tickets/{ticket['token']}/push").status_code == 200


def test_turning_push_off_works_on_a_closed_ticket_too(reach, reach_app):
    client, tokens = reach
    ticket = check_in(client, tokens)
    client.post(f"/api/v1/tickets/{ticket['token']}/push", json=browser_subscription())
    close(client, tokens, ticket)
    assert client.delete(f"/api/v1/tickets/{ticket['token']}/push").status_code == 200
    with reach_app.app_context():
        from queue_app.models import Ticket

        assert db.session.get(Ticket, ticket["id"]).push_subscription is None


def _with(subscription: dict, **changes) -> dict:
    keys = {**subscription["keys"], **changes.pop("keys", {})}
    return {**subscription, **changes, "keys": keys}


GOOD = browser_subscription()
BAD_SUBSCRIPTIONS = {
    "a list": [GOOD],
    "a string": "https://fcm.googleapis.com/fcm/send/abc123",
    "nothing": None,
    "no endpoint": {"keys": GOOD["keys"]},
    "an endpoint that is no address": _with(GOOD, endpoint="push-me-please"),
    "an endpoint without a host": _with(GOOD, endpoint="https://"),
    "no keys": {"endpoint": GOOD["endpoint"]},
    "keys not an object": _with(GOOD) | {"keys": "p256dh"},
    "p256dh not base64url": _with(GOOD, keys={"p256dh": "not a key!"}),
    "p256dh too short": _with(GOOD, keys={"p256dh": b64url(os.urandom(32))}),
    "p256dh a number": _with(GOOD, keys={"p256dh": 12345}),
    "auth of the wrong length": _with(GOOD, keys={"auth": b64url(os.urandom(8))}),
    "auth empty": _with(GOOD, keys={"auth": ""}),
    "too large": _with(GOOD, padding="x" * 5000),
}


@pytest.mark.parametrize("body", BAD_SUBSCRIPTIONS.values(), ids=BAD_SUBSCRIPTIONS.keys())
def test_a_bad_push_subscription_is_400_naming_it_and_stores_nothing(reach, body):
    client, tokens = reach
    ticket = check_in(client, tokens)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/push", json=body)
    assert_error(response, 400, "invalid", "subscription")
    assert staff_view(client, tokens, ticket["number"])["channels"] == []


def test_push_for_an_unknown_or_closed_ticket(reach):
    client, tokens = reach
    assert_error(client.post("/api/v1/tickets/" + "x" * 40 + "/push", json=GOOD), 404, "not_found")
    assert_error(client.delete("/api/v1/tickets/" + "x" * 40 + "/push"), 404, "not_found")
    ticket = check_in(client, tokens)
    close(client, tokens, ticket)
    assert_error(client.post(f"/api/v1/tickets/{ticket['token']}/push", json=GOOD), 409, "illegal_transition")


# -- the lead time: "I need about N minutes to come back" --------------------------------------


@pytest.mark.parametrize("minutes", [5, 10, 15, 30])
def test_the_patient_chooses_how_early_to_be_told(reach, minutes):
    client, tokens = reach
    ticket = check_in(client, tokens)
    response = client.put(f"/api/v1/tickets/{ticket['token']}/lead", json={"minutes": minutes})
    assert response.status_code == 200 and response.get_json() == {"lead_minutes": minutes}
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["lead_minutes"] == minutes


BAD_LEADS = {
    "not offered": {"minutes": 7},
    "zero": {"minutes": 0},
    "negative": {"minutes": -5},
    "an hour": {"minutes": 60},
    "text": {"minutes": "10"},
    "a fraction": {"minutes": 10.5},
    "true": {"minutes": True},
    "null": {"minutes": None},
    "missing": {},
    "a list body": [10],
    "a bare number": 10,
}


@pytest.mark.parametrize("body", BAD_LEADS.values(), ids=BAD_LEADS.keys())
def test_a_lead_time_outside_the_choices_is_400_and_changes_nothing(reach, body):
    client, tokens = reach
    ticket = check_in(client, tokens)
    client.put(f"/api/v1/tickets/{ticket['token']}/lead", json={"minutes": 15})
    response = client.put(f"/api/v1/tickets/{ticket['token']}/lead", json=body)
    assert_error(response, 400, "invalid", "minutes")
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["lead_minutes"] == 15


def test_the_lead_time_of_an_unknown_or_closed_ticket(reach):
    client, tokens = reach
    assert_error(client.put("/api/v1/tickets/" + "x" * 40 + "/lead", json={"minutes": 10}), 404, "not_found")
    ticket = check_in(client, tokens)
    close(client, tokens, ticket)
    response = client.put(f"/api/v1/tickets/{ticket['token']}/lead", json={"minutes": 10})
    assert_error(response, 409, "illegal_transition")
    assert client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["lead_minutes"] is None


def test_the_lead_time_works_without_any_channel_too(client, tokens):
    """The example clinic messages nobody, yet the choice is stored (the page does not ask it there)."""
    ticket = check_in(client, tokens)
    assert client.put(f"/api/v1/tickets/{ticket['token']}/lead", json={"minutes": 30}).status_code == 200


# -- "text me instead" -------------------------------------------------------------------------


def test_a_patient_without_a_number_asks_for_texts(reach):
    client, tokens = reach
    ticket = check_in(client, tokens)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/phone", json={"phone": "010-1234-5678", "consent": True})
    assert response.status_code == 200
    assert response.get_json() == {"channels": ["sms"], "phone": "•••• 5678"}
    seen = staff_view(client, tokens, ticket["number"])
    assert seen["phone"] == "•••• 5678" and seen["channels"] == ["sms"]


def test_a_number_is_given_once(reach):
    client, tokens = reach
    ticket = check_in(client, tokens)
    url = f"/api/v1/tickets/{ticket['token']}/phone"
    assert client.post(url, json={"phone": "010-1234-5678", "consent": True}).status_code == 200
    # Someone else holding the link cannot redirect the messages to their own number.
    assert_error(client.post(url, json={"phone": "010-9999-0000", "consent": True}), 409, "conflict")
    assert staff_view(client, tokens, ticket["number"])["phone"] == "•••• 5678"


def test_a_number_given_at_check_in_is_not_replaced(reach):
    client, tokens = reach
    ticket = check_in(client, tokens, phone="010-2222-3333", consent=True)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/phone", json={"phone": "010-9999-0000", "consent": True})
    assert_error(response, 409, "conflict")
    assert staff_view(client, tokens, ticket["number"])["phone"] == "•••• 3333"


BAD_PHONES = {
    "not a number": ({"phone": "call me maybe", "consent": True}, "phone"),
    "too short": ({"phone": "010-12", "consent": True}, "phone"),
    "empty": ({"phone": "", "consent": True}, "phone"),
    "missing": ({"consent": True}, "phone"),
    "a number type": ({"phone": 1012345678, "consent": True}, "phone"),
    "far too long": ({"phone": "0" * 200, "consent": True}, "phone"),
    "no consent": ({"phone": "010-1234-5678"}, "consent"),
    "consent refused": ({"phone": "010-1234-5678", "consent": False}, "consent"),
    "consent as text": ({"phone": "010-1234-5678", "consent": "yes"}, "consent"),
    "a list body": (["010-1234-5678"], "phone"),
}


@pytest.mark.parametrize(("body", "field"), BAD_PHONES.values(), ids=BAD_PHONES.keys())
def test_text_me_refuses_bad_input_naming_the_field_and_stores_nothing(reach, body, field):
    client, tokens = reach
    ticket = check_in(client, tokens)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/phone", json=body)
    assert_error(response, 400, "invalid", field)
    seen = staff_view(client, tokens, ticket["number"])
    assert seen["phone"] is None and seen["channels"] == []


def test_text_me_for_an_unknown_or_closed_ticket(reach):
    client, tokens = reach
    body = {"phone": "010-1234-5678", "consent": True}
    assert_error(client.post("/api/v1/tickets/" + "x" * 40 + "/phone", json=body), 404, "not_found")
    ticket = check_in(client, tokens)
    close(client, tokens, ticket)
    assert_error(client.post(f"/api/v1/tickets/{ticket['token']}/phone", json=body), 409, "illegal_transition")


def test_text_me_needs_a_clinic_that_texts(client, tokens):
    ticket = check_in(client, tokens)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/phone", json={"phone": "010-1234-5678", "consent": True})
    assert_error(response, 404, "not_found")


def test_sms_switched_on_but_not_in_the_order_texts_nobody(tmp_path, clock, http_server):  # noqa: F811
    settings = clinic_settings(tmp_path, http_server.url, order=("webpush",))
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    try:
        client, tokens = app.test_client(), Tokens(app, clock)
        ticket = check_in(client, tokens)
        body = {"phone": "010-1234-5678", "consent": True}
        assert_error(client.post(f"/api/v1/tickets/{ticket['token']}/phone", json=body), 404, "not_found")
    finally:
        db.session.remove()
        db.engine.dispose()


def test_push_and_telegram_need_their_channel(client, tokens):
    ticket = check_in(client, tokens)
    assert_error(client.post(f"/api/v1/tickets/{ticket['token']}/push", json=GOOD), 404, "not_found")
    assert_error(client.post(f"/api/v1/tickets/{ticket['token']}/telegram"), 404, "not_found")


def test_the_new_endpoints_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/tickets/{token}/push"]) >= {"post", "delete"}
    assert "put" in paths["/tickets/{token}/lead"]
    assert "post" in paths["/tickets/{token}/phone"]
