"""End to end: two server processes lose Redis for a while, and no display or phone is left behind.

Both processes share PostgreSQL and reach Redis only through local TCP proxies that the test
cuts and restores.  A call made while Redis is unreachable is committed, and answered, but its
events reach only the clients of the process that made it.  The clients of the other process
catch up either way: they follow the queue's version the way ``queue-version.js`` does in the
browser (the next event skips a number, so they ask for a resync), and when the other process
subscribes to Redis again it sends them the latest snapshot without being asked.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
import requests

from tests.support.tcp_proxy import TcpProxy

from .conftest import Listener, LiveServer

REDIS = ("127.0.0.1", 6379)


class Follower(Listener):
    """A display or phone that follows the queue's version the way ``queue-version.js`` does.

    A ``queue`` event more than one version ahead of the last one shown means events were
    missed: it emits ``resync``.  An event older than what it shows is ignored.
    """

    def __init__(self, url: str, auth: dict) -> None:
        self.shown: dict | None = None
        self.mark: int | None = None
        self.resyncs_asked = 0
        super().__init__(url, auth)

    def _record(self, event, data=None):
        if event in ("ticket", "place") and isinstance(data, dict):
            # A phone follows its own news: `since` names the event of ours before this one.
            if data.get("since") is not None and self.mark is not None and data["since"] != self.mark:
                self.resyncs_asked += 1
                self.client.emit("resync")
            self.mark = data.get("mark")
        if event == "missed":  # the servers dropped events while Redis was away
            self.resyncs_asked += 1
            self.client.emit("resync")
        if event == "queue" and isinstance(data, dict) and isinstance(data.get("version"), int):
            last = self.shown["version"] if self.shown is not None else None
            if last is not None and data["version"] < last:
                return
            if last is not None and data["version"] > last + 1:
                self.resyncs_asked += 1
                self.client.emit("resync")
            self.shown = data
        super()._record(event, data)


def wait_until(condition, timeout: float = 30.0, what: str = "condition"):
    """Poll ``condition`` until it is truthy (returned) or the deadline passes (fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def serving(view: dict, room: str) -> str | None:
    return next(r["serving"] for r in view["rooms"] if r["id"] == room)


def waiting(view: dict, service: str) -> int:
    return next(s["waiting"] for s in view["services"] if s["id"] == service)


class Clinic:
    """Two server processes on one PostgreSQL database, each reaching Redis through its own proxy."""

    def __init__(self, tmp_path: Path, postgres_url: str, redis_url: str, stack: ExitStack) -> None:
        self.channel = f"queue-app-e2e-{tmp_path.name}"
        self.redis = redis.Redis.from_url(redis_url)
        stack.callback(self.redis.close)
        self.proxies = [stack.enter_context(TcpProxy(REDIS)) for _ in range(2)]
        self.servers = []
        for name, proxy in zip("ab", self.proxies, strict=True):
            (tmp_path / name).mkdir()
            env = {
                "QUEUE_APP_DATABASE_URL": postgres_url,
                "QUEUE_APP_REALTIME_MESSAGE_QUEUE": proxy.url(),
                "QUEUE_APP_REALTIME_CHANNEL": self.channel,
            }
            self.servers.append(LiveServer(tmp_path / name, env))
        self.first, self.second = self.servers
        self.first.command("db", "upgrade")
        for server in self.servers:
            stack.callback(server.stop)
            server.start()
        self.kiosk = {"Authorization": f"Bearer {self.first.token('kiosk')}"}
        self.staff = {"Authorization": f"Bearer {self.first.token('staff')}"}

    def listeners(self) -> int:
        """How many server processes listen on the channel, as Redis itself counts them."""
        return self.redis.pubsub_numsub(self.channel)[0][1]

    def check_in(self) -> dict:
        response = requests.post(
            f"{self.first.url}/api/v1/tickets", json={"service": "general"}, headers=self.kiosk, timeout=30
        )
        assert response.status_code == 201, response.text
        return response.json()

    def call_next(self) -> dict:
        response = requests.post(f"{self.first.url}/api/v1/rooms/room1/call-next", headers=self.staff, timeout=30)
        # The call is committed before it is published: Redis being down does not fail it.
        assert response.status_code == 200, response.text
        return response.json()["ticket"]


@pytest.fixture
def clinic(tmp_path, postgres_url, redis_url):
    with ExitStack() as stack:
        yield Clinic(tmp_path, postgres_url, redis_url, stack)


def test_each_phone_on_either_process_hears_its_own_new_place_after_a_call(clinic):
    """The places a call moves travel between the processes as one batch; each phone gets its own."""
    tickets = [clinic.check_in() for _ in range(4)]
    phones = [
        Follower(clinic.second.url, {"ticket": tickets[1]["token"]}),
        Follower(clinic.first.url, {"ticket": tickets[2]["token"]}),
        Follower(clinic.second.url, {"ticket": tickets[3]["token"]}),
    ]
    try:
        for phone in phones:
            phone.wait_for(lambda e, d: e == "ticket" and d["status"] == "waiting")
        # Each process listens on the channel once it has clients.
        wait_until(lambda: clinic.listeners() == 2, what="both processes to listen")
        assert clinic.call_next()["number"] == tickets[0]["number"]
        for place, phone in enumerate(phones, start=1):
            moved = phone.wait_for(lambda e, d: e == "place")
            assert (moved["position"], moved["ahead"]) == (place, place - 1)
        time.sleep(0.3)
        for phone in phones:
            assert [e for e, _ in phone.events] == ["ticket", "place"]  # nobody else's, no batch
    finally:
        for phone in phones:
            phone.close()


def test_a_call_published_while_redis_was_out_of_reach_is_resynced_on_the_next_change(clinic):
    """The first process cannot reach Redis while it calls; the second's clients catch up."""
    first_in_line = clinic.check_in()
    clinic.check_in()
    display = Follower(clinic.second.url, {"token": clinic.second.token("display")})
    phone = Follower(clinic.second.url, {"ticket": first_in_line["token"]})
    try:
        before = display.wait_for(lambda e, d: e == "queue")
        phone.wait_for(lambda e, d: e == "ticket" and d["status"] == "waiting")
        assert serving(before, "room1") is None and waiting(before, "general") == 2
        # The second process listens on the channel once it has clients; the first only publishes.
        wait_until(lambda: clinic.listeners() == 1, what="the second process to listen")

        clinic.proxies[0].cut()
        assert clinic.call_next()["number"] == first_in_line["number"]
        clinic.proxies[0].restore()
        clinic.check_in()

        # The check-in's event skips the call's number: both ask again and are sent the call.
        shown = wait_until(
            lambda: (
                display.shown
                if display.shown["version"] > before["version"] and waiting(display.shown, "general") == 2
                else None
            ),
            what="the display to show the check-in",
        )
        assert shown["version"] == before["version"] + 2
        assert display.resyncs_asked == 1
        assert serving(shown, "room1") == first_in_line["number"]
        # The phone heard nothing of its own call; told that events were dropped, it asks again.
        mine = phone.wait_for(lambda e, d: e == "ticket" and d["status"] == "called")
        assert mine["room"] == "room1"
        assert phone.resyncs_asked == 1
        # The resync's answer is the latest snapshot again, not an older one.
        answered = display.wait_for(lambda e, d: e == "queue" and d["version"] == shown["version"] and d is not shown)
        assert serving(answered, "room1") == first_in_line["number"]
    finally:
        display.close()
        phone.close()


def test_when_redis_comes_back_the_clients_are_sent_what_they_missed_at_once(clinic):
    """Redis itself goes away for both processes; its return alone brings the call to the second's clients."""
    first_in_line = clinic.check_in()
    clinic.check_in()
    display = Follower(clinic.second.url, {"token": clinic.second.token("display")})
    phone = Follower(clinic.second.url, {"ticket": first_in_line["token"]})
    late_display = None
    try:
        before = display.wait_for(lambda e, d: e == "queue")
        phone.wait_for(lambda e, d: e == "ticket" and d["status"] == "waiting")
        wait_until(lambda: clinic.listeners() == 1, what="the second process to listen")

        for proxy in clinic.proxies:
            proxy.cut()
        wait_until(lambda: clinic.listeners() == 0, what="the second process to lose the channel")
        assert clinic.call_next()["number"] == first_in_line["number"]
        # A display that connects meanwhile is answered by its own process, from the database.
        late_display = Follower(clinic.second.url, {"token": clinic.second.token("display")})
        late = late_display.wait_for(lambda e, d: e == "queue")
        assert serving(late, "room1") == first_in_line["number"]
        for proxy in clinic.proxies:
            proxy.restore()

        # No further change: the second process subscribes again and sends its clients the snapshot.
        shown = wait_until(
            lambda: display.shown if serving(display.shown, "room1") == first_in_line["number"] else None,
            what="the display to show the call made during the outage",
        )
        assert shown["version"] == before["version"] + 1
        mine = phone.wait_for(lambda e, d: e == "ticket" and d["status"] == "called")
        assert mine["room"] == "room1"
        assert display.resyncs_asked == phone.resyncs_asked == 0
    finally:
        for client in (display, phone, late_display):
            if client is not None:
                client.close()


def test_a_redis_that_stops_answering_holds_up_no_change(clinic):
    """Redis's host goes quiet (nothing refused, nothing answered): changes are still answered."""
    first_in_line = clinic.check_in()
    display = Follower(clinic.second.url, {"token": clinic.second.token("display")})
    try:
        display.wait_for(lambda e, d: e == "queue")
        wait_until(lambda: clinic.listeners() == 1, what="the second process to listen")
        clinic.check_in()  # the first process now holds a connection to Redis, soon to go quiet

        for proxy in clinic.proxies:
            proxy.cut(silent=True)
        # Without a time limit on publishing, these would wait for Redis as long as it is gone.
        assert clinic.call_next()["number"] == first_in_line["number"]
        clinic.check_in()
        for proxy in clinic.proxies:
            proxy.restore()

        def caught_up():
            return serving(display.shown, "room1") == first_in_line["number"] and waiting(display.shown, "general") == 2

        wait_until(caught_up, what="the display to show the call and the check-in made while Redis was silent")
        log = clinic.first.log.read_text()
        assert log.count("cannot publish to Redis") == 1, log
    finally:
        display.close()
