"""The dispatcher inside the real server (eventlet): killed mid-morning with messages pending,
after the restart each one is delivered exactly once; and a burst goes out ``senders`` at a
time, never more; and ``queue-app dispatch`` sends from a process of its own while staff
consoles on the web server hear of each delivery through Redis (counted at the local
provider server)."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import requests

from ..e2e.conftest import Listener, LiveServer

SID = "AC" + "3" * 32


def sms_env(provider_url: str, **more: str) -> dict[str, str]:
    return {
        "QUEUE_APP_NOTIFY_CHANNELS": "sms",
        "QUEUE_APP_CHANNELS_SMS_ENABLED": "true",
        "QUEUE_APP_CHANNELS_SMS_ACCOUNT_SID": SID,
        "QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN": "token",
        "QUEUE_APP_CHANNELS_SMS_FROM_NUMBER": "+15005550006",
        "QUEUE_APP_CHANNELS_SMS_BASE_URL": provider_url,
        "NO_PROXY": "127.0.0.1,localhost",
        **more,
    }


def test_pending_messages_survive_a_kill_and_go_out_once(tmp_path, http_server):
    provider = {"up": False}

    def handle(request):
        if not provider["up"]:
            return 503, {}, {"code": 20500, "message": "unavailable", "status": 503}
        if request.path == "/hook":
            return 200, {}, b""
        return 201, {}, {"sid": f"SM{len(http_server.requests):032d}", "status": "queued"}

    http_server.handler = handle
    server = LiveServer(
        tmp_path,
        sms_env(
            http_server.url,
            QUEUE_APP_NOTIFY_RETRIES="20",
            QUEUE_APP_NOTIFY_RETRY_BASE_SECONDS="0.2",
            QUEUE_APP_NOTIFY_RETRY_MAX_SECONDS="2",
            QUEUE_APP_CHANNELS_WEBHOOK_URL=http_server.url + "/hook",
            QUEUE_APP_CHANNELS_WEBHOOK_SECRET="s",
            # Short timeouts, so that the leases of the messages the killed server was
            # sending (three timeouts and a margin) run out soon after the restart.
            QUEUE_APP_CHANNELS_SMS_TIMEOUT="1",
            QUEUE_APP_CHANNELS_WEBHOOK_TIMEOUT="1",
        ),
    )
    server.command("db", "upgrade")
    server.start()
    kiosk = {"Authorization": f"Bearer {server.token('kiosk')}"}
    numbers = []
    try:
        for i in range(5):
            body = {"service": "general", "phone": f"010-3456-{i:04d}", "consent": True}
            response = requests.post(f"{server.url}/api/v1/tickets", json=body, headers=kiosk, timeout=10)
            assert response.status_code == 201
            numbers.append(response.json()["number"])
        deadline = time.monotonic() + 10
        while len(http_server.requests) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http_server.requests, "the dispatcher never tried while the provider was down"
        server.stop(signal.SIGKILL)  # killed, not stopped politely
        failed_tries = len(http_server.requests)
        provider["up"] = True
        server.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivered = [r for r in http_server.requests[failed_tries:]]
            sms = [r for r in delivered if r.path.endswith("/Messages.json")]
            hooks = [r for r in delivered if r.path == "/hook"]
            if len(sms) >= 5 and len(hooks) >= 5:
                break
            time.sleep(0.1)
        time.sleep(1.5)  # anything sent twice would show up by now
    finally:
        server.stop()
    delivered = http_server.requests[failed_tries:]
    sms_bodies = Counter(r.form()["Body"][0] for r in delivered if r.path.endswith("/Messages.json"))
    hook_ids = Counter(r.json()["id"] for r in delivered if r.path == "/hook")
    # The check-in confirmations: one each, for every patient, after the restart.
    assert len(sms_bodies) == 5 and set(sms_bodies.values()) == {1}
    assert all(any(n in body for body in sms_bodies) for n in numbers)
    assert len(hook_ids) == 5 and set(hook_ids.values()) == {1}


def test_a_burst_goes_out_senders_at_a_time(tmp_path, http_server):
    """With ``senders = 3`` and a provider taking 0.3 s, nine check-ins are texted three at a
    time: side by side (not one by one), and never more at once than the clinic allows."""
    lock = threading.Lock()
    load = {"now": 0, "most": 0}

    def handle(request):
        with lock:
            load["now"] += 1
            load["most"] = max(load["most"], load["now"])
        time.sleep(0.3)
        with lock:
            load["now"] -= 1
        return 201, {}, {"sid": f"SM{len(http_server.requests):032d}", "status": "queued"}

    http_server.handler = handle
    server = LiveServer(
        tmp_path, sms_env(http_server.url, QUEUE_APP_NOTIFY_SENDERS="3", QUEUE_APP_NOTIFY_MESSAGES="checked_in")
    )
    server.command("db", "upgrade")
    server.start()
    kiosk = {"Authorization": f"Bearer {server.token('kiosk')}"}
    try:
        for i in range(9):
            body = {"service": "general", "phone": f"010-4567-{i:04d}", "consent": True}
            response = requests.post(f"{server.url}/api/v1/tickets", json=body, headers=kiosk, timeout=10)
            assert response.status_code == 201
        deadline = time.monotonic() + 30
        while len(http_server.requests) < 9 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        server.stop()
    bodies = Counter(r.form()["To"][0] for r in http_server.requests)
    assert len(bodies) == 9 and set(bodies.values()) == {1}
    assert 2 <= load["most"] <= 3


def test_a_dispatcher_of_its_own_sends_while_the_web_server_only_serves(tmp_path, http_server, redis_url):
    http_server.handler = lambda request: (201, {}, {"sid": "SM" + "d" * 32, "status": "queued"})
    server = LiveServer(
        tmp_path,
        sms_env(
            http_server.url,
            QUEUE_APP_REALTIME_MESSAGE_QUEUE=redis_url,
            QUEUE_APP_REALTIME_CHANNEL=f"queue-app-dispatch-{tmp_path.name}",
        ),
    )
    server.command("db", "upgrade")
    server.start("--without-dispatcher")
    kiosk = {"Authorization": f"Bearer {server.token('kiosk')}"}
    staff = Listener(server.url, {"token": server.token("staff")})
    dispatcher = None
    try:
        body = {"service": "general", "phone": "010-5678-0001", "consent": True}
        response = requests.post(f"{server.url}/api/v1/tickets", json=body, headers=kiosk, timeout=10)
        assert response.status_code == 201
        time.sleep(1.5)
        assert not http_server.requests, "the web server sent a message although told not to"

        dispatcher = server.start_dispatcher()
        deadline = time.monotonic() + 20
        while not http_server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r.form()["To"][0] for r in http_server.requests] == ["+821056780001"]
        delivery = staff.wait_for(lambda e, d: e == "delivery" and d["message"]["status"] == "sent", timeout=15)
        assert delivery["ticket_id"] == response.json()["id"]
        assert delivery["message"]["kind"] == "checked_in" and delivery["message"]["channel"] == "sms"

        dispatcher.send_signal(signal.SIGTERM)
        assert dispatcher.wait(timeout=15) == 0
    finally:
        staff.close()
        if dispatcher and dispatcher.poll() is None:
            dispatcher.kill()
        server.stop()
    assert len(http_server.requests) == 1
