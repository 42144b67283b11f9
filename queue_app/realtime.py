"""Live updates over Socket.IO: who may listen to what, and the one way news goes out.

Clients say who they are in the connection's ``auth``:

- ``{"ticket": <patient token>}``: a patient's phone.  Joins its own ticket's room and the
  public room; gets ``ticket`` (its own ticket) and ``queue`` (the public view).
- ``{"token": <API token>}``: staff get the staff ``queue``; a kiosk or display gets the
  public one.
- a signed-in staff session (the console) counts as staff; a paired kiosk or display's
  device cookie counts as that device.

Every client gets a snapshot at once on connect, which makes a reconnect a resync.  After a
change, ``publish`` reads the queue once and sends each audience its view.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import request
from flask_socketio import join_room

from . import payloads
from .auth import DEVICE_COOKIE, principal_for_device, principal_for_token, principal_for_user
from .board import QueueState
from .extensions import db, socketio
from .models import Ticket
from .queue import NotFound
from .runtime import clinic_queue, runtime
from .staff_sessions import signed_in_user

PUBLIC = "public"
STAFF = "staff"


def ticket_room(ticket_id: int) -> str:
    """The Socket.IO room of one patient's ticket."""
    return f"ticket:{ticket_id}"


def publish(state: QueueState, changed: Iterable[Ticket] = (), called: Ticket | None = None) -> None:
    """Send each audience its view of ``state``, the changed tickets to their patients.

    Call after the commit, never before: a client must never see a change that was then
    rolled back.
    """
    settings = runtime().settings
    socketio.emit("queue", payloads.public_queue(settings, state), to=PUBLIC)
    socketio.emit("queue", payloads.staff_queue(settings, state), to=STAFF)
    for ticket in changed:
        socketio.emit("ticket", payloads.patient_ticket(settings, state, ticket), to=ticket_room(ticket.id))
    if called is not None:
        socketio.emit("called", payloads.call(settings, called), to=[PUBLIC, STAFF])


def report_delivery(app, delivery) -> None:
    """Tell staff how a message went; put a patient nobody could reach on their call list.

    Called from the dispatcher, outside any request, hence the app context.
    """
    socketio.emit(
        "delivery",
        {"ticket_id": delivery.ticket_id, "needs_call": delivery.needs_call, "message": dict(delivery.message)},
        to=STAFF,
    )
    if delivery.needs_call:
        with app.app_context():
            try:
                state = runtime().board.read(clinic_queue())
                socketio.emit("queue", payloads.staff_queue(runtime().settings, state), to=STAFF)
            finally:
                db.session.remove()


@socketio.on("connect")
def on_connect(auth=None):
    """Authenticate, join the right rooms, and send the snapshot this client needs."""
    auth = auth if isinstance(auth, dict) else {}
    settings = runtime().settings
    queue = clinic_queue()
    try:
        if isinstance(auth.get("ticket"), str):
            try:
                ticket = queue.ticket_by_token(auth["ticket"])
            except NotFound:
                raise ConnectionRefusedError("unknown ticket") from None
            state = runtime().board.read(queue)
            join_room(ticket_room(ticket.id))
            join_room(PUBLIC)
            socketio.emit("ticket", payloads.patient_ticket(settings, state, ticket), to=_sid())
            socketio.emit("queue", payloads.public_queue(settings, state), to=_sid())
            return True
        principal = None
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
        state = runtime().board.read(queue)
        if principal.is_staff:
            join_room(STAFF)
            socketio.emit("queue", payloads.staff_queue(settings, state), to=_sid())
        else:
            join_room(PUBLIC)
            socketio.emit("queue", payloads.public_queue(settings, state), to=_sid())
        return True
    finally:
        db.session.remove()


def _sid() -> str:
    """The Socket.IO session id of the client being handled."""
    return request.sid
