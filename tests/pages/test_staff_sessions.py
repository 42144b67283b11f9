"""Staff sessions: signed with a key nobody else knows, and over when they should be.

A session cookie can be copied (a shared computer, a stolen laptop, a proxy log).  These tests
copy one from the browser that signed in into a second client and check that the copy works
exactly as long as the original session does: until sign-out, a new password, deactivation
or eight idle hours.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import event, insert, select

from queue_app import create_app
from queue_app.auth import create_user, deactivate_user, set_password
from queue_app.extensions import db, make_engine, socketio
from queue_app.models import ServerSecret, StaffUser
from queue_app.realtime import end_ended_sessions
from queue_app.session_key import SESSION_KEY, stored_session_key

from ..conftest import make_settings, prepare_database
from .conftest import PASSWORD, csrf_of

#: The key every app used before, when [server] secret_key was left empty.
OLD_CONSTANT_KEY = "dev-only-not-secret"
AJAX = {"X-Requested-With": "fetch"}


def sign_in(client, username="nurse", password=PASSWORD):
    page = client.get("/login")
    response = client.post("/login", data={"csrf": csrf_of(page), "username": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def sign_out(client):
    page = client.get("/logout")
    assert client.post("/logout", data={"csrf": csrf_of(page)}).status_code == 303


def copy_of_session(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def end_nurses_sessions(app, change) -> None:
    """What an admin does from the command line: a new password for the nurse, or deactivation."""
    with app.app_context():
        if change is set_password:
            change(db.session(), "nurse", "another-pass-456")
        else:
            change(db.session(), "nurse")
        db.session.commit()


def signed_cookie(key: str, data: dict) -> str:
    """A session cookie for ``data`` signed the way Flask signs them, with ``key``."""
    forger = Flask("forger")
    forger.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps(data)


def room_status(client, tokens, room="room1") -> str:
    rooms = client.get("/api/v1/rooms", headers=tokens.headers("staff")).get_json()
    return next(r for r in rooms if r["id"] == room)["status"]


# -- the signing key ---------------------------------------------------------------------------


@pytest.fixture
def keyless_settings(database_url):
    """The clinic with ``[server] secret_key`` left empty, as the example ships."""
    settings = make_settings(database_url, server={"secret_key": ""})
    prepare_database(settings)
    return settings


@pytest.fixture
def keyless_app(keyless_settings, clock):
    app = create_app(keyless_settings, clock=clock)
    yield app
    db.session.remove()


def test_a_cookie_signed_with_the_old_constant_key_pauses_nothing(keyless_app, clock, tokens):
    with keyless_app.app_context():
        user = StaffUser(username="nurse", display_name="n", password_hash="x", role="staff", created_at=clock.now())
        db.session.add(user)
        db.session.commit()
        session = {"user_id": user.id, "epoch": 0, "seen": int(clock.now().timestamp())}
    client = keyless_app.test_client()
    client.set_cookie("session", signed_cookie(OLD_CONSTANT_KEY, session))

    refused = client.post("/api/v1/rooms/room1/pause", headers=AJAX)

    assert refused.status_code == 401
    assert room_status(client, tokens) == "open"
    assert client.get("/staff").status_code == 302  # to the sign-in page
    # The same session signed with the key this clinic keeps does work: the forgery failed
    # for want of the key, nothing else.
    engine = make_engine(keyless_app.extensions["queue_app"].settings.database_url)
    real_key = stored_session_key(engine, clock.now())
    engine.dispose()
    assert real_key != OLD_CONSTANT_KEY and len(real_key) >= 32
    client.set_cookie("session", signed_cookie(real_key, session))
    assert client.post("/api/v1/rooms/room1/pause", headers=AJAX).status_code == 200
    assert room_status(client, tokens) == "paused"


def test_two_apps_on_one_database_accept_each_others_sessions(keyless_settings, clock, staff_user_row):
    first = create_app(keyless_settings, clock=clock)
    second = create_app(keyless_settings, clock=clock)
    on_first = sign_in(first.test_client())

    on_second = copy_of_session(second, on_first)

    assert on_second.get("/api/v1/queue").status_code == 200
    assert on_second.get("/staff").status_code == 200  # the console, not the sign-in page
    db.session.remove()


@pytest.fixture
def staff_user_row(keyless_settings, clock):
    """The nurse, written straight into the keyless clinic's database."""
    from sqlalchemy.orm import Session
    from werkzeug.security import generate_password_hash

    engine = make_engine(keyless_settings.database_url)
    with Session(engine) as session, session.begin():
        session.add(
            StaffUser(
                username="nurse",
                display_name="Nurse",
                password_hash=generate_password_hash(PASSWORD),
                role="staff",
                created_at=clock.now(),
            )
        )
    engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_process_that_loses_the_race_to_store_a_key_uses_the_winners(request, database, clock):
    """Two processes start at once, both find no key, both make one: one key is kept and used by both."""
    url = request.getfixturevalue("database_url" if database == "sqlite" else "postgres_url")
    prepare_database(make_settings(url))
    engine, rival = make_engine(url), make_engine(url)
    winner = "the-other-process-stored-this-key-first-0123456789"

    @event.listens_for(engine, "before_cursor_execute")
    def the_other_process_inserts_first(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO SERVER_SECRETS"):
            with rival.begin() as other:
                other.execute(insert(ServerSecret).values(name=SESSION_KEY, value=winner, created_at=clock.now()))

    try:
        assert stored_session_key(engine, clock.now()) == winner
        with rival.connect() as connection:
            assert connection.scalars(select(ServerSecret.value)).all() == [winner]
    finally:
        engine.dispose()
        rival.dispose()


# -- ending sessions ---------------------------------------------------------------------------


def test_a_copied_cookie_stops_working_when_its_user_signs_out(app, signed_in, tokens, clock):
    check_in = signed_in.post(
        "/api/v1/tickets", json={"service": "general"}, headers=tokens.headers("kiosk")
    ).get_json()
    thief = copy_of_session(app, signed_in)
    assert thief.get("/api/v1/queue").status_code == 200
    assert socketio.test_client(app, flask_test_client=thief).is_connected()

    sign_out(signed_in)

    assert thief.get("/api/v1/queue").status_code == 401
    called = thief.post("/api/v1/rooms/room1/call-next", headers=AJAX)
    assert called.status_code == 401
    waiting = signed_in.get("/api/v1/queue", headers=tokens.headers("staff")).get_json()["waiting"]
    assert [t["number"] for t in waiting] == [check_in["number"]]  # nobody was called
    assert not socketio.test_client(app, flask_test_client=thief).is_connected()
    assert thief.get("/staff").status_code == 302


def test_signing_out_ends_the_users_sessions_on_other_computers_too(app, staff_user):
    laptop = sign_in(app.test_client())
    desk = sign_in(app.test_client())

    sign_out(laptop)

    assert desk.get("/api/v1/queue").status_code == 401
    # Signing in again starts a session that counts.
    assert sign_in(desk).get("/api/v1/queue").status_code == 200


@pytest.mark.parametrize("change", [set_password, deactivate_user], ids=["new password", "deactivated"])
def test_a_new_password_or_deactivation_ends_every_session(app, signed_in, change):
    thief = copy_of_session(app, signed_in)
    end_nurses_sessions(app, change)

    assert signed_in.get("/api/v1/queue").status_code == 401
    assert thief.get("/api/v1/queue").status_code == 401
    assert not socketio.test_client(app, flask_test_client=thief).is_connected()


def test_a_session_unused_for_the_idle_time_is_over(app, signed_in, clock, settings):
    assert settings.session_idle_minutes == 480
    clock.advance(minutes=470)
    assert signed_in.get("/api/v1/queue").status_code == 200  # in use: the idle time starts again
    clock.advance(minutes=470)
    assert signed_in.get("/api/v1/queue").status_code == 200
    thief = copy_of_session(app, signed_in)

    clock.advance(minutes=481)

    assert not socketio.test_client(app, flask_test_client=thief).is_connected()
    assert signed_in.get("/api/v1/queue").status_code == 401
    assert signed_in.get("/staff").status_code == 302


def test_the_idle_time_is_the_clinics_setting(database_url, clock):
    settings = make_settings(database_url, server={"session_idle_minutes": 30})
    prepare_database(settings)
    app = create_app(settings, clock=clock)
    with app.app_context():
        create_user(db.session(), "nurse", PASSWORD, "staff", clock.now())
        db.session.commit()
    client = sign_in(app.test_client())

    clock.advance(minutes=29)
    assert client.get("/api/v1/queue").status_code == 200
    clock.advance(minutes=31)

    assert client.get("/api/v1/queue").status_code == 401
    db.session.remove()


def test_signing_out_disconnects_the_users_open_consoles_at_once(app, signed_in):
    console = socketio.test_client(app, flask_test_client=signed_in)
    stolen = socketio.test_client(app, flask_test_client=copy_of_session(app, signed_in))
    assert console.is_connected() and stolen.is_connected()

    sign_out(signed_in)

    assert not console.is_connected()
    assert not stolen.is_connected()


@pytest.mark.parametrize("change", [set_password, deactivate_user], ids=["new password", "deactivated"])
def test_a_console_left_open_is_disconnected_when_its_session_ends_elsewhere(app, signed_in, tokens, change):
    console = socketio.test_client(app, flask_test_client=signed_in)
    # The reception PC's staff token: a socket that came in by a token, not a session.
    by_token = socketio.test_client(app, auth={"token": tokens["staff"]})
    # The command line (another process) ends the sessions: this process hears of it only at
    # its next sweep.
    end_nurses_sessions(app, change)
    assert console.is_connected()

    assert end_ended_sessions(app) == 1

    assert not console.is_connected()
    assert by_token.is_connected()
    assert end_ended_sessions(app) == 0
