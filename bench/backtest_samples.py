"""Backtest the wait estimator on the sample visit logs and print a results table.

    .venv/bin/python bench/backtest_samples.py [--data DIR] [--output-dir DIR] [LOG ...]

DIR defaults to /work/shared/data (or $QUEUE_APP_SAMPLE_DATA).  The settings are the example
clinic's (config.example.toml): Asia/Seoul, 09:00-18:00, lunch 13:00-14:00, services
general / pediatrics / vaccination with their default_minutes.  Also measures one
``estimate()`` call for 300 waiting patients and 20 rooms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_app.backtest import format_report, run_backtest  # noqa: E402
from queue_app.config import EXAMPLE_CONFIG, load_settings  # noqa: E402
from queue_app.estimate import PastVisit, RoomNow, WaitEstimator, WaitingTicket  # noqa: E402

SAMPLES = ("sample-visits-small_gp.csv", "sample-visits-polyclinic.csv", "sample-visits-hard.csv")


def settings():
    return load_settings(EXAMPLE_CONFIG, environ={}).estimator


def time_big_queue(estimator_settings, repeat: int = 20) -> tuple[float, float]:
    """(median, max) milliseconds of estimate() for 300 waiting and 20 rooms, after a day of history."""
    tz = estimator_settings.hours.timezone
    rng = random.Random(1)
    services = ["general", "pediatrics", "vaccination"]
    estimator = WaitEstimator(estimator_settings)
    day = datetime(2026, 3, 2, 9, 0, tzinfo=tz)
    for i in range(600):
        service = services[i % 3]
        called = day + timedelta(minutes=i * 0.8)
        checked = called - timedelta(minutes=rng.uniform(0, 40))
        finished = called + timedelta(minutes=rng.expovariate(1 / 9))
        room = f"R{i % 20}"
        estimator.learn(PastVisit(service, room, checked, called, finished, "served", finished))
    now = datetime(2026, 3, 3, 10, 30, tzinfo=tz)
    rooms = [
        RoomNow(
            f"R{i}",
            (services[i % 3], services[(i + 1) % 3]),
            open=i % 7 != 3,
            serving_since=now - timedelta(minutes=i % 13) if i % 4 else None,
            serving_service=services[i % 3] if i % 4 else None,
        )
        for i in range(20)
    ]
    waiting = [
        WaitingTicket(str(j), services[j % 3], now - timedelta(minutes=300 - j), priority=0 if j % 50 == 0 else 2)
        for j in range(300)
    ]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        estimator.estimate(now, waiting, rooms)
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="*", help="visit logs (default: the three samples in --data)")
    parser.add_argument("--data", default=os.environ.get("QUEUE_APP_SAMPLE_DATA", "/work/shared/data"))
    parser.add_argument("--output-dir", help="write PREDICTIONS csv files here")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    logs = [Path(p) for p in args.logs] or [Path(args.data) / name for name in SAMPLES]
    est_settings = settings()
    rows = []
    for log in logs:
        output = Path(args.output_dir) / f"predictions-{log.stem}.csv" if args.output_dir else None
        report = run_backtest(log, output, est_settings, progress=args.progress)
        print(format_report(report), file=sys.stderr)
        rows.append((log.stem.replace("sample-visits-", ""), report))
    print()
    print("| log | called | predictor | MAE | median | P90 | bias | coverage | MAE vs baseline | runtime |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        m, b = r.model, r.baseline
        print(
            f"| {name} | {r.called} | model | {m.mae:.2f} | {m.median:.2f} | {m.p90:.2f} | {m.bias:+.2f} | "
            f"{100 * m.coverage:.1f}% | {-100 * r.mae_reduction:+.0f}% | {r.seconds:.1f} s |"
        )
        print(f"| | | baseline | {b.mae:.2f} | {b.median:.2f} | {b.p90:.2f} | {b.bias:+.2f} | - | | |")
    median_ms, max_ms = time_big_queue(est_settings)
    print()
    print(f"estimate() with 300 waiting and 20 rooms: {median_ms:.1f} ms median, {max_ms:.1f} ms max (20 calls)")


if __name__ == "__main__":
    main()
