"""Benchmark of issue 10's targets: live updates at 1,000 phones, against the floor of the stack.

Measured on the real ``queue-app serve`` (eventlet, SQLite), and in the same run on
``bench/bare_server.py``, a bare Flask-SocketIO server under eventlet (the floor):

1. **Connect**: 1,000 clients (900 patients' phones, each with its own waiting ticket, and
   100 displays) connect to a freshly started server, at most 10 in flight (a connect is in
   flight until its client has its first snapshot: ``ticket`` for a phone, ``queue`` for a
   display; the bare server's ``welcome``).  The time until the last has it; the server's
   RSS before and after, divided by the clients: memory per connected phone.
2. **Call -> every phone updated**: "call next" is pressed K times (each call then started).
   For each press, the time from sending the request until every client has what that call
   changed for it: every display the ``called`` announcement; every phone still waiting its
   new place (position one less, from a ``place`` or ``ticket`` event); the called patient's
   phone its ``ticket`` saying "called" (phones are sent only their own news).  The floor:
   the bare server broadcasts one small ``called`` event (150 bytes of JSON) to the same
   clients.  Also the time until the first client has its news: what the server does before
   its first event leaves (the rest is sending and the clients reading).  Server CPU per call
   is read from ``/proc/<pid>/stat``.  The servers run side by
   side, each with its own clients, and the calls alternate between them: on a shared machine all are measured under the
   same load.  A second floor (``--no-nodelay-floor`` leaves it out) is the bare server with
   TCP_NODELAY: without it each connect waits ~45 ms for a delayed ACK, in both servers.
3. **Check-in rate and the cost of one change** at W waiting (100, 1,000, 5,000): the queue
   is seeded through ``ClinicQueue`` in the server's database before it starts, then one
   client checks patients in over HTTP, one request at a time (check-ins per second), and
   presses "call next" K times; the server's CPU time over them, divided, is the cost of one
   change.  No Socket.IO client is connected in this part: it is the change's own cost.

The clients run in ``--client-procs`` processes (python-socketio's ``AsyncClient`` over
WebSocket, one asyncio loop each), whose CPU time is reported too: on a 2-core machine the
clients' decoding is part of every fan-out figure, the service's and the floor's alike.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/live_updates.py                      # the full run, ~5 minutes here
    .venv/bin/python bench/live_updates.py --phones 90 --displays 10 --calls 5 --waiting 100 --check-ins 30
    .venv/bin/python bench/live_updates.py --skip-crowd --waiting 1000   # part 3 only

Runs only on loopback; every wait is bounded, and it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import CONFIG, PY, Bare, Server, free_port, wait_http  # noqa: E402

#: Seconds a client may take to connect and get its snapshot, and a call to reach everyone.
CONNECT_TIMEOUT = 60
CALL_TIMEOUT = 60
#: The bare server's announcement: the size of the service's ``called`` event (about 100 bytes).
BARE_CALLED = {
    "number": "A-000",
    "room": "room1",
    "room_names": {"en": "Room 1"},
    "service": "general",
    "called_at": "2026-12-02T01:00:00+00:00",
    "call_count": 1,
    "version": 1,
}


# -- the server process, seen from outside -------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat`` utime + stime)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of a process (``VmRSS`` of ``/proc/<pid>/status``), in KiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Http:
    """One keep-alive HTTP connection to the server: a client sending one request at a time."""

    def __init__(self, url: str, token: str | None = None) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        self.connection.request("POST", path, body=json.dumps(body or {}), headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def get(self, path: str) -> int:
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.connection.close()


def seed(server: Server, count: int) -> list[tuple[int, str]]:
    """Check ``count`` patients in to "general" straight through ``ClinicQueue``, before the
    server starts (over HTTP 5,000 would take minutes); their (ticket id, token) in line order."""
    out = subprocess.run(
        [PY, str(Path(__file__).resolve()), "--seed", str(count)],
        cwd=server.dir,
        env=server.env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"seeding failed: {out.stderr[-2000:]}")
    return [tuple(pair) for pair in json.loads(out.stdout)]


def seed_here(count: int) -> None:
    """The ``--seed`` mode, run in the server's folder and environment: print the tickets as JSON."""
    from sqlalchemy.orm import Session

    from queue_app.clock import SystemClock
    from queue_app.config import load_settings
    from queue_app.extensions import make_engine
    from queue_app.queue import Actor, ClinicQueue

    settings = load_settings(CONFIG)
    kiosk = Actor("kiosk", "bench")
    with Session(make_engine(settings.database_url), expire_on_commit=False) as session:
        queue = ClinicQueue(session, SystemClock(), settings.timezone)
        tickets = [queue.check_in("general", language="ko", actor=kiosk)[0] for _ in range(count)]
        session.commit()
        print(json.dumps([[t.id, t.token] for t in tickets]))


