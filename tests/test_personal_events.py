"""The batch of personal events is encoded as python-socketio would encode each one itself."""

from __future__ import annotations

import json

from engineio import json as engineio_json
from socketio import packet as sio_packet

from queue_app.personal_events import compact_encoder


def test_the_reused_encoder_writes_what_python_socketio_writes():
    event = ["place", {"position": 3, "ahead": 2, "estimated_wait_minutes": None, "name": "Ким 김"}]
    ours = str(sio_packet.EVENT) + compact_encoder(engineio_json)(event)
    theirs = sio_packet.Packet(sio_packet.EVENT, data=event).encode()
    assert ours == theirs


def test_another_json_module_is_asked_itself():
    class Shouting:
        @staticmethod
        def dumps(obj, **kwargs):
            return json.dumps(obj, **kwargs).upper()

    assert compact_encoder(Shouting)(["place", {"a": 1}]) == '["PLACE",{"A":1}]'
