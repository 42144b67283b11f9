"""The warning that patients' links point at this computer only: the kiosk's setup, the staff console.

``serve`` records the address it listens on; these tests set it as ``serve`` would.
"""

from __future__ import annotations

import pytest

from queue_app import create_app
from queue_app.auth import create_user
from queue_app.extensions import db
from queue_app.links import machine_address

from ..conftest import make_settings, prepare_database
from .conftest import PASSWORD, csrf_of


def paired_kiosk(app, tokens):
    kiosk = app.test_client()
    assert kiosk.get(f"/kiosk?pair={tokens['kiosk']}").status_code == 303
    return kiosk


def test_kiosk_setup_says_when_links_point_at_this_computer(app, tokens):
    kiosk = paired_kiosk(app, tokens)
    app.extensions["queue_app"].listening = ("127.0.0.1", 5000)  # as `serve` on 127.0.0.1 records it
    setup = kiosk.get("/kiosk/setup.json").get_json()
    assert setup["links"] == {"base": "http://127.0.0.1:5000", "loopback": True}
    for language in ("ko", "en", "ru"):
        warning = setup["texts"][language]["links_loopback"]
        assert "[server] public_url" in warning and "HOST=0.0.0.0" in warning and "{address}" in warning
    assert setup["texts"]["ko"]["links_loopback"] != setup["texts"]["en"]["links_loopback"]


def test_kiosk_setup_has_no_warning_when_phones_can_open_the_links(app, tokens):
    kiosk = paired_kiosk(app, tokens)
    app.extensions["queue_app"].listening = ("0.0.0.0", 5000)
    links = kiosk.get("/kiosk/setup.json").get_json()["links"]
    if machine_address() is None:
        pytest.skip("this machine has no network address besides loopback")
    assert links == {"base": f"http://{machine_address()}:5000", "loopback": False}


def test_staff_console_warns_of_loopback_links_with_the_setting_to_change(app, signed_in):
    app.extensions["queue_app"].listening = ("127.0.0.1", 5000)
    page = signed_in.get("/staff", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert 'id="link-warning"' in page
    assert "http://127.0.0.1:5000" in page and "[server] public_url" in page and "Телефоны пациентов" in page


def test_staff_console_shows_no_warning_with_a_public_url(tmp_path, clock):
    settings = make_settings(f"sqlite:///{tmp_path / 'public.db'}", server={"public_url": "https://queue.example.kr"})
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    app.extensions["queue_app"].listening = ("127.0.0.1", 5000)
    try:
        with app.app_context():
            create_user(db.session(), "nurse", PASSWORD, "staff", clock.now())
            db.session.commit()
        client = app.test_client()
        client.post("/login", data={"csrf": csrf_of(client.get("/login")), "username": "nurse", "password": PASSWORD})
        page = client.get("/staff", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Call list" in page  # the console itself, signed in
        assert 'id="link-warning"' not in page
    finally:
        db.session.remove()
        with app.app_context():
            db.engine.dispose()