# -- the clients: worker processes, each an asyncio loop of Socket.IO clients ------------------------


class Listener:
    """One client and what it has heard, with the moment it heard each thing first.

    It reads the service's events as they are today (``ticket``, ``place``, ``queue``,
    ``called``); a server that carries a phone's place in another event needs a handler
    for it in ``Worker.connect``, or the calls time out naming the clients that missed it.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "phone", "display" or "bare"
        self.first: float | None = None
        self.first_event = asyncio.Event()
        self.ticket_id: int | None = None
        #: position when it connected (phones): after k calls it should read position0 - k.
        self.position0: int | None = None
        self.positions: dict[int, float] = {}
        self.statuses: dict[str, float] = {}
        self.called: dict[str, float] = {}

    def got_first(self, now: float) -> None:
        if self.first is None:
            self.first = now
            self.first_event.set()

    def updated_at(self, want: dict) -> float | None:
        """When this client had everything the expected call changed for it (None: not yet)."""
        if self.kind != "phone":
            return self.called.get(want["number"])
        # A phone is sent only its own news (the public announcement is for displays): the
        # called patient their ticket, the others their new place.
        if self.ticket_id == want["called_id"]:
            return self.statuses.get("called")
        if self.position0 is not None and self.position0 > want["calls"]:
            return self.positions.get(self.position0 - want["calls"])
        return 0.0  # called earlier: nothing is news for this phone


class Worker:
    """The clients of one process, and the commands the driver sends them."""

    def __init__(self) -> None:
        self.clients: list = []
        self.listeners: list[Listener] = []
        self.want: dict | None = None
        self.pending: set[int] = set()
        self.done_at: list[float] = []
        self.all_done = asyncio.Event()
        #: event name -> the latest one heard (the payload sizes of the report); measured when
        #: asked, not as each arrives: encoding a TV's 3 KB board again for every display was
        #: the benchmark's own work inside the time it measures.
        self.latest: dict[str, object] = {}

    def note_size(self, event: str, data) -> None:
        self.latest[event] = data

    @property
    def sizes(self) -> dict[str, int]:
        """event name -> JSON bytes of the latest one heard."""
        return {
            event: len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
            for event, data in self.latest.items()
        }

    def heard(self, index: int) -> None:
        if self.want is None or index not in self.pending:
            return
        at = self.listeners[index].updated_at(self.want)
        if at is not None:
            self.pending.discard(index)
            self.done_at.append(at)
            if not self.pending:
                self.all_done.set()

    async def connect(self, url: str, specs: list[dict], in_flight: int) -> dict:
        import socketio

        gate = asyncio.Semaphore(in_flight)
        errors: list[str] = []
        cpu0 = time.process_time()

        async def one(spec: dict) -> None:
            index = len(self.listeners)
            listener = Listener(spec["kind"])
            self.listeners.append(listener)
            client = socketio.AsyncClient(reconnection=False)
            self.clients.append(client)

            @client.on("ticket")
            async def on_ticket(data):
                now = time.perf_counter()
                self.note_size("ticket", data)
                if listener.ticket_id is None:
                    listener.ticket_id, listener.position0 = data.get("id"), data.get("position")
                if data.get("position") is not None:
                    listener.positions.setdefault(data["position"], now)
                listener.statuses.setdefault(data.get("status"), now)
                if listener.kind == "phone":
                    listener.got_first(now)
                self.heard(index)

            @client.on("place")
            async def on_place(data):
                self.note_size("place", data)
                if data.get("position") is not None:
                    listener.positions.setdefault(data["position"], time.perf_counter())
                self.heard(index)

            @client.on("queue")
            async def on_queue(data):
                self.note_size("queue", data)
                if listener.kind == "display":
                    listener.got_first(time.perf_counter())

            @client.on("welcome")
            async def on_welcome(data):
                self.note_size("welcome", data)
                listener.got_first(time.perf_counter())

            @client.on("called")
            async def on_called(data):
                self.note_size("called", data)
                listener.called.setdefault(data["number"], time.perf_counter())
                self.heard(index)

            async with gate:
                try:
                    await client.connect(url, auth=spec.get("auth"), transports=["websocket"], wait_timeout=30)
                    await asyncio.wait_for(listener.first_event.wait(), CONNECT_TIMEOUT)
                except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                    errors.append(f"{type(exc).__name__}: {exc}")

        await asyncio.gather(*(one(spec) for spec in specs))
        firsts = [listener.first for listener in self.listeners if listener.first is not None]
        return {
            "last": max(firsts) if firsts else None,
            "errors": len(errors),
            "error": errors[0] if errors else None,
            "cpu": time.process_time() - cpu0,
        }

    async def expect(self, want: dict) -> dict:
        """Wait until every client has what the call ``want`` describes changed for it."""
        self.want, self.done_at, self.all_done = want, [], asyncio.Event()
        self.pending = set(range(len(self.listeners)))
        for index in list(self.pending):
            self.heard(index)
        if self.pending:
            try:
                await asyncio.wait_for(self.all_done.wait(), CALL_TIMEOUT)
            except TimeoutError:
                pass
        missing = len(self.pending)
        self.want = None
        return {
            "last": max(self.done_at) if self.done_at else None,
            "first": min((t for t in self.done_at if t > 0), default=None),
            "missing": missing,
            "sizes": dict(self.sizes),
        }

    async def close(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients), return_exceptions=True)
        self.clients, self.listeners = [], []


def worker_main(conn) -> None:
    """A client process: obey the driver's commands until told to stop."""

    async def serve_commands() -> None:
        worker = Worker()
        loop = asyncio.get_running_loop()
        while True:
            command, *rest = await loop.run_in_executor(None, conn.recv)
            if command == "connect":
                conn.send(await worker.connect(*rest))
            elif command == "expect":
                conn.send(await worker.expect(*rest))
            elif command == "cpu":
                conn.send(time.process_time())
            elif command == "close":
                await worker.close()
                conn.send({"cpu": time.process_time()})
            elif command == "stop":
                return

    asyncio.run(serve_commands())


