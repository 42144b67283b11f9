"""``/healthz`` answers while the process runs; ``/readyz`` answers 503 naming what is unreachable."""

from __future__ import annotations

import pytest

from queue_app import create_app
from queue_app.extensions import db
from queue_app.health import message_queue_check

from .conftest import PG_URL, make_settings
from .support.loopback import free_port


@pytest.fixture
def make_client(clock):
    """A test client for an app on ``database_url``, torn down after."""
    apps = []

    def make(database_url: str):
        settings = make_settings(database_url)
        app = create_app(settings, clock=clock)
        apps.append(app)
        return app.test_client()

    yield make
    db.session.remove()
    db.engine.dispose()


def nowhere_postgres() -> str:
    """A PostgreSQL address where nothing listens: a database that is down."""
    return PG_URL.replace("127.0.0.1:5432", f"127.0.0.1:{free_port()}")


def test_healthz_answers_without_the_database(make_client):
    client = make_client(nowhere_postgres())
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ready_on_a_live_database(make_client, settings):
    response = make_client(settings.database_url).get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_is_503_naming_the_database_when_it_is_down(make_client):
    response = make_client(nowhere_postgres()).get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"]
    body = response.get_json()
    assert body["checks"] == {"database": "unreachable"}
    assert body["error"]["code"] == "unavailable" and "database" in body["error"]["message"]


def test_the_message_queue_check_pings_the_real_redis(redis_url):
    # Through the check itself: an app made here with a message queue would keep it for the session.
    assert message_queue_check(redis_url) == "ok"
    assert message_queue_check(f"redis://127.0.0.1:{free_port()}/0") == "unreachable"


def test_the_api_document_tells_integrators_of_outages_and_health_checks(make_client, settings):
    spec = make_client(settings.database_url).get("/api/v1/openapi.json").get_json()
    operations = [op for item in spec["paths"].values() for op in item.values() if "responses" in op]
    assert operations and all("503" in op["responses"] for op in operations)
    assert "/healthz" in spec["info"]["description"] and "/readyz" in spec["info"]["description"]
