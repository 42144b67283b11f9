"""The real server: ``queue-app serve`` as its own process, under eventlet, on a free port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import socketio

from queue_app.config import EXAMPLE_CONFIG

from ..support.loopback import free_port

QUEUE_APP = [sys.executable, "-m", "queue_app.cli"]


class Listener:
    """A python-socketio client that records every event it receives."""

    def __init__(self, url: str, auth: dict) -> None:
        self.events: list[tuple[str, dict]] = []
        self.arrived = threading.Condition()
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2)
        self.client.on("*", self._record)
        self.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)

    def _record(self, event, data=None):
        with self.arrived:
            self.events.append((event, data))
            self.arrived.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0):
        with self.arrived:
            ok = self.arrived.wait_for(lambda: any(predicate(e, d) for e, d in self.events), timeout)
        assert ok, f"no matching event; got {[e for e, _ in self.events]}"
        return next(d for e, d in self.events if predicate(e, d))

    def close(self) -> None:
        self.client.disconnect()


def open_all_day() -> dict[str, str]:
    """A clinic open 00:00-23:59 in a time zone where it is about noon now, whenever the tests run.

    The kiosk and public check-in are refused outside opening hours, the kiosk says "Check-in
    opens at ...", and ticket numbers restart at the clinic's midnight: with noon now, a test
    run is hours from either.
    """
    offset = 12 - datetime.now(UTC).hour
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    return {"QUEUE_APP_CLINIC_TIMEZONE": zone, "QUEUE_APP_HOURS_OPEN": "00:00", "QUEUE_APP_HOURS_CLOSE": "23:59"}


class LiveServer:
    """One clinic's server process with its own database folder; restartable."""

    def __init__(self, workdir: Path, env_overrides: dict[str, str] | None = None, host: str = "127.0.0.1") -> None:
        self.workdir = workdir
        #: The address it listens on (``0.0.0.0``: every interface); tests reach it on 127.0.0.1.
        self.host = host
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "QUEUE_APP_DATABASE_URL": f"sqlite:///{workdir / 'queue.db'}",
            "QUEUE_APP_SERVER_SECRET_KEY": "e2e-secret-of-thirty-two-bytes-or-more",
            "PYTHONUNBUFFERED": "1",
            # Real time on a real server: open now, or the kiosks' check-ins would be refused.
            **open_all_day(),
            **(env_overrides or {}),
        }
        self.process: subprocess.Popen | None = None
        self.log = workdir / "server.log"

    def command(self, *args: str) -> str:
        """Run a ``queue-app`` command against this server's configuration; its output."""
        result = subprocess.run(
            [*QUEUE_APP, "--config", str(EXAMPLE_CONFIG), *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    def token(self, role: str) -> str:
        return self.command("create-token", "--role", role, "--name", f"e2e {role}").strip().splitlines()[-1]

    def start(self, *serve_args: str) -> None:
        log = open(self.log, "a")
        self.process = subprocess.Popen(
            [
                *QUEUE_APP,
                "--config",
                str(EXAMPLE_CONFIG),
                "serve",
                "--host",
                self.host,
                "--port",
                str(self.port),
                *serve_args,
            ],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if requests.get(self.url + "/api/v1/services", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def start_dispatcher(self) -> subprocess.Popen:
        """``queue-app dispatch`` on this server's database and settings, logging beside it."""
        return subprocess.Popen(
            [*QUEUE_APP, "--config", str(EXAMPLE_CONFIG), "dispatch"],
            cwd=self.workdir,
            env=self.env,
            stdout=open(self.workdir / "dispatcher.log", "a"),
            stderr=subprocess.STDOUT,
        )

    def restart(self) -> None:
        self.stop(signal.SIGKILL)
        self.start()


@pytest.fixture
def live_server(tmp_path):
    """A migrated clinic (the example configuration) served by a real process."""
    server = LiveServer(tmp_path)
    server.command("db", "upgrade")
    server.start()
    yield server
    server.stop()
    if os.environ.get("KEEP_E2E_LOGS"):
        shutil.copy(server.log, Path.cwd() / "e2e-server.log")
