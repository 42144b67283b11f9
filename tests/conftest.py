"""Shared fixtures: a clinic on a fresh database, a driven clock, tokens, real services.

Each test gets its own SQLite file (migrated with Alembic, as a real install is) and a
``ManualClock`` set to a weekday morning in Seoul.  PostgreSQL and Redis fixtures connect
to the real servers on this machine; without them a test skips and says what is missing,
except under ``CI=true``, where a missing server is a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from queue_app.auth import issue_api_token
from queue_app.clinic_setup import sync_clinic
from queue_app.clock import ManualClock
from queue_app.config import EXAMPLE_CONFIG, load_settings
from queue_app.extensions import db, make_engine
from queue_app.migrate import upgrade
from queue_app.queue import ClinicQueue

from .support.apps import clinic_app

SEOUL = ZoneInfo("Asia/Seoul")
PG_URL = os.environ.get("QUEUE_APP_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("QUEUE_APP_TEST_REDIS", "redis://127.0.0.1:6379/0")


def reachable(host: str, port: int) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip (or, under CI=true, fail) when a real server the test needs is not there."""
    if reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}, and CI must run this test")
    pytest.skip(f"{message}; start it to run this test")


def make_settings(database_url: str, **sections):
    """The example clinic's settings on ``database_url``, for tests (threading mode)."""
    overrides = {
        "database": {"url": database_url},
        "server": {"async_mode": "threading", "secret_key": "test-secret-of-thirty-two-bytes-or-more"},
    }
    for section, values in sections.items():
        if section == "channels":
            # The example lists every channel switched off; a test's channels are meant on.
            values = {name: {"enabled": True, **conf} for name, conf in values.items()}
        overrides.setdefault(section, {}).update(values)
    return load_settings(EXAMPLE_CONFIG, overrides=overrides, environ={})


def prepare_database(settings) -> None:
    """Migrate the database and apply the clinic's services and rooms, as `db upgrade` does."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        sync_clinic(session, settings)
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """Monday 23 November 2026, 10:00 in Seoul."""
    return ManualClock(datetime(2026, 11, 23, 10, 0, tzinfo=SEOUL))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def settings(database_url: str):
    settings = make_settings(database_url)
    prepare_database(settings)
    return settings


@pytest.fixture
def app(settings, clock):
    with clinic_app(settings, clock) as app:
        yield app


@pytest.fixture(params=["sqlite", "postgres"])
def any_database_url(request, tmp_path) -> str:
    """A fresh database on SQLite and, as a second run, on the real PostgreSQL."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """The app's database session, for arranging and checking state directly."""
    with app.app_context():
        yield db.session()


@pytest.fixture
def queue(app, session, clock, settings) -> ClinicQueue:
    """The domain over the app's session."""
    return ClinicQueue(session, clock, settings.timezone)


class Tokens:
    """One API token per role, and the headers that carry them."""

    def __init__(self, app, clock) -> None:
        with app.app_context():
            self.values = {
                role: issue_api_token(db.session(), role, f"test {role}", clock.now())
                for role in ("admin", "staff", "kiosk", "display")
            }
            db.session.commit()

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.values[role]}"}

    def __getitem__(self, role: str) -> str:
        return self.values[role]


@pytest.fixture
def tokens(app, clock) -> Tokens:
    return Tokens(app, clock)


@pytest.fixture
def postgres_url():
    """A fresh schema in the real PostgreSQL ``test`` database, dropped afterwards."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def redis_url():
    """The real Redis on this machine."""
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL
