"""Many small personal events after one change, each handed straight to its own sockets.

A call with a thousand waiting moves everyone behind: each phone gets its own ``place``
(never anyone else's).  Sent as one ``socketio.emit`` each, every one of them pays the whole
way through python-socketio (arguments sorted out, the room looked up, a packet built,
checked for binary parts and encoded, the message queue asked) and the server spent more
on that than on the change itself.  Here each event is encoded once, as the same packet
python-socketio would build, and given to the sockets of its room on this process; a
ticket's room with nobody in it here costs only the lookup.  A batch carries each event as
its packet's text, so that every process sends what was encoded once.

With several server processes the whole batch goes through the message queue as one
message (the event ``EACH``), not one per phone: each process sends its own clients their
part (``realtime_redis.ResyncingRedisManager`` hands it back here).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from engineio import packet as eio_packet
from socketio import packet as sio_packet

#: The event name (and room) a batch travels under between processes.  No client is ever in
#: that room: a manager that did not know the batch would send it to nobody.
EACH = "__each__"
NAMESPACE = "/"
_EVENT = str(sio_packet.EVENT)


def send_each(server, batch: Iterable[tuple[str, str]], *, queued: bool) -> None:
    """Send each ``(room, packet text)`` of ``batch`` (``event_packet``) to the clients in that room.

    ``server``: python-socketio's ``Server``; ``queued``: a message queue joins the server
    processes, so the batch goes through it (and comes back to ``send_local`` on each).
    """
    if queued:
        server.manager.emit(EACH, [list(item) for item in batch], namespace=NAMESPACE, room=EACH)
    else:
        send_local(server, batch)


def send_local(server, batch: Iterable[tuple[str, str]]) -> int:
    """Send each item to the clients of its room connected to this process; how many sends."""
    rooms = server.manager.rooms.get(NAMESPACE, {})
    sent = 0
    for room, text in batch:
        members = rooms.get(room)
        if not members:
            continue
        packet = eio_packet.Packet(eio_packet.MESSAGE, text)
        # A copy (a send may let another green thread change the room); of ``items``, which
        # the room's bidict gives three times as fast as ``values``.
        for _, eio_sid in list(members.items()):
            server._send_eio_packet(eio_sid, packet)
            sent += 1
    return sent


def event_packet(encode: Callable[[object], str], event: str, data) -> str:
    """The text python-socketio's ``Packet.encode`` makes of an event in the default namespace
    (our views are JSON: never the binary kind, which it would first look for, part by part).
    ``encode``: ``compact_encoder`` of the server's JSON module."""
    return _EVENT + encode([event, data])


def event_packet_of_json(event: str, data_json: str) -> str:
    """``event_packet`` of data already written as JSON text (``payloads.place``)."""
    return f'{_EVENT}["{event}",{data_json}]'


def listened(server, room: str, *, queued: bool) -> bool:
    """Whether an event to ``room`` can reach anyone (any process, with a message queue)."""
    return queued or bool(server.manager.rooms.get(NAMESPACE, {}).get(room))


#: The standard library's compact encoder, made once: ``json.dumps`` with separators makes a
#: new encoder on every call, a microsecond each for a thousand places.
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def compact_encoder(json_module) -> Callable[[object], str]:
    """``json_module.dumps(obj, separators=(",", ":"))``, as one reused encoder where it is the
    standard library's (python-socketio's default, ``engineio.json``)."""
    if getattr(json_module, "dumps", None) is json.dumps:
        return _COMPACT
    return lambda obj: json_module.dumps(obj, separators=(",", ":"))
