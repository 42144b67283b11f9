"""The floor of this stack: a bare Flask-SocketIO server under eventlet that only broadcasts.

``POST /broadcast`` with a JSON body ``{"<event>": {...}, ...}`` emits each event in order to
every connected client, as the queue service does after a call, but without a database, an
estimator or authentication (``bench/fanout.py`` sends ``queue`` then ``called``;
``bench/live_updates.py`` one small ``called``).  Each client is sent a small ``welcome`` event
when it connects: the floor of "connected and has its first snapshot".

    python bench/bare_server.py PORT [--nodelay]
"""

import sys

import eventlet

eventlet.monkey_patch()

from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="eventlet")


@socketio.on("connect")
def connect(auth=None):
    join_room("public")
    emit("welcome", {"clinic": "Bare clinic", "version": 0})


@app.post("/broadcast")
def broadcast():
    for event, payload in request.get_json().items():
        socketio.emit(event, payload, to="public")
    return "", 204


@app.get("/ping")
def ping():
    return "ok"


if __name__ == "__main__":
    port = int(sys.argv[1])
    if "--nodelay" in sys.argv[2:]:
        # As socketio.run does under eventlet, but with Nagle's algorithm off on every accepted
        # socket (Linux copies TCP_NODELAY from the listening one): no small write waits for the
        # client's delayed ACK.  The floor of what this stack could do.
        import socket

        from eventlet import wsgi

        listener = eventlet.listen(("127.0.0.1", port))
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wsgi.server(listener, app, log_output=False)
    else:
        socketio.run(app, host="127.0.0.1", port=port, log_output=False)