class Crowd:
    """The phones and displays, spread over client processes; the driver's side of them."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.procs = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            proc = context.Process(target=worker_main, args=(theirs,), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def _all(self, *command) -> list[dict]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def connect(self, url: str, specs: list[dict], in_flight: int) -> dict:
        """Connect every client, ``in_flight`` at a time in all; the seconds until the last has
        its first snapshot, and the clients' CPU seconds."""
        shares = [specs[i :: len(self.pipes)] for i in range(len(self.pipes))]
        flights = [max(1, in_flight // len(self.pipes) + (i < in_flight % len(self.pipes))) for i in range(len(shares))]
        started = time.perf_counter()
        for pipe, share, flight in zip(self.pipes, shares, flights, strict=True):
            pipe.send(("connect", url, share, flight))
        answers = [pipe.recv() for pipe in self.pipes]
        errors = sum(a["errors"] for a in answers)
        if errors:
            first = next(a["error"] for a in answers if a["error"])
            raise RuntimeError(f"{errors} of {len(specs)} clients failed to connect, e.g. {first}")
        return {"seconds": max(a["last"] for a in answers) - started, "client_cpu": sum(a["cpu"] for a in answers)}

    def cpu(self) -> float:
        """The client processes' CPU seconds so far, all together."""
        return sum(self._all("cpu"))

    def expect(self, want: dict, since: float, cpu_before: float) -> dict:
        """Milliseconds from ``since`` until every client had ``want``; the clients' CPU ms since
        ``cpu_before`` (taken before the request: events may arrive before its answer)."""
        answers = self._all("expect", want)
        missing = sum(a["missing"] for a in answers)
        if missing:
            raise RuntimeError(f"{missing} clients never had call {want['number']} within {CALL_TIMEOUT} s")
        return {
            "ms": (max(a["last"] for a in answers) - since) * 1000,
            "first_ms": (min(a["first"] for a in answers if a["first"]) - since) * 1000,
            "client_cpu_ms": (self.cpu() - cpu_before) * 1000,
            "sizes": {name: size for a in answers for name, size in a["sizes"].items()},
        }

    def close(self) -> None:
        self._all("close")

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send(("stop",))
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()


# -- the measurements ------------------------------------------------------------------------------------


class ServiceStage:
    """The real service with ``phones`` patients waiting, each one's phone among the clients."""

    name = "service"

    def __init__(self, args) -> None:
        self.args = args
        self.server = Server()
        self.server.prepare()
        self.phones = seed(self.server, args.phones)
        self.server.serve()
        self.pid = self.server.proc.pid
        self.url = self.server.url
        self.staff = Http(self.server.url, self.server.staff)
        try:
            self.staff.get("/api/v1/queue")  # a first request: imports done, the first snapshot read
        except Exception:
            self.server.stop()
            raise

    def specs(self) -> list[dict]:
        phones = [{"kind": "phone", "auth": {"ticket": token}} for _, token in self.phones]
        return phones + [{"kind": "display", "auth": {"token": self.server.display}}] * self.args.displays

    def call(self, k: int) -> tuple[float, dict]:
        """Press "call next": (when the request was sent, what every client should then have)."""
        t0 = time.perf_counter()
        status, body = self.staff.post("/api/v1/rooms/room1/call-next")
        if status != 200:
            raise RuntimeError(f"call next answered {status}: {body}")
        self.called = body["ticket"]
        return t0, {"number": self.called["number"], "called_id": self.called["id"], "calls": k}

    def after_call(self) -> None:
        # The patient goes in: the room is free for the next "call next" (which finishes them).
        self.staff.post(f"/api/v1/tickets/{self.called['id']}/start")

    def stop(self) -> None:
        self.staff.close()
        self.server.stop()
        shutil.rmtree(self.server.dir, ignore_errors=True)


class NodelayBare(Bare):
    """The bare server with TCP_NODELAY on its sockets."""

    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [PY, str(Path(__file__).resolve().parent / "bare_server.py"), str(self.port), "--nodelay"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/ping", self.proc)


class BareStage:
    """The bare broadcasting server: the floor (``nodelay``: with TCP_NODELAY)."""

    def __init__(self, args, nodelay: bool = False) -> None:
        self.args = args
        self.name = "bare-nodelay" if nodelay else "bare"
        self.bare = NodelayBare() if nodelay else Bare()
        self.bare.start()
        self.pid = self.bare.proc.pid
        self.http = Http(self.bare.url)
        self.http.get("/ping")
        self.url = self.bare.url

    def specs(self) -> list[dict]:
        return [{"kind": "bare"}] * (self.args.phones + self.args.displays)

    def call(self, k: int) -> tuple[float, dict]:
        number = f"B-{k:03d}"
        t0 = time.perf_counter()
        self.http.post("/broadcast", {"called": {**BARE_CALLED, "number": number, "version": k}})
        return t0, {"number": number, "called_id": None, "calls": k}

    def after_call(self) -> None:
        pass

    def stop(self) -> None:
        self.http.close()
        self.bare.stop()


def connect_crowd(stage, crowd: Crowd, args) -> dict:
    """Connect the stage's clients: seconds until the last has its snapshot, CPU, memory."""
    time.sleep(1)
    rss0, cpu0 = rss_kib(stage.pid), cpu_seconds(stage.pid)
    specs = stage.specs()
    connected = crowd.connect(stage.url, specs, args.in_flight)
    connected["server_cpu"] = cpu_seconds(stage.pid) - cpu0
    time.sleep(1)
    connected.update(rss_before_kib=rss0, rss_after_kib=rss_kib(stage.pid), clients=len(specs))
    print(f"{stage.name}: {len(specs)} connected in {connected['seconds']:.2f} s", file=sys.stderr)
    return connected


def timed_call(stage, crowd: Crowd, k: int) -> dict:
    """One call (or bare broadcast) and the time until every client had what it changed for it."""
    cpu0, clients_cpu0 = cpu_seconds(stage.pid), crowd.cpu()
    t0, want = stage.call(k)
    reached = crowd.expect(want, t0, clients_cpu0)
    reached["server_cpu_ms"] = (cpu_seconds(stage.pid) - cpu0) * 1000
    stage.after_call()
    return reached


def crowds(args) -> tuple[dict, dict]:
    """Connects, memory and call fan-out on the service and on the bare server(s).

    The servers run side by side, each with its own clients; the calls alternate between
    them (service, bare, service, ...), so that on a machine shared with other work all
    are measured under the same load, not a minute apart.
    """
    stages, results = [], {}
    crowd_of = {}
    makers = [ServiceStage, BareStage]
    if args.nodelay_floor:
        makers.append(lambda args: BareStage(args, nodelay=True))
    try:
        for make in makers:
            stage = make(args)
            stages.append(stage)
            crowd_of[stage.name] = Crowd(args.client_procs)
            results[stage.name] = {"connect": connect_crowd(stage, crowd_of[stage.name], args), "calls": []}
        time.sleep(1)
        for k in range(1, args.calls + 1):
            for stage in stages:
                results[stage.name]["calls"].append(timed_call(stage, crowd_of[stage.name], k))
                time.sleep(args.pause)
        for stage in stages:
            median = statistics.median(c["ms"] for c in results[stage.name]["calls"])
            print(f"{stage.name}: call median {median:.0f} ms", file=sys.stderr)
            crowd_of[stage.name].close()
    finally:
        for crowd in crowd_of.values():
            crowd.stop()
        for stage in stages:
            stage.stop()
    return results["service"], results["bare"], results.get("bare-nodelay")


def changes_at(waiting: int, args) -> dict:
    """Check-ins per second and CPU per change with ``waiting`` patients waiting, no client connected."""
    server = Server()
    server.prepare()
    seed(server, waiting)
    server.serve()
    try:
        pid = server.proc.pid
        kiosk = Http(server.url, server.kiosk)
        staff = Http(server.url, server.staff)
        for _ in range(3):  # warm up: the first read, the estimator fed
            kiosk.post("/api/v1/tickets", {"service": "general"})
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        for _ in range(args.check_ins):
            status, body = kiosk.post("/api/v1/tickets", {"service": "general"})
            if status != 201:
                raise RuntimeError(f"check-in answered {status}: {body}")
        seconds, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
        call_cpu, call_ms = 0.0, []
        for _ in range(args.calls):
            cpu_a, t_a = cpu_seconds(pid), time.perf_counter()
            status, body = staff.post("/api/v1/rooms/room1/call-next")
            call_ms.append((time.perf_counter() - t_a) * 1000)
            call_cpu += cpu_seconds(pid) - cpu_a
            if status != 200:
                raise RuntimeError(f"call next answered {status}: {body}")
            staff.post(f"/api/v1/tickets/{body['ticket']['id']}/start")
        kiosk.close()
        staff.close()
        row = {
            "waiting": waiting,
            "check_ins_per_s": args.check_ins / seconds,
            "check_in_cpu_ms": cpu * 1000 / args.check_ins,
            "call_ms": statistics.median(call_ms),
            "call_cpu_ms": call_cpu * 1000 / args.calls,
        }
        print(
            f"{waiting} waiting: {row['check_ins_per_s']:.0f} check-ins/s, {row['check_in_cpu_ms']:.1f} ms CPU each; "
            f"call {row['call_cpu_ms']:.1f} ms CPU",
            file=sys.stderr,
        )
        return row
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


# -- the report ----------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def figures(stage: dict) -> dict:
    """The reported figures of one server's crowd."""
    calls, connect = stage["calls"], stage["connect"]
    return {
        "median": statistics.median(c["ms"] for c in calls),
        "first": statistics.median(c["first_ms"] for c in calls),
        "p95": p95([c["ms"] for c in calls]),
        "server_cpu": statistics.mean(c["server_cpu_ms"] for c in calls),
        "client_cpu": statistics.mean(c["client_cpu_ms"] for c in calls),
        "connect": connect["seconds"],
        "connect_server_cpu": connect["server_cpu"],
        "connect_client_cpu": connect["client_cpu"],
        "rss": f"{connect['rss_before_kib'] / 1024:.0f} -> {connect['rss_after_kib'] / 1024:.0f}",
        "memory": (connect["rss_after_kib"] - connect["rss_before_kib"]) / connect["clients"],
        "sizes": ", ".join(f"`{name}` {size}" for name, size in sorted(calls[-1]["sizes"].items())),
    }


def report(ours: dict | None, bare: dict | None, nodelay: dict | None, rows: list[dict], args, load) -> str:
    lines = [
        f"Load average (1 min) of the machine at the start and end of the run: {load[0]:.1f}, {load[-1]:.1f} "
        f"(on {os.cpu_count()} cores, the benchmark's own processes included).",
        "",
    ]
    if ours and bare:
        columns = [figures(ours), figures(bare)] + ([figures(nodelay)] if nodelay else [])
        o, b = columns[0], columns[1]
        head = "| measure | service | floor (bare server) | ratio | target |"
        rule = "| --- | ---: | ---: | ---: | --- |"
        if nodelay:
            head += " bare server, TCP_NODELAY | ratio to it |"
            rule += " ---: | ---: |"

        def row(label: str, key: str, form: str, target: str | None = None) -> str:
            cells = [format(c[key], form) if form else c[key] for c in columns]
            ratio = f"{o[key] / b[key]:.2f}" if target is not None else ""
            line = f"| {label} | {cells[0]} | {cells[1]} | {ratio} | {target or ''} |"
            if nodelay:
                line += f" {cells[2]} | {f'{o[key] / columns[2][key]:.2f}' if target is not None else ''} |"
            return line

        lines += [
            f"{args.phones} phones (each its own waiting ticket) + {args.displays} displays; "
            f"{args.calls} calls; {args.in_flight} connects in flight; {args.client_procs} client process(es).",
            "",
            head,
            rule,
            row("call -> every phone updated, median ms", "median", ".0f", "within 1.5x"),
            row("same, p95 ms", "p95", ".0f"),
            row("call -> the first client has its news, median ms", "first", ".0f"),
            row("server CPU per call, ms", "server_cpu", ".0f"),
            row("clients' CPU per call, ms", "client_cpu", ".0f"),
            row(
                f"{ours['connect']['clients']} connecting, s until the last has its snapshot",
                "connect",
                ".2f",
                "within 3x",
            ),
            row("server CPU for the connects, s", "connect_server_cpu", ".2f"),
            row("clients' CPU for the connects, s", "connect_client_cpu", ".2f"),
            row("server RSS before -> after, MiB", "rss", ""),
            row("memory per connected phone, KiB", "memory", ".0f", "reported"),
            "",
            f"Event sizes (JSON bytes, the last of each kind heard): service {o['sizes']}; bare server {b['sizes']}.",
            "",
        ]
    if rows:
        lines += [
            f"One client, one request at a time, no Socket.IO client connected; {args.check_ins} check-ins, "
            f"{args.calls} calls.",
            "",
            "| waiting | check-ins/s | CPU ms per check-in | CPU ms per call | call answered in, median ms |",
            "| ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in rows:
            lines.append(
                f"| {row['waiting']} | {row['check_ins_per_s']:.3g} | {row['check_in_cpu_ms']:.1f} "
                f"| {row['call_cpu_ms']:.1f} | {row['call_ms']:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=900, help="patients' phones, each with its own ticket")
    parser.add_argument("--displays", type=int, default=100)
    parser.add_argument("--calls", type=int, default=15, help="calls timed (fan-out, and per waiting size)")
    parser.add_argument("--in-flight", type=int, default=10, help="connects in flight at most")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the clients are spread over")
    parser.add_argument("--waiting", type=int, nargs="*", default=[100, 1000, 5000], help="queue lengths (part 3)")
    parser.add_argument("--check-ins", type=int, default=100, help="check-ins timed per queue length")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between two calls")
    parser.add_argument(
        "--nodelay-floor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the bare server with TCP_NODELAY (what the stack could do)",
    )
    parser.add_argument("--skip-crowd", action="store_true", help="only part 3 (check-ins and cost per change)")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        seed_here(args.seed)
        return

    # Two thousand sockets (both ends) and the servers' own files: raise the soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    started = time.perf_counter()
    load = [os.getloadavg()[0]]
    ours = bare = nodelay = None
    if not args.skip_crowd:
        ours, bare, nodelay = crowds(args)
    rows = [changes_at(waiting, args) for waiting in args.waiting]
    load.append(os.getloadavg()[0])
    print(f"run took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(report(ours, bare, nodelay, rows, args, load))
    if args.json:
        figures = {"service": ours, "bare": bare, "bare_nodelay": nodelay, "changes": rows, "load": load}
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
