"""End to end: the QR code on a kiosk ticket opens on a phone, or `serve` says why it cannot.

``HOST=0.0.0.0 make run`` is ``queue-app serve --host 0.0.0.0``: the server below is started
that way, the kiosk checks in through 127.0.0.1 as a kiosk on the same computer does, and the
QR image is decoded with a real QR reader.  Its link must name the machine's network address
and open the patient's page there.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest
import requests

from queue_app.links import is_loopback, machine_address
from tests.support.qr_code import decode_qr_svg

from .conftest import LiveServer

LOOPBACK_WARNING = "WARNING: patients' links and QR codes point at"


def check_in_at_the_kiosk(server: LiveServer) -> dict:
    kiosk = {"Authorization": f"Bearer {server.token('kiosk')}"}
    response = requests.post(
        f"{server.url}/api/v1/tickets", json={"service": "general", "language": "en"}, headers=kiosk, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()


def scan(server: LiveServer, ticket: dict) -> str:
    """What a phone's camera reads from the kiosk's QR image (fetched as the kiosk does, same origin)."""
    image = requests.get(server.url + urlsplit(ticket["qr_url"]).path, timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/svg+xml")
    return decode_qr_svg(image.content)


def test_a_server_on_every_interface_prints_qr_codes_a_phone_opens(tmp_path):
    address = machine_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback: no phone could reach it")
    server = LiveServer(tmp_path, host="0.0.0.0")
    server.command("db", "upgrade")
    server.start()
    try:
        ticket = check_in_at_the_kiosk(server)
        link = scan(server, ticket)
        host = urlsplit(link).hostname
        assert not is_loopback(host) and not ipaddress.ip_address(host).is_loopback, link
        assert host == address and urlsplit(link).port == server.port
        assert link == ticket["url"]
        # The phone opens it: the patient's page, served on the machine's network address.
        phone = requests.Session()
        phone.trust_env = False  # straight to this machine, never through a proxy
        page = phone.get(link, timeout=10)
        assert page.status_code == 200 and ticket["number"] in page.text
    finally:
        server.stop()
    assert LOOPBACK_WARNING not in server.log.read_text()


def test_a_server_on_loopback_says_at_start_that_phones_cannot_open_its_links(live_server):
    log = live_server.log.read_text()
    assert LOOPBACK_WARNING in log
    assert "[server] public_url" in log and "--host 0.0.0.0" in log
    link = scan(live_server, check_in_at_the_kiosk(live_server))
    assert urlsplit(link).hostname == "127.0.0.1"
