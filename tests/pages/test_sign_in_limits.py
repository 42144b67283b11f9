"""Password guessing is held back: per account, per address, and across server processes through Redis.

Only wrong passwords count.  A caller over a limit gets 429 with ``Retry-After`` and the sign-in
form saying, in the page's language, how long to wait.
"""

from __future__ import annotations

import uuid

import pytest

from queue_app import create_app
from queue_app.auth import create_user
from queue_app.extensions import db, limiter, socketio

from ..conftest import make_settings, prepare_database
from .conftest import PASSWORD, csrf_of


@pytest.fixture
def clinic_with_limits(tmp_path, clock):
    """An app factory on one database, with the sign-in limits a test gives; staff nurse and doctor."""
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    made = []

    def make(per_account: int = 100, per_address: int = 100, **sections):
        server = {"login_attempts_per_minute": per_account, "login_attempts_per_address_per_minute": per_address}
        settings = make_settings(url, server=server, **sections)
        if not made:
            prepare_database(settings)
        app = create_app(settings, clock=clock)
        app.config["TESTING"] = True
        if not made:
            with app.app_context():
                for name in ("nurse", "doctor"):
                    create_user(db.session(), name, PASSWORD, "staff", clock.now())
                db.session.commit()
        made.append(app)
        return app

    yield make
    db.session.remove()
    db.engine.dispose()
    # Flask-SocketIO keeps a message queue's client manager across init_app calls; later
    # tests' apps have none, and their Socket.IO test clients refuse to run with one.
    socketio.server_options.pop("client_manager", None)
    # The limiter is one object for every app of this process; a test that took Redis away
    # left it counting in its in-memory fallback until it next checks Redis, so the next
    # test's hits and checks could land in two different stores.  Each test starts alive.
    limiter._storage_dead = False


def refused(response) -> bool:
    """The form again, saying the password was wrong (200: a typo is no error in the console)."""
    return response.status_code == 200 and 'id="login-error"' in response.get_data(as_text=True)


def sign_in(client, username: str, password: str, address: str, language: str = "en"):
    """One try at the sign-in form from ``address``."""
    environ = {"REMOTE_ADDR": address}
    headers = {"Accept-Language": language}
    page = client.get("/login", environ_base=environ, headers=headers)
    return client.post(
        "/login",
        data={"csrf": csrf_of(page), "username": username, "password": password},
        environ_base=environ,
        headers=headers,
    )


def assert_held_back(response, language_text: str = "Too many tries. Please wait 1 min and try again."):
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    page = response.get_data(as_text=True)
    assert language_text in page and 'role="alert"' in page


def test_wrong_passwords_for_one_account_from_many_addresses_lock_that_account(clinic_with_limits):
    client = clinic_with_limits(per_account=3).test_client()
    for n in range(3):
        assert refused(sign_in(client, "nurse", f"guess-{n}", f"198.51.100.{n}"))
    # The fourth try is refused before the password is looked at, even the right one.
    assert_held_back(sign_in(client, "NURSE ", PASSWORD, "198.51.100.9"))
    assert client.get("/staff").status_code == 302
    # A colleague signs in as usual, from anywhere.
    assert sign_in(client, "doctor", PASSWORD, "198.51.100.9").status_code == 303


def test_wrong_passwords_from_one_address_hold_that_address_back(clinic_with_limits):
    client = clinic_with_limits(per_address=3).test_client()
    for name in ("nurse", "doctor", "nobody"):
        assert refused(sign_in(client, name, "wrong-password", "203.0.113.7"))
    assert_held_back(sign_in(client, "doctor", PASSWORD, "203.0.113.7"))
    # The right password for another account from another address still works.
    assert sign_in(client, "nurse", PASSWORD, "203.0.113.8").status_code == 303


def test_the_form_says_how_long_to_wait_in_the_pages_language(clinic_with_limits):
    client = clinic_with_limits(per_account=1).test_client()
    sign_in(client, "nurse", "wrong-password", "192.0.2.1")
    assert_held_back(sign_in(client, "nurse", "wrong", "192.0.2.2", "ko"), "시도가 너무 많습니다. 1분 뒤에")
    assert_held_back(sign_in(client, "nurse", "wrong", "192.0.2.3", "ru"), "Подождите 1 мин.")


