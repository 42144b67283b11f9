"""Shared fixtures for the channel adapter tests: a real HTTP server on loopback.

``http_server`` is a stdlib ThreadingHTTPServer on 127.0.0.1 and a free port.  It records
every request (method, path, query, headers, raw body) and answers with whatever the test's
``handler`` returns; a handler may ``stall`` to make the client time out (the stall ends at
teardown, so no thread is left sleeping).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from queue_app.notify.channels.base import OutgoingMessage, Recipient

from ..support.loopback import free_port

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """requests honours proxy variables; loopback test servers must be reached directly."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)


Reply = tuple[int, dict[str, str], bytes | str | dict | list | None]


@dataclass
class RecordingServer:
    url: str
    port: int
    requests: list[Recorded] = field(default_factory=list)
    handler: Callable[[Recorded], Reply] = lambda request: (200, {}, b"")
    release: threading.Event = field(default_factory=threading.Event)

    def stall(self, seconds: float = 5.0) -> None:
        """Block this request (until teardown at the latest): the client times out."""
        self.release.wait(seconds)

    @property
    def last(self) -> Recorded:
        assert self.requests, "the server received no request"
        return self.requests[-1]


def _make_handler(server_state: RecordingServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this, a kept-alive connection
        # waits for the client's delayed ACK (40 ms) on every answer, which real providers'
        # servers do not make us do.
        disable_nagle_algorithm = True

        def log_message(self, format, *args):  # keep test output quiet
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Recorded(self.command, parts.path, parse_qs(parts.query), self.headers, body)
            server_state.requests.append(request)
            status, headers, payload = server_state.handler(request)
            if isinstance(payload, (dict, list)):
                payload = json.dumps(payload).encode("utf-8")
                headers = {"Content-Type": "application/json", **headers}
            elif isinstance(payload, str):
                payload = payload.encode("utf-8")
            payload = payload or b""
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        do_POST = do_GET = do_PUT = _handle

    return Handler


@pytest.fixture
def http_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    state = RecordingServer(url=f"http://127.0.0.1:{port}", port=port)
    httpd.RequestHandlerClass = _make_handler(state)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused."""
    return free_port()


@pytest.fixture
def make_message():
    def make(recipient: Recipient | None = None, **overrides) -> OutgoingMessage:
        values = dict(
            id="msg-20240311-A007-called-1",
            kind="called",
            language="ko",
            text="A-007번 환자님, 2번 진료실로 들어오세요.",
            subject="한빛가정의원: 진료 차례입니다",
            variables={
                "clinic": "한빛가정의원",
                "number": "A-007",
                "room": "2번 진료실",
                "link": "https://queue.example-clinic.kr/t/abc123",
            },
            recipient=recipient or Recipient(),
            event={
                "event": "called",
                "id": "msg-20240311-A007-called-1",
                "ticket": {
                    "number": "A-007",
                    "service": "general",
                    "room": "room2",
                    "language": "ko",
                    "phone": "+821012345678",
                },
            },
        )
        values.update(overrides)
        return OutgoingMessage(**values)

    return make
