"""Live updates over Socket.IO: who may listen to what, and the one way news goes out.

Clients say who they are in the connection's ``auth``:

- ``{"ticket": <patient token>}``: a patient's phone.  Joins its own ticket's room and the
  public room; gets ``ticket`` (its own ticket) and ``queue`` (the public view).
- ``{"token": <API token>}``: staff get the staff ``queue``; a kiosk or display gets the
  public one.
- a signed-in staff session (the console) counts as staff; a paired kiosk or display's
  device cookie counts as that device.

Every client gets a snapshot at once on connect, which makes a reconnect a resync, and again
when it asks (``resync``: it saw a version number skipped).  Snapshots come from the clinic's
kept one (``clinic.Clinic.snapshot``): a connect reads neither the queue nor the estimator
while nothing changed.  After a change, ``SocketIOPublisher`` sends each audience its view.
"""

from __future__ import annotations

import logging
import threading

from flask import request
from flask_socketio import join_room
from sqlalchemy import select

from .auth import DEVICE_COOKIE, principal_for_device, principal_for_token, principal_for_user
from .extensions import db, socketio
from .models import StaffUser
from .personal_events import compact_encoder, event_packet, event_packet_of_json, listened, send_each
from .queue import NotFound
from .runtime import clinic_queue, runtime
from .staff_sessions import signed_in_user

PUBLIC = "public"
STAFF = "staff"
PHONES = "phones"  # also realtime_redis.PHONES
#: How often each server process looks for consoles whose session ended elsewhere.
SESSION_SWEEP_SECONDS = 30

log = logging.getLogger(__name__)


def ticket_room(ticket_id: int) -> str:
    """The Socket.IO room of one patient's ticket."""
    return f"ticket:{ticket_id}"


class SocketIOPublisher:
    """The clinic's ``Publisher`` in the server: each audience its view over Socket.IO.

    With a message queue (Redis) the events reach the clients of every server process.
    Every event carries the queue's ``version``; a client that sees a number skipped asks
    for a ``resync``.
    """

    def __init__(self, settings) -> None:
        self.settings = settings
        #: One change's events at a time: another change made while this one lets its first
        #: events leave waits, rather than overtake its boards (clients would see a number
        #: skipped and ask again).  Changes reach here in the order they committed: nothing
        #: between a commit and its publishing yields.  Green under eventlet (the server
        #: monkey-patches before it builds the app).
        self._in_order = threading.Lock()

    def changed(self, snapshot, tickets, called, moved=(), noted=()) -> None:
        """Send each audience its view of the snapshot, the changed tickets to their patients,
        and a small ``place`` to each patient the change moved.

        A view nobody can hear (no display, no console connected, one process alone) is not
        built; the personal events go out as one batch (``personal_events``).  In the order
        people wait for them: the announcement first (the TV shows and says it), then each
        patient's own news, then the boards (the TV's list, the consoles' rows, which the
        announcement has already told); events leave in the order they are handed over.
        """
        server, queued = socketio.server, bool(self.settings.message_queue)
        with self._in_order:
            if called is not None:
                socketio.emit("called", snapshot.call(self.settings, called), to=[PUBLIC, STAFF])
            send_each(server, self._personal(snapshot, tickets, moved, queued), queued=queued)
            # Let the announcement and each patient's news leave before the boards are handed
            # over: a socket's writer sends all it holds when it runs, and a TV's would send
            # its 3 KB board with the announcement, ahead of a thousand phones' places.
            socketio.sleep(0)
            if listened(server, PUBLIC, queued=queued):
                socketio.emit("queue", snapshot.public(self.settings), to=PUBLIC)
            if listened(server, STAFF, queued=queued):
                # Staff hold the whole view from their connect; each change sends what it changed.
                staff_rows = [*tickets, *noted]
                socketio.emit("staff_changes", snapshot.staff_changes(self.settings, staff_rows, moved), to=STAFF)
        # Every event of this change is handed over: let them leave now, before the rest of
        # the request (its answer, waking the sender), which no phone waits for.  Under
        # eventlet each socket writes in its own green thread, which runs only when this one
        # lets it.
        socketio.sleep(0)

    def _personal(self, snapshot, tickets, moved, queued: bool):
        """(room, event packet text) for each patient this change sends something to."""
        server = socketio.server
        encode = compact_encoder(server.packet_class.json)
        for ticket in tickets:
            room = ticket_room(ticket.id)
            if listened(server, room, queued=queued):
                yield room, event_packet(encode, "ticket", snapshot.patient(self.settings, ticket, whole=False))
        heard = {i: room for i in moved if listened(server, room := ticket_room(i), queued=queued)}
        for room, place in zip(heard.values(), snapshot.places(heard), strict=True):
            yield room, event_packet_of_json("place", place)

    def delivered(self, delivery) -> None:
        """Tell staff how a message went."""
        socketio.emit(
            "delivery",
            {"ticket_id": delivery.ticket_id, "needs_call": delivery.needs_call, "message": dict(delivery.message)},
            to=STAFF,
        )

    def inbox(self, event: dict) -> None:
        """A conversation changed: every staff console (badge, list, thread)."""
        socketio.emit("inbox", event, to=STAFF)

    def ticket_message(self, ticket_id: int, message: dict) -> None:
        """Reception wrote to the patient's phone page."""
        socketio.emit("message", message, to=ticket_room(ticket_id))

    def appointments(self, event: dict) -> None:
        """Appointments changed: every staff console reloads its list of the day."""
        socketio.emit("appointments", event, to=STAFF)


