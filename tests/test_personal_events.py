"""The batch of personal events is encoded as python-socketio would encode each one itself."""

from __future__ import annotations

import json

from engineio import json as engineio_json
from socketio import packet as sio_packet

from queue_app import payloads
from queue_app.board import QueueState, Wait
from queue_app.personal_events import compact_encoder, event_packet, event_packet_of_json


def test_the_reused_encoder_writes_what_python_socketio_writes():
    event = ["place", {"position": 3, "ahead": 2, "estimated_wait_minutes": None, "name": "Ким 김"}]
    ours = event_packet(compact_encoder(engineio_json), *event)
    theirs = sio_packet.Packet(sio_packet.EVENT, data=event).encode()
    assert ours == theirs


def test_another_json_module_is_asked_itself():
    class Shouting:
        @staticmethod
        def dumps(obj, **kwargs):
            return json.dumps(obj, **kwargs).upper()

    assert compact_encoder(Shouting)(["place", {"a": 1}]) == '["PLACE",{"A":1}]'


def test_a_place_written_straight_is_what_json_and_python_socketio_would_write():
    state = QueueState(now=None, services=[], rooms=[], lines={}, in_rooms=[], recent_calls=[])
    state.positions = {7: 1, 8: 12}
    state.waits = {7: Wait(0, 0, 3), 8: Wait(35, 21, 58)}
    cases = [
        (7, 40, 39, None, {"position": 1, "ahead": 0, "estimated_wait_minutes": 0, "estimate_low_minutes": 0}),
        (8, 41, 41, 38, {"position": 12, "ahead": 11, "estimated_wait_minutes": 35, "estimate_high_minutes": 58}),
        # Never sent anything before (no mark yet).
        (8, 43, None, None, {"position": 12, "estimate_low_minutes": 21}),
        # Not waiting any more (a stale id): every field of the place is null, the sequence stays.
        (9, 42, None, None, {"position": None, "ahead": None, "estimate_high_minutes": None}),
    ]
    for ticket_id, version, mark, since, expected in cases:
        text = payloads.place(state, ticket_id, version=version, mark=mark, since=since)
        fields = json.loads(text)
        assert list(fields) == list(payloads.PLACE_FIELDS)
        assert fields.items() >= {**expected, "version": version, "mark": mark, "since": since}.items()
        assert text == json.dumps(fields, separators=(",", ":"))
        packet = sio_packet.Packet(sio_packet.EVENT, data=["place", fields]).encode()
        assert event_packet_of_json("place", text) == packet
