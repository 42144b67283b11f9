"""The benchmark's rule for "this phone has what the call changed for it" (bench/live_updates.py).

The fan-out figure is only as honest as this rule: a phone counts as updated only once it has
its own news (its new place, or its ticket saying "called"); displays need the announcement.
"""

import sys
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")  # the benchmark's extra: pip install -e '.[bench]'
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from live_updates import Listener  # noqa: E402


def phone(ticket_id: int, position: int) -> Listener:
    listener = Listener("phone")
    listener.ticket_id, listener.position0 = ticket_id, position
    listener.positions[position] = 0.0
    listener.statuses["waiting"] = 0.0
    return listener


def test_a_waiting_phone_is_updated_only_once_it_has_its_new_place():
    listener = phone(7, 5)
    want = {"number": "A-001", "called_id": 3, "calls": 1}
    listener.called["A-001"] = 1.0  # phones are not sent the announcement; it would not count
    assert listener.updated_at(want) is None
    listener.positions[4] = 2.5
    assert listener.updated_at(want) == 2.5


def test_a_place_from_an_earlier_call_does_not_count_for_the_next():
    listener = phone(7, 5)
    listener.positions[4] = 1.0
    want = {"number": "A-002", "called_id": 4, "calls": 2}
    assert listener.updated_at(want) is None
    listener.positions[3] = 2.2
    assert listener.updated_at(want) == 2.2


def test_the_called_patients_phone_needs_its_ticket_saying_called():
    listener = phone(3, 1)
    want = {"number": "A-001", "called_id": 3, "calls": 1}
    assert listener.updated_at(want) is None
    listener.statuses["called"] = 1.4
    assert listener.updated_at(want) == 1.4


def test_a_phone_called_before_has_no_news_to_wait_for():
    listener = phone(3, 1)
    assert listener.updated_at({"number": "A-002", "called_id": 4, "calls": 2}) == 0.0


@pytest.mark.parametrize("kind", ["display", "bare"])
def test_displays_and_the_bare_servers_clients_need_the_announcement(kind):
    listener = Listener(kind)
    want = {"number": "B-001", "called_id": None, "calls": 1}
    assert listener.updated_at(want) is None
    listener.called["B-001"] = 0.7
    assert listener.updated_at(want) == 0.7
