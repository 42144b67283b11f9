"""Benchmark: how long until every connected phone and display has a call, and check-in rate.

For each N, starts the real ``queue-app serve`` (eventlet, SQLite) on a fresh database,
checks in patients over HTTP (timed: check-in throughput), connects N Socket.IO clients
(90% patients' phones with their own ticket, 10% displays), then presses "call next" K times
and measures, for each press, the time from sending the request until the last client has
received the ``called`` event (which follows the ``queue`` update).  The same clients then
connect to a bare Flask-SocketIO server that only broadcasts payloads of the same size: the
floor of the stack.  Prints a Markdown table.

    .venv/bin/python bench/fanout.py --clients 100 500 1000 --calls 15

Needs ``aiohttp`` (``pip install -e '.[bench]'``).  Runs only on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CONFIG = str(ROOT / "config.example.toml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no answer from {url}")


class Server:
    """The real service in its own folder and process."""

    def __init__(self, env: dict | None = None, directory: str | None = None) -> None:
        self.dir = directory or tempfile.mkdtemp(prefix="queue-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "QUEUE_APP_DATABASE_URL": f"sqlite:///{self.dir}/bench.db",
            "QUEUE_APP_SERVER_SECRET_KEY": "bench-secret-of-thirty-two-bytes-or-more",
            # Open round the clock: check-ins outside opening hours are refused, and the
            # benchmark must measure them whatever the hour in Seoul.
            "QUEUE_APP_HOURS_OPEN": "00:00",
            "QUEUE_APP_HOURS_CLOSE": "23:59",
            **(env or {}),
        }

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [PY, "-m", "queue_app.cli", "--config", CONFIG, *args],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def prepare(self) -> None:
        """Migrate the database and make a staff, a kiosk and a display token."""
        self.cli("db", "upgrade")
        self.staff = self.cli("create-token", "--role", "staff", "--name", "bench").strip().splitlines()[-1]
        self.kiosk = self.cli("create-token", "--role", "kiosk", "--name", "bench").strip().splitlines()[-1]
        self.display = self.cli("create-token", "--role", "display", "--name", "bench").strip().splitlines()[-1]

    def serve(self, *serve_args: str) -> None:
        """Start `queue-app serve` and wait until it answers."""
        self.proc = subprocess.Popen(
            [PY, "-m", "queue_app.cli", "--config", CONFIG, "serve", "--port", str(self.port), *serve_args],
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/api/v1/services", self.proc)

    def start(self) -> None:
        self.prepare()
        self.serve()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


class Bare:
    """The bare broadcasting server."""

    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [PY, str(ROOT / "bench" / "bare_server.py"), str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/ping", self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


class Clients:
    """N Socket.IO clients in one event loop, each noting when it saw each called number."""

    def __init__(self) -> None:
        self.clients: list[socketio.AsyncClient] = []
        self.seen: list[dict[str, float]] = []
        self.last_queue: dict | None = None

    async def connect(self, url: str, auths: list[dict]) -> None:
        async def one(auth: dict) -> None:
            client = socketio.AsyncClient(reconnection=False)
            seen: dict[str, float] = {}

            @client.on("called")
            async def called(data):
                seen.setdefault(data["number"], time.perf_counter())

            @client.on("queue")
            async def queue(data):
                self.last_queue = data

            await client.connect(url, auth=auth, transports=["websocket"], wait_timeout=30)
            self.clients.append(client)
            self.seen.append(seen)

        for start in range(0, len(auths), 50):
            await asyncio.gather(*(one(a) for a in auths[start : start + 50]))

    async def wait_all(self, number: str, timeout: float = 60) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(number in s for s in self.seen):
                return max(s[number] for s in self.seen)
            await asyncio.sleep(0.002)
        missing = sum(1 for s in self.seen if number not in s)
        raise RuntimeError(f"{missing} clients never saw {number}")

    async def close(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients))


async def measure_service(n: int, calls: int) -> dict:
    server = Server()
    server.start()
    try:
        phones = max(1, int(n * 0.9))
        async with aiohttp.ClientSession() as http:
            kiosk = {"Authorization": f"Bearer {server.kiosk}"}
            staff = {"Authorization": f"Bearer {server.staff}"}
            tokens: list[str] = []
            started = time.perf_counter()

            async def check_in(i: int) -> None:
                async with http.post(f"{server.url}/api/v1/tickets", json={"service": "general"}, headers=kiosk) as r:
                    assert r.status == 201, await r.text()
                    tokens.append((await r.json())["token"])

            sem = asyncio.Semaphore(8)

            async def bounded(i: int) -> None:
                async with sem:
                    await check_in(i)

            await asyncio.gather(*(bounded(i) for i in range(phones + calls)))
            check_in_rate = (phones + calls) / (time.perf_counter() - started)

            clients = Clients()
            auths = [{"ticket": t} for t in tokens[:phones]] + [{"token": server.display}] * (n - phones)
            await clients.connect(server.url, auths)
            await asyncio.sleep(1)
            samples = []
            payload_size = 0
            for _ in range(calls):
                t0 = time.perf_counter()
                async with http.post(f"{server.url}/api/v1/rooms/room1/call-next", headers=staff) as r:
                    body = await r.json()
                number = body["ticket"]["number"]
                t_last = await clients.wait_all(number)
                samples.append((t_last - t0) * 1000)
                # Start the consultation (also broadcast) and let it settle before the next call.
                async with http.post(f"{server.url}/api/v1/tickets/{body['ticket']['id']}/start", headers=staff):
                    pass
                await asyncio.sleep(0.3)
            payload_size = len(json.dumps(clients.last_queue, ensure_ascii=False).encode())
            called_example = {
                "number": number,
                "room": "room1",
                "room_names": {"en": "Room 1"},
                "service": "general",
                "called_at": "2026-11-23T01:00:00+00:00",
                "call_count": 1,
            }
            await clients.close()
        return {
            "samples": samples,
            "check_in_rate": check_in_rate,
            "queue": clients.last_queue,
            "called": called_example,
            "payload_size": payload_size,
        }
    finally:
        server.stop()


async def measure_bare(n: int, calls: int, queue_payload: dict, called: dict) -> list[float]:
    bare = Bare()
    bare.start()
    try:
        clients = Clients()
        await clients.connect(bare.url, [{}] * n)
        await asyncio.sleep(1)
        samples = []
        async with aiohttp.ClientSession() as http:
            for i in range(calls):
                number = f"B-{i:03d}"
                t0 = time.perf_counter()
                async with http.post(
                    f"{bare.url}/broadcast", json={"queue": queue_payload, "called": {**called, "number": number}}
                ):
                    pass
                t_last = await clients.wait_all(number)
                samples.append((t_last - t0) * 1000)
                await asyncio.sleep(0.3)
        await clients.close()
        return samples
    finally:
        bare.stop()


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--calls", type=int, default=15)
    args = parser.parse_args()
    rows = []
    for n in args.clients:
        ours = await measure_service(n, args.calls)
        bare = await measure_bare(n, args.calls, ours["queue"], ours["called"])
        om, op = summary(ours["samples"])
        bm, bp = summary(bare)
        rows.append((n, om, op, bm, bp, om / bm, ours["check_in_rate"], ours["payload_size"]))
        print(
            f"N={n}: service median {om:.0f} ms p95 {op:.0f} ms; bare median {bm:.0f} ms p95 {bp:.0f} ms; "
            f"ratio {om / bm:.2f}; check-ins {ours['check_in_rate']:.0f}/s",
            file=sys.stderr,
        )
    print(
        "| clients | service median ms | service p95 ms | bare median ms | bare p95 ms "
        "| median ratio | check-ins/s | queue payload bytes |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, om, op, bm, bp, ratio, rate, size in rows:
        print(f"| {n} | {om:.0f} | {op:.0f} | {bm:.0f} | {bp:.0f} | {ratio:.2f} | {rate:.0f} | {size} |")


if __name__ == "__main__":
    asyncio.run(main())
