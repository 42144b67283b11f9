"""Fixtures for the page routes: a staff user and a signed-in test client."""

from __future__ import annotations

import re

import pytest

from queue_app.auth import create_user
from queue_app.extensions import db

PASSWORD = "staff-pass-123"


@pytest.fixture
def staff_user(app, clock):
    with app.app_context():
        create_user(db.session(), "nurse", PASSWORD, "staff", clock.now())
        db.session.commit()
    return "nurse"


def csrf_of(response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.fixture
def signed_in(client, staff_user):
    page = client.get("/login")
    client.post("/login", data={"csrf": csrf_of(page), "username": staff_user, "password": PASSWORD})
    return client
