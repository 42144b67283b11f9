"""Session and device cookies are Secure whenever the clinic is reached over https."""

from __future__ import annotations

import pytest

from queue_app import create_app
from queue_app.auth import create_user, issue_api_token
from queue_app.extensions import db

from ..conftest import make_settings, prepare_database
from .conftest import PASSWORD, csrf_of

PROXY = "10.0.0.5"


def clinic(database_url, clock, **server):
    settings = make_settings(database_url, server={"trusted_proxies": [PROXY], **server})
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    with app.app_context():
        create_user(db.session(), "nurse", PASSWORD, "staff", clock.now())
        kiosk = issue_api_token(db.session(), "kiosk", "lobby", clock.now())
        db.session.commit()
    return app, kiosk


def set_cookies(client, kiosk, **request) -> dict[str, str]:
    """Sign in and pair a kiosk; the Set-Cookie header of each cookie, by name."""
    page = client.get("/login", **request)
    signed_in = client.post(
        "/login", data={"csrf": csrf_of(page), "username": "nurse", "password": PASSWORD}, **request
    )
    paired = client.get(f"/kiosk?pair={kiosk}", **request)
    headers = signed_in.headers.getlist("Set-Cookie") + paired.headers.getlist("Set-Cookie")
    return {header.split("=", 1)[0]: header for header in headers}


@pytest.fixture(autouse=True)
def _release_database():
    yield
    db.session.remove()


def test_cookies_are_secure_when_the_public_address_is_https(database_url, clock):
    app, kiosk = clinic(database_url, clock, public_url="https://queue.clinic.example")
    cookies = set_cookies(app.test_client(), kiosk)
    assert "; Secure" in cookies["session"]
    assert "; Secure" in cookies["queue_device"]


def test_cookies_are_secure_when_the_trusted_proxy_says_https(database_url, clock):
    app, kiosk = clinic(database_url, clock)
    cookies = set_cookies(
        app.test_client(),
        kiosk,
        headers={"X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert "; Secure" in cookies["session"]
    assert "; Secure" in cookies["queue_device"]


def test_plain_http_gets_cookies_it_can_send_back_and_a_forged_https_claim_changes_nothing(database_url, clock):
    """On a clinic's LAN over http a Secure cookie would never come back: sign-in would loop."""
    app, kiosk = clinic(database_url, clock, public_url="http://192.168.0.10:5000")
    cookies = set_cookies(
        app.test_client(),
        kiosk,
        headers={"X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "192.168.0.23"},
    )
    assert "Secure" not in cookies["session"]
    assert "Secure" not in cookies["queue_device"]
    assert "HttpOnly" in cookies["session"] and "HttpOnly" in cookies["queue_device"]