def test_right_passwords_do_not_count(clinic_with_limits):
    client = clinic_with_limits(per_account=2, per_address=2).test_client()
    for _ in range(5):
        assert sign_in(client, "nurse", PASSWORD, "192.0.2.50").status_code == 303


@pytest.mark.redis
def test_the_count_is_shared_by_two_app_instances_through_redis(clinic_with_limits, redis_url):
    realtime = {"message_queue": redis_url}
    first = clinic_with_limits(per_account=3, realtime=realtime).test_client()
    # A fresh account name and address per run: the counts live in Redis for a minute.
    account = f"nurse-{uuid.uuid4().hex[:8]}"
    for n in range(3):
        assert refused(sign_in(first, account, "wrong-password", f"10.{n}.{n}.{n}"))
    # Made after the guesses, as a second server process would be: counting in its own
    # memory, it would know nothing of them; through Redis it does.
    second = clinic_with_limits(per_account=3, realtime=realtime).test_client()
    assert sign_in(second, account, "wrong-password", "10.9.9.9").status_code == 429
    assert sign_in(second, "nurse", PASSWORD, f"10.8.{uuid.uuid4().int % 250}.8").status_code == 303


def test_with_redis_down_sign_in_still_works_and_is_still_limited(clinic_with_limits):
    from ..support.loopback import free_port

    realtime = {"message_queue": f"redis://127.0.0.1:{free_port()}/0"}  # nothing listens there
    client = clinic_with_limits(per_account=2, realtime=realtime).test_client()
    assert sign_in(client, "doctor", PASSWORD, "192.0.2.70").status_code == 303
    for _ in range(2):
        assert refused(sign_in(client, "nurse", "wrong-password", "192.0.2.71"))
    assert_held_back(sign_in(client, "nurse", PASSWORD, "192.0.2.72"))


def test_a_stranger_guessing_cannot_lock_the_nurse_out_of_her_own_computer(clinic_with_limits):
    app = clinic_with_limits(per_account=3)
    nurses_pc = app.test_client()
    assert sign_in(nurses_pc, "nurse", PASSWORD, "10.0.0.5").status_code == 303
    nurses_pc.post("/logout", data={"csrf": csrf_of(nurses_pc.get("/logout"))})
    stranger = app.test_client()
    for n in range(5):
        sign_in(stranger, "nurse", f"guess-{n}", f"198.51.100.{n}")
    assert_held_back(sign_in(stranger, "nurse", PASSWORD, "198.51.100.9"))

    # Her own browser signed in as her before: the account's count does not hold it back.
    assert sign_in(nurses_pc, "nurse", PASSWORD, "10.0.0.5").status_code == 303
    # A browser that never signed in as her is still held back, whatever its address.
    assert_held_back(sign_in(app.test_client(), "nurse", PASSWORD, "10.0.0.6"))


def test_a_known_browser_is_known_for_its_own_accounts_only_and_cannot_be_forged(clinic_with_limits):
    app = clinic_with_limits(per_account=2)
    doctors_pc = app.test_client()
    assert sign_in(doctors_pc, "doctor", PASSWORD, "10.0.0.7").status_code == 303
    stranger = app.test_client()
    for n in range(3):
        sign_in(stranger, "nurse", f"guess-{n}", f"198.51.100.{n}")

    # Known for the doctor, not for the nurse.
    assert_held_back(sign_in(doctors_pc, "nurse", PASSWORD, "10.0.0.7"))
    # A cookie made up by the stranger counts for nothing.
    stranger.set_cookie("known_device", doctors_pc.get_cookie("known_device").value.replace("doctor", "nurse"))
    assert_held_back(sign_in(stranger, "nurse", PASSWORD, "198.51.100.20"))


def test_a_known_browser_guessing_is_still_held_back_by_its_address(clinic_with_limits):
    app = clinic_with_limits(per_account=2, per_address=3)
    pc = app.test_client()
    assert sign_in(pc, "nurse", PASSWORD, "10.0.0.8").status_code == 303
    for n in range(3):
        assert refused(sign_in(pc, "nurse", f"guess-{n}", "10.0.0.8"))
    assert_held_back(sign_in(pc, "nurse", PASSWORD, "10.0.0.8"))
