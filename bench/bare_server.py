"""The floor of this stack: a bare Flask-SocketIO server under eventlet that only broadcasts.

``POST /broadcast`` with a JSON body ``{"queue": {...}, "called": {...}}`` emits the two events
to every connected client, exactly as the queue service does after a call, but without a
database, an estimator or authentication.  Used by ``bench/fanout.py``.
"""

import sys

import eventlet

eventlet.monkey_patch()

from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, async_mode="eventlet")


@socketio.on("connect")
def connect(auth=None):
    join_room("public")


@app.post("/broadcast")
def broadcast():
    body = request.get_json()
    socketio.emit("queue", body["queue"], to="public")
    socketio.emit("called", body["called"], to="public")
    return "", 204


@app.get("/ping")
def ping():
    return "ok"


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_output=False)
