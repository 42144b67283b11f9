"""The TV follows the queue's version in a real browser: a number skipped makes it ask for a resync."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from .conftest import SPEECH_STUB


def frame_event(payload) -> tuple[str, object] | None:
    """A Socket.IO event frame (``42["name", data]``) as (name, data); None for anything else."""
    if not isinstance(payload, str) or not payload.startswith("42"):
        return None
    name, *data = json.loads(payload[2:])
    return name, (data[0] if data else None)


def test_a_display_that_missed_a_change_asks_for_the_whole_picture(server, contexts, staff_api):
    context = contexts(viewport={"width": 1920, "height": 1080}, locale="ko-KR")
    context.add_init_script(SPEECH_STUB)
    page = context.new_page()
    sent, received = [], []
    with page.expect_websocket() as opened:
        page.goto(f"{server.url}/display?pair={server.tokens['display']}")
    socket = opened.value
    socket.on("framesent", lambda payload: sent.append(frame_event(payload)))
    socket.on("framereceived", lambda payload: received.append(frame_event(payload)))
    page.wait_for_function("document.querySelectorAll('#service-list li').length > 0")
    start = staff_api.queue()["version"]

    def queue_versions() -> list[int]:
        return [data["version"] for name, data in filter(None, received) if name == "queue"]

    def until(condition) -> None:
        # Playwright hands over frames while it waits; poll, with a deadline.
        for _ in range(200):
            if condition():
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"sent {sent}, received versions {queue_versions()}")

    # An event in sequence: nothing to ask.
    staff_api.check_in("general")
    until(lambda: start + 1 in queue_versions())
    assert ("resync", None) not in sent

    # Another server process's change whose event never reached this TV: the clinic's shared
    # number moved on without it.
    with closing(sqlite3.connect(server.workdir / "queue.db")) as database, database:
        database.execute("UPDATE queue_version SET version = version + 1")
    staff_api.check_in("general")
    until(lambda: ("resync", None) in sent)
    # The answer is the latest picture again, numbered as the event that showed the gap.
    until(lambda: queue_versions().count(start + 3) == 2)
    assert sent.count(("resync", None)) == 1
