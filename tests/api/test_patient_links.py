"""Patients' links through the real app: a forged ``Host`` never reaches a link, a QR code or a message.

The test client's app is not run by ``serve``, so it does not know the address it listens on:
links then use this machine's network address and the configured port, as a server listening on
every interface would.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from queue_app import create_app
from queue_app.extensions import db
from queue_app.links import machine_address
from queue_app.models import Message

from ..conftest import Tokens, make_settings, prepare_database
from ..support.qr_code import decode_qr_svg

FORGED = "evil.example"


def check_in(client, tokens, host=None, **body):
    headers = tokens.headers("kiosk")
    if host is not None:
        headers["Host"] = host
    response = client.post("/api/v1/tickets", json={"service": "general", **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def machine_base(settings) -> str:
    """Where links point from an app that does not know its listening address."""
    return f"http://{machine_address() or '127.0.0.1'}:{settings.port}"


@pytest.fixture
def clinic_app(tmp_path, clock):
    """An app on its own database, with the [server] section a test gives."""
    made = []

    def make(**server):
        settings = make_settings(f"sqlite:///{tmp_path / f'c{len(made)}.db'}", server=server)
        prepare_database(settings)
        app = create_app(settings, clock=clock)
        made.append(app)
        return app

    yield make
    db.session.remove()
    for app in made:
        with app.app_context():
            db.engine.dispose()


def qr_text(client, qr_url: str, host: str | None = None) -> str:
    headers = {"Host": host} if host else {}
    response = client.get(urlsplit(qr_url).path, headers=headers)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    return decode_qr_svg(response.data)


def test_a_forged_host_appears_in_no_link_qr_code_or_message(app, client, tokens, settings, session):
    ticket = check_in(client, tokens, host=FORGED, phone="010-1234-5678", consent=True)
    base = machine_base(settings)
    assert ticket["url"] == f"{base}/t/{ticket['token']}"
    assert ticket["qr_url"] == f"{base}/api/v1/tickets/{ticket['token']}/qr.svg"
    # The QR code a phone scans says the same, whatever host the image was asked from.
    assert qr_text(client, ticket["qr_url"], host=FORGED) == ticket["url"]
    # And the message planned at check-in carries the same link.
    links = [json.loads(m.variables)["link"] for m in session.scalars(select(Message))]
    assert links and all(link == ticket["url"] for link in links)
    assert FORGED not in json.dumps(ticket)


def test_an_allowed_host_the_kiosk_used_is_the_links_host(clinic_app):
    app = clinic_app(allowed_hosts=["queue.clinic.lan"])
    client, tokens = app.test_client(), Tokens(app, app.extensions["queue_app"].clock)
    ticket = check_in(client, tokens, host="queue.clinic.lan:8000")
    assert ticket["url"] == f"http://queue.clinic.lan:8000/t/{ticket['token']}"
    assert qr_text(client, ticket["qr_url"], host="queue.clinic.lan:8000") == ticket["url"]
    # Another host on the same app is not trusted.
    other = check_in(client, tokens, host=FORGED)
    assert urlsplit(other["url"]).hostname != FORGED


def test_the_public_url_is_used_whatever_the_host(clinic_app):
    app = clinic_app(public_url="https://queue.example-clinic.kr")
    client, tokens = app.test_client(), Tokens(app, app.extensions["queue_app"].clock)
    ticket = check_in(client, tokens, host=FORGED)
    assert ticket["url"] == f"https://queue.example-clinic.kr/t/{ticket['token']}"
    assert ticket["qr_url"].startswith("https://queue.example-clinic.kr/api/v1/tickets/")
    assert qr_text(client, ticket["qr_url"]) == ticket["url"]


def test_a_ticket_left_from_the_phone_page_plans_no_forged_link(app, client, tokens, settings, session):
    ticket = check_in(client, tokens, phone="010-1234-5678", consent=True)
    response = client.post(f"/t/{ticket['token']}/leave", headers={"Host": FORGED})
    assert response.status_code == 303
    session.rollback()
    assert all(FORGED not in m.variables for m in session.scalars(select(Message)))
