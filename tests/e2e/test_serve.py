"""End to end: the real server process under eventlet, HTTP check-in, Socket.IO events."""

from __future__ import annotations

import re

import requests
import socketio

from .conftest import Listener


def test_check_in_and_call_reach_the_patients_phone_and_the_display(live_server):
    kiosk = {"Authorization": f"Bearer {live_server.token('kiosk')}"}
    staff = {"Authorization": f"Bearer {live_server.token('staff')}"}
    display_token = live_server.token("display")

    response = requests.post(
        f"{live_server.url}/api/v1/tickets", json={"service": "general", "language": "en"}, headers=kiosk, timeout=10
    )
    assert response.status_code == 201
    ticket = response.json()
    assert ticket["url"].startswith(live_server.url + "/t/")

    phone = Listener(live_server.url, {"ticket": ticket["token"]})
    display = Listener(live_server.url, {"token": display_token})
    try:
        snapshot = phone.wait_for(lambda e, d: e == "ticket")
        assert snapshot["status"] == "waiting" and snapshot["number"] == ticket["number"]

        call = requests.post(f"{live_server.url}/api/v1/rooms/room1/call-next", headers=staff, timeout=10)
        assert call.status_code == 200

        mine = phone.wait_for(lambda e, d: e == "ticket" and d["status"] == "called")
        assert mine["room"] == "room1"
        shown = display.wait_for(lambda e, d: e == "called")
        assert shown["number"] == ticket["number"] and shown["room"] == "room1"
        # The phone hears its own news only: its ticket, not the public announcement.
        assert [e for e, _ in phone.events if e == "called"] == []
    finally:
        phone.close()
        display.close()


def test_server_restarted_mid_morning_keeps_the_queue_and_clients_resync(live_server):
    kiosk = {"Authorization": f"Bearer {live_server.token('kiosk')}"}
    staff = {"Authorization": f"Bearer {live_server.token('staff')}"}
    tickets = [
        requests.post(
            f"{live_server.url}/api/v1/tickets", json={"service": "general"}, headers=kiosk, timeout=10
        ).json()
        for _ in range(3)
    ]
    phone = Listener(live_server.url, {"ticket": tickets[2]["token"]})
    try:
        phone.wait_for(lambda e, d: e == "ticket")
        live_server.restart()  # killed, not stopped politely
        # The queue survived, numbering continues, and the phone reconnected by itself.
        after = requests.post(
            f"{live_server.url}/api/v1/tickets", json={"service": "general"}, headers=kiosk, timeout=10
        )
        assert after.json()["number"] == "A-004"
        called = requests.post(f"{live_server.url}/api/v1/rooms/room1/call-next", headers=staff, timeout=10).json()
        assert called["ticket"]["number"] == "A-001"
        # The third in line is now second: their phone has its new place, as a `place` event
        # or in the snapshot its reconnect brought (whichever came after the call).
        place = phone.wait_for(lambda e, d: e in ("place", "ticket") and d.get("position") == 2, timeout=15)
        assert place["ahead"] == 1
    finally:
        phone.close()


def sign_in(server, username: str, password: str) -> str:
    """Sign in through the real login form; the session cookie's value."""
    browser = requests.Session()
    page = browser.get(f"{server.url}/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    answer = browser.post(
        f"{server.url}/login",
        data={"csrf": csrf, "username": username, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    return browser.cookies["session"]


def sign_out(server, cookie: str) -> None:
    page = requests.get(f"{server.url}/logout", cookies={"session": cookie}, timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = requests.post(
        f"{server.url}/logout",
        data={"csrf": csrf},
        cookies={"session": page.cookies.get("session", cookie)},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303


def staff_socket_connects(server, cookie: str) -> bool:
    """Whether a staff console's Socket.IO connection with this session cookie is let in."""
    client = socketio.Client(reconnection=False)
    try:
        client.connect(server.url, headers={"Cookie": f"session={cookie}"}, transports=["websocket"], wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        return False
    client.disconnect()
    return True


def test_two_server_processes_share_postgresql_and_redis(tmp_path, postgres_url, redis_url):
    """A call made on one process reaches a phone connected to the other; so does a staff session.

    No secret key is configured: the processes share the session key the database keeps,
    and a sign-out on one ends the session on the other.
    """
    from .conftest import LiveServer

    env = {
        "QUEUE_APP_DATABASE_URL": postgres_url,
        "QUEUE_APP_REALTIME_MESSAGE_QUEUE": redis_url,
        "QUEUE_APP_REALTIME_CHANNEL": f"queue-app-e2e-{tmp_path.name}",
        "QUEUE_APP_SERVER_SECRET_KEY": "",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = LiveServer(tmp_path / "a", env)
    second = LiveServer(tmp_path / "b", env)
    first.command("db", "upgrade")
    first.start()
    second.start()
    phone = None
    try:
        kiosk = {"Authorization": f"Bearer {first.token('kiosk')}"}
        staff = {"Authorization": f"Bearer {first.token('staff')}"}
        ticket = requests.post(
            f"{first.url}/api/v1/tickets", json={"service": "general"}, headers=kiosk, timeout=10
        ).json()
        phone = Listener(second.url, {"ticket": ticket["token"]})
        phone.wait_for(lambda e, d: e == "ticket")
        assert requests.post(f"{first.url}/api/v1/rooms/room1/call-next", headers=staff, timeout=10).status_code == 200
        called = phone.wait_for(lambda e, d: e == "ticket" and d["status"] == "called")
        assert called["room"] == "room1"

        first.command("create-user", "--username", "nurse", "--password", "nurse-pass-123")
        cookie = sign_in(first, "nurse", "nurse-pass-123")
        assert requests.get(f"{second.url}/api/v1/queue", cookies={"session": cookie}, timeout=10).status_code == 200
        assert staff_socket_connects(second, cookie)
        sign_out(first, cookie)
        assert requests.get(f"{second.url}/api/v1/queue", cookies={"session": cookie}, timeout=10).status_code == 401
        assert not staff_socket_connects(second, cookie)
    finally:
        if phone:
            phone.close()
        first.stop()
        second.stop()
