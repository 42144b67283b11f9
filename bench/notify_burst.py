"""Benchmark: a burst of "your turn is near" messages, and the live updates while it runs.

1. A clinic with W waiting patients, each with a phone and consent, is made on a fresh
   SQLite database (`queue-app serve`, eventlet), with no message near yet.
2. Run A, messaging off: N display clients connect; "call next" is pressed K times and the
   full fan-out (until the last client has the `called` event) is timed.  The baseline.
3. Run B, same database copy, SMS on (Twilio wire format, to a local provider that answers
   after a set latency), "turn near" at every place: the first "call next" makes W-1
   "turn near" messages at once.  The same K presses are timed while the dispatcher sends,
   and the time until the provider has every message is taken.  With
   ``--separate-dispatcher`` the web server runs ``serve --without-dispatcher`` and a
   ``queue-app dispatch`` process sends.

    .venv/bin/python bench/notify_burst.py --waiting 500 --clients 200 --calls 10 --provider-ms 20
    .venv/bin/python bench/notify_burst.py ... --provider-ms 200 --senders 1
    .venv/bin/python bench/notify_burst.py ... --provider-ms 20 --separate-dispatcher

Runs only on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import CONFIG, Clients, Server  # noqa: E402

SID = "AC" + "4" * 32


class Provider:
    """A local Twilio: answers each message after ``latency`` seconds, notes when."""

    def __init__(self, latency: float) -> None:
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as a real provider's server: no 40 ms stalls on keep-alive

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.in_flight += 1
                    outer.most_in_flight = max(outer.most_in_flight, outer.in_flight)
                time.sleep(latency)
                with outer.lock:
                    outer.in_flight -= 1
                    outer.times.append(time.perf_counter())
                body = b'{"sid": "SM%032d", "status": "queued"}' % len(outer.times)
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def sms_env(provider_url: str, near: int) -> dict:
    return {
        "QUEUE_APP_NOTIFY_CHANNELS": "sms",
        "QUEUE_APP_NOTIFY_MESSAGES": "turn_near",
        "QUEUE_APP_NOTIFY_NEAR_POSITIONS": str(near),
        "QUEUE_APP_NOTIFY_NEAR_MINUTES": "0",
        "QUEUE_APP_CHANNELS_SMS_ENABLED": "true",
        "QUEUE_APP_CHANNELS_SMS_ACCOUNT_SID": SID,
        "QUEUE_APP_CHANNELS_SMS_AUTH_TOKEN": "token",
        "QUEUE_APP_CHANNELS_SMS_FROM_NUMBER": "+15005550006",
        "QUEUE_APP_CHANNELS_SMS_BASE_URL": provider_url,
        "NO_PROXY": "127.0.0.1,localhost",
    }


def copy_database(source_dir: str, tag: str) -> str:
    """A consistent copy of the seed's SQLite database in a new folder.

    Through SQLite's backup API, not a file copy: the database runs in WAL mode, and the last
    check-ins may still sit in ``bench.db-wal`` after the seed server stopped.
    """
    target = tempfile.mkdtemp(prefix=f"queue-bench-{tag}-")
    with sqlite3.connect(Path(source_dir) / "bench.db") as src, sqlite3.connect(Path(target) / "bench.db") as dst:
        src.backup(dst)
    return target


def outbox_counts(directory: str) -> dict[str, int]:
    """Messages by outcome, read from the server's database while it runs (WAL lets us)."""
    with sqlite3.connect(Path(directory) / "bench.db") as db:
        rows = db.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall()
    counts = dict(rows)
    counts["pending"] = counts.get("queued", 0) + counts.get("sending", 0)
    return counts


async def check_in_all(server: Server, waiting: int) -> None:
    kiosk = {"Authorization": f"Bearer {server.kiosk}"}
    sem = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            async with sem:
                body = {"service": "general", "phone": f"010-5{i // 10000:03d}-{i % 10000:04d}", "consent": True}
                async with http.post(f"{server.url}/api/v1/tickets", json=body, headers=kiosk) as r:
                    assert r.status == 201, await r.text()

        await asyncio.gather(*(one(i) for i in range(waiting)))


