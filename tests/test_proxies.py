"""Forwarded headers count only from the clinic's own proxy (``[server] trusted_proxies``)."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from queue_app import create_app
from queue_app.config import EXAMPLE_CONFIG, ConfigError, load_settings
from queue_app.extensions import db
from queue_app.proxies import TrustedProxies

from .conftest import make_settings, prepare_database

PROXY = "10.0.0.5"
FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def what_the_app_sees(environ, start_response):
    """A WSGI app that answers with the client address and scheme it was given."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['REMOTE_ADDR']} {environ['wsgi.url_scheme']}".encode()]


def seen(remote_addr: str, trusted=("10.0.0.0/8",)) -> str:
    settings = load_settings(EXAMPLE_CONFIG, overrides={"server": {"trusted_proxies": list(trusted)}}, environ={})
    client = Client(TrustedProxies(what_the_app_sees, settings.trusted_proxies))
    return client.get("/", headers=FORWARDED, environ_base={"REMOTE_ADDR": remote_addr}).get_data(as_text=True)


def test_the_trusted_proxy_tells_the_client_address_and_scheme():
    assert seen(PROXY) == "203.0.113.7 https"


@pytest.mark.parametrize("remote_addr", ["192.168.0.23", "11.0.0.5", "not-an-address"])
def test_anyone_else_saying_so_is_not_believed(remote_addr):
    assert seen(remote_addr) == f"{remote_addr} http"


def test_no_proxy_is_trusted_unless_configured():
    assert seen("127.0.0.1", trusted=()) == "127.0.0.1 http"


def test_a_bad_proxy_entry_names_the_key():
    with pytest.raises(ConfigError, match=r"\[server\] trusted_proxies"):
        load_settings(EXAMPLE_CONFIG, overrides={"server": {"trusted_proxies": ["nginx.local"]}}, environ={})


@pytest.fixture
def proxied_app(database_url, clock):
    """A clinic behind nginx at 10.0.0.5, reached as queue.clinic.example."""
    settings = make_settings(
        database_url, server={"trusted_proxies": [PROXY], "allowed_hosts": ["queue.clinic.example"]}
    )
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    yield app
    db.session.remove()


@pytest.mark.parametrize("remote_addr, scheme", [(PROXY, "https"), ("192.168.0.23", "http")])
def test_patient_links_use_https_only_when_the_trusted_proxy_says_so(proxied_app, clock, remote_addr, scheme):
    from tests.conftest import Tokens

    tokens = Tokens(proxied_app, clock)
    answer = proxied_app.test_client().post(
        "/api/v1/tickets",
        json={"service": "general"},
        headers={**tokens.headers("kiosk"), **FORWARDED, "Host": "queue.clinic.example"},
        environ_base={"REMOTE_ADDR": remote_addr},
    )
    assert answer.status_code == 201
    assert answer.get_json()["url"].startswith(f"{scheme}://queue.clinic.example/t/")
