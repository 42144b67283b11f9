"""The project's nginx site in front of two real server processes: TLS, WebSocket, sticky sessions.

nginx runs deployment/nginx/queue-app.conf as shipped, with only its certificate and ports
changed (tests/support/nginx.py).  Two `serve --without-dispatcher` processes share one
database, as the processes behind it do in a clinic.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest
import requests
import socketio

from ..support.loopback import free_port
from ..support.nginx import nginx_binary, runnable_config
from .conftest import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clinic_behind_nginx(tmp_path_factory):
    """(https address, certificate, display token) of two servers behind nginx, shared by this module's tests."""
    nginx = nginx_binary()
    tmp_path = tmp_path_factory.mktemp("behind-nginx")
    database = f"sqlite:///{tmp_path / 'queue.db'}"
    servers = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        servers.append(LiveServer(tmp_path / name, {"QUEUE_APP_DATABASE_URL": database}))
    servers[0].command("db", "upgrade")
    display_token = servers[0].token("display")
    (tmp_path / "nginx").mkdir()
    http_port, https_port = free_port(), free_port()
    config = runnable_config(tmp_path / "nginx", http_port, https_port, tuple(s.port for s in servers))
    proxy = None
    try:
        for server in servers:
            server.start("--without-dispatcher")
        proxy = subprocess.Popen(
            [
                nginx,
                "-p",
                str(tmp_path / "nginx"),
                "-e",
                str(tmp_path / "nginx" / "error.log"),
                "-c",
                str(config),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while True:
            assert proxy.poll() is None, (tmp_path / "nginx" / "error.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        with pytest.MonkeyPatch.context() as patch:
            # Socket.IO's long-polling asks requests to verify with its default bundle: make it this certificate.
            patch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nginx" / "fullchain.pem"))
            yield {
                "http": f"http://127.0.0.1:{http_port}",
                "https": f"https://127.0.0.1:{https_port}",
                "certificate": str(tmp_path / "nginx" / "fullchain.pem"),
                "display_token": display_token,
            }
    finally:
        if proxy is not None:
            proxy.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait()
        for server in servers:
            server.stop()


def connected_display(clinic, transport: str) -> dict:
    """Connect as the display over ``transport`` through nginx; the first queue view it receives."""
    http = requests.Session()
    http.verify = clinic["certificate"]  # the TLS is checked, not switched off
    client = socketio.Client(http_session=http, reconnection=False)
    views = []
    client.on("queue", views.append)
    try:
        client.connect(
            clinic["https"], auth={"token": clinic["display_token"]}, transports=[transport], wait_timeout=10
        )
        deadline = time.monotonic() + 10
        while not views and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.transport() == transport
    finally:
        client.disconnect()
    assert views, f"no queue view arrived over {transport}"
    return views[0]


def test_plain_http_is_sent_to_https(clinic_behind_nginx):
    answer = requests.get(clinic_behind_nginx["http"] + "/kiosk?x=1", allow_redirects=False, timeout=10)
    assert answer.status_code == 301
    assert answer.headers["Location"] == "https://127.0.0.1/kiosk?x=1"


def test_the_api_answers_over_tls_with_hsts(clinic_behind_nginx):
    answer = requests.get(
        clinic_behind_nginx["https"] + "/api/v1/services", verify=clinic_behind_nginx["certificate"], timeout=10
    )
    assert answer.status_code == 200
    assert "general" in {service["id"] for service in answer.json()}
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_display_connects_over_a_websocket_through_nginx(clinic_behind_nginx):
    view = connected_display(clinic_behind_nginx, "websocket")
    assert {service["id"] for service in view["services"]} >= {"general"}


def test_long_polling_stays_with_one_process_behind_nginx(clinic_behind_nginx):
    """Without sticky sessions every other poll would reach the process that never saw the handshake."""
    for _ in range(3):
        view = connected_display(clinic_behind_nginx, "polling")
        assert {service["id"] for service in view["services"]} >= {"general"}