async def timed_calls(server: Server, clients: int, calls: int, on_first=None) -> list[float]:
    listeners = Clients()
    await listeners.connect(server.url, [{"token": server.display}] * clients)
    await asyncio.sleep(0.5)
    staff = {"Authorization": f"Bearer {server.staff}"}
    samples = []
    async with aiohttp.ClientSession() as http:
        for i in range(calls):
            room = ("room1", "room2")[i % 2]
            t0 = time.perf_counter()
            async with http.post(f"{server.url}/api/v1/rooms/{room}/call-next", headers=staff) as r:
                body = await r.json()
            if i == 0 and on_first:
                on_first(t0)
            t_last = await listeners.wait_all(body["ticket"]["number"])
            samples.append((t_last - t0) * 1000)
            async with http.post(f"{server.url}/api/v1/tickets/{body['ticket']['id']}/start", headers=staff):
                pass
            await asyncio.sleep(0.2)
    await listeners.close()
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--provider-ms", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=4, help="[notify] senders of the server")
    parser.add_argument(
        "--separate-dispatcher",
        action="store_true",
        help="serve --without-dispatcher, and send from a `queue-app dispatch` process",
    )
    args = parser.parse_args()

    provider = Provider(args.provider_ms / 1000)
    seed = Server({**sms_env(provider.url, near=0), "QUEUE_APP_NOTIFY_MESSAGES": ""})  # no message yet
    seed.prepare()
    seed.serve()
    await check_in_all(seed, args.waiting)
    seed.stop()
    assert not provider.times, "no message should exist before the burst"

    copy_a = copy_database(seed.dir, "a")
    quiet = Server({"QUEUE_APP_NOTIFY_CHANNELS": ""}, copy_a)
    quiet.staff, quiet.display = seed.staff, seed.display
    quiet.serve()
    baseline = await timed_calls(quiet, args.clients, args.calls)
    quiet.stop()

    copy_b = copy_database(seed.dir, "b")
    busy_env = {**sms_env(provider.url, near=args.waiting * 2), "QUEUE_APP_NOTIFY_SENDERS": str(args.senders)}
    busy = Server(busy_env, copy_b)
    busy.staff, busy.display = seed.staff, seed.display
    sender = None
    if args.separate_dispatcher:
        busy.serve("--without-dispatcher")
        sender = subprocess.Popen(
            [sys.executable, "-m", "queue_app.cli", "--config", CONFIG, "dispatch"],
            cwd=busy.dir,
            env=busy.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    else:
        busy.serve()
    started: list[float] = []
    during = await timed_calls(busy, args.clients, args.calls, on_first=started.append)
    deadline = time.perf_counter() + 600
    while outbox_counts(copy_b).get("pending") and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    busy.stop()
    if sender is not None:
        sender.terminate()
        sender.wait()
    counts = outbox_counts(copy_b)
    burst_seconds = provider.times[-1] - started[0]

    def med(xs):
        return statistics.median(xs)

    print(f"outbox after the run: {counts}; at most {provider.most_in_flight} requests at once at the provider")
    print(
        "| waiting | clients | provider latency ms | senders | sender process | messages sent "
        "| skipped (called first) | all sent after s | messages/s | fan-out median ms without | with burst | ratio |"
    )
    print("| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.waiting} | {args.clients} | {args.provider_ms:.0f} | {args.senders} "
        f"| {'own' if args.separate_dispatcher else 'the web server'} | {len(provider.times)} "
        f"| {counts.get('skipped', 0)} | {burst_seconds:.1f} "
        f"| {len(provider.times) / burst_seconds:.0f} | {med(baseline):.0f} | {med(during):.0f} "
        f"| {med(during) / med(baseline):.2f} |"
    )


if __name__ == "__main__":
    asyncio.run(main())
