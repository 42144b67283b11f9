"""Benchmark: how slow a cheap request gets while four wrong-password loops run.

Password hashing (scrypt, about 50-100 ms of CPU) used to run on the event loop: under
eventlet every other request waited for it.  Now it runs in an OS thread (``offload.py``).

For each source tree given (by default this checkout; ``--before DIR`` adds an older tree,
e.g. ``git archive <commit> | tar -x -C DIR``), the real ``queue-app serve`` (eventlet,
SQLite) is started from that tree on a fresh database with one staff user and sign-in
limits raised out of the way.  Then:

1. idle: ``GET /api/v1/services`` is timed ``--probes`` times, one after another;
2. loaded: four threads each sign in with a wrong password in a loop (fetch the form for its
   token, post it), and the same probes are timed meanwhile.

    .venv/bin/python bench/login_load.py --before /tmp/queue-before --probes 200

Runs only on loopback.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import Server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOOPS = 4


def probe(url: str, n: int) -> list[float]:
    """``n`` timed GETs of ``url``, in milliseconds, over one kept-alive connection."""
    times = []
    with requests.Session() as http:
        http.get(url, timeout=30)
        for _ in range(n):
            start = time.perf_counter()
            http.get(url, timeout=30).raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    return times


def guess_passwords(base: str, stop: threading.Event, counts: list[int], slot: int) -> None:
    """Sign in with a wrong password again and again until ``stop``."""
    with requests.Session() as http:
        while not stop.is_set():
            page = http.get(base + "/login", timeout=30).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            answer = http.post(
                base + "/login", data={"csrf": csrf, "username": "nurse", "password": "wrong-guess"}, timeout=30
            )
            assert answer.status_code == 401, answer.status_code
            counts[slot] += 1


def summary(times: list[float]) -> tuple[float, float, float]:
    """Median, mean and 95th percentile: a request stuck behind a chain of hashes shows in the last two."""
    ordered = sorted(times)
    return statistics.median(ordered), statistics.fmean(ordered), ordered[int(len(ordered) * 0.95) - 1]


def measure(source: Path, probes: int) -> dict:
    env = {
        "PYTHONPATH": str(source),
        "PYTHONDONTWRITEBYTECODE": "1",
        # Out of the way: this measures the hashing, not the throttle.
        "QUEUE_APP_SERVER_LOGIN_ATTEMPTS_PER_MINUTE": "1000000",
        "QUEUE_APP_SERVER_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE": "1000000",
    }
    server = Server(env={**os.environ, **env})
    server.prepare()
    server.cli("create-user", "--username", "nurse", "--role", "staff", "--password", "nurse-pass-123")
    server.serve()
    try:
        cheap = server.url + "/api/v1/services"
        idle = probe(cheap, probes)
        stop = threading.Event()
        counts = [0] * LOOPS
        loops = [
            threading.Thread(target=guess_passwords, args=(server.url, stop, counts, i), daemon=True)
            for i in range(LOOPS)
        ]
        started = time.perf_counter()
        for loop in loops:
            loop.start()
        time.sleep(1)  # every loop is hashing
        loaded = probe(cheap, probes)
        stop.set()
        for loop in loops:
            loop.join()
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    return {"idle": summary(idle), "loaded": summary(loaded), "guesses_per_s": sum(counts) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="an older source tree to measure first")
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    trees = ([("before", args.before)] if args.before else []) + [("this checkout", ROOT)]
    print(
        "| code | idle median ms | idle p95 ms | loaded median ms | loaded mean ms | loaded p95 ms "
        "| wrong passwords/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, source in trees:
        result = measure(source.resolve(), args.probes)
        (idle_median, _, idle_p95), (median, mean, p95) = result["idle"], result["loaded"]
        print(
            f"| {name} | {idle_median:.1f} | {idle_p95:.1f} | {median:.1f} | {mean:.1f} | {p95:.1f} "
            f"| {result['guesses_per_s']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
