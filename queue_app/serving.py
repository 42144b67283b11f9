"""The one place that knows async libraries exist: prepare the configured async mode.

The rest of the code uses ``socketio.start_background_task`` and ``socketio.sleep`` and runs
unchanged under eventlet, gevent or plain threads.  Eventlet and gevent need the standard
library patched (sockets, threads, time) before the server starts, so that the database and
Redis clients yield instead of blocking every connection; which library is named by
``[server] async_mode``, never in code.
"""

from __future__ import annotations

import gc
import importlib
import json
import re
import socket
import warnings
from http import HTTPStatus

_PATCHERS = {"eventlet": ("eventlet", "monkey_patch"), "gevent": ("gevent.monkey", "patch_all")}
_DIGITS = re.compile("[0-9]+")


def prepare_async_mode(mode: str) -> None:
    """Patch the standard library for ``mode`` (nothing to do for ``threading``)."""
    if mode not in _PATCHERS:
        return
    module_name, function = _PATCHERS[mode]
    with warnings.catch_warnings():
        # Eventlet announces its bug-fix-only status on import; the choice is the clinic's.
        warnings.simplefilter("ignore")
        module = importlib.import_module(module_name)
    getattr(module, function)()


# -- the server's own refusals ------------------------------------------------------------------

#: The API's error code for each refusal the HTTP server makes before the app sees a request.
_SERVER_REFUSALS = {
    400: ("bad_request", "the request is not valid HTTP"),
    414: ("too_long", "the address is longer than 8 KiB"),
    431: ("header_too_large", "a header is over 8 KiB, all headers are over 64 KiB, or there are over 100"),
    501: ("not_implemented", "the server does not support this method"),
    505: ("http_version_not_supported", "use HTTP/1.1"),
}


def refusal(status: int) -> bytes:
    """A whole HTTP response refusing a request, in the API's ``{"error": {...}}`` shape.

    Written by the server when a request cannot even be parsed, so it never echoes the
    request, and the connection is closed after it.
    """
    code, message = _SERVER_REFUSALS.get(status, _SERVER_REFUSALS[400])
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def linger(connection, limit: int = 256 * 1024, seconds: float = 1.0) -> None:
    """Read and drop what the client is still sending, briefly, after a refusal.

    Closing a socket with unread data makes the kernel send a reset, which can reach the
    client before it has read the refusal; it would see "connection reset" instead of 431.
    """
    try:
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(seconds)
        while limit > 0 and (data := connection.recv(65536)):
            limit -= len(data)
    except OSError:
        pass  # the client went away first: nothing left to tell it


#: Objects made between two collections of the garbage collector's youngest generation
#: (Python's default is 700), and how many of those collections make one of the next.  A call
#: with 1,000 waiting makes 8,000-10,000 objects the collector follows (estimates, a state,
#: events and their timers): at 10,000 a collection fell inside one call in three, walking all
#: of them while the phones waited (measured: 6-24 ms each, a second generation's 70 ms).
GC_THRESHOLDS = (100_000, 10, 10)


def settle_the_heap() -> None:
    """Keep the garbage collector from walking the whole server on every busy change.

    A server with a thousand phones connected holds millions of objects, and a call with a
    thousand waiting makes tens of thousands more (estimates, events): with Python's default
    thresholds that set off a full collection every few calls, each walking everything,
    Flask, SQLAlchemy and every connection included (measured: a fifth of the server's CPU
    per call).  What the server made while starting lives as long as it does, so it is
    frozen out of collections altogether, and the young generation is collected less often.
    Cycles are still collected, only later.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def server_options(mode: str) -> dict:
    """Keyword arguments ``socketio.run`` hands to the server of ``mode``.

    Eventlet's server refuses an over-long header or address with an empty answer and a
    malformed request with an HTML page, and reads a chunked body without telling the app
    it is complete (so werkzeug took it as empty).  Its protocol is replaced by one that
    answers in JSON and marks chunked bodies readable.  Werkzeug's own server (threading)
    reads chunked bodies already; only its HTML refusals are replaced.
    """
    if mode == "eventlet":
        return {"protocol": _eventlet_protocol()}
    if mode == "threading":
        return {"request_handler": _werkzeug_handler()}
    return {}


def _eventlet_protocol():
    from eventlet import wsgi

    class JsonRefusalsProtocol(wsgi.HttpProtocol):
        """Eventlet's HTTP protocol, refusing in JSON and passing chunked bodies on."""

        def setup(self):
            super().setup()
            # Socket.IO answers a connect, and the server sends each event, as small writes;
            # with Nagle's algorithm the second waits for the client's delayed acknowledgement
            # (about 40 ms each: 1,000 phones reconnecting took five seconds instead of one).
            try:
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, AttributeError):
                pass

        def _read_request_line(self):
            line = super()._read_request_line()
            if len(line) >= self.server.url_length_limit:
                self._refuse(414)
                return ""  # the caller then closes the connection without an answer of its own
            return line

        def parse_request(self):
            try:
                if not super().parse_request():
                    return False
            except (wsgi.HeaderLineTooLong, wsgi.HeadersTooLarge):
                self._refuse(431)
                return False
            # Eventlet's own answers to these are empty or plain text; and "²" is a digit to str.isdigit.
            length = self.headers.get("Content-Length")
            if length is not None and (not _DIGITS.fullmatch(length) or "Transfer-Encoding" in self.headers):
                self._refuse(400)
                return False
            return True

        def send_error(self, code, message=None, explain=None):
            # The standard library's HTML error page, for a malformed request or too many headers.
            self._refuse(code)

        def get_environ(self):
            environ = super().get_environ()
            if environ["wsgi.input"].chunked_input:
                # The chunked reader ends at the last chunk, as WSGI's input_terminated promises.
                environ["wsgi.input_terminated"] = True
            return environ

        def _refuse(self, status: int) -> None:
            self.close_connection = True
            self.wfile.write(refusal(status))
            self.wfile.flush()
            linger(self.connection)

    return JsonRefusalsProtocol


def _werkzeug_handler():
    from werkzeug.serving import WSGIRequestHandler

    class JsonRefusalsHandler(WSGIRequestHandler):
        """Werkzeug's request handler (``async_mode = "threading"``), refusing in JSON."""

        def send_error(self, code, message=None, explain=None):
            # The standard library's HTML error page: a header line over 64 KiB, over 100 headers.
            self.close_connection = True
            self.wfile.write(refusal(code))
            self.wfile.flush()
            linger(self.connection)

    return JsonRefusalsHandler
