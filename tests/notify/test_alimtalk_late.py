"""The real server (eventlet) learns an AlimTalk's fate late and still reaches the patient in
time: Solapi accepts the check-in AlimTalk, lists it as "with Kakao" for 10 s of real time,
then as 3104 (not a KakaoTalk user).  The patient gets the text from the local Twilio before
they are called, and their call goes by SMS only (local Solapi and Twilio servers)."""

from __future__ import annotations

import threading
import time

import requests

from queue_app.config import EXAMPLE_CONFIG

from ..e2e import conftest as e2e
from ..e2e.conftest import LiveServer
from .local_solapi import Fate, LocalSolapi
from .test_restart import sms_env


class Recorder:
    """Local Solapi and Twilio on one server, with every step written down in order."""

    def __init__(self, server) -> None:
        self.solapi = LocalSolapi(server, "NCSKEY", "NCSSECRET")
        self.steps: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        server.handler = self.handle

    def handle(self, request):
        if self.solapi.handles(request):
            status, headers, body = self.solapi.handle(request)
            if request.method == "POST":
                step = ("alimtalk accepted", body["messageList"][0]["statusCode"])
            else:
                codes = sorted(m["statusCode"] for m in body.get("messageList", {}).values())
                step = ("alimtalk listed", ",".join(codes))
        else:
            status, headers, body = 201, {}, {"sid": f"SM{len(self.steps):032d}", "status": "queued"}
            step = ("sms", request.form()["Body"][0])
        with self._lock:
            self.steps.append(step)
        return status, headers, body

    def texts(self) -> list[str]:
        return [text for kind, text in self.steps if kind == "sms"]

    def note(self, what: str) -> None:
        with self._lock:
            self.steps.append((what, ""))


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.1)


def clinic_config(tmp_path, monkeypatch):
    """The example configuration with AlimTalk templates (a table: not settable by environment)."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    empty = 'templates = { checked_in = "", turn_near = "", called = "", recalled = "" }'
    assert empty in text
    config = tmp_path / "clinic.toml"
    config.write_text(text.replace(empty, 'templates = { checked_in = "KA01TP-IN", called = "KA01TP-CALL" }'))
    monkeypatch.setattr(e2e, "EXAMPLE_CONFIG", config)  # LiveServer runs every command with it


def test_solapi_late_failure_falls_back_to_sms_before_the_call(tmp_path, http_server, monkeypatch):
    clinic_config(tmp_path, monkeypatch)
    providers = Recorder(http_server)
    providers.solapi.fates["01098765432"] = Fate("3104", after=10)
    server = LiveServer(
        tmp_path,
        sms_env(
            http_server.url,
            QUEUE_APP_NOTIFY_CHANNELS="alimtalk,sms",
            QUEUE_APP_NOTIFY_MESSAGES="checked_in,called",
            QUEUE_APP_CHANNELS_ALIMTALK_ENABLED="true",
            QUEUE_APP_CHANNELS_ALIMTALK_API_KEY="NCSKEY",
            QUEUE_APP_CHANNELS_ALIMTALK_API_SECRET="NCSSECRET",
            QUEUE_APP_CHANNELS_ALIMTALK_PF_ID="KA01PF",
            QUEUE_APP_CHANNELS_ALIMTALK_BASE_URL=http_server.url,
            QUEUE_APP_CHANNELS_ALIMTALK_RESULT_POLL_SECONDS="1",
        ),
    )
    server.command("db", "upgrade")
    server.start()
    kiosk = {"Authorization": f"Bearer {server.token('kiosk')}"}
    staff = {"Authorization": f"Bearer {server.token('staff')}"}
    try:
        body = {"service": "general", "phone": "010-9876-5432", "consent": True}
        ticket = requests.post(f"{server.url}/api/v1/tickets", json=body, headers=kiosk, timeout=10).json()
        wait_until(lambda: len(providers.texts()) == 1, timeout=40)  # 10 s with Kakao, then the text
        providers.note("called by staff")
        called = requests.post(f"{server.url}/api/v1/rooms/room1/call-next", headers=staff, timeout=10).json()
        assert called["ticket"]["id"] == ticket["id"]
        wait_until(lambda: len(providers.texts()) == 2, timeout=20)
        time.sleep(1.5)  # a second AlimTalk or a repeated text would show up by now
        queue = requests.get(f"{server.url}/api/v1/queue", headers=staff, timeout=10).json()
    finally:
        server.stop()

    steps = [kind if kind != "alimtalk listed" else f"listed {codes}" for kind, codes in providers.steps]
    first_text = steps.index("sms")
    # Accepted at once, asked about every second while it was with Kakao, failed, then texted.
    assert steps[0] == "alimtalk accepted" and providers.steps[0][1] == "2000"
    assert steps[1:first_text].count("listed 3000") >= 2
    assert steps[first_text - 1] == "listed 3104"
    assert ticket["number"] in providers.texts()[0]
    # The call came after the text, and went by SMS only: AlimTalk was not tried again.
    assert steps[first_text + 1 :] == ["called by staff", "sms"]
    assert steps.count("alimtalk accepted") == 1
    [patient] = queue["in_rooms"]
    assert patient["needs_call"] is False
    shown = {m["kind"]: (m["channel"], m["status"]) for m in patient["messages"] if m["route"] == "patient"}
    assert shown == {"checked_in": ("sms", "sent"), "called": ("sms", "sent")}
