"""A local TCP proxy that a test can cut and restore: an outage of a real server, made on demand.

Server processes reach Redis (or anything else on loopback) through the proxy instead of
directly.  Two kinds of outage:

- ``cut()``: every open connection is reset and, until ``restore()``, each new one is reset
  at once.  The server went away and refuses connections, as when Redis is restarted or
  crashes on a host that is still up.
- ``cut(silent=True)``: nothing passes any more and nothing is answered, but no connection is
  closed either, as when the network or Redis's host goes down: a client that waits for an
  answer without a timeout waits for ever.  ``restore()`` resets the connections that went
  silent (by then a real TCP stack would have given up on them) and forwards new ones.

The real server is never touched, so a test can still look at it directly (who is
subscribed, what is kept).

Plain threads, no event loop: the proxy runs inside pytest beside server processes under
eventlet.  Use it as a context manager, or call ``close()``; it stops by itself either way.
"""

from __future__ import annotations

import socket
import struct
import threading

#: SO_LINGER on, zero seconds: ``close()`` sends a reset instead of a polite FIN.
_RESET = struct.pack("ii", 1, 0)


class TcpProxy:
    """Listens on 127.0.0.1:<free port> and forwards every connection to ``target``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        #: Open pairs (client side, server side); closed together.
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut = False
        self._silent = False
        #: Connections that went silent, or were accepted while silent: reset on ``restore()``.
        self._held: list[socket.socket] = []
        self._closed = False
        #: Connections accepted since the proxy started (forwarded or refused).
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def url(self, scheme: str = "redis", path: str = "/0") -> str:
        """The URL a client uses to go through the proxy (``redis://127.0.0.1:<port>/0``)."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self, silent: bool = False) -> None:
        """The outage: reset every open connection and refuse new ones until ``restore()``.

        ``silent``: close nothing, answer nothing; what is sent either way is dropped.
        """
        with self._lock:
            self._cut = True
            self._silent = silent
            pairs, self._pairs = self._pairs, []
            if silent:
                self._held.extend(sock for pair in pairs for sock in pair)
        if not silent:
            for pair in pairs:
                _reset(*pair)

    def restore(self) -> None:
        """The end of the outage: new connections are forwarded again (old ones are closed)."""
        with self._lock:
            self._cut = False
            self._silent = False
            held, self._held = self._held, []
        _reset(*held)

    def close(self) -> None:
        """Stop listening and close everything."""
        with self._lock:
            self._closed = True
            pairs, self._pairs = self._pairs, []
            held, self._held = self._held, []
        self._listener.close()
        _reset(*held)
        for pair in pairs:
            _reset(*pair)
        self._thread.join(timeout=5)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.accepted += 1
                refuse = self._cut or self._closed
                hold = refuse and self._silent and not self._closed
                if hold:
                    self._held.append(client)
            if hold:
                threading.Thread(target=self._drop, args=(client,), daemon=True).start()
                continue
            if refuse:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                # Cut while we were connecting: this one belongs to the outage too.
                late = self._cut or self._closed
                hold = late and self._silent and not self._closed
                if hold:
                    self._held.extend((client, upstream))
                elif not late:
                    self._pairs.append((client, upstream))
            if hold:
                threading.Thread(target=self._drop, args=(client,), daemon=True).start()
            elif late:
                _reset(client, upstream)
            else:
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self._silent and self._cut:
                    continue  # lost on the way
                sink.sendall(data)
        except OSError:
            pass  # reset by cut() or by either end
        # One side finished: the whole connection goes, as it would through a real network.
        with self._lock:
            pair = next((p for p in self._pairs if source in p), None)
            if pair is not None:
                self._pairs.remove(pair)
        if pair is not None:
            _reset(*pair)

    @staticmethod
    def _drop(client: socket.socket) -> None:
        """Read and drop whatever a connection made during a silent outage sends."""
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass


def _reset(*sockets: socket.socket) -> None:
    """Close with a reset; ``shutdown(SHUT_RD)`` first wakes the pipe thread blocked in ``recv``."""
    for sock in sockets:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass  # already closed, or never connected
        sock.close()
