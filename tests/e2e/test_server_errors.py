"""The real server under eventlet: every refusal in the API's JSON shape, chunked bodies read,
and a database outage answered 503 ``unavailable`` until the database is back.

Some of these refusals come from the HTTP server itself (a header over 8 KiB never reaches
Flask), so only the real process can show them.
"""

from __future__ import annotations

import json
import socket

import pytest
import requests

from ..support.tcp_proxy import TcpProxy
from .conftest import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One clinic's server process for the module's tests (nothing here changes the queue much)."""
    live = LiveServer(tmp_path_factory.mktemp("server-errors"))
    live.command("db", "upgrade")
    live.kiosk = {"Authorization": f"Bearer {live.token('kiosk')}"}
    live.start()
    yield live
    live.stop()


def assert_json_error(response, status: int, code: str):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def raw_exchange(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are (no client library tidies them up); the status, headers and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


# -- refusals in the JSON shape ----------------------------------------------------------------


def test_a_header_over_8_kib_is_431_in_json(server):
    response = requests.get(f"{server.url}/api/v1/services", headers={"X-Padding": "x" * 9000}, timeout=10)
    assert_json_error(response, 431, "header_too_large")


def test_a_huge_idempotency_key_is_431_in_json(server):
    headers = {**server.kiosk, "Idempotency-Key": "k" * 10_000}
    response = requests.post(f"{server.url}/api/v1/tickets", json={"service": "general"}, headers=headers, timeout=10)
    assert_json_error(response, 431, "header_too_large")


def test_headers_over_64_kib_together_are_431_in_json(server):
    headers = {f"X-Padding-{i}": "x" * 8000 for i in range(9)}
    response = requests.get(f"{server.url}/api/v1/services", headers=headers, timeout=10)
    assert_json_error(response, 431, "header_too_large")


def test_more_than_100_headers_are_431_in_json(server):
    headers = {f"X-Header-{i}": "1" for i in range(120)}
    response = requests.get(f"{server.url}/api/v1/services", headers=headers, timeout=10)
    assert_json_error(response, 431, "header_too_large")


def test_an_address_over_8_kib_is_414_in_json(server):
    response = requests.get(f"{server.url}/api/v1/tickets/{'A' * 9000}", timeout=10)
    assert_json_error(response, 414, "too_long")


@pytest.mark.parametrize("length", [b"-1", b"12abc", b"\xb2"])
def test_a_bad_content_length_is_400_in_json(server, length):
    status, headers, body = raw_exchange(
        server.port,
        b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        + length
        + b"\r\n\r\n{}",
    )
    assert status == 400 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_content_length_with_chunked_is_400_in_json(server):
    status, headers, body = raw_exchange(
        server.port,
        b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
    )
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_request"


def test_a_malformed_request_line_is_400_in_json(server):
    status, headers, body = raw_exchange(server.port, b"GET /api/v1/services HTTP/9.x\r\nHost: x\r\n\r\n")
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_request"


def test_a_body_over_64_kib_to_a_json_endpoint_outside_the_api_is_413_in_json(server):
    response = requests.post(
        f"{server.url}/kiosk/phone-check",
        data=b'{"phone": "' + b"1" * 70_000 + b'"}',
        headers={"Content-Type": "application/json", "X-Requested-With": "fetch"},
        timeout=10,
    )
    assert_json_error(response, 413, "too_large")


# -- chunked bodies ------------------------------------------------------------------------------


def chunks(body: bytes, size: int = 7):
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_check_in_is_read_not_taken_as_empty(server):
    body = json.dumps({"service": "pediatrics", "language": "en"}).encode()
    response = requests.post(
        f"{server.url}/api/v1/tickets",
        data=chunks(body),  # a generator: requests sends it chunked
        headers={**server.kiosk, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert response.json()["service"] == "pediatrics" and response.json()["language"] == "en"


def test_a_chunked_body_over_64_kib_is_413_in_json(server):
    body = b'{"service": "general", "pad": "' + b"x" * 70_000 + b'"}'
    response = requests.post(
        f"{server.url}/api/v1/tickets",
        data=chunks(body, 4096),
        headers={**server.kiosk, "Content-Type": "application/json"},
        timeout=10,
    )
    assert_json_error(response, 413, "too_large")


# -- a database outage ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_database_outage_answers_503_then_the_server_recovers(tmp_path, postgres_url):
    proxy = TcpProxy(("127.0.0.1", 5432))
    server = LiveServer(
        tmp_path, {"QUEUE_APP_DATABASE_URL": postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")}
    )
    try:
        server.command("db", "upgrade")
        token = server.token("kiosk")
        kiosk = {"Authorization": f"Bearer {token}"}
        server.start()
        check_in = f"{server.url}/api/v1/tickets"
        assert requests.post(check_in, json={"service": "general"}, headers=kiosk, timeout=10).status_code == 201
        assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200

        proxy.cut()
        response = requests.post(check_in, json={"service": "general"}, headers=kiosk, timeout=30)
        assert_json_error(response, 503, "unavailable")
        assert int(response.headers["Retry-After"]) > 0
        assert_json_error(requests.get(f"{server.url}/api/v1/services", timeout=30), 503, "unavailable")
        page = requests.get(
            f"{server.url}/kiosk", params={"pair": token}, headers={"Accept-Language": "en"}, timeout=30
        )
        assert page.status_code == 503 and page.headers["Retry-After"] and "try again" in page.text
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        ready = requests.get(f"{server.url}/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["checks"] == {"database": "unreachable"}

        proxy.restore()
        again = requests.post(check_in, json={"service": "general"}, headers=kiosk, timeout=30)
        assert again.status_code == 201 and again.json()["number"] == "A-002"
        assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 200
    finally:
        server.stop()
        proxy.cut()


def test_the_threading_server_refuses_in_json_and_reads_chunked_bodies_too(tmp_path):
    live = LiveServer(tmp_path, {"QUEUE_APP_SERVER_ASYNC_MODE": "threading"})
    live.command("db", "upgrade")
    kiosk = {"Authorization": f"Bearer {live.token('kiosk')}"}
    live.start()
    try:
        headers = {f"X-Header-{i}": "1" for i in range(120)}
        response = requests.get(f"{live.url}/api/v1/services", headers=headers, timeout=10)
        assert_json_error(response, 431, "header_too_large")
        body = json.dumps({"service": "vaccination"}).encode()
        response = requests.post(
            f"{live.url}/api/v1/tickets",
            data=chunks(body),
            headers={**kiosk, "Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 201 and response.json()["service"] == "vaccination"
    finally:
        live.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_readyz_names_the_message_queue_when_redis_is_away(tmp_path, postgres_url, redis_url):
    proxy = TcpProxy(("127.0.0.1", 6379))
    live = LiveServer(
        tmp_path,
        {
            "QUEUE_APP_DATABASE_URL": postgres_url,
            "QUEUE_APP_REALTIME_MESSAGE_QUEUE": f"redis://127.0.0.1:{proxy.port}/0",
        },
    )
    live.command("db", "upgrade")
    live.start()
    try:
        ready = requests.get(f"{live.url}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "message_queue": "ok"}
        proxy.cut()
        ready = requests.get(f"{live.url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.headers["Retry-After"]
        assert ready.json()["checks"] == {"database": "ok", "message_queue": "unreachable"}
        assert requests.get(f"{live.url}/healthz", timeout=10).status_code == 200
    finally:
        live.stop()
        proxy.cut()
