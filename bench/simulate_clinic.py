"""Simulate a walk-in clinic and write its visit log: logs unlike the samples, to check that the
estimator holds up on clinics it was not developed on.

    .venv/bin/python bench/simulate_clinic.py OUT.csv [--seed N] [--days N] [--shared-room]
        [--cv X] [--load X]

Rooms call first-in-first-out over their services (lowest check-in first), one patient at a
time, 09:00-18:00 with lunch 13:00-14:00 (Asia/Seoul), and serve everyone who checked in
before 17:30 even after 18:00.  Doctors start late, return late from lunch, take short
breaks; each day every doctor has a speed of their own; some patients do not answer a call
(the room calls again a minute or two later) and some leave when their patience runs out.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_app.visits import Visit, write_visits  # noqa: E402

TZ = ZoneInfo("Asia/Seoul")


def lognormal(rng: random.Random, mean: float, cv: float) -> float:
    sigma = math.sqrt(math.log(1 + cv * cv))
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def simulate(seed: int, days: int, shared_room: bool, cv: float, load: float) -> list[Visit]:
    rng = random.Random(seed)
    services = {"general": 9.0, "pediatrics": 12.0, "vaccination": 4.0}
    rooms = {"A": ("general",), "B": ("general",), "C": ("pediatrics",), "D": ("vaccination",)}
    if shared_room:
        rooms["B"] = ("general", "pediatrics")
    rate = {"general": 11.0 * load, "pediatrics": 4.0 * load, "vaccination": 9.0 * load}  # per hour
    visits: list[Visit] = []
    day = date(2026, 4, 6)
    done = 0
    while done < days:
        if day.weekday() < 5:
            visits.extend(simulate_day(rng, day, services, rooms, rate, cv))
            done += 1
        day += timedelta(days=1)
    return visits


def simulate_day(rng, day, services, rooms, rate, cv) -> list[Visit]:
    base = datetime.combine(day, time(0), tzinfo=TZ)

    def at(minute: float) -> datetime:
        return base + timedelta(seconds=round(minute * 60))

    arrivals = []
    for service, per_hour in rate.items():
        t = 8 * 60 + 40
        while True:
            hour = t / 60
            shape = 1.4 if 9.5 <= hour < 11.5 else 0.6 if 12.5 <= hour < 14 else 1.0
            t += rng.expovariate(per_hour * shape / 60)
            if t > 17 * 60 + 30:
                break
            patience = lognormal(rng, 90, 0.6)
            arrivals.append((t, service, patience))
    arrivals.sort()
    speed = {room: rng.uniform(0.75, 1.3) for room in rooms}
    absent = {room for room in rooms if rng.random() < 0.04}
    if len(absent) == len(rooms):
        absent = set()
    start = {room: 9 * 60 + (rng.expovariate(1 / 6) if rng.random() < 0.5 else 0) for room in rooms}
    back = {room: 14 * 60 + (rng.expovariate(1 / 5) if rng.random() < 0.4 else 0) for room in rooms}
    waiting: list[tuple[float, int]] = []  # (checked_in, index)
    state = [
        dict(t=t, service=s, patience=p, called=None, finished=None, room=None, outcome=None) for t, s, p in arrivals
    ]
    free_at = {room: start[room] for room in rooms if room not in absent}
    next_arrival = 0
    heap = [(t, room) for room, t in free_at.items()]
    heapq.heapify(heap)
    while heap:
        t, room = heapq.heappop(heap)
        if 13 * 60 <= t < 14 * 60:
            heapq.heappush(heap, (back[room], room))
            continue
        while next_arrival < len(state) and state[next_arrival]["t"] <= t:
            waiting.append((state[next_arrival]["t"], next_arrival))
            next_arrival += 1
        mine = [(ci, k) for ci, k in waiting if state[k]["service"] in rooms[room]]
        if not mine:
            if next_arrival >= len(state):
                continue
            heapq.heappush(heap, (max(t, state[next_arrival]["t"]), room))
            continue
        ci, k = min(mine)
        waiting.remove((ci, k))
        visit = state[k]
        if t - visit["t"] > visit["patience"]:
            visit["outcome"] = "left"
            heapq.heappush(heap, (t, room))
            continue
        visit["called"], visit["room"] = t, room
        if rng.random() < 0.035:
            visit["outcome"] = "no_show"
            heapq.heappush(heap, (t + rng.uniform(0.8, 2.2), room))
            continue
        length = lognormal(rng, services[visit["service"]] * speed[room], cv)
        visit["finished"] = t + length
        visit["outcome"] = "served"
        pause = rng.uniform(3, 15) if rng.random() < 0.03 else 0.0
        heapq.heappush(heap, (t + length + pause, room))
    for visit in state:
        if visit["outcome"] is None:
            visit["outcome"] = "left"
    out = []
    for n, v in enumerate(state, start=1):
        called = at(v["called"]) if v["outcome"] != "left" else None
        finished = at(v["finished"]) if v["outcome"] == "served" else None
        out.append(
            Visit(
                f"{day:%Y%m%d}-{n:04d}",
                v["service"],
                at(v["t"]),
                called,
                finished,
                v["room"] if v["outcome"] != "left" else None,
                v["outcome"],
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--shared-room", action="store_true", help="room B calls general and pediatrics")
    parser.add_argument("--cv", type=float, default=0.6, help="coefficient of variation of consultations")
    parser.add_argument("--load", type=float, default=1.0, help="arrival rate multiplier")
    args = parser.parse_args()
    visits = simulate(args.seed, args.days, args.shared_room, args.cv, args.load)
    write_visits(visits, args.output)
    print(f"{len(visits)} visits written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