#: sid -> who is listening there: ("patient", ticket token), ("staff",) or ("public",).
_listeners: dict[str, tuple] = {}


@socketio.on("connect")
def on_connect(auth=None):
    """Authenticate, join the right rooms, and send the snapshot this client needs."""
    auth = auth if isinstance(auth, dict) else {}
    try:
        if isinstance(auth.get("ticket"), str):
            try:
                ticket = clinic_queue().ticket_by_token(auth["ticket"])
            except NotFound:
                raise ConnectionRefusedError("unknown ticket") from None
            # A phone hears only its own news (its ticket, its place), not every change.  In
            # the rooms first, then the snapshot: a change in between is heard, not lost.
            join_room(ticket_room(ticket.id))
            join_room(PHONES)  # only ever sent `missed` (realtime_redis)
            _listeners[_sid()] = ("patient", ticket.token)
            _send_snapshot(runtime().clinic.snapshot(db.session()))
            return True
        principal = None
        user = None
        if isinstance(auth.get("token"), str):
            principal = principal_for_token(db.session(), auth["token"])
            if principal is None:
                raise ConnectionRefusedError("invalid token")
        else:
            # A copied cookie of a session that has ended (sign-out, idle) is refused here too.
            user = signed_in_user()
            if user is not None:
                principal = principal_for_user(user)
        if principal is None:
            # A paired kiosk or TV: its device cookie came with the Socket.IO handshake.
            principal = principal_for_device(db.session(), request.cookies.get(DEVICE_COOKIE))
        if principal is None:
            raise ConnectionRefusedError("authentication required")
        join_room(STAFF if principal.is_staff else PUBLIC)
        if user is not None:
            # A console's session: remembered with its epoch, so that its end ends this too.
            _listeners[_sid()] = ("staff", user.id, user.session_epoch)
        else:
            _listeners[_sid()] = ("staff",) if principal.is_staff else ("public",)
        _send_snapshot(runtime().clinic.snapshot(db.session()))
        return True
    finally:
        db.session.remove()


@socketio.on("resync")
def on_resync(_data=None):
    """A client saw a version skipped (it missed an event): the latest snapshot again."""
    if _sid() not in _listeners:
        return
    try:
        _send_snapshot(runtime().clinic.snapshot(db.session()))
    finally:
        db.session.remove()


@socketio.on("disconnect")
def on_disconnect(*_args):
    _listeners.pop(_sid(), None)


def resync_here(app) -> None:
    """The message queue is back: every client of this process is sent the latest snapshot.

    Events other processes published while Redis was unreachable never reached them; this
    is the resync they would ask for at the next change, without waiting for one.
    Called by ``realtime_redis.ResyncingRedisManager`` in a background task.
    """
    with app.app_context():
        try:
            snapshot = runtime().clinic.snapshot(db.session())
            for sid in list(_listeners):
                _send_snapshot(snapshot, sid)
        finally:
            db.session.remove()


def end_ended_sessions(app) -> int:
    """Disconnect this process's consoles whose staff session has ended; how many.

    A console's socket was let in by its session cookie, and a socket outlives the cookie's
    checks: without this, a signed-out (or deactivated, or re-passworded) user's open console,
    or a stolen copy of its cookie, would keep hearing the staff view until it reconnected.
    Sign-out calls this at once in its own process; every server process also calls it every
    ``SESSION_SWEEP_SECONDS`` (``watch_sessions``), which covers the others and the command line.
    """
    consoles = {sid: who for sid, who in list(_listeners.items()) if who[0] == "staff" and len(who) == 3}
    if not consoles:
        return 0
    user_ids = {who[1] for who in consoles.values()}
    with app.app_context():
        try:
            users = {u.id: u for u in db.session().scalars(select(StaffUser).where(StaffUser.id.in_(user_ids)))}
        finally:
            db.session.remove()
    ended = [
        sid
        for sid, (_, user_id, epoch) in consoles.items()
        if (user := users.get(user_id)) is None or not user.active or user.session_epoch != epoch
    ]
    for sid in ended:
        _listeners.pop(sid, None)
        socketio.server.disconnect(sid, ignore_queue=True)
    return len(ended)


def watch_sessions(app) -> None:
    """Every server process's loop: end the consoles of ended sessions (see above)."""
    while True:
        socketio.sleep(SESSION_SWEEP_SECONDS)
        try:
            end_ended_sessions(app)
        except Exception:  # a database hiccup must not end the loop; the next sweep retries
            log.exception("checking the consoles' sessions failed")


def _send_snapshot(snapshot, sid: str | None = None) -> None:
    """This client's views of ``snapshot``: what it would have heard had it missed nothing.

    Sent straight to the client on this process (``ignore_queue``): not published for every
    other process to decode and drop, which after an outage would be once per client.
    """
    settings = runtime().settings
    sid = sid or _sid()
    who = _listeners.get(sid)
    if who is None:
        return  # gone meanwhile
    if who[0] == "patient":
        ticket = snapshot.open_ticket(who[1])
        if ticket is None:
            try:
                ticket = clinic_queue().ticket_by_token(who[1])
            except NotFound:
                return
        socketio.emit("ticket", snapshot.patient(settings, ticket, whole=True), to=sid, ignore_queue=True)
    elif who[0] == "staff":
        socketio.emit("queue", snapshot.staff(settings), to=sid, ignore_queue=True)
    else:
        socketio.emit("queue", snapshot.public(settings), to=sid, ignore_queue=True)


def _sid() -> str:
    """The Socket.IO session id of the client being handled."""
    return request.sid
